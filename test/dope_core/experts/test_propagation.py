"""Next-frame regions from landmarks: hand-computed geometry, and agreement with the
detectors' own regions on a real photo (matplotlib's Grace Hopper portrait)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dope_core.experts.propagation import body_roi, face_roi, face_roi_from_body, hand_roi, in_image
from dope_core.experts.roi import RotatedRect
from dope_core.image_io import read_image
from dope_core.keypoints import HAND_JOINTS, Part
from dope_core.structures import PartPose


def _hand(kp: np.ndarray) -> PartPose:
    return PartPose(part=Part.HAND, score=1, box=np.r_[kp.min(0), kp.max(0)], keypoints_2d=kp,
                    keypoints_3d=np.zeros((21, 3)), confidence=np.ones(21))


def test_hand_region_points_the_fingers_up_and_covers_the_palm():
    kp = np.zeros((21, 2))
    kp[:] = (100, 150)                                           # every joint on the knuckle line ...
    kp[HAND_JOINTS.index("wrist")] = (100, 200)                  # ... 50 px above the wrist: fingers up
    for name, x in (("index_mcp", 90), ("middle_mcp", 100), ("ring_mcp", 110), ("little_mcp", 120),
                    ("thumb_cmc", 80)):
        kp[HAND_JOINTS.index(name)] = (x, 150)
    rect = hand_roi(_hand(kp))
    assert abs(rect.rotation) < 1e-9                             # already upright
    # Box of the palm joints: x 80..120, y 150..200 -> side 50, centre (100, 175);
    # shifted up a tenth of the side, then doubled.
    assert (round(rect.cx, 6), round(rect.cy, 6), round(rect.side, 6)) == (100, 170, 100)
    down = kp.copy()
    down[:, 1] = 400 - kp[:, 1]                                  # the same hand hanging down
    assert math.isclose(abs(hand_roi(_hand(down)).rotation), math.pi)


def test_tiny_or_outside_regions_are_refused():
    kp = np.full((21, 2), 50.0)
    kp[0] = (50, 52)
    assert hand_roi(_hand(kp)) is None                           # a 2 px hand
    assert in_image(RotatedRect(10, 10, 40), 100, 100)
    assert not in_image(RotatedRect(-30, 10, 40), 100, 100)      # its central half is off the image
    assert not in_image(RotatedRect(50, 50, 4), 100, 100)        # too small to look at


@pytest.fixture(scope="module")
def portrait_parts():
    from matplotlib import cbook

    from dope_core.experts.ensemble import ExpertsEstimator

    image = read_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    experts = ExpertsEstimator()
    h, w = image.shape[:2]
    face_dets = experts.face.full_range.detect(image, experts.face.full_range.whole_image_views(w, h, (0.5,)), 0.5)
    body_proposals = experts.body.detector.propose(image, min_score=0.5)
    bodies, _, faces = experts.detect_landmarks(image)
    return {"face_region": experts.face._region(face_dets[0]), "body_region": body_proposals[0].roi(),
            "face": faces[0], "body": bodies[0]}


def _close(a: RotatedRect, b: RotatedRect, *, centre: float, side: float, angle: float = 0.2) -> bool:
    return (math.hypot(a.cx - b.cx, a.cy - b.cy) < centre * b.side and 1 / side < a.side / b.side < side
            and abs(a.rotation - b.rotation) < angle)


def test_regions_from_landmarks_match_the_detectors_regions(portrait_parts):
    p = portrait_parts
    assert _close(face_roi(p["face"]), p["face_region"], centre=0.08, side=1.15)
    assert _close(face_roi_from_body(p["body"]), p["face_region"], centre=0.12, side=1.3)
    assert _close(body_roi(p["body"]), p["body_region"], centre=0.15, side=1.3)


def test_face_from_body_needs_a_visible_nose(portrait_parts):
    from dataclasses import replace

    body = portrait_parts["body"]
    hidden = replace(body, visibility=np.where(np.arange(33) == 0, 0.1, body.visibility))
    assert face_roi_from_body(hidden) is None
    assert body_roi(replace(body, roi_points=None)) is None


def test_face_from_a_profile_body_sizes_the_head_by_the_nose() -> None:
    """face_roi_from_body: in profile (ears together) the head is 1.5 times nose to ear middle; side
    ``2 * head``, centre ``0.15 * head`` below the eyes' middle, eyes horizontal."""
    from dope_core.experts.body_landmarks import BodyLandmarks

    lm = np.zeros((33, 2))
    lm[7] = lm[8] = (100.0, 100.0)                               # both ears at one place: a profile
    lm[0] = (120.0, 100.0)                                       # the nose 20 px in front: head 30 px
    lm[5], lm[2] = (108.0, 90.0), (112.0, 90.0)                  # right eye, left eye: horizontal
    body = BodyLandmarks(pose=None, landmarks_2d=lm, visibility=np.ones(33))
    rect = face_roi_from_body(body)
    assert abs(rect.rotation) < 1e-9
    np.testing.assert_allclose([rect.cx, rect.cy, rect.side], [110.0, 90.0 + 0.15 * 30, 60.0])


def test_in_image_needs_the_central_half_on_the_image_along_each_axis() -> None:
    """in_image: a region whose central half (a quarter side each way of the centre) lies off the image
    along x or along y, measured against the image's own width and height, is refused."""
    assert in_image(RotatedRect(10, 50, 40), 100, 100)            # central half from x 0 to 20: in
    assert not in_image(RotatedRect(-11, 50, 40), 100, 100)       # central half from x -21 to -1: off
    assert not in_image(RotatedRect(50, -11, 40), 100, 100)       # the same off the top
    assert not in_image(RotatedRect(50, 111, 40), 200, 100)       # below a wide image's bottom
    assert in_image(RotatedRect(150, 50, 40), 200, 100)           # inside a wide image, past its height
