"""ROS4HRI terms: the documented 13+84 -> COCO-18 joint mapping, normalised coordinates, regions, ids."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from dope_core.hri import COCO18_JOINTS, COCO18_SOURCES, body_id, normalized_roi, skeleton_2d
from dope_core.keypoints import BODY_JOINTS, FACE_LANDMARKS, Part
from dope_core.structures import PartPose, Person


def _pose(part: Part, kp: np.ndarray, conf: np.ndarray, box=(10, 20, 110, 220)) -> PartPose:
    j = part.num_keypoints
    return PartPose(part=part, score=0.8, box=np.asarray(box, float), keypoints_2d=kp, keypoints_3d=np.zeros((j, 3)),
                    confidence=conf)


def test_mapping_table_is_complete_and_documented():
    assert len(COCO18_JOINTS) == len(COCO18_SOURCES) == 18
    assert COCO18_JOINTS[:2] == ("nose", "neck") and COCO18_JOINTS[-1] == "right_ear"
    for name, (part, indices) in zip(COCO18_JOINTS, COCO18_SOURCES):
        if part is Part.BODY and len(indices) == 1:
            assert BODY_JOINTS[indices[0]] == name
    assert "head_top" not in {BODY_JOINTS[i] for part, ix in COCO18_SOURCES if part is Part.BODY for i in ix}
    import dope_core.hri as hri

    for name in COCO18_JOINTS:  # every joint's source is in the module's table
        assert name.replace("_", " ").split()[-1] in hri.__doc__


def test_skeleton_from_body_and_face():
    w, h = 200, 400
    body_kp = np.array([[10.0 * i, 20.0 * i] for i in range(13)])
    body_kp[BODY_JOINTS.index("left_ankle")] = [250, 900]  # below and right of the image
    body_conf = np.linspace(0.3, 0.9, 13)
    face_kp = np.tile([100.0, 50.0], (84, 1))
    face_kp[FACE_LANDMARKS.index("nose_bridge_3")] = [100, 60]
    face_kp[FACE_LANDMARKS.index("contour_0")] = [80, 55]
    face_kp[[FACE_LANDMARKS.index(f"right_eye_{i}") for i in range(6)]] = [[88, 44], [92, 46]] * 3
    person = Person(id=0, score=1, body=_pose(Part.BODY, body_kp, body_conf),
                    face=_pose(Part.FACE, face_kp, np.full(84, 0.7)))
    s = skeleton_2d(person, (w, h))
    assert s.shape == (18, 3)
    rs, ls = BODY_JOINTS.index("right_shoulder"), BODY_JOINTS.index("left_shoulder")
    np.testing.assert_allclose(s[2], [body_kp[rs, 0] / w, body_kp[rs, 1] / h, body_conf[rs]])
    np.testing.assert_allclose(s[1], [(body_kp[rs, 0] + body_kp[ls, 0]) / 2 / w, (body_kp[rs, 1] + body_kp[ls, 1]) / 2 / h,
                                      min(body_conf[rs], body_conf[ls])])
    ra = BODY_JOINTS.index("right_ankle")
    np.testing.assert_allclose(s[COCO18_JOINTS.index("right_ankle")], [0, 0, body_conf[ra]])
    np.testing.assert_allclose(s[0], [0.5, 0.15, 0.7])
    np.testing.assert_allclose(s[COCO18_JOINTS.index("right_eye")], [0.45, 45 / h, 0.7])
    np.testing.assert_allclose(s[COCO18_JOINTS.index("right_ear")], [0.4, 55 / h, 0.7])
    # Off-image joints are clipped into [0, 1].
    assert s[:, :2].max() <= 1.0 and tuple(s[COCO18_JOINTS.index("left_ankle"), :2]) == (1.0, 1.0)


def test_missing_parts_have_zero_confidence_and_roi():
    person = Person(id=0, score=1, face=_pose(Part.FACE, np.full((84, 2), 5.0), np.ones(84)))
    s = skeleton_2d(person, (10, 10))
    assert s[0, 2] == 1.0 and np.all(s[1:14] == 0)
    assert normalized_roi(person, (10, 10)) is None
    body = Person(id=0, score=1, body=_pose(Part.BODY, np.zeros((13, 2)), np.ones(13), box=(-5, 20, 110, 500)))
    assert normalized_roi(body, (200, 400)) == pytest.approx((0.0, 0.05, 0.55, 1.0, 0.8))
    assert body_id(12) == "b12"


def test_real_portrait_skeleton_is_anatomically_ordered():
    """On a real photo (body and face from the experts), the 18 joints land where OpenPose's would."""
    from matplotlib import cbook

    from dope_core.estimator import build_estimator

    rgb = cv2.cvtColor(cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)), cv2.COLOR_BGR2RGB)
    poses = build_estimator("experts", parts=["body", "face"])(rgb)
    person = next(p for p in poses.people if p.body is not None and p.face is not None)
    s = skeleton_2d(person, poses.image_size)
    j = {name: s[i] for i, name in enumerate(COCO18_JOINTS)}
    assert all(j[n][2] > 0.2 for n in ("nose", "neck", "right_shoulder", "left_shoulder", "right_eye", "left_eye"))
    # Facing the camera: the person's right side is on the image's left.
    assert j["right_shoulder"][0] < j["neck"][0] < j["left_shoulder"][0]
    assert j["right_ear"][0] < j["right_eye"][0] < j["nose"][0] < j["left_eye"][0] < j["left_ear"][0]
    # Eyes above the nose, the nose above the neck (y grows downwards).
    assert max(j["right_eye"][1], j["left_eye"][1]) < j["nose"][1] < j["neck"][1]
