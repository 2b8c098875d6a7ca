"""The backend-agnostic entry point: image in, :class:`WholeBodyPoses` out.

Every consumer (command line, ROS node, evaluation, pseudo-labelling) goes through
:func:`build_estimator`, so it never depends on which backend runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional, Protocol, Sequence

import numpy as np

from dope_core.keypoints import Part
from dope_core.structures import WholeBodyPoses

if TYPE_CHECKING:
    from dope_core.experts.streaming import DetectionSchedule
    from dope_core.tracking import TrackIdAllocator
    from dope_core.experts.config import ExpertsConfig

BACKENDS = ("experts", "network")


class PoseEstimator(Protocol):
    """Whole-body pose estimator.

    ``__call__`` takes an RGB ``uint8`` image of shape ``(H, W, 3)`` (pixels, row-major)
    and returns the people in it; ``device`` names where it runs (``"cpu"``, ``"cuda:0"``).
    """

    name: str
    device: str

    def __call__(self, image: np.ndarray) -> WholeBodyPoses: ...


def network_only_settings(*, checkpoint: object = None, half: bool = False, postprocess: object = None) -> list[str]:
    """Names of the network backend's settings given other values than their defaults (``None``, ``False``)."""
    return [name for name, value in (("checkpoint", checkpoint), ("half", half), ("postprocess", postprocess))
            if value is not None and value is not False]


def check_experts_options(*, device: str = "auto", checkpoint: object = None, half: bool = False,
                          postprocess: object = None) -> None:
    """Refuse options the experts backend cannot honour: a device other than the CPU (LiteRT), or a setting
    of the network backend (:func:`network_only_settings`).

    Raises:
        ValueError: one line saying which and why.
    """
    unused = network_only_settings(checkpoint=checkpoint, half=half, postprocess=postprocess)
    if unused:
        raise ValueError(f"{' and '.join(unused)} {'is' if len(unused) == 1 else 'are'} for backend 'network': "
                         "the experts backend does not use " + ("it" if len(unused) == 1 else "them"))
    if device not in ("auto", "cpu"):
        raise ValueError(f"the experts backend runs on the CPU only (LiteRT), device {device!r} cannot be "
                         "honoured: use device 'auto' or 'cpu', or backend 'network' for a GPU")


def build_estimator(
    backend: str = "experts",
    *,
    parts: Sequence[Part | str] = tuple(Part),
    checkpoint: str | Path | None = None,
    device: str = "auto",
    half: bool = False,
    postprocess: str | None = None,
    tile_fractions: Sequence[float] = (0.5,),
    streaming: Optional["DetectionSchedule"] = None,
    num_threads: int = 2,
    track_ids: Optional["TrackIdAllocator"] = None,
    experts_config: "ExpertsConfig | None" = None,
    second_opinion: float = 0.8,
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
        tile_fractions: experts backend: tile sizes of the hand and face detectors' whole-image
            passes (:class:`dope_core.experts.ensemble.ExpertsEstimator`).
        experts_config: experts backend: person detectors and part experts
            (:class:`dope_core.experts.config.ExpertsConfig`, or a preset's name or a YAML file as
            :func:`~dope_core.experts.config.load_experts_config` reads them; default: the ``default`` preset).
        streaming: experts backend: for a stream of frames (camera, video), follow people
            from frame to frame and search the whole frame on this schedule
            (:class:`dope_core.experts.streaming.StreamingExpertsEstimator`); ``None``:
            every image searched from scratch. The network backend ignores it.
        num_threads: experts backend: CPU threads (LiteRT threads of each model; in
            streaming, also the number of landmark passes run at once).
        track_ids: streaming: where track ids come from (a
            :class:`~dope_core.tracking.PersonTracker`'s ``registry.ids``); ``None``: none.
        second_opinion: streaming: the heavy body model's presence that keeps a followed body its
            own model lost (:class:`~dope_core.experts.streaming.StreamingExpertsEstimator`; 0: off).

    Raises:
        ValueError: unknown backend, part or device, no part, or a CUDA device, a checkpoint, half or
            postprocess for the experts backend
            (:class:`~dope_core.experts.config.ExpertsConfigError` for a bad experts configuration).
        TypeError: ``streaming`` is not a schedule.
    """
    parts = tuple(Part(p) for p in parts)
    if not parts:
        raise ValueError("parts is empty: name at least one of body, hand, face")
    if streaming is not None and not hasattr(streaming, "on_loss"):
        raise TypeError(f"streaming must be a DetectionSchedule or None, got {type(streaming).__name__}")
    if isinstance(experts_config, (str, Path)):   # a preset's name or a YAML file, as the command line takes
        from dope_core.experts.config import load_experts_config

        experts_config = load_experts_config(experts_config)
    if backend == "experts":
        check_experts_options(device=device, checkpoint=checkpoint, half=half, postprocess=postprocess)
        from dope_core.experts.ensemble import ExpertsEstimator

        experts = ExpertsEstimator(parts=parts, tile_fractions=tile_fractions, num_threads=num_threads,
                                   config=experts_config)
        if streaming is None:
            return experts
        from dope_core.experts.streaming import StreamingExpertsEstimator

        return StreamingExpertsEstimator(experts, schedule=streaming, num_threads=num_threads, ids=track_ids,
                                         second_opinion=second_opinion)
    if backend == "network":
        from dope_core.model.inference import NetworkEstimator

        return NetworkEstimator(checkpoint=checkpoint, parts=parts, device=device, half=half,
                                postprocess_method=postprocess)
    raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
