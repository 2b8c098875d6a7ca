"""Pose-proposal integration (PPI), written from the LCR-Net++ description (TPAMI 2019)
and the facts of the DOPE release's post-processing.

Candidates are (proposal, anchor class) pairs whose class score reaches
``score_threshold`` (default ``0.1 / C`` for ``C`` anchor classes); each has the
proposal's box, a 2D pose and a 3D pose.

1. Taking the best remaining candidate, its *group* is every remaining candidate whose
   proposal box overlaps the seed's with IoU above ``iou_threshold`` (boxes in inclusive
   pixel coordinates, areas ``(x2 - x1 + 1) * (y2 - y1 + 1)``, as LCR-Net computes them);
   the group leaves the pool. The candidates of one proposal share its box, so they
   always join the same group.
2. The group is split into *modes*: from its best candidate not yet in a mode, a mode
   gathers every candidate of the group (including those of earlier modes) whose mean
   per-joint 3D distance to that seed is below ``pose3d_threshold`` (metres); those
   not yet in a mode leave the group's pool. Seeds scoring under ``min_mode_score``
   start no further mode once one exists.
3. A mode's score is the **sum** of its candidates' scores (it can exceed 1); its 2D
   and 3D poses are their score-weighted means. For bodies whose anchor classes come in
   halves (full-body classes ``< upper_body_from``, upper-body classes from it on), the
   ``lower_joints`` (legs) of upper-body candidates are weighted ``lower_weight`` (0.1)
   in those means: an upper-body anchor says little about the legs.
4. The group's best mode is a detection when its score exceeds ``detection_threshold``
   (the release's ``th_persondetect``); its class is its seed's.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from dope_core.postprocess.detections import PartDetections, pose_boxes


def pose_proposal_integration(
    scores: np.ndarray, boxes: np.ndarray, pose2d: np.ndarray, pose3d: np.ndarray, *,
    score_threshold: Optional[float] = None, iou_threshold: float = 0.2, pose3d_threshold: float = 0.3,
    min_mode_score: float = 0.05, detection_threshold: float = 0.002, upper_body_from: Optional[int] = None,
    lower_joints: Sequence[int] = (), lower_weight: float = 0.1, max_candidates: int = 5000,
) -> PartDetections:
    """Detections of one part by integrating overlapping pose proposals.

    Args:
        scores: ``(N, C + 1)`` softmax scores (column 0 = background).
        boxes: ``(N, 4)`` proposal boxes ``x1, y1, x2, y2`` in pixels.
        pose2d: ``(N, C, J, 2)`` pixels; pose3d: ``(N, C, J, 3)`` metres.
        score_threshold: minimum class score of a candidate; ``None``: ``0.1 / C``.
        iou_threshold: proposal-box IoU above which a candidate joins a group.
        pose3d_threshold: mean per-joint 3D distance (metres) below which candidates share a mode.
        min_mode_score: seeds under this score start no mode after the first.
        detection_threshold: a group's best mode must score above this (summed scores).
        upper_body_from: first upper-body anchor class (the release's body ``K``); ``None``:
            no upper-body classes.
        lower_joints: joints down-weighted for upper-body candidates (bodies: ankles, knees).
        lower_weight: their weight factor.
        max_candidates: only the best-scoring candidates are considered (bounds the run time).

    Returns:
        Detections by decreasing (summed) score; boxes around the 2D poses (10 % margin).
    """
    n, c, j, _ = pose2d.shape
    if n == 0:
        return PartDetections.empty(j)
    if score_threshold is None:
        score_threshold = 0.1 / c
    fg = scores[:, 1:]
    prop, cls = np.nonzero(fg >= score_threshold)
    cand_score = fg[prop, cls].astype(np.float64)
    order = np.argsort(-cand_score, kind="stable")[:max_candidates]
    prop, cls, cand_score = prop[order], cls[order], cand_score[order]
    c2d = pose2d[prop, cls].astype(np.float64)
    c3d = pose3d[prop, cls].astype(np.float64)
    cand_boxes = np.asarray(boxes, dtype=np.float64)[prop]
    # Weights of each candidate's joints in the pose means (legs of upper-body anchors down-weighted).
    joint_w = np.ones((len(prop), j))
    if upper_body_from is not None and len(lower_joints):
        joint_w[np.ix_(cls >= upper_body_from, list(lower_joints))] = lower_weight
    joint_w *= cand_score[:, None]
    remaining = np.ones(len(prop), dtype=bool)
    out: list[tuple[float, np.ndarray, np.ndarray, int]] = []
    while remaining.any():
        seed = int(np.flatnonzero(remaining)[0])  # candidates are sorted: the first remaining is the best
        group = remaining & (_inclusive_iou(cand_boxes[seed], cand_boxes) > iou_threshold)
        group[seed] = True
        remaining &= ~group
        best = _best_mode(np.flatnonzero(group), c3d, cand_score, pose3d_threshold, min_mode_score)
        total = float(cand_score[best].sum())
        if total <= detection_threshold:
            continue
        w = joint_w[best]                                                   # (M, J)
        p2d = (w[:, :, None] * c2d[best]).sum(axis=0) / w.sum(axis=0)[:, None]
        p3d = (w[:, :, None] * c3d[best]).sum(axis=0) / w.sum(axis=0)[:, None]
        out.append((total, p2d, p3d, int(cls[best[0]])))
    if not out:
        return PartDetections.empty(j)
    out.sort(key=lambda d: -d[0])
    p2d = np.stack([d[1] for d in out])
    return PartDetections(scores=np.array([d[0] for d in out]), boxes=pose_boxes(p2d, 0.1), pose2d=p2d,
                          pose3d=np.stack([d[2] for d in out]), classes=np.array([d[3] for d in out], dtype=np.int64))


def _inclusive_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of ``box`` with each of ``boxes`` in inclusive pixel coordinates (LCR-Net's convention)."""
    w = np.clip(np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0]) + 1, 0, None)
    h = np.clip(np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1]) + 1, 0, None)
    inter = w * h
    area = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    return inter / (area + (box[2] - box[0] + 1) * (box[3] - box[1] + 1) - inter)


def _best_mode(members: np.ndarray, c3d: np.ndarray, score: np.ndarray, threshold: float,
               min_mode_score: float) -> np.ndarray:
    """Candidate indices (seed first) of the group's mode with the highest summed score.

    ``members`` are sorted best first. Each mode gathers every member near its seed; the
    next seed is the best member in no mode yet.
    """
    unassigned = np.ones(len(members), dtype=bool)
    best, best_sum = members[:1], -np.inf
    while unassigned.any():
        s = int(np.flatnonzero(unassigned)[0])
        if score[members[s]] < min_mode_score and best_sum > -np.inf:
            break
        dist = np.linalg.norm(c3d[members] - c3d[members[s]], axis=-1).mean(axis=-1)
        inside = dist < threshold
        inside[s] = True
        mode = np.concatenate([members[s:s + 1], members[inside & (np.arange(len(members)) != s)]])
        total = float(score[mode].sum())
        if total > best_sum:
            best, best_sum = mode, total
        unassigned &= ~inside
    return best
