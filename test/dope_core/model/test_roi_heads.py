"""RoI-head labelling at the foreground IoU threshold."""

import torch

from dope_core.model import build_dope_mobilenetv2


def test_a_proposal_at_exactly_the_foreground_iou_is_positive(anchor_poses: dict) -> None:
    """IoU == fg_iou_thresh is positive (documented 'at least'); just under it is background."""
    heads = build_dope_mobilenetv2(pretrained_backbone=False, anchor_poses=anchor_poses,
                                   representation_size=16).train().roi_heads
    assert heads.fg_iou_thresh == 0.5
    box = torch.tensor([[0.0, 0.0, 5.0, 10.0]])
    j = heads.anchors("hand").shape[1]
    target = {"boxes": box, "pose2d": torch.rand(1, j, 2) * torch.tensor([5.0, 10.0]),
              "pose3d": torch.zeros(1, j, 3), "scores": torch.tensor([0.7])}
    props = torch.tensor([[0.0, 0.0, 10.0, 10.0],       # IoU 50 / 100 = 0.5
                          [0.0, 0.0, 10.01, 10.0]])     # IoU just under 0.5
    classes, scores, _ = heads._label_part(props, torch.zeros(2, dtype=torch.int64), [target], "hand")
    assert int(classes[0]) > 0 and float(scores[0]) == torch.tensor(0.7).item()
    assert int(classes[1]) == 0 and float(scores[1]) == 0.0


def test_a_positive_takes_the_anchor_nearest_in_its_own_box(anchor_poses: dict) -> None:
    """The class is chosen in the proposal's box, the frame its regression target is encoded in."""
    heads = build_dope_mobilenetv2(pretrained_backbone=False, anchor_poses=anchor_poses,
                                   representation_size=16).train().roi_heads
    j = heads.anchors("hand").shape[1]
    anchors = torch.zeros(2, j, 5)
    anchors[0, :, :2] = torch.tensor([0.5, 0.25])        # every joint a quarter down the box
    anchors[1, :, :2] = torch.tensor([0.5, 0.5])         # every joint at the box centre
    heads.hand_anchor_poses = anchors
    gt_box = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    target = {"boxes": gt_box, "pose2d": torch.tensor([5.0, 5.0]).expand(1, j, 2).clone(),
              "pose3d": torch.zeros(1, j, 3), "scores": torch.tensor([1.0])}
    props = torch.tensor([[0.0, 0.0, 10.0, 20.0]])        # IoU 0.5; the joints are a quarter down it
    classes, _, reg = heads._label_part(props, torch.zeros(1, dtype=torch.int64), [target], "hand")
    assert classes.tolist() == [1]                          # anchor 0, not anchor 1 (the centre of the gt box)
    torch.testing.assert_close(reg, torch.zeros(1, j * 5), atol=1e-5, rtol=0)
