"""Regions the ensemble derives from bodies and faces, hand-computed."""

import math

import numpy as np

from dope_core.experts.body_landmarks import BodyLandmarks
from dope_core.experts.ensemble import (body_regions_from_faces, claims_face, face_regions, hand_regions,
                                       knuckle_hand_rois)
from dope_core.keypoints import BODY_HEAD, BODY_JOINTS, Part
from dope_core.structures import PartPose


def _body(kp: np.ndarray) -> PartPose:
    return PartPose(part=Part.BODY, score=1, box=[0, 0, 1, 1], keypoints_2d=kp, keypoints_3d=np.zeros((13, 3)),
                    confidence=np.ones(13))


def test_hand_regions_extend_the_forearm():
    kp = np.zeros((13, 2))
    kp[BODY_JOINTS.index("right_elbow")] = (100, 100)
    kp[BODY_JOINTS.index("right_wrist")] = (100, 150)
    kp[BODY_JOINTS.index("left_elbow")] = (200, 100)
    kp[BODY_JOINTS.index("left_wrist")] = (200, 100.5)   # foreshortened: minimum side
    right, left = hand_regions([_body(kp)])
    np.testing.assert_allclose(right, [60, 130, 140, 210])  # centre (100, 170), side 80
    assert left[2] - left[0] == 24.0


def test_face_region_around_the_head():
    kp = np.zeros((13, 2))
    kp[BODY_HEAD] = (50, 0)
    kp[BODY_JOINTS.index("right_shoulder")] = (30, 100)
    kp[BODY_JOINTS.index("left_shoulder")] = (70, 100)
    (box,) = face_regions([_body(kp)])
    np.testing.assert_allclose(box, [-10, -20, 110, 100])  # centre (50, 40), side 120


def test_body_region_below_a_face():
    face = PartPose(part=Part.FACE, score=1, box=[90, 40, 110, 60], keypoints_2d=np.zeros((84, 2)),
                    keypoints_3d=np.zeros((84, 3)), confidence=np.ones(84))
    (box,) = body_regions_from_faces([face])
    np.testing.assert_allclose(box, [0, 20, 200, 220])


def test_a_body_claims_a_face_with_its_head_and_twice_its_size():
    face = PartPose(part=Part.FACE, score=1, box=[90, 40, 110, 60], keypoints_2d=np.zeros((84, 2)),
                    keypoints_3d=np.zeros((84, 3)), confidence=np.ones(84))

    def body(box, head):
        kp = np.zeros((13, 2))
        kp[:] = (100, 55)                 # shoulders just below the face
        kp[BODY_HEAD] = head
        return PartPose(part=Part.BODY, score=1, box=box, keypoints_2d=kp, keypoints_3d=np.zeros((13, 3)),
                        confidence=np.ones(13))

    assert claims_face(body([60, 40, 140, 200], (100, 40)), face)        # 160 px tall, head in the face box
    assert claims_face(body([80, 40, 120, 80], (100, 40)), face)         # exactly twice the face's 20 px
    assert not claims_face(body([85, 38, 115, 68], (100, 40)), face)     # 30 px: collapsed onto the face
    assert not claims_face(body([60, 40, 140, 200], (300, 40)), face)    # head elsewhere


def test_knuckle_rois_point_the_fingers_up():
    lm = np.zeros((33, 2))
    lm[16] = (100, 100)                       # right wrist
    lm[18], lm[20] = (95, 120), (105, 120)    # knuckles 20 px below: hand hangs down
    lm[15] = (300, 100)
    lm[17], lm[19] = (300, 100), (300, 100)   # degenerate left hand: skipped
    body = BodyLandmarks(pose=None, landmarks_2d=lm, visibility=np.ones(33))
    (roi,) = knuckle_hand_rois([body], scale=4.0, shift=0.8)
    assert (roi.cx, roi.cy, roi.side) == (100, 116, 80)
    assert math.isclose(abs(roi.rotation), math.pi)
