"""What to label: image files and video frames found under the inputs.

An input is an image file, a video file or a folder (searched recursively for
both; the cache's ``frames/`` folder is left out, so that a cache inside an input
folder does not label its own extracted frames). Nothing is ever written to an input: the
cache holds only ``items/<key>.json`` records, ``summary.json`` and the extracted
``frames/<key>.jpg``, whose keys (:func:`item_key`) carry a hash of the source's
absolute path, so inputs with the same name in different folders get their own. Video frames are decoded once, every ``stride``-th frame (or, with ``min_change``,
the frames that differ enough from the last kept one), into the
cache's ``frames/`` folder as JPEG files, so that labelling and training read
plain images (random access, parallel workers) and an interrupted extraction
resumes by skipping the frames already written.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

import cv2
import numpy as np

from dope_core.atomic_files import atomic_write_bytes
from dope_core.image_header import ImageHeaderError, ImageLimits
from dope_core.image_io import IMAGE_SUFFIXES, VIDEO_SUFFIXES, open_video


@dataclass(frozen=True)
class Item:
    """One image to label: its cache key and the path of its image file."""

    key: str
    image: Path


@dataclass(frozen=True)
class Skip:
    """An input that gave nothing to label, and why."""

    source: str
    reason: str


@dataclass(frozen=True)
class EarlyEnd:
    """A video whose decoding stopped before the frame count its header announces (a truncated or damaged
    file): its first ``frames_read`` frames were considered, the rest is not labelled."""

    source: str
    frames_read: int
    frames_announced: int


def ended_early(frames_read: int, frames_announced: int) -> bool:
    """Whether a video that gave ``frames_read`` frames stopped short of the ``frames_announced`` of its header,
    beyond the few frames a container's estimated count may be off by (1 %, at least 2 frames)."""
    return frames_announced > 0 and frames_announced - frames_read > max(1, frames_announced // 100)


def find_media(inputs: Sequence[str | Path], *, exclude: Optional[Path] = None) -> tuple[list[Path], list[Path]]:
    """Image and video files under ``inputs`` (sorted, each listed once). A folder is searched without
    what lies under ``exclude`` (the cache's own extracted frames); a file named in ``inputs`` is
    taken as asked, wherever it lies.

    Raises:
        FileNotFoundError: an input does not exist.
        ValueError: an input file has an unknown suffix, or nothing was found at all.
    """
    images: set[Path] = set()
    videos: set[Path] = set()
    skip = exclude.resolve() if exclude is not None else None
    for raw in inputs:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"input {str(path)!r} does not exist")
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            if path.is_dir() and skip is not None and f.resolve().is_relative_to(skip):
                continue
            suffix = f.suffix.lower()
            if suffix in IMAGE_SUFFIXES:
                images.add(f.resolve())
            elif suffix in VIDEO_SUFFIXES:
                videos.add(f.resolve())
            elif not path.is_dir():
                raise ValueError(f"input {str(f)!r} is neither an image ({sorted(IMAGE_SUFFIXES)}) "
                                 f"nor a video ({sorted(VIDEO_SUFFIXES)})")
    if not images and not videos:
        raise ValueError(f"no image or video found under {[str(p) for p in inputs]}")
    return sorted(images), sorted(videos)


def source_of(key: str) -> str:
    """The source a record's image comes from: the video of a frame, the image a crop was
    cut from (and that image's video), the image itself otherwise (keys of
    :func:`item_key` and :mod:`dope_core.pseudo_labels.crops`)."""
    return _SOURCE_SUFFIX.sub("", key)


_SOURCE_SUFFIX = re.compile(r"(__f\d+)?(__crop-[a-z]+\d+)?$")


def unmatched_patterns(sources: Iterable[str], patterns: Sequence[str]) -> list[str]:
    """The ``fnmatch`` patterns (``data.val_sources``, ``pack --exclude``) that match none of ``sources``."""
    names = set(sources)
    return [pat for pat in patterns if not any(fnmatch.fnmatchcase(n, pat) for n in names)]


def source_examples(sources: Iterable[str], n: int = 3) -> list[str]:
    """A few source names (sorted, the first ``n``), to show a user what the patterns are matched against."""
    return sorted(set(sources))[:n]


def item_key(path: Path, frame: Optional[int] = None) -> str:
    """A readable, file-name-safe, collision-free key for an image or a video frame."""
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{path.parent.name}__{path.stem}")[-60:]
    key = f"{stem}-{digest}"
    return key if frame is None else f"{key}__f{frame:06d}"


def image_items(images: Sequence[Path]) -> list[Item]:
    return [Item(item_key(p), p) for p in images]


THUMBNAIL_WIDTH = 64
"""Width in pixels of the grey thumbnails that :func:`frame_change` compares."""


def thumbnail(frame_bgr: np.ndarray) -> np.ndarray:
    """A ``THUMBNAIL_WIDTH``-pixel-wide grey float32 thumbnail of a BGR frame (grey levels 0-255)."""
    h, w = frame_bgr.shape[:2]
    size = (THUMBNAIL_WIDTH, max(1, round(h * THUMBNAIL_WIDTH / w)))
    return cv2.resize(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY), size, interpolation=cv2.INTER_AREA).astype(np.float32)


CHANGE_FRACTION = 0.1
""":func:`frame_change` averages the most-changed tenth of the thumbnail's pixels."""


def frame_change(a: np.ndarray, b: np.ndarray) -> float:
    """How different two frames' thumbnails are (grey levels, 0-255): the mean absolute difference
    of their most-changed ``CHANGE_FRACTION`` of pixels. A person moving in front of a still
    background changes a small part of the frame; a whole-frame mean would call that frame
    a duplicate."""
    d = np.abs(a - b).ravel()
    k = max(1, int(round(CHANGE_FRACTION * d.size)))
    return float(np.partition(d, d.size - k)[d.size - k:].mean())


class FrameSelector:
    """The frame choice of :func:`extract_frames`, one frame at a time.

    ``due(index)``: whether frame ``index`` is far enough (``stride``) from the last kept
    one to be decoded and considered; ``keep(index, frame_bgr)``: whether to keep it
    (always without ``min_change``, else when it differs enough from the last kept one,
    or when ``max_gap`` frames (if not 0) have passed since it: slow scenes still get a
    frame now and then).
    """

    def __init__(self, *, stride: int = 1, min_change: float = 0.0, max_gap: int = 0) -> None:
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        if min_change < 0:
            raise ValueError(f"min_change must be >= 0 grey levels, got {min_change}")
        if max_gap and max_gap < stride:
            raise ValueError(f"max_gap must be 0 (none) or >= stride ({stride}), got {max_gap}")
        self.stride, self.min_change, self.max_gap = stride, min_change, max_gap
        self._last_index = -stride
        self._last_thumb: Optional[np.ndarray] = None

    def due(self, index: int) -> bool:
        return index - self._last_index >= self.stride

    def keep(self, index: int, frame_bgr: np.ndarray) -> bool:
        return self.keep_thumbnail(index, thumbnail(frame_bgr) if self.min_change > 0 else None)

    def keep_thumbnail(self, index: int, thumb: Optional[np.ndarray]) -> bool:
        """:meth:`keep` given the frame's :func:`thumbnail` (may be ``None`` without ``min_change``)."""
        if self.min_change > 0:
            overdue = self.max_gap and index - self._last_index >= self.max_gap
            if self._last_thumb is not None and not overdue and frame_change(thumb, self._last_thumb) < self.min_change:
                return False
            self._last_thumb = thumb
        self._last_index = index
        return True


def extract_frames(
    video: Path,
    frames_dir: Path,
    *,
    stride: int = 1,
    min_change: float = 0.0,
    max_gap: int = 0,
    jpeg_quality: int = 95,
    progress: Optional[Callable[[int], None]] = None,
    limits: ImageLimits = ImageLimits(),
    on_early_end: Optional[Callable[[EarlyEnd], None]] = None,
) -> tuple[list[Item], Optional[Skip]]:
    """Decode frames of ``video`` into ``frames_dir`` (JPEG, atomic writes) and list them.

    The first frame is kept; a later frame is kept when it comes at least ``stride``
    frames after the last kept one and, when ``min_change > 0``, differs from it by at
    least ``min_change`` (:func:`frame_change`, grey levels) or comes ``max_gap`` frames
    (if not 0) after it: a diversity criterion that thins still stretches and keeps more
    of the moving ones (:class:`FrameSelector`). The choice depends
    only on the video, so a rerun keeps the same frames. Frames already on disk are not
    written again. A video that cannot be opened, declares frames over ``limits`` or
    gives no frame is returned as a :class:`Skip`, not raised. A video that gave frames but stopped before the
    frame count of its header (:func:`ended_early`) is passed to ``on_early_end`` (:class:`EarlyEnd`).
    """
    selector = FrameSelector(stride=stride, min_change=min_change, max_gap=max_gap)
    cap = open_video(video)
    if not cap.isOpened():
        return [], Skip(str(video), "video cannot be opened")
    try:
        limits.check(int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), "video frame")
    except ImageHeaderError as e:
        cap.release()
        return [], Skip(str(video), str(e))
    announced = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    items: list[Item] = []
    frames_dir.mkdir(parents=True, exist_ok=True)
    index = 0
    try:
        while True:
            if not selector.due(index):
                if not cap.grab():
                    break
                index += 1
                continue
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            if not selector.keep(index, frame):
                index += 1
                continue
            key = item_key(video, index)
            out = frames_dir / f"{key}.jpg"
            if not out.is_file():
                ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
                if not ok:
                    return items, Skip(f"{video}#{index}", "frame cannot be encoded")
                atomic_write_bytes(out, buf.tobytes())
            items.append(Item(key, out))
            if progress is not None:
                progress(1)
            index += 1
    finally:
        cap.release()
    if not items:
        return [], Skip(str(video), "video has no decodable frame")
    if on_early_end is not None and ended_early(index, announced):
        on_early_end(EarlyEnd(str(video), index, announced))
    return items, None
