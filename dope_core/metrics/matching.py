"""Matching of predicted part instances to ground-truth instances of one image.

Similarity of a prediction to a ground truth is OKS-like: the mean, over the
keypoints annotated in the ground truth, of ``exp(-d^2 / (2 (kappa * s)^2))`` where
``d`` is the 2D distance in pixels and ``s`` the ground-truth normaliser (the larger
side of its box). A keypoint the prediction lacks (NaN) contributes 0. Pairs are
taken greedily by decreasing similarity (each prediction and each ground truth at
most once) as long as the similarity is at least ``min_similarity``.

Ground truths left unmatched are **misses**: they lower the detection rate and, for
PCK, count as all-wrong; errors that need a prediction (3D error, NME) are averaged
over matched instances only and reported next to the detection rate.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def oks_similarity(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, normaliser: float, *, kappa: float = 0.1) -> float:
    """OKS-like similarity in [0, 1] of one prediction ``(J, 2)`` to one ground truth ``(J, 2)``."""
    visible = np.asarray(visible, dtype=bool)
    if not visible.any() or not normaliser > 0:
        return 0.0
    d2 = ((np.asarray(pred, dtype=np.float64) - np.asarray(gt, dtype=np.float64)) ** 2).sum(axis=-1)[visible]
    sim = np.exp(-d2 / (2.0 * (kappa * normaliser) ** 2))
    return float(np.nan_to_num(sim, nan=0.0).mean())


def greedy_match(similarity: np.ndarray, *, min_similarity: float) -> list[tuple[int, int]]:
    """Greedy one-to-one matching on a ``(P, G)`` similarity matrix.

    Returns:
        ``[(prediction index, ground-truth index), ...]`` in the order they were taken.
    """
    similarity = np.asarray(similarity, dtype=np.float64)
    if similarity.size == 0:
        return []
    flat = np.argsort(-similarity, axis=None, kind="stable")
    used_p: set[int] = set()
    used_g: set[int] = set()
    out: list[tuple[int, int]] = []
    for idx in flat:
        p, g = np.unravel_index(idx, similarity.shape)
        if similarity[p, g] < min_similarity:
            break
        if p in used_p or g in used_g:
            continue
        used_p.add(int(p))
        used_g.add(int(g))
        out.append((int(p), int(g)))
    return out


def match_instances(
    preds: Sequence[np.ndarray],
    gts: Sequence[np.ndarray],
    visible: Sequence[np.ndarray],
    normalisers: Sequence[float],
    *,
    kappa: float = 0.1,
    min_similarity: float = 0.05,
) -> dict[int, int]:
    """Match 2D predictions (pixels) to ground truths of one image.

    Args:
        preds: ``(J, 2)`` per prediction. gts: ``(J, 2)`` per ground truth, with
            ``visible`` ``(J,)`` masks and ``normalisers`` (pixels) per ground truth.
        kappa: per-keypoint tolerance as a fraction of the normaliser.
        min_similarity: pairs below this similarity are not matched.

    Returns:
        ``{ground-truth index: prediction index}``.
    """
    sim = np.array([[oks_similarity(p, g, v, n, kappa=kappa) for g, v, n in zip(gts, visible, normalisers)]
                    for p in preds]).reshape(len(preds), len(gts))
    return {g: p for p, g in greedy_match(sim, min_similarity=min_similarity)}
