"""Training losses of the RoI heads, per part.

* classification: cross-entropy against a *soft* target distribution. A positive
  proposal of anchor class ``c`` (1..K) and target score ``s`` has probability ``s`` on
  ``c`` and ``1 - s`` on background (class 0); a background proposal has all its mass
  on class 0. ``s = 1`` gives the plain cross-entropy; ``s < 1`` distils an expert's
  confidence. Averaged over the sampled proposals.
* 2D and 3D pose: smooth-L1 between predicted and target regression (the encoded
  deltas of the positive's own anchor class), averaged over coordinates, weighted by
  the target score, summed over positives and divided by their number (at least 1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def soft_cross_entropy(logits: Tensor, classes: Tensor, scores: Tensor) -> Tensor:
    """Mean cross-entropy of ``(S, K + 1)`` logits against soft targets.

    Args:
        logits: ``(S, K + 1)`` class logits (class 0 = background).
        classes: ``(S,)`` int64 target class, 0 for background.
        scores: ``(S,)`` target score in [0, 1] of the class (ignored where ``classes == 0``).
    """
    if logits.shape[0] == 0:
        return logits.sum() * 0.0
    s = torch.where(classes > 0, scores.to(logits.dtype), torch.zeros_like(scores, dtype=logits.dtype))
    target = torch.zeros_like(logits)
    target[:, 0] = 1.0 - s
    target[torch.arange(len(classes), device=logits.device), classes] += s
    return -(target * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


def weighted_smooth_l1(pred: Tensor, target: Tensor, weights: Tensor, *, beta: float = 1.0) -> Tensor:
    """``sum_i w_i * mean_d smoothL1(pred_id - target_id) / max(1, N)`` over ``(N, D)`` rows."""
    if pred.shape[0] == 0:
        return pred.sum() * 0.0
    per_row = F.smooth_l1_loss(pred, target, reduction="none", beta=beta).mean(dim=1)
    return (weights.to(per_row.dtype) * per_row).sum() / max(1, pred.shape[0])


def part_losses(
    logits: Tensor, regression: Tensor, classes: Tensor, scores: Tensor, reg_targets: Tensor, *,
    num_joints: int, beta: float = 1.0,
) -> tuple[Tensor, Tensor, Tensor]:
    """``(loss_cls, loss_pose2d, loss_pose3d)`` of one part.

    Args:
        logits: ``(S, K + 1)``; regression: ``(S, K * J * 5)`` network outputs.
        classes: ``(S,)`` target class (0 background, ``1..K`` anchor ``class - 1``).
        scores: ``(S,)`` target scores in [0, 1].
        reg_targets: ``(S, J * 5)`` encoded targets (rows of background proposals unused).
        num_joints: ``J``.
    """
    loss_cls = soft_cross_entropy(logits, classes, scores)
    pos = torch.flatten(torch.nonzero(classes > 0))
    reg = regression.reshape(regression.shape[0], -1, num_joints * 5)[pos, classes[pos] - 1]
    tgt = reg_targets[pos]
    w = scores[pos]
    j2 = 2 * num_joints
    loss_2d = weighted_smooth_l1(reg[:, :j2], tgt[:, :j2], w, beta=beta)
    loss_3d = weighted_smooth_l1(reg[:, j2:], tgt[:, j2:], w, beta=beta)
    return loss_cls, loss_2d, loss_3d
