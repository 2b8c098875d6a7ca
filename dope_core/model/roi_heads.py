"""RoI heads of DOPE: RoIAlign -> head -> per-part predictor -> anchor-pose decoding.

Every proposal is kept (no box regression, no NMS inside the network): in eval mode the
output per image is ``{"boxes": (N, 4), "{part}_scores": (N, K + 1) softmax,
"{part}_pose2d": (N, K, J, 2) pixels, "{part}_pose3d": (N, K, J, 3) metres}``.

In training, the ground-truth boxes of every part are added to the proposals; a
proposal is positive for a part when its best IoU with that part's boxes is at least
``fg_iou_thresh``, background for that part otherwise. ``batch_size_per_image``
proposals are sampled (``positive_fraction`` of them positive for some part) and every
part's classifier sees all of them. A positive's class is the nearest anchor pose and
its regression target the codec's encoding (see :mod:`dope_core.codecs.anchor_pose`).
"""

from __future__ import annotations

from typing import Mapping, Optional

import torch
from torch import Tensor, nn
from torchvision.ops import box_iou

from dope_core.codecs.anchor_pose import AnchorPoseCodec, nearest_anchor, normalise_in_box
from dope_core.model.losses import part_losses
from dope_core.model.predictor import DopePredictor
from dope_core.model.roi_align import RoIAlignPooler
from dope_core.model.sampling import BatchedBalancedSampler, group_sizes, image_index


class DopeRoIHeads(nn.Module):
    """Pooling, head, predictor and anchor-pose buffers ``{part}_anchor_poses`` ``(K, J, 5)``.

    Args:
        dope_head: module mapping ``(N, C, 7, 7)`` RoI features to ``(N, F)``.
        dope_predictor: the per-part classifiers and regressors.
        anchor_poses: ``{part: (K, J, 5)}`` anchor poses (copied into buffers).
        codecs: ``{part: AnchorPoseCodec}``.
        output_size, sampling_ratio: RoIAlign settings (release: 7, 2).
        fg_iou_thresh: IoU at or above which a proposal is positive for a part.
        batch_size_per_image, positive_fraction: proposal sampling in training.
        smooth_l1_beta: transition point of the pose losses.
    """

    def __init__(
        self,
        *,
        dope_head: nn.Module,
        dope_predictor: DopePredictor,
        anchor_poses: Mapping[str, Tensor],
        codecs: Mapping[str, AnchorPoseCodec],
        output_size: int = 7,
        sampling_ratio: int = 2,
        fg_iou_thresh: float = 0.5,
        batch_size_per_image: int = 512,
        positive_fraction: float = 0.25,
        smooth_l1_beta: float = 1.0,
    ) -> None:
        super().__init__()
        self.parts = tuple(anchor_poses)
        for part, anchors in anchor_poses.items():
            self.register_buffer(f"{part}_anchor_poses", torch.as_tensor(anchors, dtype=torch.float32).clone())
        self.dope_roi_pool = RoIAlignPooler(featmap_name="0", output_size=output_size, sampling_ratio=sampling_ratio)
        self.dope_head = dope_head
        self.dope_predictor = dope_predictor
        self.codecs = dict(codecs)
        self.fg_iou_thresh = fg_iou_thresh
        self.sampler = BatchedBalancedSampler(batch_size_per_image, positive_fraction)
        self.smooth_l1_beta = smooth_l1_beta

    def anchors(self, part: str) -> Tensor:
        """``(K, J, 5)`` anchor poses of ``part``."""
        return getattr(self, f"{part}_anchor_poses")

    def forward(
        self, features: Mapping[str, Tensor], proposals: list[Tensor], image_sizes: list[tuple[int, int]],
        targets: Optional[list[dict[str, dict[str, Tensor]]]] = None,
    ) -> tuple[list[dict[str, Tensor]], dict[str, Tensor]]:
        """Detections (eval) or named losses (training), as ``(detections, losses)``.

        ``image_sizes`` are the padded batch's ``(H, W)`` per image (pixels): the RoI pooler
        infers the features' scale from them (:meth:`RoIAlignPooler.spatial_scale`).
        """
        if self.training:
            if targets is None:
                raise ValueError("targets are required in training mode")
            proposals, part_targets = self.select_training_samples(proposals, targets)
        logits, regression = self.predict(features, proposals, image_sizes)
        if self.training:
            return [], self.losses(logits, regression, part_targets)
        return self.decode(logits, regression, proposals), {}

    def predict(
        self, features: Mapping[str, Tensor], proposals: list[Tensor], image_sizes: list[tuple[int, int]]
    ) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """Class logits and regressions of all proposals of the batch (concatenated).

        RoIAlign runs in fp32 even when the network runs in fp16 (as the release does):
        its bilinear sampling of half-precision features loses about twice the
        network's own fp16 error.
        """
        dtype = next(iter(features.values())).dtype
        if dtype == torch.float16:
            pooled = self.dope_roi_pool({k: v.float() for k, v in features.items()}, [p.float() for p in proposals],
                                        image_sizes).to(dtype)
        else:
            pooled = self.dope_roi_pool(dict(features), proposals, image_sizes)
        return self.dope_predictor(self.dope_head(pooled))

    def decode(self, logits: dict[str, Tensor], regression: dict[str, Tensor], proposals: list[Tensor]) -> list[dict[str, Tensor]]:
        """Per-image detections: softmax scores and decoded poses of every anchor class."""
        counts = [len(p) for p in proposals]
        out: list[dict[str, Tensor]] = [{"boxes": p} for p in proposals]
        for part in self.parts:
            anchors = self.anchors(part).to(regression[part].dtype)
            scores = logits[part].softmax(dim=-1).split(counts)
            regs = regression[part].split(counts)
            for det, boxes, sc, reg in zip(out, proposals, scores, regs):
                pose2d, pose3d = self.codecs[part].decode(reg, boxes.to(reg.dtype), anchors)
                det[f"{part}_scores"], det[f"{part}_pose2d"], det[f"{part}_pose3d"] = sc, pose2d, pose3d
        return out

    @torch.no_grad()
    def select_training_samples(
        self, proposals: list[Tensor], targets: list[dict[str, dict[str, Tensor]]]
    ) -> tuple[list[Tensor], dict[str, dict[str, Tensor]]]:
        """Sampled proposals per image and, per part, ``classes``, ``scores``, ``reg_targets``
        for the sampled proposals of the whole batch (concatenated in image order).

        The batch is labelled and sampled at once (IoUs between proposals and boxes of other
        images masked out): the CPU waits for the GPU once per part and twice for the
        sampled proposals, not a few times per image.
        """
        with_gt = [torch.cat([props] + [target[p]["boxes"].to(props) for p in self.parts if p in target])
                   for props, target in zip(proposals, targets)]
        counts = [len(p) for p in with_gt]
        props = torch.cat(with_gt)
        image = image_index(counts, props.device)
        labelled = {p: self._label_part(props, image, [t.get(p) for t in targets], p) for p in self.parts}
        any_pos = torch.zeros(len(props), dtype=torch.bool, device=props.device)
        for classes, _, _ in labelled.values():
            any_pos |= classes > 0
        pos, neg = self.sampler.sample(any_pos.long(), image, len(counts))
        keep = torch.flatten(torch.nonzero(pos | neg))        # image order, then proposal order
        kept_counts = group_sizes(image[keep], len(counts)).tolist()
        sampled = list(props[keep].split(kept_counts))
        part_targets = {p: {"classes": c[keep], "scores": sc[keep], "reg_targets": r[keep]}
                        for p, (c, sc, r) in labelled.items()}
        return sampled, part_targets

    def _label_part(self, props: Tensor, image: Tensor, targets: list[Optional[dict[str, Tensor]]],
                    part: str) -> tuple[Tensor, Tensor, Tensor]:
        """``classes``, ``scores``, ``reg_targets`` of every proposal of the batch for one part;
        ``image`` gives each proposal's image, ``targets`` the part's targets per image."""
        anchors = self.anchors(part)
        j = anchors.shape[1]
        n = len(props)
        classes = torch.zeros(n, dtype=torch.int64, device=props.device)
        scores = torch.zeros(n, dtype=props.dtype, device=props.device)
        reg_t = torch.zeros((n, j * 5), dtype=props.dtype, device=props.device)
        counts = [0 if t is None else len(t["boxes"]) for t in targets]
        present = [t for t, c in zip(targets, counts) if c]
        if not present:
            return classes, scores, reg_t
        gt_boxes = torch.cat([t["boxes"] for t in present]).to(props)
        gt_image = image_index(counts, props.device)
        iou = box_iou(gt_boxes, props).masked_fill_(gt_image[:, None] != image[None, :], -1.0)  # (G, N)
        best_iou, best_gt = iou.max(dim=0)
        pos = torch.flatten(torch.nonzero(best_iou >= self.fg_iou_thresh))
        if len(pos) == 0:
            return classes, scores, reg_t
        g = best_gt[pos]
        pose2d = torch.cat([t["pose2d"] for t in present]).to(props)[g]
        pose3d = torch.cat([t["pose3d"] for t in present]).to(props)[g]
        boxes = props[pos]
        k = nearest_anchor(normalise_in_box(pose2d, boxes), pose3d, anchors)
        classes[pos] = k + 1
        scores[pos] = torch.cat([t["scores"] for t in present]).to(props)[g]
        reg_t[pos] = self.codecs[part].encode(pose2d, pose3d, boxes, anchors, k)
        return classes, scores, reg_t

    def losses(self, logits: dict[str, Tensor], regression: dict[str, Tensor],
               part_targets: dict[str, dict[str, Tensor]]) -> dict[str, Tensor]:
        """``loss_{part}_cls``, ``loss_{part}_pose2d``, ``loss_{part}_pose3d`` for every part."""
        out: dict[str, Tensor] = {}
        for part in self.parts:
            t = part_targets[part]
            cls, l2d, l3d = part_losses(
                logits[part], regression[part], t["classes"], t["scores"], t["reg_targets"],
                num_joints=self.anchors(part).shape[1], beta=self.smooth_l1_beta)
            out[f"loss_{part}_cls"], out[f"loss_{part}_pose2d"], out[f"loss_{part}_pose3d"] = cls, l2d, l3d
        return out
