"""Pose-proposal integration (PPI), written from the LCR-Net++ description (TPAMI 2019).

Candidates are (proposal, anchor class) pairs whose class score reaches
``score_threshold``; each has a 2D pose, a 3D pose and a box around its 2D pose.

1. Taking the best remaining candidate, its *group* is every remaining candidate whose
   pose box overlaps it with IoU above ``iou_threshold``; the group leaves the pool.
2. The group is split into *modes*, greedily from its best remaining candidate: a mode
   holds the candidates whose mean 3D joint distance to that seed is below
   ``pose3d_threshold`` (metres).
3. The best mode (highest summed score) gives one detection if its summed score
   reaches ``min_mode_score``: 2D and 3D poses are the score-weighted means of its
   candidates. The detection's score (in [0, 1]) is the largest probability mass that
   one proposal puts on the mode's candidates; its class is the best candidate's.
"""

from __future__ import annotations

import numpy as np

from dope_core.boxes import box_iou
from dope_core.postprocess.detections import PartDetections, pose_boxes


def pose_proposal_integration(
    scores: np.ndarray, pose2d: np.ndarray, pose3d: np.ndarray, *, score_threshold: float = 0.02,
    iou_threshold: float = 0.2, pose3d_threshold: float = 0.3, min_mode_score: float = 0.05,
    max_candidates: int = 3000, box_margin: float = 0.0,
) -> PartDetections:
    """Detections of one part by integrating overlapping pose proposals.

    Args:
        scores: ``(N, K + 1)`` softmax scores (column 0 = background).
        pose2d: ``(N, K, J, 2)`` pixels; pose3d: ``(N, K, J, 3)`` metres.
        score_threshold: minimum class score of a candidate.
        iou_threshold: pose-box IoU above which a candidate joins a group.
        pose3d_threshold: mean per-joint 3D distance (metres) below which candidates share a mode.
        min_mode_score: minimum summed score of the best mode for a detection.
        max_candidates: only the best-scoring candidates are considered (bounds the run time).
        box_margin: margin of the candidates' pose boxes (fraction of the extent per side).

    Returns:
        Detections by decreasing score.
    """
    n, k, j, _ = pose2d.shape
    if n == 0:
        return PartDetections.empty(j)
    fg = scores[:, 1:]
    prop, cls = np.nonzero(fg >= score_threshold)
    cand_score = fg[prop, cls]
    order = np.argsort(-cand_score, kind="stable")[:max_candidates]
    prop, cls, cand_score = prop[order], cls[order], cand_score[order]
    c2d = pose2d[prop, cls].astype(np.float64)
    c3d = pose3d[prop, cls].astype(np.float64)
    boxes = pose_boxes(c2d, box_margin)
    remaining = np.ones(len(prop), dtype=bool)
    out: list[tuple[float, np.ndarray, np.ndarray, int]] = []
    while remaining.any():
        seed = int(np.flatnonzero(remaining)[0])  # candidates are sorted: first remaining is best
        group = remaining & (box_iou(boxes[seed][None], boxes)[0] > iou_threshold)
        group[seed] = True
        remaining &= ~group
        mode = _best_mode(np.flatnonzero(group), c3d, cand_score, pose3d_threshold)
        w = cand_score[mode]
        if w.sum() < min_mode_score:
            continue
        per_proposal = np.bincount(prop[mode], weights=w)
        score = float(min(1.0, per_proposal.max()))
        wn = w / w.sum()
        out.append((score, np.tensordot(wn, c2d[mode], axes=1), np.tensordot(wn, c3d[mode], axes=1), int(cls[mode[0]])))
    if not out:
        return PartDetections.empty(j)
    out.sort(key=lambda d: -d[0])
    p2d = np.stack([d[1] for d in out])
    return PartDetections(scores=np.array([d[0] for d in out]), boxes=pose_boxes(p2d, 0.1), pose2d=p2d,
                          pose3d=np.stack([d[2] for d in out]), classes=np.array([d[3] for d in out], dtype=np.int64))


def _best_mode(members: np.ndarray, c3d: np.ndarray, score: np.ndarray, threshold: float) -> np.ndarray:
    """Indices (best first) of the mode with the highest summed score among ``members`` (sorted best first)."""
    left = members
    best, best_sum = left[:1], -1.0
    while len(left):
        dist = np.linalg.norm(c3d[left] - c3d[left[0]], axis=-1).mean(axis=-1)
        inside = dist < threshold
        mode = left[inside]
        total = float(score[mode].sum())
        if total > best_sum:
            best, best_sum = mode, total
        left = left[~inside]
    return best
