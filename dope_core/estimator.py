"""The backend-agnostic entry point: image in, :class:`WholeBodyPoses` out.

Every consumer (command line, ROS node, evaluation, pseudo-labelling) goes through
:func:`build_estimator`, so it never depends on which backend runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from dope_core.keypoints import Part
from dope_core.structures import WholeBodyPoses

BACKENDS = ("experts", "network")


class PoseEstimator(Protocol):
    """Whole-body pose estimator.

    ``__call__`` takes an RGB ``uint8`` image of shape ``(H, W, 3)`` (pixels, row-major)
    and returns the people in it; ``device`` names where it runs (``"cpu"``, ``"cuda:0"``).
    """

    name: str
    device: str

    def __call__(self, image: np.ndarray) -> WholeBodyPoses: ...


def build_estimator(
    backend: str = "experts",
    *,
    parts: Sequence[Part | str] = tuple(Part),
    checkpoint: str | Path | None = None,
    device: str = "auto",
    half: bool = False,
    postprocess: str | None = None,
    tile_fractions: Sequence[float] = (0.5,),
) -> PoseEstimator:
    """Build an estimator.

    Args:
        backend: ``"experts"`` (the frozen part experts, CPU) or ``"network"`` (the
            DOPE whole-body network; needs ``checkpoint`` unless a default ships).
        parts: which parts to estimate.
        checkpoint: path of a network checkpoint (release or project format).
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. The network backend
            honours it (CUDA asked for and absent falls back to the CPU with a warning);
            the experts backend runs on the CPU only (LiteRT) and refuses a CUDA device.
        half: run the network in fp16 (CUDA only).
        postprocess: network backend: ``"ppi"`` (pose-proposal integration) or
            ``"nms"``; ``None`` keeps the checkpoint's choice.
        tile_fractions: experts backend: tile sizes of the whole-image detector passes
            (:class:`dope_core.experts.ensemble.ExpertsEstimator`).

    Raises:
        ValueError: unknown backend or part, or a CUDA device for the experts backend.
    """
    parts = tuple(Part(p) for p in parts)
    if backend == "experts":
        if device not in ("auto", "cpu"):
            raise ValueError(f"the experts backend runs on the CPU only (LiteRT), device {device!r} cannot be "
                             "honoured: use device 'auto' or 'cpu', or backend 'network' for a GPU")
        from dope_core.experts.ensemble import ExpertsEstimator

        return ExpertsEstimator(parts=parts, tile_fractions=tile_fractions)
    if backend == "network":
        from dope_core.model.inference import NetworkEstimator

        return NetworkEstimator(checkpoint=checkpoint, parts=parts, device=device, half=half,
                                postprocess_method=postprocess)
    raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
