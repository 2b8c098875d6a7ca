"""Hand axes and grasp state drawn on the annotated image."""

import numpy as np

from dope_core.draw import AXIS_COLOURS, draw_hand_state, draw_poses
from dope_core.keypoints import Part
from dope_core.structures import Grasp, PartFrame, PartPose, Person, WholeBodyPoses


def _hand(pinch: bool) -> PartPose:
    k2 = np.full((21, 2), 50.0)
    k2[9] = (50, 20)          # middle-finger base 30 px above the wrist
    k2[4], k2[8] = (70, 30), (80, 30)
    k3 = np.zeros((21, 3))
    k3[9] = (0, -0.09, 0)
    return PartPose(part=Part.HAND, score=1, box=[30, 10, 90, 60], keypoints_2d=k2, keypoints_3d=k3,
                    confidence=np.ones(21), handedness="right",
                    frame=PartFrame(origin=np.zeros(3), quaternion=np.array([0, 0, 0, 1.0]), confidence=1),
                    grasp=Grasp(aperture_m=0.012, aperture_normalised=0.13, confidence=1, pinch=pinch))


def test_axes_along_the_frame_and_grasp_colour():
    image = np.zeros((100, 150, 3), np.uint8)
    draw_hand_state(image, _hand(pinch=True))
    # identity frame: x to the image right from the wrist (red), y down (green); 0.05 m = 16.7 px here
    assert tuple(image[50, 60]) == AXIS_COLOURS[0] and tuple(image[60, 50]) == AXIS_COLOURS[1]
    assert (image[30, 72:78] == (230, 30, 30)).all()   # pinch: a red thumb-index line
    plain = np.zeros_like(image)
    hand = _hand(pinch=False)
    hand.frame = PartFrame(origin=np.zeros(3))   # no orientation: no axes
    out = draw_poses(plain, WholeBodyPoses(image_size=(150, 100), people=[Person(id=0, score=1, right_hand=hand)]))
    assert not (out == AXIS_COLOURS[0]).all(axis=2).any() and (out[30, 72:78] == (240, 240, 240)).all()
