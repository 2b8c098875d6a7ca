"""Tests of dope_core.anchors: k-means anchor poses, hand mirror halves, body halves."""

from __future__ import annotations

import numpy as np
import pytest

from dope_core.anchors import (anchor_poses, cluster_poses, is_upper_body, kmeans,
                               mirror_normalised, normalised_pose, reclustered)
from dope_core.keypoints import Part
from dope_core.structures import Handedness, PartPose


def _pose(part: Part, rng: np.random.Generator, *, centre: float, handedness=None, lower_conf: float = 1.0) -> PartPose:
    j = part.num_keypoints
    xy = rng.normal(centre, 0.02, size=(j, 2)).clip(0, 1) * 100 + 10
    conf = np.ones(j)
    if part is Part.BODY:
        conf[:4] = lower_conf
    return PartPose(part=part, score=0.9, box=[10, 10, 110, 110], keypoints_2d=xy,
                    keypoints_3d=rng.normal(centre - 0.5, 0.01, size=(j, 3)), confidence=conf, handedness=handedness)


def test_kmeans_recovers_separated_clusters_deterministically() -> None:
    rng = np.random.default_rng(0)
    pts = np.concatenate([rng.normal(c, 0.05, size=(30, 2)) for c in (0.0, 5.0, 10.0)])
    a = kmeans(pts, 3, seed=3)
    b = kmeans(pts, 3, seed=3)
    assert np.array_equal(a, b)
    for start in (0, 30, 60):
        assert len(set(a[start:start + 30])) == 1
    assert len(set(a)) == 3


def test_kmeans_fewer_points_than_clusters_and_empty() -> None:
    assert kmeans(np.zeros((2, 3)), 4).tolist() == [0, 1]
    with pytest.raises(ValueError):
        kmeans(np.zeros((0, 3)), 2)


def test_cluster_poses_are_means_ordered_by_size() -> None:
    rng = np.random.default_rng(1)
    big = np.full((10, 13, 5), 0.2) + rng.normal(0, 1e-3, (10, 13, 5))
    small = np.full((3, 13, 5), 0.8)
    anchors = cluster_poses(np.concatenate([small, big]), 2, seed=0)
    assert anchors.shape == (2, 13, 5)
    np.testing.assert_allclose(anchors[0], big.mean(0))
    np.testing.assert_allclose(anchors[1], 0.8)


def test_normalised_pose_and_mirror_roundtrip() -> None:
    pose = _pose(Part.FACE, np.random.default_rng(2), centre=0.4)
    norm = normalised_pose(pose)
    np.testing.assert_allclose(norm[:, :2] * 100 + 10, pose.keypoints_2d)
    np.testing.assert_allclose(mirror_normalised(mirror_normalised(norm, Part.FACE), Part.FACE), norm)
    assert not np.allclose(mirror_normalised(norm, Part.FACE), norm)


def test_hand_anchors_are_mirror_halves_right_first() -> None:
    rng = np.random.default_rng(3)
    hands = [_pose(Part.HAND, rng, centre=c, handedness=h) for c in (0.3, 0.7) for h in (Handedness.LEFT, Handedness.RIGHT)
             for _ in range(5)]
    anchors = anchor_poses({Part.HAND: hands}, num_anchors={"hand": 4}, seed=0)[Part.HAND]
    assert anchors.shape == (4, 21, 5) and anchors.dtype == np.float32
    np.testing.assert_allclose(anchors[2:], mirror_normalised(anchors[:2], Part.HAND), atol=1e-6)
    with pytest.raises(ValueError, match="even"):
        anchor_poses({Part.HAND: hands}, num_anchors={"hand": 3})


def test_body_halves_split_full_and_upper_bodies() -> None:
    rng = np.random.default_rng(4)
    full = [_pose(Part.BODY, rng, centre=0.3) for _ in range(6)]
    upper = [_pose(Part.BODY, rng, centre=0.7, lower_conf=0.1) for _ in range(6)]
    assert not is_upper_body(full[0]) and is_upper_body(upper[0])
    anchors = anchor_poses({Part.BODY: full + upper}, num_anchors={"body": 4}, body_halves=True, seed=0)[Part.BODY]
    assert anchors[:2, :, :2].mean() < 0.5 < anchors[2:, :, :2].mean()
    same = anchor_poses({Part.BODY: full + upper}, num_anchors={"body": 4}, body_halves=True, seed=0)[Part.BODY]
    np.testing.assert_array_equal(anchors, same)


def test_missing_part_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no face pose"):
        anchor_poses({}, num_anchors={"face": 10})


def test_reclustered_anchors_keep_the_hand_halves() -> None:
    """The shipped student's 10 hand anchors brought to 4: two right ones and their mirrors, each
    the mean of some of the right half; faces to 3 without halves."""
    import torch

    from dope_core.checkpoint import load_checkpoint
    from dope_core.train.export import DEFAULT_EXPORT

    heads = load_checkpoint(DEFAULT_EXPORT).model.roi_heads
    hands = heads.anchors("hand").detach().float().numpy()
    four = reclustered(hands, Part.HAND, 4)
    assert four.shape == (4, 21, 5) and four.dtype == np.float32
    np.testing.assert_allclose(four[2:], mirror_normalised(four[:2], Part.HAND), atol=1e-6)
    lo, hi = hands[:5].min(0), hands[:5].max(0)
    assert np.all(four[:2] >= lo - 1e-5) and np.all(four[:2] <= hi + 1e-5)
    assert reclustered(torch.as_tensor(heads.anchors("face")).float().numpy(), "face", 3).shape == (3, 84, 5)


def _rhd_hands(shared_data) -> list[PartPose]:
    """The real RHD hands (two left, one right) as part poses, all joints confident."""
    from dope_core.datasets.rhd import load_rhd

    hands = [inst for s in load_rhd(shared_data / "annotated" / "mmpose" / "rhd" / "test_rhd.json") for inst in s.instances]
    return [PartPose(part=Part.HAND, score=1.0, box=h.box, keypoints_2d=h.keypoints_2d, keypoints_3d=h.keypoints_3d,
                     confidence=np.ones(21), handedness=h.handedness) for h in hands]


def _curl_side(xyz: np.ndarray) -> float:
    """Mean flexion of the four fingers along (wrist->middle base) x (little base->index base), metres.

    On a right hand that normal points out of the back of the hand (hand up, palm towards you, thumb on
    your right: up x right = away from you), on a left hand out of the palm; curled fingers bend towards the
    palm, so a curled right hand gives a negative value and a curled left hand a positive one.
    """
    from dope_core.keypoints import HAND_JOINTS

    def at(name: str) -> np.ndarray:
        return xyz[HAND_JOINTS.index(name)]

    normal = np.cross(at("middle_mcp") - at("wrist"), at("index_mcp") - at("little_mcp"))
    normal /= np.linalg.norm(normal)
    return float(np.mean([(at(f"{f}_tip") - at(f"{f}_mcp")) @ normal for f in ("index", "middle", "ring", "little")]))


def test_mirroring_a_real_hand_turns_its_3d_into_the_other_hand(shared_data) -> None:
    """A real right hand mirrored has the left hand's 3D shape (x3d negated) and its 2D and 3D still agree
    on which way is right (x2d and x3d grow together)."""
    hands = _rhd_hands(shared_data)
    assert sorted(h.handedness.value for h in hands) == ["left", "left", "right"]
    for hand in hands:  # the premise, on the labels: these curled hands show their side
        assert (_curl_side(hand.keypoints_3d) < 0) == (hand.handedness is Handedness.RIGHT)
    for hand in hands:
        norm = normalised_pose(hand)
        mirrored = mirror_normalised(norm, Part.HAND)
        assert np.sign(_curl_side(mirrored[:, 2:])) == -np.sign(_curl_side(norm[:, 2:]))
        for pose in (norm, mirrored):
            assert np.corrcoef(pose[:, 0], pose[:, 2])[0, 1] > 0.5


def test_hand_anchor_halves_have_the_shape_of_right_then_left_hands(shared_data) -> None:
    """Anchors clustered from one real hand, left or right: the first half (right-hand classes) has a right
    hand's 3D shape, the second half a left hand's (one hand each: a mean of differently turned hands has no
    clear side)."""
    for hand in _rhd_hands(shared_data):
        anchors = anchor_poses({Part.HAND: [hand]}, num_anchors={"hand": 2}, seed=0)[Part.HAND]
        assert _curl_side(anchors[0, :, 2:].astype(np.float64)) < 0 < _curl_side(anchors[1, :, 2:].astype(np.float64))


def test_a_body_is_upper_only_when_all_its_ankles_and_knees_are_unsure() -> None:
    """One confident lower joint (a knee in view, the ankles out of the image) keeps a body a full body."""
    rng = np.random.default_rng(5)
    body = _pose(Part.BODY, rng, centre=0.5, lower_conf=0.1)
    assert is_upper_body(body)
    for joint in range(4):
        conf = body.confidence.copy()
        conf[joint] = 0.9
        one_sure = PartPose(part=Part.BODY, score=0.9, box=body.box, keypoints_2d=body.keypoints_2d,
                            keypoints_3d=body.keypoints_3d, confidence=conf)
        assert not is_upper_body(one_sure), joint
    assert not is_upper_body(_pose(Part.BODY, rng, centre=0.5))
