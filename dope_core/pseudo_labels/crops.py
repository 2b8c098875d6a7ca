"""Close-up crops of labelled images, so that the student also sees large hands, faces and people.

Whole frames of people at a distance show hands and faces a few tens of pixels wide;
at the student's input size they are smaller still. For every labelled image, square
windows around its pseudo ground-truth parts (the fused detections above the
threshold) are cut out, written as images into the cache and labelled by the experts
like any other image: the student learns what the experts see in a close-up, not
boxes carried over from the far view.

A window around a part of longer side ``s`` pixels is a square of side
``context[part] * s`` centred on the part, moved inside the image (and cut to it when
larger). Parts smaller than ``min_part_size`` pixels give no window (a close-up of
them would be an upsampled blur); a window covering most of the image is no close-up
and is dropped; windows overlapping an earlier one by more than ``max_overlap`` (IoU)
are duplicates. The choice depends only on the record, so a rerun makes the same crops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import cv2
import numpy as np

from dope_core.atomic_files import atomic_write_bytes
from dope_core.image_io import read_bgr
from dope_core.keypoints import Part
from dope_core.pseudo_labels.cache import LabelCache, LabelRecord
from dope_core.pseudo_labels.sources import Item

CROP_MARK = "__crop-"
"""What separates a crop's key from the key of the image it was cut from."""
MAX_IMAGE_FRACTION = 0.8
"""A window covering more than this fraction of the image's area is not a close-up."""


@dataclass(frozen=True)
class CropSettings:
    """Which close-ups to cut from each labelled image.

    Attributes:
        parts: parts to crop around (``"face"``, ``"hand"``, ``"body"``); empty: no crops.
        context: window side as a multiple of the part box's longer side, per part.
        min_part_size: parts whose box's longer side is under this many pixels give no crop.
        max_per_image: most crops cut from one image (highest scores first).
        max_overlap: a window whose IoU with an earlier one is above this is not cut.
    """

    parts: tuple[str, ...] = ()
    context: Mapping[str, float] = field(default_factory=lambda: {"face": 3.0, "hand": 3.0, "body": 1.3})
    min_part_size: float = 32.0
    max_per_image: int = 3
    max_overlap: float = 0.3

    def __post_init__(self) -> None:
        known = {p.value for p in Part}
        if not set(self.parts) <= known:
            raise ValueError(f"crop parts must be among {sorted(known)}, got {list(self.parts)}")
        missing = [p for p in self.parts if p not in self.context]
        if missing or any(float(self.context[p]) < 1 for p in self.parts):
            raise ValueError(f"crop context must give a factor >= 1 for every cropped part, got {dict(self.context)}")
        if self.min_part_size < 1 or self.max_per_image < 0 or not 0 <= self.max_overlap <= 1:
            raise ValueError("crop settings need min_part_size >= 1 px, max_per_image >= 0, max_overlap in [0, 1]")


def is_crop(key: str) -> bool:
    return CROP_MARK in key


def crop_windows(record: LabelRecord, settings: CropSettings) -> list[tuple[str, np.ndarray]]:
    """``(part, window)`` pairs, window ``[x1, y1, x2, y2]`` in integer pixels of the record's image."""
    if record.status != "ok" or record.pseudo_gt is None or is_crop(record.key) or not settings.parts:
        return []
    w, h = record.image_size
    candidates = sorted(((pose.score, part, np.asarray(pose.box, float)) for part in settings.parts
                         for pose in record.pseudo_gt.parts(Part(part))), key=lambda c: -c[0])
    kept: list[tuple[str, np.ndarray]] = []
    for _score, part, box in candidates:
        if len(kept) >= settings.max_per_image:
            break
        size = max(box[2] - box[0], box[3] - box[1])
        if size < settings.min_part_size:
            continue
        window = _square_inside(box, float(settings.context[part]) * size, w, h)
        area = (window[2] - window[0]) * (window[3] - window[1])
        if area > MAX_IMAGE_FRACTION * w * h or area <= 0:
            continue
        if any(_iou(window, other) > settings.max_overlap for _, other in kept):
            continue
        kept.append((part, window))
    return kept


def crop_items(record: LabelRecord, cache: LabelCache, settings: CropSettings) -> list[Item]:
    """Cut the record's crops into ``cache.frames_dir`` (JPEG, atomic; existing ones are kept).

    Returns the crops as items to label; an image that can no longer be read gives none.
    """
    windows = crop_windows(record, settings)
    if not windows:
        return []
    items: list[Item] = []
    image = None
    cache.frames_dir.mkdir(parents=True, exist_ok=True)
    for i, (part, (x1, y1, x2, y2)) in enumerate(windows):
        key = f"{record.key}{CROP_MARK}{part}{i}"
        out = cache.frames_dir / f"{key}.jpg"
        if not out.is_file():
            if image is None:
                image = read_bgr(cache.image_path(record))
                if image is None:
                    return items
            ok, buf = cv2.imencode(".jpg", image[y1:y2, x1:x2], [cv2.IMWRITE_JPEG_QUALITY, 95])
            if not ok:
                continue
            atomic_write_bytes(out, buf.tobytes())
        items.append(Item(key, out))
    return items


def _square_inside(box: np.ndarray, side: float, w: int, h: int) -> np.ndarray:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    sx, sy = min(round(side), w), min(round(side), h)
    x1 = int(np.clip(round(cx - sx / 2), 0, w - sx))
    y1 = int(np.clip(round(cy - sy / 2), 0, h - sy))
    return np.array([x1, y1, x1 + sx, y1 + sy], int)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
