"""Decode raw camera image buffers (ROS ``sensor_msgs/Image`` fields) to RGB arrays.

ROS-free: takes the fields of an image message (encoding, height, width, step,
is_bigendian, data) and returns an ``(H, W, 3)`` RGB ``uint8`` array in pixels,
row-major, origin at the top-left. Row padding (``step`` larger than the packed row)
and the byte order of 16-bit encodings are honoured. Compressed images (JPEG, PNG
bytes) decode through OpenCV. Every malformed input raises :class:`ImageDecodeError`
with a message that says what is wrong.
"""

from __future__ import annotations

import cv2
import numpy as np

# encoding -> (channels, bytes per channel)
_LAYOUTS: dict[str, tuple[int, int]] = {
    "rgb8": (3, 1),
    "bgr8": (3, 1),
    "rgba8": (4, 1),
    "bgra8": (4, 1),
    "mono8": (1, 1),
    "8uc1": (1, 1),
    "mono16": (1, 2),
    "16uc1": (1, 2),
}
SUPPORTED_ENCODINGS: tuple[str, ...] = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8", "8UC1", "mono16", "16UC1")


class ImageDecodeError(ValueError):
    """An image buffer that cannot be turned into an RGB image (the message says why).

    Attributes:
        reason: short code of the problem: ``unsupported_encoding``, ``zero_size``,
            ``step``, ``size_mismatch`` or ``corrupt``.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def decode_raw(
    *, encoding: str, height: int, width: int, step: int, is_bigendian: bool, data: bytes | bytearray | memoryview | np.ndarray
) -> np.ndarray:
    """Convert the fields of a raw image to an ``(height, width, 3)`` RGB ``uint8`` array.

    16-bit encodings (``mono16``, ``16UC1``) are scaled to 8 bits by their maximum
    (a depth or infrared image becomes a visible grey image; an all-zero image stays black).

    Raises:
        ImageDecodeError: unsupported encoding, zero size, or ``step``/``data`` sizes
            that do not match ``height``, ``width`` and the encoding.
    """
    key = encoding.lower()
    if key not in _LAYOUTS:
        raise ImageDecodeError(
            f"unsupported image encoding {encoding!r}; supported: {', '.join(SUPPORTED_ENCODINGS)}",
            "unsupported_encoding")
    channels, depth = _LAYOUTS[key]
    if height <= 0 or width <= 0:
        raise ImageDecodeError(f"zero-size image ({width}x{height} pixels)", "zero_size")
    row_bytes = width * channels * depth
    if step < row_bytes:
        raise ImageDecodeError(
            f"step {step} is smaller than one {encoding} row of {width} pixels ({row_bytes} bytes)", "step")
    buf = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data.reshape(-1).view(np.uint8)
    if buf.size != step * height:
        raise ImageDecodeError(
            f"data holds {buf.size} bytes but step x height = {step} x {height} = {step * height}",
            "size_mismatch")
    rows = buf.reshape(height, step)[:, :row_bytes]
    if depth == 2:
        dtype = np.dtype(">u2" if is_bigendian else "<u2")
        values = np.ascontiguousarray(rows).view(dtype).reshape(height, width).astype(np.float32)
        peak = float(values.max())
        grey = (values * (255.0 / peak)).round().astype(np.uint8) if peak > 0 else np.zeros((height, width), np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    pixels = rows.reshape(height, width, channels)
    if channels == 1:
        return np.repeat(pixels, 3, axis=2)
    if key in ("bgr8", "bgra8"):
        return np.ascontiguousarray(pixels[:, :, 2::-1])
    return np.ascontiguousarray(pixels[:, :, :3])


def decode_compressed(data: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
    """Decode JPEG/PNG (any format OpenCV reads) bytes to an ``(H, W, 3)`` RGB ``uint8`` array.

    Raises:
        ImageDecodeError: empty or corrupt data.
    """
    buf = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data.reshape(-1).view(np.uint8)
    if buf.size == 0:
        raise ImageDecodeError("compressed image holds no data", "corrupt")
    image = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ImageDecodeError(f"compressed image of {buf.size} bytes is corrupt or in an unknown format", "corrupt")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def encode_raw(image_rgb: np.ndarray, encoding: str = "rgb8") -> tuple[int, int, int, bytes]:
    """Pack an ``(H, W, 3)`` RGB ``uint8`` array as ``rgb8`` or ``bgr8``.

    Returns:
        ``(height, width, step, data)`` for a ``sensor_msgs/Image``.
    """
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {image_rgb.shape} {image_rgb.dtype}")
    if encoding == "bgr8":
        image_rgb = image_rgb[:, :, ::-1]
    elif encoding != "rgb8":
        raise ValueError(f"encode_raw writes rgb8 or bgr8, not {encoding!r}")
    h, w = image_rgb.shape[:2]
    return h, w, 3 * w, np.ascontiguousarray(image_rgb).tobytes()
