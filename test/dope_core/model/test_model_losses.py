"""Training losses on hand-computed cases."""

import math

import pytest
import torch
import torch.nn.functional as F

from dope_core.model.losses import part_losses, soft_cross_entropy, weighted_smooth_l1


def test_soft_cross_entropy_hand_computed():
    # softmax([0, log 3, 0]) = [0.2, 0.6, 0.2]
    logits = torch.tensor([[0.0, math.log(3.0), 0.0]])
    loss = soft_cross_entropy(logits, torch.tensor([1]), torch.tensor([0.5]))
    assert float(loss) == pytest.approx(-(0.5 * math.log(0.2) + 0.5 * math.log(0.6)))
    # a background row puts all mass on class 0, whatever its score
    loss_bg = soft_cross_entropy(logits, torch.tensor([0]), torch.tensor([0.7]))
    assert float(loss_bg) == pytest.approx(-math.log(0.2))


def test_soft_cross_entropy_with_unit_scores_is_plain_cross_entropy():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(7, 5, generator=g)
    classes = torch.tensor([0, 1, 4, 2, 0, 3, 3])
    ce = F.cross_entropy(logits, classes)
    assert float(soft_cross_entropy(logits, classes, torch.ones(7))) == pytest.approx(float(ce), rel=1e-6)


def test_weighted_smooth_l1_hand_computed():
    pred = torch.zeros(2, 2)
    target = torch.tensor([[0.5, 2.0], [1.0, 0.0]])
    # row 0: [0.5 * 0.25, 2 - 0.5] -> mean 0.8125; row 1: [0.5, 0] -> mean 0.25
    loss = weighted_smooth_l1(pred, target, torch.tensor([0.5, 1.0]))
    assert float(loss) == pytest.approx((0.5 * 0.8125 + 1.0 * 0.25) / 2)
    assert float(weighted_smooth_l1(torch.zeros(0, 2), torch.zeros(0, 2), torch.zeros(0))) == 0.0


def test_part_losses_use_the_positives_own_anchor_and_ignore_background():
    k, j = 2, 1
    logits = torch.zeros(3, k + 1)
    regression = torch.zeros(3, k * j * 5)
    regression[1, 5:10] = 1.0  # proposal 1, anchor 1 (class 2)
    regression[2, :] = 100.0   # background row: must not count
    classes = torch.tensor([0, 2, 0])
    scores = torch.tensor([0.0, 1.0, 0.0])
    targets = torch.zeros(3, j * 5)
    targets[1] = 1.0
    cls, l2d, l3d = part_losses(logits, regression, classes, scores, targets, num_joints=j)
    assert float(l2d) == 0.0 and float(l3d) == 0.0
    assert float(cls) == pytest.approx(math.log(3.0))
    targets[1, :2] = 0.0  # 2D error of 1 per coordinate -> smooth L1 0.5
    _, l2d, l3d = part_losses(logits, regression, classes, scores * 0.5, targets, num_joints=j)
    assert float(l2d) == pytest.approx(0.5 * 0.5) and float(l3d) == 0.0


def test_pose_losses_use_the_given_smooth_l1_beta() -> None:
    """The 2D and 3D pose losses both use ``beta``: an error of 1 costs ``1 - beta / 2`` (quadratic under beta)."""
    k, j = 1, 1
    regression = torch.zeros(1, k * j * 5)
    targets = torch.ones(1, j * 5)             # error 1 on every coordinate
    args = (torch.zeros(1, k + 1), regression, torch.tensor([1]), torch.tensor([1.0]), targets)
    _, l2d, l3d = part_losses(*args, num_joints=j, beta=0.5)
    assert float(l2d) == pytest.approx(1.0 - 0.25) and float(l3d) == pytest.approx(1.0 - 0.25)
    _, l2d, l3d = part_losses(*args, num_joints=j, beta=4.0)
    assert float(l2d) == pytest.approx(0.5 * 1.0 / 4.0) and float(l3d) == pytest.approx(0.5 * 1.0 / 4.0)
