"""Training targets of one image from its pseudo-label record.

Three modes:

* ``"distillation"``: every raw expert detection above ``min_score`` with its score
  as a soft classification target and its 2D/3D pose as regression target;
* ``"hard_scores"``: the same detections (same ``min_score``, same boxes and poses),
  every score set to 1: the ablation of the soft scores alone (the distillation loss);
* ``"hard"``: only the fused pseudo ground truth above ``hard_threshold``, every
  instance with score 1; parts the experts did not label stay background (changes the
  threshold and the instances as well as the scores).

Targets of a part are ``{"boxes": (N, 4) px, "pose2d": (N, J, 2) px,
"pose3d": (N, J, 3) m part-relative, "scores": (N,)}`` (float32 numpy arrays;
the dataset turns them into tensors). Degenerate boxes (under ``min_box_size``
pixels wide or high) are dropped.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from dope_core.keypoints import Part
from dope_core.pseudo_labels.cache import LabelRecord
from dope_core.structures import PartPose

MODES = ("distillation", "hard_scores", "hard")
PartTargets = dict[str, np.ndarray]


def record_targets(
    record: LabelRecord,
    *,
    mode: str,
    parts: Sequence[Part] = tuple(Part),
    min_score: float = 0.05,
    hard_threshold: float = 0.5,
    min_box_size: float = 2.0,
) -> dict[Part, PartTargets]:
    """Per-part target arrays of ``record`` (see the module docstring)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    out: dict[Part, PartTargets] = {}
    for part in parts:
        if mode == "hard":
            poses = [] if record.pseudo_gt is None else record.pseudo_gt.parts(part)
            poses = [p for p in poses if p.score >= hard_threshold]
            scores = np.ones(len(poses), dtype=np.float32)
        else:
            poses = [p for p in record.detections.get(part, []) if p.score >= min_score]
            scores = np.array([1.0 if mode == "hard_scores" else p.score for p in poses], dtype=np.float32)
        keep = [i for i, p in enumerate(poses) if _box_ok(p, min_box_size)]
        out[part] = stack_poses(part, [poses[i] for i in keep], scores[keep])
    return out


def stack_poses(part: Part, poses: Sequence[PartPose], scores: np.ndarray) -> PartTargets:
    """Stack poses into target arrays (empty arrays of the right shapes when none)."""
    j = part.num_keypoints
    if not poses:
        return {"boxes": np.zeros((0, 4), np.float32), "pose2d": np.zeros((0, j, 2), np.float32),
                "pose3d": np.zeros((0, j, 3), np.float32), "scores": np.zeros((0,), np.float32)}
    return {
        "boxes": np.stack([p.box for p in poses]).astype(np.float32),
        "pose2d": np.stack([p.keypoints_2d for p in poses]).astype(np.float32),
        "pose3d": np.stack([p.keypoints_3d for p in poses]).astype(np.float32),
        "scores": np.clip(np.asarray(scores, dtype=np.float32), 0.0, 1.0),
    }


def _box_ok(pose: PartPose, min_size: float) -> bool:
    w, h = pose.box[2] - pose.box[0], pose.box[3] - pose.box[1]
    return bool(np.isfinite(pose.box).all() and w >= min_size and h >= min_size
                and np.isfinite(pose.keypoints_2d).all() and np.isfinite(pose.keypoints_3d).all())
