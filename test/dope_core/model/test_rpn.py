"""The batched RPN gives torchvision's anchor labels, matched boxes and proposals."""

import pytest
import torch
from torchvision.models.detection.rpn import RegionProposalNetwork
from torchvision.ops import box_iou

from dope_core.model.rpn import DopeRPN, batched_box_iou, build_rpn


def _boxes(g: torch.Generator, n: int, w: float, h: float, min_side: float = 4.0) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=g) * torch.tensor([w, h])
    wh = min_side + torch.rand(n, 2, generator=g) * torch.tensor([w, h]) / 3
    return torch.cat([xy, xy + wh], 1)


@pytest.fixture
def rpn() -> DopeRPN:
    rpn = build_rpn(in_channels=8, pre_nms_top_n_train=300, post_nms_top_n_train=120)
    assert isinstance(rpn, DopeRPN)
    return rpn.train()


def test_batched_box_iou_is_box_iou():
    g = torch.Generator().manual_seed(0)
    a = torch.stack([_boxes(g, 7, 100, 80) for _ in range(3)])
    b = torch.stack([_boxes(g, 50, 100, 80) for _ in range(3)])
    got = batched_box_iou(a, b)
    for i in range(3):
        torch.testing.assert_close(got[i], box_iou(a[i], b[i]), rtol=0, atol=0)


def test_anchor_labels_and_matched_boxes_are_torchvisions(rpn):
    g = torch.Generator().manual_seed(1)
    anchors = _boxes(g, 2000, 320, 240, min_side=16)
    # image 2 has no box; image 1's only box overlaps no anchor well (a low-quality match)
    targets = [{"boxes": _boxes(g, 6, 320, 240, 20)}, {"boxes": torch.tensor([[1.0, 1.0, 3.0, 2.5]])},
               {"boxes": torch.zeros(0, 4)}, {"boxes": anchors[:3] + 0.5}]
    labels, matched = rpn.assign_targets_to_anchors([anchors] * 4, targets)
    ref_labels, ref_matched = RegionProposalNetwork.assign_targets_to_anchors(rpn, [anchors] * 4, targets)
    for got, want in zip(labels, ref_labels):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    for got, want in zip(matched, ref_matched):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert int((labels[0] == 1).sum()) > 0 and int((labels[1] == 1).sum()) >= 1 and int(labels[2].abs().sum()) == 0
    empty = rpn.assign_targets_to_anchors([anchors] * 2, [{"boxes": torch.zeros(0, 4)}] * 2)
    assert all(int(t.abs().sum()) == 0 for t in empty[0] + empty[1])


def test_training_proposals_are_torchvisions(rpn):
    g = torch.Generator().manual_seed(2)
    shapes = [(240, 320), (200, 300), (240, 180)]
    proposals = torch.stack([_boxes(g, 1500, 340, 260, min_side=0.0) - 10 for _ in shapes])
    objectness = torch.randn(len(shapes), 1500, 1, generator=g)
    objectness[1, :1400] = -20.0          # image 1: most boxes all but certainly background
    boxes, scores = rpn.filter_proposals(proposals, objectness, shapes, [1500])
    ref_boxes, ref_scores = RegionProposalNetwork.filter_proposals(rpn, proposals, objectness, shapes, [1500])
    for got, want, s, rs in zip(boxes, ref_boxes, scores, ref_scores):
        assert len(want) > 0
        torch.testing.assert_close(got, want, rtol=0, atol=0)
        torch.testing.assert_close(s, rs, rtol=0, atol=0)
    assert max(len(b) for b in boxes) == 120                             # post_nms_top_n_train
    rpn.eval()                                                             # inference: torchvision's own code
    eval_boxes, _ = rpn.filter_proposals(proposals, objectness, shapes, [1500])
    ref_eval, _ = RegionProposalNetwork.filter_proposals(rpn, proposals, objectness, shapes, [1500])
    assert all(torch.equal(a, b) for a, b in zip(eval_boxes, ref_eval))


def test_an_anchor_at_exactly_the_background_iou_is_ignored_as_torchvision_does(rpn: DopeRPN) -> None:
    """IoU == bg_iou_thresh (0.3) is 'between thresholds' (ignored, -1), not background."""
    gt = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    anchors = torch.tensor([[0.0, 0.0, 10.0, 10.0],      # IoU 1: the box's best anchor
                            [0.0, 0.0, 3.0, 10.0],       # IoU 30 / 100 = 0.3 exactly
                            [50.0, 50.0, 60.0, 60.0]])   # IoU 0: background
    labels, _ = rpn.assign_targets_to_anchors([anchors], [{"boxes": gt}])
    ref, _ = RegionProposalNetwork.assign_targets_to_anchors(rpn, [anchors], [{"boxes": gt}])
    assert labels[0].tolist() == ref[0].tolist() == [1.0, -1.0, 0.0]


def test_training_proposals_apply_the_score_threshold_as_torchvision(rpn: DopeRPN) -> None:
    """With a positive ``score_thresh`` the batched filtering drops the same low-scoring proposals as torchvision."""
    g = torch.Generator().manual_seed(5)
    shapes = [(240, 320), (200, 300)]
    proposals = torch.stack([_boxes(g, 400, 320, 240, min_side=8.0) for _ in shapes])
    objectness = torch.randn(len(shapes), 400, 1, generator=g)
    rpn.score_thresh = 0.6
    boxes, scores = rpn.filter_proposals(proposals, objectness, shapes, [400])
    ref_boxes, ref_scores = RegionProposalNetwork.filter_proposals(rpn, proposals, objectness, shapes, [400])
    for got, want, s, rs in zip(boxes, ref_boxes, scores, ref_scores):
        assert len(want) > 0 and float(rs.min()) >= 0.6
        torch.testing.assert_close(got, want, rtol=0, atol=0)
        torch.testing.assert_close(s, rs, rtol=0, atol=0)
