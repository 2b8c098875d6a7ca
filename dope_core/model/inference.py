"""The network backend of :func:`dope_core.estimator.build_estimator`.

``NetworkEstimator(checkpoint=..., parts=..., device=..., half=...)`` loads a release
or project checkpoint (:mod:`dope_core.checkpoint`), runs the network on RGB ``uint8``
images ``(H, W, 3)`` and returns :class:`~dope_core.structures.WholeBodyPoses` (2D in
pixels, 3D in metres with camera-aligned axes, part-relative).
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np
import torch

from dope_core.checkpoint import CheckpointError, load_checkpoint
from dope_core.keypoints import Part
from dope_core.model.fuse import fold_frozen_batchnorm
from dope_core.postprocess.pipeline import METHODS, PostprocessConfig, detections_to_poses
from dope_core.structures import WholeBodyPoses

LOG = logging.getLogger(__name__)
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "weights" / "dope_student_mobilenetv2.pth"
"""The project's shipped student checkpoint (produced by the trainer)."""


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA when available else CPU; CUDA asked for and absent -> CPU with a warning.

    Raises:
        ValueError: not ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (``"gpu"``, ``"mps"``, ``"meta"``, ``None``...).
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):   # torch parses "meta", "mps", "xpu"...: none runs here
        raise ValueError(f"unknown device {device!r}: use 'auto', 'cpu', 'cuda' or 'cuda:N'")
    if dev.type == "cuda" and not torch.cuda.is_available():
        warnings.warn(f"device {device!r} asked for but CUDA is not available: running on the CPU", RuntimeWarning,
                      stacklevel=3)
        return torch.device("cpu")
    return dev


def prepare_for_inference(model: torch.nn.Module, device: torch.device, *, half: bool = False) -> torch.nn.Module:
    """``model`` ready for inference on ``device``, faster and with the same outputs up to float rounding.

    In eval mode, its frozen batch norms folded into its convolutions
    (:func:`dope_core.model.fuse.fold_frozen_batchnorm`), on ``device``; on the CPU its
    weights channels-last (oneDNN's preferred layout: the shipped student's body runs in
    about half the time, the release's ResNet-50 body in 0.75); in fp16 when ``half``.
    The result is for inference only: its state dict lacks the norms, so it is never
    saved or trained.
    """
    model = model.eval()
    fold_frozen_batchnorm(model)
    model = model.to(device)
    if device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)
    return model.half() if half else model


class NetworkEstimator:
    """Whole-body pose estimation with the DOPE network.

    Args:
        checkpoint: release or project checkpoint file; ``None`` uses
            :data:`DEFAULT_CHECKPOINT` (an error naming ``--checkpoint`` when absent).
        parts: parts to report.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        half: fp16 inference (CUDA only; ignored with a warning on the CPU).
        postprocess: overrides the checkpoint's post-processing settings.
        postprocess_method: ``"ppi"`` or ``"nms"`` instead of the checkpoint's (or
            ``postprocess``'s) method; ``None`` keeps it.

    ``model`` is the loaded network after :func:`prepare_for_inference` (for inference only:
    never saved or trained).
    """

    name = "network"

    def __init__(self, *, checkpoint: Optional[str | os.PathLike], parts: Sequence[Part | str] = tuple(Part),
                 device: str = "auto", half: bool = False, postprocess: Optional[PostprocessConfig] = None,
                 postprocess_method: Optional[str] = None) -> None:
        if postprocess_method is not None and postprocess_method not in METHODS:
            raise ValueError(f"post-processing must be one of {', '.join(METHODS)}, got {postprocess_method!r}")
        if checkpoint is None:
            if not DEFAULT_CHECKPOINT.is_file():
                raise CheckpointError(
                    f"no network checkpoint given and the default {DEFAULT_CHECKPOINT} is absent: pass "
                    "--checkpoint FILE (a DOPE release .pth.tgz or a dope_ros checkpoint)")
            checkpoint = DEFAULT_CHECKPOINT
        loaded = load_checkpoint(checkpoint)
        self.parts = tuple(Part(p) for p in parts)
        self.arch = loaded.arch
        self.meta = loaded.meta   # the checkpoint's provenance (e.g. trained_steps, data_mode)
        self.num_anchor_poses = loaded.num_anchor_poses
        self.postprocess = postprocess or loaded.postprocess
        if postprocess_method is not None:
            self.postprocess = replace(self.postprocess, method=postprocess_method)
        dev = resolve_device(device)
        self.half = bool(half) and dev.type == "cuda"
        if half and not self.half:
            warnings.warn("fp16 runs on CUDA only: using fp32 on the CPU", RuntimeWarning, stacklevel=2)
        self.model = prepare_for_inference(loaded.model, dev, half=self.half)
        self.device = str(dev)
        self._torch_device = dev

    def __call__(self, image: np.ndarray) -> WholeBodyPoses:
        """People in one RGB ``uint8`` image ``(H, W, 3)``."""
        return self.batch([image])[0]

    @torch.no_grad()
    def batch(self, images: Sequence[np.ndarray]) -> list[WholeBodyPoses]:
        """People in each of several RGB ``uint8`` images (run as one network batch)."""
        if not images:
            return []
        shrunk = [self._shrink(self._check(im, i)) for i, im in enumerate(images)]
        tensors = [self._to_tensor(small) for small, _ in shrunk]
        outputs = self.model(tensors)
        for out, (_, ratio) in zip(outputs, shrunk):
            if ratio is not None:   # back to the pixels of the image given
                r = torch.tensor(ratio, dtype=out["boxes"].dtype, device=out["boxes"].device)
                out["boxes"] = out["boxes"] * r.repeat(2)
                for key in [k for k in out if k.endswith("_pose2d")]:
                    out[key] = out[key] * r
        return [detections_to_poses(out, image_size=(im.shape[1], im.shape[0]), parts=self.parts,
                                    num_anchor_poses=self.num_anchor_poses, config=self.postprocess,
                                    backend=self.name) for out, im in zip(outputs, images)]

    @staticmethod
    def _check(image: np.ndarray, index: int) -> np.ndarray:
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            desc = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
            raise ValueError(f"image {index} must be an RGB uint8 array of shape (H, W, 3), got {desc}")
        if image.shape[0] < 2 or image.shape[1] < 2:
            raise ValueError(f"image {index} is too small: {image.shape[1]}x{image.shape[0]} pixels")
        return image

    def _shrink(self, image: np.ndarray) -> tuple[np.ndarray, Optional[tuple[float, float]]]:
        """Shrink a larger image to the network's input size while still ``uint8`` (before any float copy).

        Returns the image and the ``(x, y)`` ratio from its pixels back to the original's
        (``None`` when the image was not shrunk). Each side keeps at least one pixel, so
        images of extreme aspect ratio (2x8000) still run.
        """
        h, w = image.shape[:2]
        transform = self.model.transform
        scale = min(transform.min_size / min(h, w), transform.max_size / max(h, w))
        if scale >= 1.0:
            return image, None
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
        return small, (w / nw, h / nh)

    def _to_tensor(self, image: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(image)).to(self._torch_device).permute(2, 0, 1)
        t = t.half() if self.half else t.float()
        return t / 255.0
