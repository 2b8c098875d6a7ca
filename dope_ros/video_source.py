"""Frames of a video file as camera images: RGB arrays plus plausible pinhole intrinsics (no ROS)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from dope_core.image_io import open_video


def intrinsics_from_fov(width: int, height: int, hfov_deg: float) -> np.ndarray:
    """``(3, 3)`` pinhole K (pixels) with square pixels, the principal point at the image centre
    and the given horizontal field of view (degrees)."""
    f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def video_frames(path: str | Path, *, max_frames: int | None = None, max_width: int | None = None) -> Iterator[np.ndarray]:
    """Yield the frames of a video as ``(H, W, 3)`` RGB ``uint8`` arrays, upright
    (:func:`dope_core.image_io.open_video`).

    Frames wider than ``max_width`` pixels are downscaled (aspect kept).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: OpenCV cannot open it as a video.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video {path} not found")
    cap = open_video(path)
    if not cap.isOpened():
        raise ValueError(f"cannot open {path} as a video")
    try:
        n = 0
        while max_frames is None or n < max_frames:
            ok, bgr = cap.read()
            if not ok:
                return
            if max_width is not None and bgr.shape[1] > max_width:
                scale = max_width / bgr.shape[1]
                bgr = cv2.resize(bgr, (max_width, round(bgr.shape[0] * scale)), interpolation=cv2.INTER_AREA)
            n += 1
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


def video_fps(path: str | Path) -> float:
    """Frame rate stored in the video (30 when unknown)."""
    cap = open_video(path)
    fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
    cap.release()
    return fps if fps and fps > 0 else 30.0
