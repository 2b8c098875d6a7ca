"""Photos with an EXIF orientation tag and videos with a rotation, written byte by byte
(tests of upright reading)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np


def exif_orientation(value: int) -> bytes:
    """A TIFF structure (EXIF's payload) holding one tag: Orientation = ``value``."""
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, value, 0)
    return b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + entry + struct.pack(">I", 0)


def png_with_orientation(image: np.ndarray, value: int) -> bytes:
    """``image`` (BGR) as a PNG whose eXIf chunk says ``value`` (placed after IHDR, before IDAT)."""
    png = cv2.imencode(".png", image)[1].tobytes()
    payload = exif_orientation(value)
    chunk = struct.pack(">I", len(payload)) + b"eXIf" + payload + struct.pack(">I", zlib.crc32(b"eXIf" + payload))
    return png[:33] + chunk + png[33:]   # 8-byte signature + 25-byte IHDR chunk


def jpeg_with_orientation(image: np.ndarray, value: int) -> bytes:
    """``image`` (BGR) as a JPEG with an APP1 Exif segment that says ``value``."""
    jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    payload = b"Exif\x00\x00" + exif_orientation(value)
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def mp4_with_rotation(path: Path, frames: Sequence[np.ndarray], *, fps: float = 5.0) -> None:
    """Write ``frames`` (BGR, one size) as an MP4 whose track header says 'turn 90 degrees
    clockwise to show' (the display matrix a phone writes for a portrait recording)."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for frame in frames:
        writer.write(frame)
    writer.release()
    data = bytearray(path.read_bytes())
    tkhd = data.find(b"tkhd")
    assert tkhd > 0 and data[tkhd + 4] == 0, "expected a version-0 track header"
    # version+flags 4, creation 4, modification 4, track id 4, reserved 4, duration 4, reserved 8,
    # layer 2, alternate group 2, volume 2, reserved 2: then the 3x3 matrix (16.16 and 2.30 fixed point)
    matrix = tkhd + 4 + 4 + 5 * 4 + 8 + 8
    data[matrix:matrix + 36] = struct.pack(">9i", 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
    path.write_bytes(bytes(data))
