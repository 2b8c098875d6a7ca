"""Reading images and videos into RGB ``uint8`` arrays, with clear errors for bad input.

Everything handed to an estimator goes through :func:`to_rgb8`: grayscale, RGBA,
16-bit and float images are converted; empty or degenerate images raise
:class:`ImageError` with a message saying what is wrong.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from dope_core.image_header import ImageHeaderError, ImageLimits, check_encoded

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".dib", ".tif", ".tiff", ".webp",
                            ".pbm", ".pgm", ".ppm", ".pnm", ".pam", ".pfm", ".ras", ".hdr"})
"""File suffixes read as images: the formats whose size :mod:`dope_core.image_header` reads before
OpenCV decodes them."""
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".gif"})
"""File suffixes read as videos (OpenCV's FFmpeg reader). GIF is among them: OpenCV's wheels decode no
GIF image, FFmpeg reads its frames (one, or every frame of an animated GIF)."""
MIN_SIDE = 2
"""Smallest width and height (pixels) an estimator is given."""


class ImageError(ValueError):
    """An input image or video that cannot be used, with the reason.

    Attributes:
        reason: a short description of the kind of problem, the same for every input
            with that problem (for counting); by default the message's last part.
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message.split(":")[-1].strip()


_HEADER_REASONS = {"too_large": "image over the size limit", "unknown_format": "unknown image format",
                   "truncated": "truncated or malformed image header"}


def to_rgb8(image: np.ndarray, *, bgr: bool = False) -> np.ndarray:
    """Convert an image array to RGB ``uint8`` ``(H, W, 3)``.

    Accepts ``(H, W)`` or ``(H, W, 1)`` grayscale, ``(H, W, 3)`` colour and
    ``(H, W, 4)`` colour with alpha (dropped), as ``uint8``, ``uint16`` (scaled by
    1/257), other integer types (scaled by their range) or floats in ``[0, 1]``.

    Args:
        image: the array.
        bgr: the colour channels are in BGR order (OpenCV's).

    Raises:
        ImageError: empty, smaller than :data:`MIN_SIDE`, or of an unusable shape or type.
    """
    if not isinstance(image, np.ndarray):
        raise ImageError(f"expected a numpy array, got {type(image).__name__}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ImageError(f"unsupported image shape {image.shape}: expected (H, W), (H, W, 3) or (H, W, 4)")
    h, w = image.shape[:2]
    if h < MIN_SIDE or w < MIN_SIDE:
        raise ImageError(f"image of {w}x{h} pixels is too small (at least {MIN_SIDE}x{MIN_SIDE})", reason="image too small")
    image = _to_uint8(image)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB if bgr else cv2.COLOR_RGBA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if bgr else np.ascontiguousarray(image)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image.astype(np.uint32) // 257).astype(np.uint8)
    if np.issubdtype(image.dtype, np.integer):
        info = np.iinfo(image.dtype)
        scaled = (image.astype(np.float64) - info.min) / (info.max - info.min)
        return np.round(scaled * 255).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        if not np.all(np.isfinite(image)):
            raise ImageError("float image contains NaN or infinite values")
        return np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * 255
    raise ImageError(f"unsupported image dtype {image.dtype}")


def read_image(path: str | Path, limits: ImageLimits = ImageLimits()) -> np.ndarray:
    """Read an image file as RGB ``uint8`` (any bit depth and channel count OpenCV reads),
    upright: an EXIF orientation tag (what phones and cameras write for a portrait photo stored
    as a landscape bitmap; read in JPEG, PNG and TIFF files, not WebP) is applied, as image
    viewers, OpenCV's ``imread`` and the pseudo-labeller do, so the pixel coordinates of the
    results are those of the photo as it is shown. An alpha channel is dropped.

    The width and height are read from the file's header and checked against
    ``limits`` before the image is decoded (:mod:`dope_core.image_header`).

    Raises:
        ImageError: missing, empty, unreadable, too large or degenerate file.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    data = np.fromfile(str(path), dtype=np.uint8)
    if data.size == 0:
        raise ImageError(f"{path}: empty file")
    try:
        check_encoded(data, limits)
    except ImageHeaderError as e:
        raise ImageError(f"{path}: {e}", reason=_HEADER_REASONS[e.reason]) from None
    # Any depth and channel count, EXIF orientation applied (IMREAD_UNCHANGED would ignore it).
    image = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if image is None:
        raise ImageError(f"{path}: not a readable image (corrupt or unsupported format)")
    try:
        return to_rgb8(image, bgr=True)
    except ImageError as e:
        raise ImageError(f"{path}: {e}", reason=e.reason) from None


@contextmanager
def opencv_path(path: str | Path) -> Iterator[str]:
    """``path`` as a string OpenCV's file functions can open.

    OpenCV crashes (a segmentation fault in the 4.11 wheels) on a file name that is not valid
    UTF-8, which a POSIX file system allows (a Latin-1 name copied from an old disk): such a
    path is given as a symbolic link with an ASCII name in a temporary folder, removed on exit.
    """
    name = str(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        folder = tempfile.mkdtemp(prefix="dope-path-")
        suffix = Path(path).suffix
        link = os.path.join(folder, "input" + (suffix if suffix.isascii() else ""))
        os.symlink(os.path.abspath(path), link)
        try:
            yield link
        finally:
            os.unlink(link)
            os.rmdir(folder)
        return
    yield name


def read_bgr(path: str | Path) -> np.ndarray | None:
    """``cv2.imread(path, cv2.IMREAD_COLOR)`` (BGR ``uint8``, EXIF orientation applied, ``None``
    when unreadable) for any file name, without OpenCV opening the file."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None


def open_video(source: str | Path | int) -> cv2.VideoCapture:
    """OpenCV's capture of a video file or a camera index, its frames upright: a file's rotation
    metadata (what phones write for a video recorded in portrait) is applied, as players do;
    OpenCV's FFmpeg backend reads it but, in the 4.11 wheels, does not apply it unless asked
    (``CAP_PROP_ORIENTATION_AUTO``). The frame size the capture reports is the upright one.
    The caller checks ``isOpened()`` and releases the capture."""
    if isinstance(source, int):
        return cv2.VideoCapture(source)
    with opencv_path(source) as name:   # the file stays open once opened
        cap = cv2.VideoCapture(name)
    if cap.isOpened():
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return cap


def written_video_problem(path: str | Path, frames: int) -> str | None:
    """Why the video file ``path``, just written with ``frames`` frames, is not whole, or ``None`` when it is.

    ``cv2.VideoWriter`` reports no error (``write`` returns nothing): on a full disk it leaves a file
    without its index (an MP4 without its ``moov`` box), which no player opens. The file must open,
    announce ``frames`` frames and give its last one (a seek decodes at most one group of pictures).
    """
    cap = open_video(path)
    try:
        if not cap.isOpened():
            return "it does not open as a video"
        announced = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if announced != frames:
            return f"it holds {announced} frames of the {frames} written"
        cap.set(cv2.CAP_PROP_POS_FRAMES, frames - 1)
        ok, _ = cap.read()
        return None if ok else "its last frame cannot be read"
    finally:
        cap.release()


@dataclass
class Frame:
    """One image of an input: its RGB pixels and where it came from."""

    image: np.ndarray
    source: str
    index: int


def list_inputs(path: str | Path) -> list[Path]:
    """The image and video files of a folder (sorted; hidden files, such as the ``._*`` companions
    macOS leaves and unfinished outputs, left out), or the file itself.

    Raises:
        ImageError: no such file or folder, a folder that cannot be read or holds no image or video.
    """
    path = Path(path)
    if path.is_dir():
        try:
            files = sorted(p for p in path.iterdir() if not p.name.startswith(".") and p.is_file()
                           and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
        except OSError as e:
            raise ImageError(f"{path}: folder cannot be read ({e.strerror or type(e).__name__})",
                             reason="folder cannot be read") from None
        if not files:
            raise ImageError(f"{path}: folder holds no image or video file")
        return files
    if not path.exists():
        raise ImageError(f"{path}: no such file or folder")
    return [path]


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


class VideoReader:
    """Frames of a video file or a camera (an integer index), as RGB ``uint8``, upright
    (:func:`open_video`).

    A video that ends early or is truncated simply stops; the number of frames the
    container announced and the number read are both available afterwards.

    Args:
        source: a file path, or a camera index such as ``0``.
        stride: keep one frame in ``stride``.
        max_frames: stop after this many kept frames (``None``: no limit).
        limits: largest frame accepted (the size the container declares is checked when opening).

    Raises:
        ImageError: the source cannot be opened, or declares frames over ``limits``.
    """

    def __init__(self, source: str | Path | int, *, stride: int = 1, max_frames: int | None = None,
                 limits: ImageLimits = ImageLimits()) -> None:
        if stride < 1:
            raise ValueError("stride must be at least 1")
        self.source = source
        self.stride = stride
        self.max_frames = max_frames
        self._cap = open_video(source)
        if not self._cap.isOpened():
            what = f"camera {source}" if isinstance(source, int) else f"{source}"
            raise ImageError(f"{what}: cannot be opened as a video")
        width, height = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        try:
            limits.check(width, height, "video frame")
        except ImageHeaderError as e:
            self._cap.release()
            raise ImageError(f"{source}: {e}", reason=_HEADER_REASONS[e.reason]) from None
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS)) or 30.0
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.announced_frames = count if count > 0 else None
        self.frames_read = 0

    def __len__(self) -> int:
        n = self.announced_frames or 0
        n = -(-n // self.stride)
        return n if self.max_frames is None else min(n, self.max_frames)

    def __iter__(self) -> Iterator[Frame]:
        kept = 0
        index = 0
        try:
            while self.max_frames is None or kept < self.max_frames:
                ok, frame = self._cap.read()
                if not ok or frame is None:
                    break
                self.frames_read += 1
                if index % self.stride == 0:
                    try:
                        image = to_rgb8(frame, bgr=True)
                    except ImageError:
                        index += 1
                        continue
                    yield Frame(image=image, source=str(self.source), index=index)
                    kept += 1
                index += 1
        finally:
            self._cap.release()

    @property
    def ended_early(self) -> bool:
        """The video stopped before the frame count its container announced."""
        return self.max_frames is None and self.announced_frames is not None and self.frames_read < self.announced_frames
