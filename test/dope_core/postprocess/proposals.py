"""Constructed proposal sets for the post-processing tests (not a test module)."""

import numpy as np


def proposal_set(poses2d, poses3d, class_scores, k=2):
    """Network-like outputs where proposal ``i`` predicts ``poses2d[i]``/``poses3d[i]`` for every class.

    Args:
        poses2d: ``(N, J, 2)``; poses3d: ``(N, J, 3)``; class_scores: ``(N, K)`` foreground scores.

    Returns:
        ``scores (N, K + 1)``, ``pose2d (N, K, J, 2)``, ``pose3d (N, K, J, 3)``.
    """
    poses2d, poses3d = np.asarray(poses2d, float), np.asarray(poses3d, float)
    fg = np.asarray(class_scores, float)
    scores = np.concatenate([1.0 - fg.sum(1, keepdims=True), fg], axis=1)
    return (scores, np.repeat(poses2d[:, None], k, axis=1), np.repeat(poses3d[:, None], k, axis=1))


def proposal_boxes(poses2d):
    """``(N, 4)`` proposal boxes: the tight box of each 2D pose."""
    poses2d = np.asarray(poses2d, float)
    return np.concatenate([poses2d.min(axis=1), poses2d.max(axis=1)], axis=1)


def square_pose(x, y, size=10.0):
    """A 2-joint 2D pose along the diagonal of a square at ``(x, y)``."""
    return [[x, y], [x + size, y + size]]


def per_class_proposal_set(poses2d, poses3d, class_scores, offset2d=(0.0, 500.0), offset3d=(1.0, 0.0, 0.0)):
    """Like :func:`proposal_set`, but class ``k`` of proposal ``i`` predicts ``poses2d[i] + k * offset2d`` and
    ``poses3d[i] + k * offset3d``, so that which class's poses a detection took shows in its poses."""
    scores, p2d, p3d = proposal_set(poses2d, poses3d, class_scores, k=np.asarray(class_scores).shape[1])
    k = np.arange(p2d.shape[1], dtype=float)[None, :, None, None]
    return scores, p2d + k * np.asarray(offset2d, float), p3d + k * np.asarray(offset3d, float)
