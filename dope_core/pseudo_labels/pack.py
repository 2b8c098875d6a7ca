"""A self-contained, smaller copy of a pseudo-label cache, to train on another machine.

A cache made by ``dope-train label`` refers to its photos by absolute path and keeps
video frames at full size; its records hold every float at full precision. To move the
labels to a training machine (a GPU server, a cluster node) :func:`pack_cache` writes a
new cache folder that holds everything it refers to::

    OUT/items/<key>.json     the records, image paths relative to OUT, floats rounded
    OUT/images/<key>.jpg     every image, shrunk to at most ``max_side`` pixels (JPEG)
    OUT/pack.json            what was packed: source cache, settings, counts, bytes, and the
                             source's labelling settings (``"labelling"``, its ``labelling.json``)

An image is shrunk by one factor ``f = max_side / longer side`` (never enlarged), and
the record's pixel quantities are multiplied by the same ``f``: ``image_size``, boxes,
2D keypoints (pixels) and 2D velocities (pixels/s), in the raw detections and in the
pseudo ground truth. Metric quantities (3D keypoints in metres, part-relative; camera
positions) and scores do not change. Training shrinks its images to ``data.max_size``
anyway, so a pack made with ``max_side >= data.max_size`` trains the same network up to
JPEG re-encoding. Floats are rounded to ``decimals`` places (0.1 mm and 1e-4 px with
the default 4): the 2217 records of docs/training.md's GPU lease went from 91.6 to 37.7 MB.

Only what training reads is packed: records with people (``status == "ok"``; training
skips the others). Records whose source matches an ``exclude`` pattern
(:func:`dope_core.pseudo_labels.sources.source_of`, ``fnmatch``, e.g. a training config's
``data.val_sources``) are left out too, so the held-out videos need not travel. Packing
is resumable: an item whose record exists in ``OUT`` is skipped, and each file is
written atomically. The source cache is only read.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import cv2
import numpy as np

from dope_core.atomic_files import atomic_write_bytes, atomic_write_text, remove_abandoned_temporaries
from dope_core.image_io import read_bgr
from dope_core.pseudo_labels.cache import PACK_INFO, LabelCache, LabelRecord, check_out_folder, check_recipe
from dope_core.pseudo_labels.sources import source_examples, source_of, unmatched_patterns

IMAGES_DIR = "images"
LOG = logging.getLogger(__name__)

PACK_RECIPE = "pack_settings.json"
"""File of a packed copy holding the settings it is packed with (a resumed pack keeps them)."""
PIXEL_KEYS = ("box", "keypoints_2d", "velocity_2d")
"""Keys of a pose's dict whose values are in pixels (or pixels per second)."""


@dataclass
class PackSummary:
    """What :func:`pack_cache` did.

    Attributes:
        packed: records written in this call.
        skipped_existing: records already in the output (a resumed pack).
        excluded: records left out by the ``exclude`` patterns.
        without_people: records left out because they hold nobody or were unreadable.
        failed: ``(key, reason)`` of records whose image could not be read or written
            (their records are not written, so a rerun tries them again).
        image_bytes: bytes of the images written in this call.
        unmatched_exclude: the ``exclude`` patterns that match no source of the cache (a typo leaves in
            what it meant to leave out); ``example_sources``: a few of the cache's source names.
    """

    packed: int = 0
    skipped_existing: int = 0
    excluded: int = 0
    without_people: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    image_bytes: int = 0
    unmatched_exclude: list[str] = field(default_factory=list)
    example_sources: list[str] = field(default_factory=list)


def scale_record_dict(d: dict[str, Any], size: tuple[int, int]) -> dict[str, Any]:
    """A record's dict (:meth:`LabelRecord.to_dict`) for its image resized to ``size``
    (width, height, pixels): ``image_size`` becomes ``size`` and boxes, 2D keypoints and
    2D velocities are multiplied by the ratios of new to old width and height.
    """
    out = copy.deepcopy(d)
    w, h = (int(v) for v in d["image_size"])
    nw, nh = int(size[0]), int(size[1])
    if w <= 0 or h <= 0 or nw <= 0 or nh <= 0:
        raise ValueError(f"cannot scale a record of size {w}x{h} to {nw}x{nh}")
    sx, sy = nw / w, nh / h
    out["image_size"] = [nw, nh]
    poses: list[dict[str, Any]] = [p for dets in out["detections"].values() for p in dets]
    gt = out.get("pseudo_gt")
    if gt is not None:
        gt["image_size"] = [nw, nh]
        poses += [p for person in gt.get("people", []) for k, p in person.items()
                  if k in ("body", "left_hand", "right_hand", "face")]
        poses += list(gt.get("unassigned", []))
    for pose in poses:
        for key in PIXEL_KEYS:
            if pose.get(key) is not None:
                a = np.asarray(pose[key], dtype=np.float64)
                a = a * np.array([sx, sy] * (a.shape[-1] // 2))
                pose[key] = a.tolist()
    return out


def round_floats(value: Any, decimals: int) -> Any:
    """``value`` (JSON-like nesting of dicts, lists and numbers) with every float rounded."""
    if isinstance(value, float):
        return round(value, decimals)
    if isinstance(value, list):
        return [round_floats(v, decimals) for v in value]
    if isinstance(value, dict):
        return {k: round_floats(v, decimals) for k, v in value.items()}
    return value


def is_excluded(key: str, patterns: Sequence[str]) -> bool:
    """Whether the record's source (:func:`~dope_core.pseudo_labels.sources.source_of`) matches a pattern."""
    source = source_of(key)
    return any(fnmatch.fnmatchcase(source, pat) for pat in patterns)


def pack_cache(source: str | Path, out: str | Path, *, max_side: int = 853, quality: int = 90,
               exclude: Sequence[str] = (), decimals: int = 4,
               progress: Optional[Any] = None) -> PackSummary:
    """Write a self-contained copy of the cache ``source`` into ``out`` (module docstring).

    Args:
        source: the cache folder made by ``dope-train label``.
        out: the new cache folder (created; an existing one is resumed). Must differ from ``source``.
        max_side: longest image side in pixels in the copy (images are never enlarged).
        quality: JPEG quality of the copied images (1-100).
        exclude: ``fnmatch`` patterns of sources to leave out.
        decimals: decimal places kept of every float of the records.
        progress: optional callable wrapping the record iterator (e.g. ``tqdm``).

    Raises:
        ValueError: bad arguments, ``source`` is no cache, ``out`` is a file or a folder of other files
            (nothing is written then).
    """
    src, dst = LabelCache(source), LabelCache(out)
    if max_side < 32:
        raise ValueError(f"max_side must be at least 32 pixels, got {max_side}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be in 1..100, got {quality}")
    if not src.items_dir.is_dir():
        raise ValueError(f"{source} is not a pseudo-label cache (no items/ folder)")
    if src.root.resolve() == dst.root.resolve():
        raise ValueError("the packed copy must go to another folder than its source")
    check_out_folder(dst, recipe=PACK_RECIPE)
    check_recipe(dst.root / PACK_RECIPE, {"source": str(src.root.resolve()), "max_side": max_side, "quality": quality,
                                          "exclude": list(exclude), "decimals": decimals},
                 refusal="pack into another --out, or with the same settings to resume")
    for folder in (dst.items_dir, dst.root / IMAGES_DIR):
        remove_abandoned_temporaries(folder)
    summary = PackSummary()
    keys = src.keys()
    sources = {source_of(k) for k in keys}
    summary.unmatched_exclude = unmatched_patterns(sources, exclude)
    summary.example_sources = source_examples(sources)
    if summary.unmatched_exclude:   # before the work: a typo leaves in what it meant to leave out
        LOG.warning("--exclude %s matched no source of %s (its sources look like %s): nothing is left out by it",
                    " ".join(summary.unmatched_exclude), source, ", ".join(summary.example_sources))
    for key in (progress(keys) if progress is not None else keys):
        if exclude and is_excluded(key, exclude):
            summary.excluded += 1
            continue
        if dst.has(key):
            summary.skipped_existing += 1
            continue
        record = src.read(key)
        if record.status != "ok":
            summary.without_people += 1
            continue
        written = _pack_image(src, record, dst.root / IMAGES_DIR / f"{key}.jpg", max_side, quality)
        if isinstance(written, str):
            summary.failed.append((key, written))
            continue
        size, nbytes = written
        d = scale_record_dict(record.to_dict(), size)
        d["image"] = f"{IMAGES_DIR}/{key}.jpg"
        summary.image_bytes += nbytes
        LabelRecord.from_dict(d)   # the packed record must read back
        atomic_write_text(dst.record_path(key), json.dumps(round_floats(d, decimals), separators=(",", ":")))
        summary.packed += 1
    info = {"source": str(src.root.resolve()), "max_side": max_side, "quality": quality,
            "exclude": list(exclude), "exclude_matched_nothing": summary.unmatched_exclude, "decimals": decimals,
            "records": len(dst.keys()),
            "packed_now": summary.packed, "excluded": summary.excluded,
            "without_people": summary.without_people, "failed": summary.failed,
            "image_bytes_now": summary.image_bytes, "labelling": src.labelling()}
    atomic_write_text(dst.root / PACK_INFO, json.dumps(info, indent=1))
    return summary


def _pack_image(src: LabelCache, record: LabelRecord, target: Path, max_side: int,
                quality: int) -> tuple[tuple[int, int], int] | str:
    """Write the record's image shrunk to ``max_side``; ``((width, height), bytes)`` or why it failed."""
    path = src.image_path(record)
    bgr = read_bgr(path)
    if bgr is None:
        return f"image {path} cannot be read"
    h, w = bgr.shape[:2]
    rw, rh = record.image_size
    if (rw, rh) != (w, h):
        return f"image {path} is {w}x{h} but its record says {rw}x{rh}"
    factor = min(1.0, max_side / max(w, h))
    if factor < 1.0:
        bgr = cv2.resize(bgr, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_AREA)
    size = (bgr.shape[1], bgr.shape[0])
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        return f"image {path} could not be encoded"
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, buf.tobytes())
    return size, len(buf)
