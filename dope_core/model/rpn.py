"""The region proposal network on the single stride-16 feature map (torchvision blocks).

:class:`DopeRPN` is torchvision's ``RegionProposalNetwork`` whose training-time anchor
matching and proposal filtering treat the whole batch at once. torchvision loops over the
images and waits for the GPU three to four times per image (index lists of the kept
boxes, NMS, low-quality matches): on the H200 of December 2026 these waits, with the
samplers', bounded a 16-image step of the light student at about 4 steps/s. The batched
versions give the same labels, matched boxes and proposals (tested against torchvision)
with two waits per batch. At inference torchvision's own filtering runs (one image per
call in the node, exactly the release's behaviour).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead
from torchvision.ops import boxes as box_ops

from dope_core.model.sampling import BatchedBalancedSampler, group_sizes

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

    Its anchors are sampled in training by :class:`~dope_core.model.sampling.BatchedBalancedSampler`
    (torchvision's per-image distribution, the whole batch in one pass).

    Defaults are the release's settings. Its state dict keys are ``head.conv.*``,
    ``head.cls_logits.*`` and ``head.bbox_pred.*`` (torchvision renames the pre-0.13
    ``head.conv.weight`` of old checkpoints when loading).
    """
    anchors = AnchorGenerator(sizes=(tuple(anchor_sizes),), aspect_ratios=(tuple(aspect_ratios),))
    head = RPNHead(in_channels, anchors.num_anchors_per_location()[0])
    rpn = DopeRPN(
        anchors, head, fg_iou_thresh, bg_iou_thresh, batch_size_per_image, positive_fraction,
        dict(training=pre_nms_top_n_train, testing=pre_nms_top_n_test),
        dict(training=post_nms_top_n_train, testing=post_nms_top_n_test), nms_thresh,
    )
    rpn.fg_bg_sampler = BatchedBalancedSampler(batch_size_per_image, positive_fraction)   # same draws, one pass
    return rpn


class DopeRPN(RegionProposalNetwork):
    """torchvision's RPN with batched anchor matching and, in training, batched proposal filtering."""

    def assign_targets_to_anchors(self, anchors: list[Tensor], targets: list[dict[str, Tensor]]
                                  ) -> tuple[list[Tensor], list[Tensor]]:
        """Per image: anchor labels (1 object, 0 background, -1 ignored) and matched boxes, as
        torchvision's ``Matcher`` (with low-quality matches) gives them, for all images at once.
        Every image of a batch has the same anchors (one padded size)."""
        counts = [int(t["boxes"].shape[0]) for t in targets]
        a = _upcast(torch.stack(anchors))                                         # (B, A, 4)
        if max(counts, default=0) == 0:
            return list(a.new_zeros(a.shape[:2], dtype=torch.float32)), list(torch.zeros_like(a, dtype=torch.float32))
        gt = torch.zeros((len(counts), max(counts), 4), dtype=targets[0]["boxes"].dtype, device=a.device)
        valid = torch.zeros(gt.shape[:2], dtype=torch.bool, device=a.device)
        for i, (t, n) in enumerate(zip(targets, counts)):
            gt[i, :n] = t["boxes"]
            valid[i, :n] = True
        quality = batched_box_iou(_upcast(gt), a).masked_fill_(~valid[:, :, None], -1.0)  # (B, G, A)
        matcher = self.proposal_matcher
        matched_vals, matches = quality.max(dim=1)
        below = matched_vals < matcher.low_threshold
        between = (matched_vals >= matcher.low_threshold) & (matched_vals < matcher.high_threshold)
        final = torch.where(below, matcher.BELOW_LOW_THRESHOLD,
                            torch.where(between, matcher.BETWEEN_THRESHOLDS, matches))
        if matcher.allow_low_quality_matches:   # each box keeps the anchors it overlaps most
            best_for_gt = quality.max(dim=2).values
            update = ((quality == best_for_gt[:, :, None]) & valid[:, :, None]).any(dim=1)
            final = torch.where(update, matches, final)
        matched = gt[torch.arange(len(counts), device=a.device)[:, None], final.clamp(min=0)]
        labels = torch.where(final >= 0, 1.0, torch.where(final == matcher.BETWEEN_THRESHOLDS, -1.0, 0.0))
        return list(labels.to(torch.float32)), list(matched)

    def filter_proposals(self, proposals: Tensor, objectness: Tensor, image_shapes: list[tuple[int, int]],
                         num_anchors_per_level: list[int]) -> tuple[list[Tensor], list[Tensor]]:
        """torchvision's filtering (per-level top-n, clipping, small and low-scoring boxes removed,
        NMS per level, the best ``post_nms_top_n`` kept, in decreasing score) on every image;
        in training all images in one NMS call."""
        if not self.training:
            return super().filter_proposals(proposals, objectness, image_shapes, num_anchors_per_level)
        num_images, dev = proposals.shape[0], proposals.device
        objectness = objectness.detach().reshape(num_images, -1)
        levels = torch.cat([torch.full((n,), i, dtype=torch.int64, device=dev)
                            for i, n in enumerate(num_anchors_per_level)])
        levels = levels.reshape(1, -1).expand_as(objectness)
        top_n_idx = self._get_top_n_idx(objectness, num_anchors_per_level)
        batch_idx = torch.arange(num_images, device=dev)[:, None]
        scores = torch.sigmoid(objectness[batch_idx, top_n_idx])
        levels = levels[batch_idx, top_n_idx]
        boxes = torch.stack([box_ops.clip_boxes_to_image(b, shape)
                             for b, shape in zip(proposals[batch_idx, top_n_idx], image_shapes)])
        ws, hs = boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]
        ok = (ws >= self.min_size) & (hs >= self.min_size) & (scores >= self.score_thresh)
        idx = torch.flatten(torch.nonzero(ok.flatten()))
        boxes, scores = boxes.reshape(-1, 4)[idx], scores.flatten()[idx]
        image = batch_idx.expand_as(ok).flatten()[idx]
        keep = box_ops.batched_nms(boxes, scores, image * len(num_anchors_per_level) + levels.flatten()[idx],
                                   self.nms_thresh)                                # decreasing score
        keep = keep[torch.argsort(image[keep], stable=True)]                       # by image, score order kept
        sizes = group_sizes(image[keep], num_images)
        rank = torch.arange(len(keep), device=dev) - (torch.cumsum(sizes, 0) - sizes)[image[keep]]
        keep = keep[rank < self.post_nms_top_n()]
        counts = group_sizes(image[keep], num_images).tolist()
        return list(boxes[keep].split(counts)), list(scores[keep].split(counts))


def batched_box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """``(B, N, M)`` IoU of ``(B, N, 4)`` and ``(B, M, 4)`` boxes (``x1, y1, x2, y2``), computed as
    ``torchvision.ops.box_iou`` computes each image's matrix."""
    area1 = (boxes1[..., 2] - boxes1[..., 0]) * (boxes1[..., 3] - boxes1[..., 1])
    area2 = (boxes2[..., 2] - boxes2[..., 0]) * (boxes2[..., 3] - boxes2[..., 1])
    lt = torch.max(boxes1[:, :, None, :2], boxes2[:, None, :, :2])
    rb = torch.min(boxes1[:, :, None, 2:], boxes2[:, None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area1[:, :, None] + area2[:, None, :] - inter)


def _upcast(t: Tensor) -> Tensor:
    """Half-precision boxes (anchors under autocast) in float32, as torchvision's box ops take them."""
    return t if t.dtype in (torch.float32, torch.float64) else t.float()
