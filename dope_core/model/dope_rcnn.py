"""The DOPE network: transform -> backbone -> RPN -> RoI heads, in one module.

``model(images)`` in eval mode returns, per image, the detections of
:mod:`dope_core.model.roi_heads` in the input image's pixels. ``model(images, targets)``
in train mode returns the named losses ``loss_objectness``, ``loss_rpn_box_reg`` and
``loss_{part}_{cls,pose2d,pose3d}``.

``images``: list of float tensors ``(3, H, W)``, RGB in [0, 1].
``targets``: one dict per image, ``{part: {"boxes": (N, 4) pixels, "pose2d": (N, J, 2)
pixels, "pose3d": (N, J, 3) metres part-relative, "scores": (N,) in [0, 1]}}`` for the
parts ``body``, ``hand``, ``face`` (``N`` may be 0; a missing part counts as none).
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor, nn
from torchvision.models.detection.rpn import RegionProposalNetwork

from dope_core.keypoints import Part
from dope_core.model.roi_heads import DopeRoIHeads
from dope_core.model.transform import DopeTransform

PARTS: tuple[str, ...] = tuple(p.value for p in Part)
"""Part names in network order: ``("body", "hand", "face")``."""
NUM_JOINTS: dict[str, int] = {p.value: p.num_keypoints for p in Part}


class DopeRCNN(nn.Module):
    """Composition of the four stages (each built by :mod:`dope_core.model.builders`)."""

    def __init__(self, *, transform: DopeTransform, backbone: nn.Module, rpn: RegionProposalNetwork,
                 roi_heads: DopeRoIHeads) -> None:
        super().__init__()
        self.transform = transform
        self.backbone = backbone
        self.rpn = rpn
        self.roi_heads = roi_heads

    def forward(
        self, images: Sequence[Tensor], targets: Optional[list[dict[str, dict[str, Tensor]]]] = None
    ) -> list[dict[str, Tensor]] | dict[str, Tensor]:
        """Detections per image (eval) or the dict of named losses (training)."""
        if self.training and targets is None:
            raise ValueError("targets are required in training mode")
        if targets is not None:
            _check_targets(targets, len(images))
        original_sizes = [(int(im.shape[-2]), int(im.shape[-1])) for im in images]
        batch, targets = self.transform(images, targets)
        features = self.backbone(batch.tensors)
        rpn_targets = None
        if targets is not None:
            rpn_targets = [{"boxes": torch.cat([t[p]["boxes"].reshape(-1, 4) for p in PARTS if p in t]
                                               or [batch.tensors.new_zeros((0, 4))])} for t in targets]
        proposals, rpn_losses = self.rpn(batch, features, rpn_targets)
        if self.training:
            # Under autocast the RPN decodes its boxes in the features' precision; the RoI
            # heads' target matching and encoding run in fp32.
            proposals = [p.float() for p in proposals]
        # The RoI pooler infers the feature map's scale from the sizes it is given; the padded batch
        # size gives the backbone's exact stride whatever the image (an image a pixel high would
        # otherwise round to a wrong scale).
        padded = [(int(batch.tensors.shape[-2]), int(batch.tensors.shape[-1]))] * len(batch.image_sizes)
        detections, head_losses = self.roi_heads(features, proposals, padded, targets)
        if self.training:
            return {**rpn_losses, **head_losses}
        return self.transform.postprocess(detections, batch.image_sizes, original_sizes)


def _check_targets(targets: list[dict[str, dict[str, Tensor]]], num_images: int) -> None:
    if len(targets) != num_images:
        raise ValueError(f"got {len(targets)} targets for {num_images} images")
    for i, t in enumerate(targets):
        for part, d in t.items():
            if part not in NUM_JOINTS:
                raise ValueError(f"target {i}: unknown part {part!r}; expected one of {PARTS}")
            missing = {"boxes", "pose2d", "pose3d", "scores"} - set(d)
            if missing:
                raise ValueError(f"target {i} {part}: missing {sorted(missing)}")
            n, j = len(d["boxes"]), NUM_JOINTS[part]
            for key, shape in (("boxes", (n, 4)), ("pose2d", (n, j, 2)), ("pose3d", (n, j, 3)), ("scores", (n,))):
                if tuple(d[key].shape) != shape:
                    raise ValueError(f"target {i} {part}: {key} must have shape {shape}, got {tuple(d[key].shape)}")
