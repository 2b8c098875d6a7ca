"""Tests of dope_core.placement: translation solve, intrinsics checks, whole-result placement."""

from __future__ import annotations

import numpy as np
import pytest

from dope_core.keypoints import Part
from dope_core.placement import (InvalidIntrinsicsError, place_part, place_poses, solve_translation,
                                 validate_intrinsics)
from dope_core.structures import Handedness, PartPose, Person, WholeBodyPoses

K = np.array([[600.0, 0.0, 320.0], [0.0, 610.0, 240.0], [0.0, 0.0, 1.0]])
RNG = np.random.default_rng(1)


def _project(points_cam: np.ndarray, k: np.ndarray = K) -> np.ndarray:
    uvw = points_cam @ k.T
    return uvw[:, :2] / uvw[:, 2:]


def _part(part: Part, t: np.ndarray, scale: float) -> PartPose:
    j = part.num_keypoints
    rel = RNG.normal(scale=scale, size=(j, 3))
    uv = _project(rel + t)
    box = np.concatenate([uv.min(0), uv.max(0)])
    return PartPose(part=part, score=0.9, box=box, keypoints_2d=uv, keypoints_3d=rel, confidence=np.full(j, 0.8),
                    handedness=Handedness.LEFT if part is Part.HAND else None)


@pytest.mark.parametrize("t", [(0.1, -0.2, 3.0), (-1.0, 0.5, 6.0), (0.0, 0.0, 1.2)])
def test_exact_translation_recovered(t):
    t = np.array(t)
    rel = RNG.normal(scale=0.4, size=(13, 3))
    got = solve_translation(rel, _project(rel + t), K)
    np.testing.assert_allclose(got, t, atol=1e-9)


def test_skewed_intrinsics():
    k = K.copy()
    k[0, 1] = 3.0
    t = np.array([0.3, 0.1, 4.0])
    rel = RNG.normal(scale=0.4, size=(13, 3))
    np.testing.assert_allclose(solve_translation(rel, _project(rel + t, k), k), t, atol=1e-9)


def test_weights_ignore_outliers():
    t = np.array([0.2, 0.1, 3.0])
    rel = RNG.normal(scale=0.4, size=(13, 3))
    uv = _project(rel + t)
    uv[0] += 200.0
    w = np.ones(13)
    assert np.linalg.norm(solve_translation(rel, uv, K, w) - t) > 1e-3
    w[0] = 0.0
    np.testing.assert_allclose(solve_translation(rel, uv, K, w), t, atol=1e-9)


def test_noisy_pixels_give_close_translation():
    t = np.array([0.2, 0.1, 3.0])
    rel = RNG.normal(scale=0.4, size=(13, 3))
    uv = _project(rel + t) + RNG.normal(scale=1.0, size=(13, 2))
    assert np.linalg.norm(solve_translation(rel, uv, K) - t) < 0.05


def test_too_few_points_or_behind_camera_gives_none():
    rel = RNG.normal(scale=0.4, size=(13, 3))
    uv = _project(rel + np.array([0.0, 0.0, 3.0]))
    w = np.zeros(13)
    w[:2] = 1
    assert solve_translation(rel, uv, K, w) is None
    # All keypoints at one point: no depth information.
    assert solve_translation(np.zeros((13, 3)), uv, K) is None
    # NaN keypoints are left out.
    bad = rel.copy()
    bad[3:] = np.nan
    assert solve_translation(bad, uv, K) is not None
    bad[:] = np.nan
    assert solve_translation(bad, uv, K) is None


@pytest.mark.parametrize("k,msg,reason", [
    (np.zeros(9), "all zero", "all_zero"),
    (np.full(9, np.nan), "NaN", "not_finite"),
    ([600, 0, 320, 0, 600, 240, 0, 0, np.inf], "NaN or infinite", "not_finite"),
    ([0, 0, 320, 0, 600, 240, 0, 0, 1], "focal", "focal"),
    ([600, 0, 320, 0, -600, 240, 0, 0, 1], "focal", "focal"),
    ([600, 0, 320, 0, 600, 240, 0, 0, 2], "last row", "last_row"),
    (np.eye(2), "9 values", "size"),
])
def test_invalid_intrinsics(k, msg, reason):
    with pytest.raises(InvalidIntrinsicsError, match=msg) as e:
        validate_intrinsics(k)
    assert e.value.reason == reason


def test_camera_info_layout_accepted():
    np.testing.assert_array_equal(validate_intrinsics(K.reshape(-1).tolist()), K)


def test_place_poses_sets_every_root():
    tb, tl, tf, tu = (np.array(v) for v in ((0.0, 0.1, 3.0), (0.3, 0.2, 2.8), (0.0, -0.6, 3.1), (1.0, 0.0, 4.0)))
    person = Person(id=0, score=0.9, track_id=2, body=_part(Part.BODY, tb, 0.4), left_hand=_part(Part.HAND, tl, 0.05),
                    face=_part(Part.FACE, tf, 0.05))
    poses = WholeBodyPoses(image_size=(640, 480), people=[person], unassigned=[_part(Part.HAND, tu, 0.05)],
                           backend="test")
    placed = place_poses(poses, K)
    assert poses.people[0].body.root_camera is None  # the input is not modified
    np.testing.assert_allclose(placed.people[0].body.root_camera, tb, atol=1e-8)
    np.testing.assert_allclose(placed.people[0].left_hand.root_camera, tl, atol=1e-8)
    np.testing.assert_allclose(placed.people[0].face.root_camera, tf, atol=1e-8)
    np.testing.assert_allclose(placed.unassigned[0].root_camera, tu, atol=1e-8)
    assert placed.people[0].right_hand is None and placed.backend == "test" and placed.people[0].track_id == 2
    np.testing.assert_allclose(placed.people[0].body.keypoints_3d_camera,
                               poses.people[0].body.keypoints_3d + tb, atol=1e-8)


def test_place_part_low_confidence_left_unplaced():
    pose = _part(Part.BODY, np.array([0.0, 0.0, 3.0]), 0.4)
    pose.confidence[:] = 0.05
    assert place_part(pose, K).root_camera is None


def test_place_poses_rejects_bad_k():
    with pytest.raises(InvalidIntrinsicsError):
        place_poses(WholeBodyPoses(image_size=(4, 4)), np.zeros((3, 3)))
