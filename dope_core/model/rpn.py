"""The region proposal network on the single stride-16 feature map (torchvision blocks)."""

from __future__ import annotations

from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead

ANCHOR_SIZES = (32, 64, 128, 256, 512)
"""Anchor box sizes in pixels of the resized image (release)."""
ASPECT_RATIOS = (0.5, 1.0, 2.0)


def build_rpn(
    *,
    in_channels: int,
    anchor_sizes: tuple[int, ...] = ANCHOR_SIZES,
    aspect_ratios: tuple[float, ...] = ASPECT_RATIOS,
    pre_nms_top_n_train: int = 2000,
    pre_nms_top_n_test: int = 1000,
    post_nms_top_n_train: int = 2000,
    post_nms_top_n_test: int = 1000,
    nms_thresh: float = 0.7,
    fg_iou_thresh: float = 0.7,
    bg_iou_thresh: float = 0.3,
    batch_size_per_image: int = 256,
    positive_fraction: float = 0.5,
) -> RegionProposalNetwork:
    """An RPN with ``len(anchor_sizes) * len(aspect_ratios)`` anchors per location of one map.

    Defaults are the release's settings. Its state dict keys are ``head.conv.*``,
    ``head.cls_logits.*`` and ``head.bbox_pred.*`` (torchvision renames the pre-0.13
    ``head.conv.weight`` of old checkpoints when loading).
    """
    anchors = AnchorGenerator(sizes=(tuple(anchor_sizes),), aspect_ratios=(tuple(aspect_ratios),))
    head = RPNHead(in_channels, anchors.num_anchors_per_location()[0])
    return RegionProposalNetwork(
        anchors, head, fg_iou_thresh, bg_iou_thresh, batch_size_per_image, positive_fraction,
        dict(training=pre_nms_top_n_train, testing=pre_nms_top_n_test),
        dict(training=post_nms_top_n_train, testing=post_nms_top_n_test), nms_thresh,
    )
