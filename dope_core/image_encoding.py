"""Decode raw camera image buffers (ROS ``sensor_msgs/Image`` fields) to RGB arrays.

ROS-free: takes the fields of an image message (encoding, height, width, step,
is_bigendian, data) and returns an ``(H, W, 3)`` RGB ``uint8`` array in pixels,
row-major, origin at the top-left. Every photo encoding a camera driver commonly sends
(``sensor_msgs/image_encodings``: RGB/BGR with or without alpha, 8 and 16 bits, grey,
packed YUV 4:2:2, NV12/NV21, Bayer mosaics) is converted; depth encodings (16UC1,
32FC1) are refused with a reason, never estimated as photos. Row padding (``step``
larger than the packed row) and the byte order of 16-bit encodings are honoured.
Compressed images (JPEG, PNG bytes) decode through OpenCV, after their width and height
were read from their header and checked against :class:`~dope_core.image_header.ImageLimits`;
a ``sensor_msgs/CompressedImage`` whose ``format`` names a depth encoding (``"16UC1; png
compressed"``, ``compressedDepth``) is refused like a raw depth image (:func:`check_compressed_format`).
OpenCV's own warnings are silenced while it decodes (its errors still show): a bad image raises
:class:`ImageDecodeError`, which the caller reports at its own rate. Raw images are checked
against the same limits. Every malformed or oversized input raises :class:`ImageDecodeError`
with a message that says what is wrong.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Optional

import cv2
import numpy as np

from dope_core.image_header import ImageHeaderError, ImageLimits, check_encoded


@dataclass(frozen=True)
class _Layout:
    """How one encoding lays its pixels out.

    Attributes:
        channels: values per pixel in a row (2 for packed YUV 4:2:2: one Y and one U or V).
        depth: bytes per value (1 or 2).
        convert: OpenCV colour conversion to RGB (``None``: the pixels are RGB already).
        rows: rows of data per image row, in halves (3 for the NV12/NV21 4:2:0 planes: 1.5).
        even: width (and, for 4:2:0, height) must be even.
    """

    channels: int
    depth: int = 1
    convert: Optional[int] = None
    rows: int = 2
    even: bool = False


# Keys are lower case (encodings are matched case-insensitively). Byte orders follow
# sensor_msgs/image_encodings: "yuv422" (deprecated alias of "uyvy") is U Y0 V Y1,
# "yuv422_yuy2" (alias of "yuyv") is Y0 U Y1 V; bayer_<pattern> names the colours of the
# top-left 2x2 cell row by row; "8UC3"/"8UC4" carry no colour order and are read as
# OpenCV (and cv_bridge) read them: BGR(A).
_YUYV = _Layout(2, convert=cv2.COLOR_YUV2RGB_YUYV, even=True)
_UYVY = _Layout(2, convert=cv2.COLOR_YUV2RGB_UYVY, even=True)
_LAYOUTS: dict[str, _Layout] = {
    "rgb8": _Layout(3), "rgba8": _Layout(4, convert=cv2.COLOR_RGBA2RGB),
    "bgr8": _Layout(3, convert=cv2.COLOR_BGR2RGB), "bgra8": _Layout(4, convert=cv2.COLOR_BGRA2RGB),
    "8uc3": _Layout(3, convert=cv2.COLOR_BGR2RGB), "8uc4": _Layout(4, convert=cv2.COLOR_BGRA2RGB),
    "rgb16": _Layout(3, 2), "rgba16": _Layout(4, 2, convert=cv2.COLOR_RGBA2RGB),
    "bgr16": _Layout(3, 2, convert=cv2.COLOR_BGR2RGB), "bgra16": _Layout(4, 2, convert=cv2.COLOR_BGRA2RGB),
    "mono8": _Layout(1, convert=cv2.COLOR_GRAY2RGB), "8uc1": _Layout(1, convert=cv2.COLOR_GRAY2RGB),
    "mono16": _Layout(1, 2, convert=cv2.COLOR_GRAY2RGB),
    "uyvy": _UYVY, "yuv422": _UYVY, "yuyv": _YUYV, "yuv422_yuy2": _YUYV,
    "nv12": _Layout(1, convert=cv2.COLOR_YUV2RGB_NV12, rows=3, even=True),
    "nv21": _Layout(1, convert=cv2.COLOR_YUV2RGB_NV21, rows=3, even=True),
    # OpenCV names a Bayer pattern by the second row's first two pixels: ROS's RGGB is its BG.
    "bayer_rggb8": _Layout(1, convert=cv2.COLOR_BayerBG2RGB), "bayer_bggr8": _Layout(1, convert=cv2.COLOR_BayerRG2RGB),
    "bayer_gbrg8": _Layout(1, convert=cv2.COLOR_BayerGR2RGB), "bayer_grbg8": _Layout(1, convert=cv2.COLOR_BayerGB2RGB),
    "bayer_rggb16": _Layout(1, 2, convert=cv2.COLOR_BayerBG2RGB),
    "bayer_bggr16": _Layout(1, 2, convert=cv2.COLOR_BayerRG2RGB),
    "bayer_gbrg16": _Layout(1, 2, convert=cv2.COLOR_BayerGR2RGB),
    "bayer_grbg16": _Layout(1, 2, convert=cv2.COLOR_BayerGB2RGB),
}
SUPPORTED_ENCODINGS: tuple[str, ...] = (
    "rgb8", "bgr8", "rgba8", "bgra8", "rgb16", "bgr16", "rgba16", "bgra16", "mono8", "mono16", "8UC1", "8UC3", "8UC4",
    "uyvy", "yuv422", "yuyv", "yuv422_yuy2", "nv12", "nv21", "bayer_rggb8", "bayer_bggr8", "bayer_gbrg8",
    "bayer_grbg8", "bayer_rggb16", "bayer_bggr16", "bayer_gbrg16", "bayer_grbg16")
"""Encodings :func:`decode_raw` turns into RGB photos."""
DEPTH_ENCODINGS: tuple[str, ...] = ("16UC1", "32FC1")
"""Depth image encodings (REP 118: 16UC1 millimetres, 32FC1 metres): rejected, never estimated as photos."""
_OPENCV_LOG_LEVEL_ERROR = 2
"""``cv::utils::logging::LOG_LEVEL_ERROR`` (``cv2.setLogLevel`` takes the number)."""


class ImageDecodeError(ValueError):
    """An image buffer that cannot be turned into an RGB image (the message says why).

    Attributes:
        reason: short code of the problem: ``unsupported_encoding``, ``depth_image``,
            ``zero_size``, ``odd_size``, ``step``, ``size_mismatch``, ``too_large``,
            ``unknown_format``, ``truncated`` or ``corrupt``.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def decode_raw(
    *, encoding: str, height: int, width: int, step: int, is_bigendian: bool,
    data: bytes | bytearray | memoryview | np.ndarray, limits: ImageLimits = ImageLimits(),
) -> np.ndarray:
    """Convert the fields of a raw image to an ``(height, width, 3)`` RGB ``uint8`` array.

    Every encoding of :data:`SUPPORTED_ENCODINGS`: 16-bit colour and Bayer values keep
    their 8 high bits; ``mono16`` (an infrared or grey camera) is scaled to 8 bits by
    its maximum (an all-zero image stays black); packed YUV 4:2:2 and NV12/NV21 4:2:0
    and Bayer mosaics are converted with OpenCV (BT.601 YUV, bilinear demosaicing).

    Raises:
        ImageDecodeError: unsupported or depth encoding, zero or odd size, ``width`` x
            ``height`` over ``limits``, or ``step``/``data`` sizes that do not match
            ``height``, ``width`` and the encoding.
    """
    key = encoding.lower()
    if key in ("16uc1", "32fc1"):
        raise ImageDecodeError(
            f"{encoding!r} is a depth image encoding (REP 118: 16UC1 millimetres, 32FC1 metres), not a photo: "
            "remap the node's 'image' input to the camera's colour (or infrared mono8/mono16) stream",
            "depth_image")
    layout = _LAYOUTS.get(key)
    if layout is None:
        raise ImageDecodeError(
            f"unsupported image encoding {encoding!r}; supported: {', '.join(SUPPORTED_ENCODINGS)}",
            "unsupported_encoding")
    if height <= 0 or width <= 0:
        raise ImageDecodeError(f"zero-size image ({width}x{height} pixels)", "zero_size")
    try:
        limits.check(width, height, f"{encoding} image")
    except ImageHeaderError as e:
        raise ImageDecodeError(str(e), e.reason) from None
    if layout.even and (width % 2 or (layout.rows == 3 and height % 2)):
        raise ImageDecodeError(f"{encoding} needs an even {'width' if width % 2 else 'height'}, "
                               f"got {width}x{height} pixels", "odd_size")
    row_bytes = width * layout.channels * layout.depth
    data_rows = height * layout.rows // 2
    if step < row_bytes:
        raise ImageDecodeError(
            f"step {step} is smaller than one {encoding} row of {width} pixels ({row_bytes} bytes)", "step")
    buf = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data.reshape(-1).view(np.uint8)
    if buf.size != step * data_rows:
        raise ImageDecodeError(
            f"data holds {buf.size} bytes but step x rows = {step} x {data_rows} = {step * data_rows}",
            "size_mismatch")
    rows = np.ascontiguousarray(buf.reshape(data_rows, step)[:, :row_bytes])
    if layout.depth == 2:
        values = rows.view(np.dtype(">u2" if is_bigendian else "<u2")).reshape(data_rows, -1)
        if key == "mono16":
            peak = float(values.max())
            rows = cv2.convertScaleAbs(values.astype(np.uint16), alpha=255.0 / peak if peak > 0 else 0.0)
        else:
            rows = (values >> 8).astype(np.uint8)
    if layout.convert is None:
        return rows.reshape(data_rows, width, layout.channels)
    pixels = rows.reshape(data_rows, width, layout.channels) if layout.channels > 1 else rows.reshape(data_rows, width)
    return cv2.cvtColor(pixels, layout.convert)


def check_compressed_format(image_format: str) -> None:
    """Refuse a ``sensor_msgs/CompressedImage`` ``format`` that says the image is depth, not a photo.

    image_transport writes ``"<source encoding>; <codec> compressed [<target>]"`` (``"bgr8; jpeg
    compressed bgr8"``, ``"16UC1; png compressed"``) and ``compressedDepth`` writes ``"16UC1;
    compressedDepth png"``; plain publishers write ``"jpeg"`` or ``"png"``. A source encoding of
    :data:`DEPTH_ENCODINGS` or the ``compressedDepth`` codec is refused, as :func:`decode_raw` refuses
    raw depth images; ``mono16`` (an infrared or grey camera) is served, as raw.

    Raises:
        ImageDecodeError: ``reason = "depth_image"``.
    """
    source = image_format.split(";", 1)[0].strip() if ";" in image_format else ""
    if source.lower() in (e.lower() for e in DEPTH_ENCODINGS) or "compresseddepth" in image_format.lower():
        raise ImageDecodeError(
            f"compressed image of format {image_format!r} is a depth image (REP 118: 16UC1 millimetres, 32FC1 "
            "metres), not a photo: remap the node's 'image' input to the camera's colour (or infrared) stream",
            "depth_image")


_opencv_quiet_lock = threading.Lock()
_opencv_quiet_users = 0
_opencv_saved_level = _OPENCV_LOG_LEVEL_ERROR


@contextmanager
def _opencv_errors_only() -> Iterator[None]:
    """OpenCV logs errors only inside the block (its "PNG input buffer is incomplete" warnings are written
    straight to stderr, past any rate limit); the level of before is put back when the last block ends
    (thread-safe: blocks may overlap in several threads)."""
    global _opencv_quiet_users, _opencv_saved_level
    with _opencv_quiet_lock:
        if _opencv_quiet_users == 0:
            _opencv_saved_level = cv2.getLogLevel()
            cv2.setLogLevel(min(_opencv_saved_level, _OPENCV_LOG_LEVEL_ERROR))
        _opencv_quiet_users += 1
    try:
        yield
    finally:
        with _opencv_quiet_lock:
            _opencv_quiet_users -= 1
            if _opencv_quiet_users == 0:
                cv2.setLogLevel(_opencv_saved_level)


def decode_compressed(data: bytes | bytearray | memoryview | np.ndarray, limits: ImageLimits = ImageLimits(),
                      image_format: str = "") -> np.ndarray:
    """Decode JPEG/PNG (formats of :mod:`dope_core.image_header`) bytes to an ``(H, W, 3)`` RGB ``uint8`` array.

    ``image_format`` is a ``CompressedImage``'s ``format`` field (empty: unknown), checked by
    :func:`check_compressed_format`. OpenCV's warnings are silenced while decoding (the error raised says
    what is wrong).

    Raises:
        ImageDecodeError: a depth ``image_format``, empty or corrupt data, an unknown format, or a declared
            size over ``limits`` (checked from the header, before decoding).
    """
    check_compressed_format(image_format)
    buf = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data.reshape(-1).view(np.uint8)
    if buf.size == 0:
        raise ImageDecodeError("compressed image holds no data", "corrupt")
    try:
        check_encoded(buf, limits)
    except ImageHeaderError as e:
        raise ImageDecodeError(f"compressed image of {buf.size} bytes refused: {e}", e.reason) from None
    with _opencv_errors_only():
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
