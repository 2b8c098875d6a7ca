"""Input transform: ImageNet normalisation, resizing, batching; rescaling of targets and outputs.

Images are float tensors ``(3, H, W)``, RGB in [0, 1]. The resize factor of an image is
``min(s / min(H, W), max_size / max(H, W))`` with ``s = min_size``; a sequence of
``min_size`` values (torchvision's convention, as a release's ``dope_kwargs`` may hold)
gives its last value at test time and a random one per image in training; boxes and 2D poses (pixels) of the
targets are scaled by the same factors, and outputs are scaled back to the input pixels.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.detection.image_list import ImageList

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class DopeTransform(nn.Module):
    """Normalise, resize and pad a list of images into one batch.

    Args:
        min_size: target length in pixels of the shorter image side (or a sequence of them).
        max_size: upper bound in pixels of the longer side after resizing.
        image_mean, image_std: per-channel normalisation (RGB, [0, 1] scale).
        size_divisible: the batch is zero-padded to a multiple of this (pixels).
    """

    def __init__(
        self,
        *,
        min_size: int | Sequence[int] = 800,
        max_size: int = 1333,
        image_mean: Sequence[float] = IMAGENET_MEAN,
        image_std: Sequence[float] = IMAGENET_STD,
        size_divisible: int = 32,
    ) -> None:
        super().__init__()
        sizes = tuple(min_size) if isinstance(min_size, Sequence) else (min_size,)
        if not sizes or any(int(m) < 1 for m in sizes):
            raise ValueError(f"min_size must be a positive number of pixels or a non-empty sequence of them, got {min_size!r}")
        self.min_sizes = tuple(int(m) for m in sizes)
        self.max_size = int(max_size)
        self.image_mean = list(image_mean)
        self.image_std = list(image_std)
        self.size_divisible = int(size_divisible)
        # on the model's device with it (no copy from the host per image); not part of the state dict
        self.register_buffer("mean", torch.tensor(self.image_mean, dtype=torch.float32)[:, None, None], persistent=False)
        self.register_buffer("std", torch.tensor(self.image_std, dtype=torch.float32)[:, None, None], persistent=False)

    def forward(
        self, images: Sequence[Tensor], targets: Optional[list[dict[str, dict[str, Tensor]]]] = None
    ) -> tuple[ImageList, Optional[list[dict[str, dict[str, Tensor]]]]]:
        """Batch ``images``; return the batch and the targets in the resized pixels."""
        resized: list[Tensor] = []
        out_targets: Optional[list[dict[str, dict[str, Tensor]]]] = [] if targets is not None else None
        for i, image in enumerate(images):
            if image.dim() != 3 or image.shape[0] != 3:
                raise ValueError(f"image {i} must be a (3, H, W) tensor, got shape {tuple(image.shape)}")
            image = self._normalise(image)
            h, w = image.shape[-2:]
            scale = min(self._min_size() / min(h, w), self.max_size / max(h, w))
            image = F.interpolate(image[None], scale_factor=scale, mode="bilinear",
                                  recompute_scale_factor=True, align_corners=False)[0]
            resized.append(image)
            if targets is not None and out_targets is not None:
                out_targets.append(_scale_targets(targets[i], image.shape[-1] / w, image.shape[-2] / h))
        image_sizes = [(int(im.shape[-2]), int(im.shape[-1])) for im in resized]
        return ImageList(self._batch(resized), image_sizes), out_targets

    def postprocess(
        self, detections: list[dict[str, Tensor]], image_sizes: Sequence[tuple[int, int]],
        original_sizes: Sequence[tuple[int, int]],
    ) -> list[dict[str, Tensor]]:
        """Scale ``boxes`` and every ``*_pose2d`` of the detections back to the input pixels."""
        for det, (h, w), (oh, ow) in zip(detections, image_sizes, original_sizes):
            ratio = torch.tensor([ow / w, oh / h], dtype=det["boxes"].dtype, device=det["boxes"].device)
            det["boxes"] = det["boxes"] * ratio.repeat(2)
            for key in [k for k in det if k.endswith("_pose2d")]:
                det[key] = det[key] * ratio
        return detections

    @property
    def min_size(self) -> int:
        """The shorter side's target length at test time (pixels)."""
        return self.min_sizes[-1]

    def _min_size(self) -> int:
        if self.training and len(self.min_sizes) > 1:
            return self.min_sizes[int(torch.randint(len(self.min_sizes), ()))]
        return self.min_size

    def _normalise(self, image: Tensor) -> Tensor:
        mean, std = self.mean.to(image), self.std.to(image)   # the image's device and dtype
        return (image - mean) / std

    def _batch(self, images: list[Tensor]) -> Tensor:
        d = self.size_divisible
        h = max(im.shape[-2] for im in images)
        w = max(im.shape[-1] for im in images)
        h, w = (h + d - 1) // d * d, (w + d - 1) // d * d
        batch = images[0].new_zeros((len(images), 3, h, w))
        for im, slot in zip(images, batch):
            slot[:, : im.shape[-2], : im.shape[-1]].copy_(im)
        return batch

    def extra_repr(self) -> str:
        return f"min_size={self.min_sizes if len(self.min_sizes) > 1 else self.min_sizes[0]}, max_size={self.max_size}, size_divisible={self.size_divisible}"


def _scale_targets(target: dict[str, Any], rx: float, ry: float) -> dict[str, dict[str, Tensor]]:
    """Boxes and 2D poses (pixels) scaled by ``rx`` along x and ``ry`` along y (float32)."""
    out: dict[str, dict[str, Tensor]] = {}
    for part, t in target.items():
        t = dict(t)
        boxes, pose2d = t["boxes"].float().clone(), t["pose2d"].float().clone()
        boxes[:, 0::2] *= rx
        boxes[:, 1::2] *= ry
        pose2d[..., 0] *= rx
        pose2d[..., 1] *= ry
        t["boxes"], t["pose2d"] = boxes, pose2d
        out[part] = t
    return out
