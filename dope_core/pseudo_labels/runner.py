"""Run the part experts over images in parallel worker processes and fill the cache.

Each worker process (``multiprocessing`` with the ``spawn`` start method, so no
state leaks from the parent) builds its own estimator once and labels items one
by one; every record is written atomically by the worker that made it, so a run
killed at any moment resumes by skipping the items whose record exists.

The estimator is named by an import path (``"module:callable"``) plus keyword
arguments, so that worker processes can build it; it must offer
``detect_parts(image_rgb, min_score=...) -> dict[Part, list[PartPose]]``
(every detection above a low score, before fusion), as
:class:`dope_core.experts.ensemble.ExpertsEstimator` does.
"""

from __future__ import annotations

import importlib
import json
import logging
import multiprocessing as mp
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from dope_core.fusion import EXPERTS_MAX_HAND_TO_BODY, assemble
from dope_core.image_header import DEFAULT_MAX_PIXELS, DEFAULT_MAX_SIDE, ImageHeaderError, ImageLimits, check_encoded
from dope_core.keypoints import Part
from dope_core.atomic_files import atomic_write_text, remove_abandoned_temporaries
from dope_core.pseudo_labels.cache import RECIPE, LabelCache, LabelRecord, check_out_folder, check_recipe
from dope_core.pseudo_labels.crops import CropSettings, crop_items
from dope_core.pseudo_labels.sources import (EarlyEnd, FrameSelector, Item, Skip, extract_frames, find_media,
                                             image_items)
from dope_core.structures import PartPose

LOG = logging.getLogger(__name__)

DEFAULT_ESTIMATOR = "dope_core.experts.ensemble:ExpertsEstimator"


@dataclass(frozen=True)
class LabelSettings:
    """How detections become labels.

    Attributes:
        min_score: lowest expert score kept in the raw detections (distillation targets). The
            experts' search does not depend on it: their parts of 0.5 or more are those of a
            default call, and a lower ``min_score`` only adds the uncertain passes of that search
            (docs/accuracy.md, "Faces and hands at the pseudo-labeller's threshold").
        gt_threshold: per-part score from which a detection enters the fused pseudo
            ground truth (the hard labels).
        max_pixels, max_side: larger images (width x height, longest side; pixels, read
            from the file's header before decoding) are recorded as unreadable, not decoded.
    """

    min_score: float = 0.05
    gt_threshold: Mapping[str, float] = field(default_factory=lambda: {"body": 0.5, "hand": 0.5, "face": 0.5})
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_side: int = DEFAULT_MAX_SIDE

    @property
    def limits(self) -> ImageLimits:
        return ImageLimits(max_pixels=self.max_pixels, max_side=self.max_side)

    def threshold(self, part: Part) -> float:
        return float(self.gt_threshold.get(part.value, 0.5))


@dataclass
class LabelSummary:
    """What a labelling run did: counts per status and the inputs it skipped, with reasons."""

    items: int = 0
    already_done: int = 0
    crops: int = 0
    status: Counter = field(default_factory=Counter)
    skipped_sources: list[Skip] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)
    ended_early: list[EarlyEnd] = field(default_factory=list)
    """Videos labelled only in part: their decoding stopped before the frame count of their header."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "crops": self.crops,
            "already_done": self.already_done,
            "labelled_now": dict(self.status),
            "skip_reasons": dict(self.reasons),
            "skipped_sources": [{"source": s.source, "reason": s.reason} for s in self.skipped_sources],
            "videos_ended_early": [{"source": e.source, "frames_read": e.frames_read,
                                    "frames_announced": e.frames_announced} for e in self.ended_early],
        }

    def text(self) -> str:
        lines = [f"{self.items} items ({self.crops} of them close-up crops): {self.already_done} already labelled, "
                 + ", ".join(f"{n} {s}" for s, n in sorted(self.status.items())) + " now"]
        lines += [f"  skipped ({n}x): {r}" for r, n in sorted(self.reasons.items())]
        lines += [f"  skipped source {s.source}: {s.reason}" for s in self.skipped_sources]
        lines += [f"  video ended early {e.source}: {e.frames_read} of {e.frames_announced} announced frames read "
                  "(the rest is not labelled)" for e in self.ended_early]
        return "\n".join(lines)


def resolve(spec: str) -> Callable[..., Any]:
    """Import ``"package.module:attribute"``."""
    module, _, attr = spec.partition(":")
    if not attr:
        raise ValueError(f"estimator spec must be 'module:callable', got {spec!r}")
    return getattr(importlib.import_module(module), attr)


def detect_with_face_points(estimator: Any, image: np.ndarray, min_score: float
                            ) -> tuple[dict[Part, list[PartPose]], dict[int, np.ndarray]]:
    """``estimator.detect_parts(image, min_score=...)`` and, when the estimator is the experts'
    (``requested_parts``), each body's nose (pixels) by ``id`` of its pose, for the face
    assignment (:func:`dope_core.fusion.assign_faces`), as the ``dope`` command fuses them."""
    if not hasattr(estimator, "requested_parts"):
        return estimator.detect_parts(image, min_score=min_score), {}
    found, hands, faces = estimator.detect_landmarks(image, min_score=min_score)
    return estimator.requested_parts(found, hands, faces), {id(b.pose): b.nose for b in found}


def hand_body_reach(estimator: Any) -> Optional[float]:
    """The fusion's ``body_reach`` for ``estimator``'s parts: the experts configuration's
    ``hand_body_reach``, ``None`` (the release's limit alone) for an estimator without one."""
    return getattr(getattr(estimator, "config", None), "hand_body_reach", None)


def label_image(estimator: Any, item: Item, cache: LabelCache, settings: LabelSettings) -> LabelRecord:
    """Label one image with ``estimator`` and build its record (never raises on bad images)."""
    image_ref = _image_ref(item.image, cache.root)
    data = np.fromfile(str(item.image), dtype=np.uint8)
    try:
        check_encoded(data, settings.limits)
    except ImageHeaderError as e:
        return LabelRecord(item.key, image_ref, (0, 0), "unreadable", reason=f"image not decoded: {e}")
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None or bgr.size == 0:
        return LabelRecord(item.key, image_ref, (0, 0), "unreadable", reason="image cannot be decoded")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    size = (rgb.shape[1], rgb.shape[0])
    raw, noses = detect_with_face_points(estimator, rgb, settings.min_score)
    detections = {Part(p): list(d) for p, d in raw.items()}
    kept = {p: [d for d in detections.get(p, []) if d.score >= settings.threshold(p)] for p in Part}
    fused = assemble(kept[Part.BODY], kept[Part.HAND], kept[Part.FACE], image_size=size, backend="experts",
                     face_points=[noses.get(id(b)) for b in kept[Part.BODY]] if noses else None,
                     max_hand_to_body=EXPERTS_MAX_HAND_TO_BODY, body_reach=hand_body_reach(estimator))
    status, reason = ("ok", "") if fused.parts() else ("no_person", "no part above the pseudo-label threshold")
    return LabelRecord(item.key, image_ref, size, status, reason=reason, detections=detections, pseudo_gt=fused)


_WORKER: dict[str, Any] = {}


def _init_worker(spec: str, kwargs: dict[str, Any], root: str, settings: LabelSettings) -> None:
    cv2.setNumThreads(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a dependency, but labelling does not need it
        pass
    _WORKER.update(estimator=resolve(spec)(**kwargs), cache=LabelCache(root), settings=settings)


def _work(item: Item) -> tuple[str, str, str]:
    cache: LabelCache = _WORKER["cache"]
    try:
        record = label_image(_WORKER["estimator"], item, cache, _WORKER["settings"])
    except Exception as e:  # a bad item is a counted skip, never the end of the run
        record = LabelRecord(item.key, _image_ref(item.image, cache.root), (0, 0), "unreadable",
                             reason=f"{type(e).__name__}: {e}")
    cache.write(record)
    return record.key, record.status, record.reason


def run_labelling(
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    stride: int = 1,
    min_change: float = 0.0,
    max_gap: int = 0,
    crops: CropSettings = CropSettings(),
    workers: int = 1,
    estimator: str = DEFAULT_ESTIMATOR,
    estimator_kwargs: Optional[dict[str, Any]] = None,
    settings: LabelSettings = LabelSettings(),
    show_progress: bool = True,
) -> LabelSummary:
    """Label every image and the chosen video frames under ``inputs`` into the cache ``out``,
    then the close-up crops of what they show.

    Args:
        inputs: image files, video files or folders.
        out: the cache folder (created if needed; an existing one is resumed, or extended with
            more inputs, with the settings it was labelled with: ``out/labelling.json``). A folder
            that holds other files and is no cache is refused (:func:`check_out_folder`).
        stride: at least ``stride`` frames between two kept video frames.
        min_change: with ``> 0``, a video frame is kept only when it differs from the
            last kept one by this much (:func:`~dope_core.pseudo_labels.sources.frame_change`)
            or comes ``max_gap`` frames (if not 0) after it.
        crops: close-ups cut from every labelled image (not from crops) and labelled in turn
            (:mod:`~dope_core.pseudo_labels.crops`); none by default.
        workers: number of worker processes; ``0`` labels in this process.
        estimator: ``"module:callable"`` building the estimator in each worker.
        estimator_kwargs: keyword arguments of that callable.
        settings: score thresholds.

    Returns:
        The run's summary, also written to ``out/summary.json``.

    Raises:
        FileNotFoundError, ValueError: missing inputs, nothing to label, bad arguments, an ``out`` that is
            a file or a folder of other files, a cache labelled with other settings; all before anything is
            written.
    """
    if workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    FrameSelector(stride=stride, min_change=min_change, max_gap=max_gap)   # its checks, before anything is written
    cache = LabelCache(out)
    kwargs = dict(estimator_kwargs or {})
    check_out_folder(cache, recipe=RECIPE)
    images, videos = find_media(inputs, exclude=cache.frames_dir)
    check_recipe(cache.root / RECIPE, labelling_recipe(stride=stride, min_change=min_change, max_gap=max_gap,
                                                       crops=crops, estimator=estimator, estimator_kwargs=kwargs,
                                                       settings=settings),
                 refusal="use another --out, or the same settings to resume or add inputs")
    for folder in (cache.items_dir, cache.frames_dir):
        for tmp in remove_abandoned_temporaries(folder):
            LOG.info("removed %s, left by a write that was killed", tmp)
    summary = LabelSummary()
    items = image_items(images)
    with tqdm(desc="extracting frames", unit="frame", disable=not show_progress or not videos) as bar:
        for video in videos:
            frames, skip = extract_frames(video, cache.frames_dir, stride=stride, min_change=min_change,
                                          max_gap=max_gap, progress=bar.update, limits=settings.limits,
                                          on_early_end=lambda end: _note_early_end(summary, end))
            items += frames
            if skip is not None:
                summary.skipped_sources.append(skip)
                LOG.warning("skipped %s: %s", skip.source, skip.reason)
    cache.items_dir.mkdir(parents=True, exist_ok=True)
    pool = None
    if workers == 0:
        _init_worker(estimator, kwargs, str(cache.root), settings)
        run: Callable[[list[Item]], Any] = lambda todo: map(_work, todo)
    else:
        pool = mp.get_context("spawn").Pool(workers, initializer=_init_worker,
                                            initargs=(estimator, kwargs, str(cache.root), settings))
        run = lambda todo: pool.imap_unordered(_work, todo)
    try:
        _label(items, cache, summary, run, "labelling", show_progress)
        if crops.parts:
            cut = [c for it in items if cache.has(it.key) for c in crop_items(cache.read(it.key), cache, crops)]
            summary.crops = len(cut)
            _label(cut, cache, summary, run, "labelling crops", show_progress)
    finally:
        if pool is not None:   # every result was collected (or the run failed): stop the workers
            pool.terminate()
            pool.join()
    atomic_write_text(cache.root / "summary.json", json.dumps(summary.to_dict(), indent=1))
    return summary


def labelling_recipe(*, stride: int, min_change: float, max_gap: int, crops: CropSettings, estimator: str,
                     estimator_kwargs: Mapping[str, Any], settings: LabelSettings) -> dict[str, Any]:
    """The settings that shape a cache's labels, as plain JSON data (not the worker and thread counts, nor
    the size limits, which only decide what is readable)."""
    experts = {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in estimator_kwargs.items()
               if k != "num_threads"}
    recipe = {"stride": stride, "min_change": min_change, "max_gap": max_gap,
              "crops": {"parts": list(crops.parts), "max_per_image": crops.max_per_image,
                        "min_part_size": crops.min_part_size},
              "estimator": estimator, "estimator_kwargs": experts, "min_score": settings.min_score,
              "gt_threshold": dict(settings.gt_threshold)}
    return json.loads(json.dumps(recipe, default=str))


def _note_early_end(summary: LabelSummary, end: EarlyEnd) -> None:
    summary.ended_early.append(end)
    LOG.warning("%s ended at frame %d of the %d its header announces (truncated?): only the frames before were "
                "labelled", end.source, end.frames_read, end.frames_announced)


def _label(items: list[Item], cache: LabelCache, summary: LabelSummary, run: Callable[[list[Item]], Any],
           desc: str, show_progress: bool) -> None:
    """Label the items that have no record yet; count them into ``summary``."""
    todo = [it for it in items if not cache.has(it.key)]
    summary.items += len(items)
    summary.already_done += len(items) - len(todo)
    with tqdm(total=len(todo), desc=desc, unit="img", disable=not show_progress) as bar:
        _collect(run(todo), summary, bar)


def _collect(results: Any, summary: LabelSummary, bar: tqdm) -> None:
    for _key, status, reason in results:
        summary.status[status] += 1
        if reason:
            summary.reasons[reason] += 1
        bar.update(1)


def _image_ref(image: Path, root: Path) -> str:
    """The image path as stored: relative when inside the cache folder, absolute otherwise."""
    image = image.resolve()
    try:
        return str(image.relative_to(root.resolve()))
    except ValueError:
        return str(image)
