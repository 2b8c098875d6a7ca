"""Anchor poses per part, by k-means clustering of pseudo-labelled poses.

An anchor pose is a ``(J, 5)`` array: columns 0-1 the 2D pose normalised inside
its box (0 at the box's left/top edge, 1 at its right/bottom edge), columns 2-4
the 3D pose in metres (part-relative, camera-parallel axes; see
:mod:`dope_core.structures`). A part's anchors form the ``(K, J, 5)`` buffer the
network's decoder adds its regressions to.

Class halves (the release's convention, as documented in the project notes):

* hands: classes ``< K/2`` are right hands, the others left hands. Left hands are
  mirrored into right hands, all are clustered into ``K/2`` right anchors, and the
  left anchors are their mirror images (same order), so the halves are exact mirrors;
* bodies (optional, ``body_halves``): classes ``< K/2`` are full bodies, the others
  upper bodies (lower-limb joints of low confidence), clustered separately;
* faces: one set of ``K`` anchors.

Clustering is deterministic given the seed. 2D and 3D coordinates are scaled to
equal weight before clustering (each by its own root-mean-square spread); the
anchors are the cluster means in the original units.
"""

from __future__ import annotations

import logging
from typing import Iterable, Mapping, Sequence

import numpy as np

from dope_core.keypoints import FLIP_PERMUTATION, Part
from dope_core.structures import Handedness, PartPose

LOG = logging.getLogger(__name__)

RELEASE_NUM_ANCHORS: dict[Part, int] = {Part.BODY: 20, Part.HAND: 10, Part.FACE: 10}
LOWER_BODY_JOINTS = (0, 1, 2, 3)
"""Ankles and knees: a body whose lower joints are all unsure is an upper body."""


def normalised_pose(pose: PartPose) -> np.ndarray:
    """``(J, 5)``: 2D keypoints normalised in the pose's box, then the 3D keypoints (metres)."""
    x1, y1, x2, y2 = pose.box
    size = np.maximum(np.array([x2 - x1, y2 - y1]), 1e-6)
    xy = (pose.keypoints_2d - np.array([x1, y1])) / size
    return np.concatenate([xy, pose.keypoints_3d], axis=1)


def mirror_normalised(poses: np.ndarray, part: Part | str) -> np.ndarray:
    """Mirror ``(..., J, 5)`` normalised poses left-right: x2d -> 1 - x2d, x3d -> -x3d, joints swapped."""
    out = np.array(poses, dtype=np.float64, copy=True)[..., list(FLIP_PERMUTATION[Part(part)]), :]
    out[..., 0] = 1.0 - out[..., 0]
    out[..., 2] = -out[..., 2]
    return out


def is_upper_body(pose: PartPose, *, min_confidence: float = 0.5) -> bool:
    """Whether a body's ankles and knees are all below ``min_confidence``."""
    return bool(np.all(pose.confidence[list(LOWER_BODY_JOINTS)] < min_confidence))


def kmeans(features: np.ndarray, k: int, *, seed: int = 0, iterations: int = 100) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding; returns the ``(N,)`` cluster index of each row.

    With fewer rows than clusters, rows are reused cyclically (a warning is logged).
    Deterministic given ``seed``.
    """
    n = len(features)
    if n == 0:
        raise ValueError("cannot cluster zero poses")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if n < k:
        LOG.warning("only %d poses for %d anchors: some anchors repeat", n, k)
        return np.arange(n) % k
    rng = np.random.default_rng(seed)
    centres = [features[rng.integers(n)]]
    d2 = ((features - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        probs = d2 / d2.sum() if d2.sum() > 0 else np.full(n, 1.0 / n)
        centres.append(features[rng.choice(n, p=probs)])
        d2 = np.minimum(d2, ((features - centres[-1]) ** 2).sum(1))
    c = np.stack(centres)
    labels = np.full(n, -1)
    for _ in range(iterations):
        dist = ((features[:, None, :] - c[None]) ** 2).sum(-1)
        new = dist.argmin(1)
        if np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            members = features[labels == j]
            if len(members):
                c[j] = members.mean(0)
            else:  # re-seed an empty cluster with the worst-fitted pose
                far = int(dist[np.arange(n), labels].argmax())
                c[j] = features[far]
                labels[far] = j
    return labels


def cluster_poses(poses: np.ndarray, k: int, *, seed: int = 0) -> np.ndarray:
    """Cluster ``(N, J, 5)`` normalised poses into ``(k, J, 5)`` anchor poses (cluster means).

    Anchors are ordered by decreasing cluster size (ties by index), so class 0 is the
    most common pose.
    """
    poses = np.asarray(poses, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[-1] != 5:
        raise ValueError(f"poses must have shape (N, J, 5), got {poses.shape}")
    n = len(poses)
    flat2d = poses[..., :2].reshape(n, -1)
    flat3d = poses[..., 2:].reshape(n, -1)
    scale2d = _rms_spread(flat2d)
    scale3d = _rms_spread(flat3d)
    labels = kmeans(np.concatenate([flat2d / scale2d, flat3d / scale3d], 1), k, seed=seed)
    counts = np.bincount(labels, minlength=k)
    order = sorted(range(k), key=lambda j: (-counts[j], j))
    anchors = np.stack([poses[labels == j].mean(0) if counts[j] else poses[j % n] for j in order])
    return anchors


def anchor_poses(
    samples: Mapping[Part, Sequence[PartPose]],
    *,
    num_anchors: Mapping[Part | str, int] = RELEASE_NUM_ANCHORS,
    body_halves: bool = False,
    seed: int = 0,
) -> dict[Part, np.ndarray]:
    """Anchor poses of each part from labelled poses (see the module docstring).

    Args:
        samples: per part, the poses to cluster (e.g. the fused pseudo ground truth).
        num_anchors: K per part; must be even for hands (and bodies with halves).
        body_halves: split body anchors into full-body (first half) and upper-body.
        seed: k-means seed.

    Returns:
        ``{part: (K, J, 5) float32}`` for every part in ``num_anchors``.

    Raises:
        ValueError: a part has no sample, or an odd K where halves are needed.
    """
    out: dict[Part, np.ndarray] = {}
    for part_key, k in num_anchors.items():
        part = Part(part_key)
        poses = list(samples.get(part, []))
        if not poses:
            raise ValueError(f"no {part.value} pose to cluster: label more images")
        if part is Part.HAND:
            out[part] = _hand_anchors(poses, _half(k, part), seed)
        elif part is Part.BODY and body_halves:
            half = _half(k, part)
            full = [p for p in poses if not is_upper_body(p)]
            upper = [p for p in poses if is_upper_body(p)]
            groups = [g if g else poses for g in (full, upper)]
            out[part] = np.concatenate([cluster_poses(_stack(g), half, seed=seed) for g in groups]).astype(np.float32)
        else:
            out[part] = cluster_poses(_stack(poses), k, seed=seed).astype(np.float32)
    return out


def reclustered(anchors: np.ndarray, part: Part | str, k: int, *, seed: int = 0) -> np.ndarray:
    """``k`` anchor poses of ``part`` from another set of its anchor poses ``(K0, J, 5)`` (another
    student's), by the same clustering; hands keep their right and left halves (mirrors)."""
    part = Part(part)
    anchors = np.asarray(anchors, dtype=np.float64)
    if part is Part.HAND:
        return _mirrored_halves(anchors[: len(anchors) // 2], _half(k, part), seed)
    return cluster_poses(anchors, k, seed=seed).astype(np.float32)


def collect_samples(parts: Iterable[PartPose]) -> dict[Part, list[PartPose]]:
    """Group poses by part."""
    out: dict[Part, list[PartPose]] = {p: [] for p in Part}
    for pose in parts:
        out[pose.part].append(pose)
    return out


def _hand_anchors(poses: Sequence[PartPose], half: int, seed: int) -> np.ndarray:
    right = np.stack([mirror_normalised(normalised_pose(p), Part.HAND) if p.handedness is Handedness.LEFT
                      else normalised_pose(p) for p in poses])
    return _mirrored_halves(right, half, seed)


def _mirrored_halves(right: np.ndarray, half: int, seed: int) -> np.ndarray:
    """``half`` right-hand anchors clustered from the right-hand poses ``right``, then their mirror images."""
    right_anchors = cluster_poses(right, half, seed=seed)
    return np.concatenate([right_anchors, mirror_normalised(right_anchors, Part.HAND)]).astype(np.float32)


def _half(k: int, part: Part) -> int:
    if k < 2 or k % 2:
        raise ValueError(f"{part.value} anchors come in two halves: K must be even and >= 2, got {k}")
    return k // 2


def _stack(poses: Sequence[PartPose]) -> np.ndarray:
    return np.stack([normalised_pose(p) for p in poses])


def _rms_spread(x: np.ndarray) -> float:
    spread = float(np.sqrt(((x - x.mean(0)) ** 2).mean())) if len(x) > 1 else 0.0
    return spread if spread > 1e-9 else 1.0
