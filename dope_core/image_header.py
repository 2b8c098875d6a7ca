"""Image dimensions read from a compressed file's header, checked before any decode.

A 1 MB PNG can declare 20000x20000 pixels and take gigabytes to decode. Every
compressed image (files of the ``dope`` command and the pseudo-labeller, the node's
``CompressedImage`` messages) first goes through :func:`check_encoded`: the width and
height are parsed from the first bytes of the file, without decoding, and checked
against :class:`ImageLimits`. Formats whose header is parsed here (those OpenCV
decodes, minus the rare ones): PNG, JPEG, BMP, WebP, TIFF (and BigTIFF), PNM
(PBM/PGM/PPM/PAM) and PFM, Sun raster and Radiance HDR. Anything else is
refused (``reason = "unknown_format"``): an image whose size cannot be known before
decoding is not decoded. GIF is refused too, with its own message: the OpenCV wheels
decode no GIF image (their build has no GIF codec), so a GIF file is read as a video
(FFmpeg reads GIFs, animated or not; :data:`dope_core.image_io.VIDEO_SUFFIXES`).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

import numpy as np

DEFAULT_MAX_PIXELS = 50_000_000
"""Default largest image, in pixels (width x height): 50 megapixels (an 8K frame is 33 MP)."""
DEFAULT_MAX_SIDE = 16384
"""Default longest allowed side, in pixels."""

BytesLike = bytes | bytearray | memoryview | np.ndarray


class ImageHeaderError(ValueError):
    """An encoded image refused before decoding (the message says why).

    Attributes:
        reason: ``"too_large"``, ``"unknown_format"`` or ``"truncated"``.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ImageLimits:
    """Largest image accepted: at most ``max_pixels`` pixels and ``max_side`` pixels per side."""

    max_pixels: int = DEFAULT_MAX_PIXELS
    max_side: int = DEFAULT_MAX_SIDE

    def __post_init__(self) -> None:
        if self.max_pixels < 1 or self.max_side < 1:
            raise ValueError(f"image limits must be positive, got {self.max_pixels} pixels, side {self.max_side}")

    def check(self, width: int, height: int, what: str = "image") -> None:
        """Raise :class:`ImageHeaderError` (``too_large``) if ``width`` x ``height`` exceeds the limits."""
        if width > self.max_side or height > self.max_side or width * height > self.max_pixels:
            raise ImageHeaderError(
                f"{what} of {width}x{height} pixels exceeds the limit of {self.max_pixels / 1e6:g} megapixels and "
                f"{self.max_side} pixels per side; not decoded", "too_large")


def check_encoded(data: BytesLike, limits: ImageLimits = ImageLimits()) -> tuple[int, int]:
    """The ``(width, height)`` in pixels declared by an encoded image, checked against ``limits``.

    Raises:
        ImageHeaderError: unknown format, truncated header, or dimensions over the limits.
    """
    width, height = read_dimensions(data)
    limits.check(width, height)
    return width, height


def read_dimensions(data: BytesLike) -> tuple[int, int]:
    """``(width, height)`` in pixels from the header of an encoded image, without decoding it.

    Raises:
        ImageHeaderError: unknown format or truncated header.
    """
    buf = memoryview(data if not isinstance(data, np.ndarray) else data.reshape(-1).view(np.uint8)).cast("B")
    head = bytes(buf[:16])
    for magic, parser in _PARSERS:
        if head.startswith(magic):
            try:
                size = parser(buf)
            except (struct.error, IndexError, ValueError):
                size = None
            if size is None:
                raise ImageHeaderError("image header is truncated or corrupt: its size cannot be read", "truncated")
            return size
    if head.startswith((b"GIF87a", b"GIF89a")):
        raise ImageHeaderError("GIF is not decoded as an image here (OpenCV's wheels have no GIF codec): "
                               "give the file a .gif name and it is read as a video, or convert it to PNG",
                               "unknown_format")
    raise ImageHeaderError("unknown image format: its size cannot be read before decoding (accepted: PNG, JPEG, "
                           "BMP, WebP, TIFF, PNM/PAM/PFM, Sun raster, Radiance HDR)", "unknown_format")


def _png(b: memoryview) -> tuple[int, int] | None:
    if bytes(b[12:16]) != b"IHDR":
        return None
    return struct.unpack(">II", b[16:24])


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(b: memoryview) -> tuple[int, int] | None:
    i = 2
    while i + 4 <= len(b):
        if b[i] != 0xFF:
            return None
        while i < len(b) and b[i] == 0xFF:   # fill bytes
            i += 1
        marker = b[i]
        i += 1
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:   # no length field
            continue
        if marker == 0xD9:
            return None
        length = struct.unpack(">H", b[i:i + 2])[0]
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", b[i + 3:i + 7])
            return (width, height) if height > 0 else None   # height 0: defined later (DNL), refused
        i += length
    return None


def _bmp(b: memoryview) -> tuple[int, int] | None:
    dib = struct.unpack("<I", b[14:18])[0]
    if dib == 12:
        return struct.unpack("<HH", b[18:22])
    width, height = struct.unpack("<ii", b[18:26])
    return abs(width), abs(height)


def _webp(b: memoryview) -> tuple[int, int] | None:
    if bytes(b[8:12]) != b"WEBP":
        return None
    chunk = bytes(b[12:16])
    if chunk == b"VP8 ":
        if bytes(b[23:26]) != b"\x9d\x01\x2a":
            return None
        w, h = struct.unpack("<HH", b[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        if b[20] != 0x2F:
            return None
        bits = struct.unpack("<I", b[21:25])[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        w = int.from_bytes(bytes(b[24:27]), "little") + 1
        h = int.from_bytes(bytes(b[27:30]), "little") + 1
        return w, h
    return None


def _tiff(b: memoryview) -> tuple[int, int] | None:
    e = "<" if bytes(b[:2]) == b"II" else ">"
    big = struct.unpack(e + "H", b[2:4])[0] == 43
    if big:
        offset = struct.unpack(e + "Q", b[8:16])[0]
        count = struct.unpack(e + "Q", b[offset:offset + 8])[0]
        start, size, head = offset + 8, 20, e + "HHQ"
    else:
        offset = struct.unpack(e + "I", b[4:8])[0]
        count = struct.unpack(e + "H", b[offset:offset + 2])[0]
        start, size, head = offset + 2, 12, e + "HHI"
    found: dict[int, int] = {}
    for k in range(min(count, 4096)):
        pos = start + k * size
        tag, kind, _n = struct.unpack(head, b[pos:pos + struct.calcsize(head)])
        if tag in (256, 257):
            value = bytes(b[pos + struct.calcsize(head):pos + size])
            fmt = {3: "H", 4: "I", 16: "Q"}.get(kind)
            if fmt is None:
                return None
            # a tag given twice: the larger value (libtiff takes the first, a crafted file puts a small one last)
            found[tag] = max(found.get(tag, 0), struct.unpack(e + fmt, value[:struct.calcsize(fmt)])[0])
    if 256 not in found or 257 not in found:
        return None
    return found[256], found[257]


_PNM_TOKEN = re.compile(rb"(?:\s|#[^\n]*\n)*(\d+)")


def _pnm(buf: memoryview) -> tuple[int, int] | None:
    b = bytes(buf[:4096])
    if b[:2] == b"P7":
        w = re.search(rb"\nWIDTH\s+(\d+)", b)
        h = re.search(rb"\nHEIGHT\s+(\d+)", b)
        return (int(w.group(1)), int(h.group(1))) if w and h else None
    pos, values = 2, []
    for _ in range(2):
        m = _PNM_TOKEN.match(b, pos)
        if m is None:
            return None
        values.append(int(m.group(1)))
        pos = m.end()
    return values[0], values[1]


def _sun(b: memoryview) -> tuple[int, int] | None:
    return struct.unpack(">II", b[4:12])


_HDR_RESOLUTION = re.compile(rb"[ \t]*([-+])([XY])[ \t]+(\d+)[ \t]+([-+])([XY])[ \t]+(\d+)[ \t\r]*\n")


def _hdr(buf: memoryview) -> tuple[int, int] | None:
    # the resolution line is the one after the header's first empty line, its fields separated by any
    # blanks (as OpenCV's reader scans it); nothing further in the file is looked at
    b = bytes(buf[:65536])
    end = b.find(b"\n\n")
    m = _HDR_RESOLUTION.match(b, end + 2) if end >= 0 else None
    if m is None or m.group(2) == m.group(5):
        return None
    first, second = int(m.group(3)), int(m.group(6))
    return (second, first) if m.group(2) == b"Y" else (first, second)


_PARSERS = (
    (b"\x89PNG\r\n\x1a\n", _png),
    (b"\xff\xd8", _jpeg),
    (b"BM", _bmp),
    (b"RIFF", _webp),
    (b"II*\x00", _tiff), (b"MM\x00*", _tiff), (b"II+\x00", _tiff), (b"MM\x00+", _tiff),
    *((m, _pnm) for m in (b"P1", b"P2", b"P3", b"P4", b"P5", b"P6", b"P7", b"PF", b"Pf")),
    (b"\x59\xa6\x6a\x95", _sun),
    (b"#?RADIANCE", _hdr), (b"#?RGBE", _hdr),
)
