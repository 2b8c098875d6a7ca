#!/usr/bin/env python3
"""CPU time to decode one camera frame per image encoding (dope_core.image_encoding.decode_raw).

Each encoding's frame is made from a real photo (matplotlib's portrait, resized) with
OpenCV or numpy, as a camera driver would send it; the median over ``--repeat`` decodes
is printed per encoding (rgb8 without row padding is a view of the buffer: no copy),
with the load average and the CPU.

    .venv/bin/python benchmarks/bench_encodings.py [--width 1280 --height 720] [--repeat 30]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dope_core.image_encoding import decode_raw  # noqa: E402


def _bayer(rgb: np.ndarray, pattern: str) -> np.ndarray:
    out = np.empty(rgb.shape[:2], np.uint8)
    for k, colour in enumerate(pattern):
        dy, dx = divmod(k, 2)
        out[dy::2, dx::2] = rgb[dy::2, dx::2, "rgb".index(colour)]
    return out


def frames(rgb: np.ndarray) -> dict[str, np.ndarray]:
    """Encoding -> the camera's buffer (rows x bytes), from an RGB photo of even size."""
    h, w = rgb.shape[:2]
    i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).reshape(-1)
    u, v = i420[h * w:h * w * 5 // 4], i420[h * w * 5 // 4:]
    nv12 = np.concatenate([i420[:h * w], np.stack([u, v], 1).reshape(-1)]).reshape(h * 3 // 2, w)
    return {
        "rgb8": rgb, "bgr8": cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), "bgra8": cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA),
        "mono8": cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), "mono16": cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype("<u2") * 257,
        "rgb16": rgb.astype("<u2") * 257, "yuv422": cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_UYVY),
        "yuv422_yuy2": cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_YUY2), "nv12": nv12, "bayer_rggb8": _bayer(rgb, "rggb"),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--repeat", type=int, default=30)
    args = p.parse_args()
    from matplotlib import cbook

    bgr = cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    rgb = cv2.cvtColor(cv2.resize(bgr, (args.width // 2 * 2, args.height // 2 * 2)), cv2.COLOR_BGR2RGB)
    h, w = rgb.shape[:2]
    print(f"{w}x{h}, median of {args.repeat} decodes; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    times = {}
    for encoding, frame in frames(rgb).items():
        rows = frame.reshape(frame.shape[0], -1).view(np.uint8)
        data = rows.tobytes()
        runs = []
        for _ in range(args.repeat + 1):
            t = time.perf_counter()
            decode_raw(encoding=encoding, height=h, width=w, step=rows.shape[1], is_bigendian=False, data=data)
            runs.append(time.perf_counter() - t)
        times[encoding] = statistics.median(runs[1:]) * 1000
    for encoding, ms in times.items():
        print(f"{encoding:12s} {ms:7.2f} ms")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
