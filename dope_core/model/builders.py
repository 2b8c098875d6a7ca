"""Keyword-only builders of the two DOPE variants (same heads and outputs).

* :func:`build_dope_resnet50`: the release architecture; a release state dict loads
  with ``strict=True`` (555 keys).
* :func:`build_dope_mobilenetv2`: ImageNet-initialised MobileNetV2 (the light variant
  for training and real time).

Anchor poses default to a neutral placeholder (every joint at the box centre, 3D at the
origin) until a checkpoint or the trainer provides them.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import torch
from torch import Tensor, nn

from dope_core.codecs.anchor_pose import AnchorPoseCodec
from dope_core.model.backbones import mobilenetv2_body, mobilenetv2_mlp_head, resnet50_c4
from dope_core.model.dope_rcnn import NUM_JOINTS, PARTS, DopeRCNN
from dope_core.model.predictor import DopePredictor
from dope_core.model.roi_heads import DopeRoIHeads
from dope_core.model.rpn import build_rpn
from dope_core.model.transform import IMAGENET_MEAN, IMAGENET_STD, DopeTransform

AnchorCounts = Sequence[int] | Mapping[str, int]
PerPart = float | Mapping[str, float]


def build_dope_resnet50(*, num_anchor_poses: AnchorCounts = (20, 10, 10),
                        anchor_poses: Optional[Mapping[str, Tensor]] = None, frozen_bn_eps: float = 1e-5,
                        **kwargs) -> DopeRCNN:
    """The released DOPE architecture: ResNet-50 C4 body, layer4 head, frozen BN.

    Args:
        num_anchor_poses: ``K`` per part, as ``(body, hand, face)`` or ``{part: K}``.
        anchor_poses: ``{part: (K, J, 5)}``; placeholders when ``None``.
        frozen_bn_eps: batch-norm epsilon (the checkpoint loader uses 0 for release files).
        **kwargs: settings of :func:`compose` (transform, RPN, RoI sampling, codec weights).
    """
    body, head = resnet50_c4(frozen_bn_eps=frozen_bn_eps)
    return compose(backbone=body, head=head, feature_dim=2048, num_anchor_poses=num_anchor_poses,
                   anchor_poses=anchor_poses, **kwargs)


def build_dope_mobilenetv2(*, pretrained_backbone: bool | str = True, num_anchor_poses: AnchorCounts = (20, 10, 10),
                           anchor_poses: Optional[Mapping[str, Tensor]] = None, min_size: int | Sequence[int] = 512,
                           max_size: int = 853, rpn_post_nms_top_n_test: int = 300,
                           representation_size: int = 1024, **kwargs) -> DopeRCNN:
    """The light variant: MobileNetV2 body (stride 16, 96 channels), two-layer MLP RoI head (1024-d).

    Args:
        pretrained_backbone: ``True`` loads ImageNet weights from the torch hub cache
            (:func:`dope_core.model.pretrained.load_mobilenet_v2_imagenet`), a path loads
            that file, ``False`` leaves the backbone random.
        num_anchor_poses, anchor_poses: as in :func:`build_dope_resnet50`.
        min_size, max_size: input resize (pixels; smaller than the release for speed).
        rpn_post_nms_top_n_test: proposals kept at test time (300, not the release's 1000:
            the RoI head runs once per proposal and dominates the CPU time).
        representation_size: width of the MLP RoI head.
        **kwargs: settings of :func:`compose`.
    """
    state = None
    if pretrained_backbone:
        from dope_core.model.pretrained import load_mobilenet_v2_imagenet

        state = load_mobilenet_v2_imagenet(None if pretrained_backbone is True else pretrained_backbone)
    body = mobilenetv2_body(state)
    head = mobilenetv2_mlp_head(in_channels=body.out_channels, representation_size=representation_size)
    return compose(backbone=body, head=head, feature_dim=representation_size, num_anchor_poses=num_anchor_poses,
                   anchor_poses=anchor_poses, min_size=min_size, max_size=max_size,
                   rpn_post_nms_top_n_test=rpn_post_nms_top_n_test, **kwargs)


def compose(
    *,
    backbone: nn.Module,
    head: nn.Module,
    feature_dim: int,
    num_anchor_poses: AnchorCounts,
    anchor_poses: Optional[Mapping[str, Tensor]] = None,
    min_size: int | Sequence[int] = 800,
    max_size: int = 1333,
    image_mean: Sequence[float] = IMAGENET_MEAN,
    image_std: Sequence[float] = IMAGENET_STD,
    rpn_pre_nms_top_n_train: int = 2000,
    rpn_pre_nms_top_n_test: int = 1000,
    rpn_post_nms_top_n_train: int = 2000,
    rpn_post_nms_top_n_test: int = 1000,
    rpn_nms_thresh: float = 0.7,
    rpn_fg_iou_thresh: float = 0.7,
    rpn_bg_iou_thresh: float = 0.3,
    rpn_batch_size_per_image: int = 256,
    rpn_positive_fraction: float = 0.5,
    pose2d_reg_weights: PerPart = 5.0,
    pose3d_reg_weights: PerPart = 5.0,
    roi_fg_iou_thresh: float = 0.5,
    roi_batch_size_per_image: int = 512,
    roi_positive_fraction: float = 0.25,
    smooth_l1_beta: float = 1.0,
) -> DopeRCNN:
    """Assemble a :class:`DopeRCNN` from a body (``out_channels``) and a head (``feature_dim``).

    Settings keep the release's names where it has them (``rpn_*``, ``pose2d_reg_weights``,
    ``pose3d_reg_weights``; the last two a number or ``{part: number}``).
    """
    counts = _per_part_counts(num_anchor_poses)
    anchors = {p: torch.as_tensor(anchor_poses[p], dtype=torch.float32) if anchor_poses is not None
               else placeholder_anchor_poses(counts[p], NUM_JOINTS[p]) for p in PARTS}
    for p in PARTS:
        if tuple(anchors[p].shape) != (counts[p], NUM_JOINTS[p], 5):
            raise ValueError(f"{p} anchor poses must have shape {(counts[p], NUM_JOINTS[p], 5)}, got {tuple(anchors[p].shape)}")
    w2d, w3d = _per_part(pose2d_reg_weights), _per_part(pose3d_reg_weights)
    rpn = build_rpn(
        in_channels=backbone.out_channels, pre_nms_top_n_train=rpn_pre_nms_top_n_train,
        pre_nms_top_n_test=rpn_pre_nms_top_n_test, post_nms_top_n_train=rpn_post_nms_top_n_train,
        post_nms_top_n_test=rpn_post_nms_top_n_test, nms_thresh=rpn_nms_thresh, fg_iou_thresh=rpn_fg_iou_thresh,
        bg_iou_thresh=rpn_bg_iou_thresh, batch_size_per_image=rpn_batch_size_per_image,
        positive_fraction=rpn_positive_fraction)
    roi_heads = DopeRoIHeads(
        dope_head=head,
        dope_predictor=DopePredictor(in_features=feature_dim, num_anchor_poses=counts, num_joints=NUM_JOINTS),
        anchor_poses=anchors,
        codecs={p: AnchorPoseCodec(weight_2d=w2d[p], weight_3d=w3d[p]) for p in PARTS},
        fg_iou_thresh=roi_fg_iou_thresh, batch_size_per_image=roi_batch_size_per_image,
        positive_fraction=roi_positive_fraction, smooth_l1_beta=smooth_l1_beta)
    transform = DopeTransform(min_size=min_size, max_size=max_size, image_mean=image_mean, image_std=image_std)
    return DopeRCNN(transform=transform, backbone=backbone, rpn=rpn, roi_heads=roi_heads)


def placeholder_anchor_poses(k: int, j: int) -> Tensor:
    """``(K, J, 5)`` neutral anchors: 2D at the box centre (0.5, 0.5), 3D at the origin."""
    anchors = torch.zeros((k, j, 5))
    anchors[:, :, 0:2] = 0.5
    return anchors


def _per_part_counts(num: AnchorCounts) -> dict[str, int]:
    if isinstance(num, Mapping):
        missing = set(PARTS) - set(num)
        if missing:
            raise ValueError(f"num_anchor_poses lacks {sorted(missing)}")
        return {p: int(num[p]) for p in PARTS}
    num = tuple(num)
    if len(num) != len(PARTS):
        raise ValueError(f"num_anchor_poses must give {len(PARTS)} counts (body, hand, face), got {num}")
    return dict(zip(PARTS, (int(n) for n in num)))


def _per_part(value: PerPart) -> dict[str, float]:
    if isinstance(value, Mapping):
        return {p: float(value[p]) for p in PARTS}
    return {p: float(value) for p in PARTS}
