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


def _body(x: float, confidence: float) -> PartPose:
    k2 = np.stack([np.full(13, x), np.linspace(20, 80, 13)], axis=1)
    return PartPose(part=Part.BODY, score=1, box=[x - 10, 20, x + 10, 80], keypoints_2d=k2,
                    keypoints_3d=np.zeros((13, 3)), confidence=np.full(13, confidence))


def test_axes_are_five_centimetres_long() -> None:
    """At 30 px per 0.09 m the x axis (0.05 m) ends about 17 px right of the wrist: nothing red beyond 25 px."""
    image = np.zeros((100, 150, 3), np.uint8)
    draw_hand_state(image, _hand(pinch=False))
    red = (image == AXIS_COLOURS[0]).all(axis=2)
    assert red[50, 55:65].all() and not red[:, 75:].any()


def test_keypoints_below_the_confidence_threshold_are_not_drawn() -> None:
    """A person whose keypoints are all below ``min_confidence`` leaves the image as it was."""
    image = np.zeros((100, 150, 3), np.uint8)
    unsure = WholeBodyPoses(image_size=(150, 100), people=[Person(id=0, score=1, body=_body(75, 0.2))])
    assert not draw_poses(image, unsure, min_confidence=0.3, labels=False).any()
    sure = WholeBodyPoses(image_size=(150, 100), people=[Person(id=0, score=1, body=_body(75, 0.4))])
    assert draw_poses(image, sure, min_confidence=0.3, labels=False).any()


def test_the_input_image_is_left_untouched() -> None:
    """``draw_poses`` draws on a copy."""
    image = np.zeros((100, 150, 3), np.uint8)
    out = draw_poses(image, WholeBodyPoses(image_size=(150, 100), people=[Person(id=0, score=1, body=_body(75, 1.0))]))
    assert out.any() and not image.any()


def test_colours_follow_the_track_id_and_unassigned_parts_are_grey() -> None:
    """A tracked person is drawn in its track's colour (not its per-frame id's); parts of nobody in grey."""
    from dope_core.draw import UNASSIGNED_COLOUR, person_colour

    image = np.zeros((100, 150, 3), np.uint8)
    poses = WholeBodyPoses(image_size=(150, 100), people=[Person(id=0, score=1, track_id=5, body=_body(40, 1.0))],
                           unassigned=[_body(110, 1.0)])
    out = draw_poses(image, poses, labels=False)
    assert person_colour(5) != person_colour(0)
    assert tuple(out[50, 40]) == person_colour(5)
    assert tuple(out[50, 110]) == UNASSIGNED_COLOUR
