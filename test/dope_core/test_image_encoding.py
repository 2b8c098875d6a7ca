"""Tests of dope_core.image_encoding: every encoding, padding, endianness, bad input."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest

from dope_core.image_encoding import (ImageDecodeError, check_compressed_format, decode_compressed, decode_raw,
                                      encode_raw)
from dope_core.image_header import ImageLimits

RNG = np.random.default_rng(0)
H, W = 5, 7
RGB = RNG.integers(0, 256, size=(H, W, 3), dtype=np.uint8)


def _pack(pixels: np.ndarray, pad: int) -> tuple[int, bytes]:
    """Rows of ``pixels`` (H, W*bytes) with ``pad`` junk bytes appended to each row."""
    rows = pixels.reshape(pixels.shape[0], -1).view(np.uint8)
    junk = np.full((rows.shape[0], pad), 0xAB, np.uint8)
    padded = np.concatenate([rows, junk], axis=1)
    return padded.shape[1], padded.tobytes()


@pytest.mark.parametrize("pad", [0, 3])
@pytest.mark.parametrize("encoding,make,expect", [
    ("rgb8", lambda: RGB, lambda: RGB),
    ("bgr8", lambda: RGB[:, :, ::-1].copy(), lambda: RGB),
    ("rgba8", lambda: np.dstack([RGB, np.full((H, W), 9, np.uint8)]), lambda: RGB),
    ("bgra8", lambda: np.dstack([RGB[:, :, ::-1], np.full((H, W), 9, np.uint8)]), lambda: RGB),
    ("mono8", lambda: RGB[:, :, 0].copy(), lambda: np.repeat(RGB[:, :, :1], 3, axis=2)),
    ("8UC1", lambda: RGB[:, :, 1].copy(), lambda: np.repeat(RGB[:, :, 1:2], 3, axis=2)),
])
def test_8bit_encodings(encoding, make, expect, pad):
    step, data = _pack(np.ascontiguousarray(make()), pad)
    out = decode_raw(encoding=encoding, height=H, width=W, step=step, is_bigendian=False, data=data)
    assert out.dtype == np.uint8 and out.shape == (H, W, 3)
    np.testing.assert_array_equal(out, expect())


@pytest.mark.parametrize("bigendian", [False, True])
@pytest.mark.parametrize("pad", [0, 2])
def test_mono16_endianness_and_padding(bigendian, pad):
    values = RNG.integers(0, 4000, size=(H, W)).astype(np.uint16)
    values[0, 0] = 4000  # the maximum, scaled to 255
    step, data = _pack(values.astype(">u2" if bigendian else "<u2"), pad)
    out = decode_raw(encoding="mono16", height=H, width=W, step=step, is_bigendian=bigendian, data=data)
    expect = np.round(values.astype(np.float32) * (255.0 / 4000)).astype(np.uint8)
    np.testing.assert_array_equal(out[:, :, 0], expect)
    np.testing.assert_array_equal(out[:, :, 2], expect)
    assert out[0, 0, 0] == 255


def test_16bit_wrong_endianness_gives_other_image():
    values = np.arange(H * W, dtype=np.uint16).reshape(H, W) * 300
    step, data = _pack(values.astype("<u2"), 0)
    right = decode_raw(encoding="mono16", height=H, width=W, step=step, is_bigendian=False, data=data)
    wrong = decode_raw(encoding="mono16", height=H, width=W, step=step, is_bigendian=True, data=data)
    assert not np.array_equal(right, wrong)


def test_all_zero_16bit_is_black():
    out = decode_raw(encoding="mono16", height=2, width=2, step=4, is_bigendian=False, data=bytes(8))
    assert not out.any()


def test_accepts_numpy_and_memoryview_data():
    step, data = _pack(RGB, 0)
    a = decode_raw(encoding="rgb8", height=H, width=W, step=step, is_bigendian=False, data=memoryview(data))
    b = decode_raw(encoding="rgb8", height=H, width=W, step=step, is_bigendian=False,
                   data=np.frombuffer(data, np.uint8))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("encoding", ["8UC2", "64FC1", "nv24", "jpeg", ""])
def test_unsupported_encoding(encoding):
    with pytest.raises(ImageDecodeError, match="unsupported image encoding") as e:
        decode_raw(encoding=encoding, height=2, width=2, step=6, is_bigendian=False, data=bytes(12))
    assert e.value.reason == "unsupported_encoding"


@pytest.mark.parametrize("h,w", [(0, 4), (4, 0), (0, 0)])
def test_zero_size(h, w):
    with pytest.raises(ImageDecodeError, match="zero-size") as e:
        decode_raw(encoding="rgb8", height=h, width=w, step=3 * w, is_bigendian=False, data=b"")
    assert e.value.reason == "zero_size"


def test_step_smaller_than_row():
    with pytest.raises(ImageDecodeError, match="smaller than one"):
        decode_raw(encoding="rgb8", height=2, width=4, step=11, is_bigendian=False, data=bytes(22))


@pytest.mark.parametrize("nbytes", [0, 23, 25, 48])
def test_data_size_mismatch(nbytes):
    with pytest.raises(ImageDecodeError, match="data holds") as e:
        decode_raw(encoding="rgb8", height=2, width=4, step=12, is_bigendian=False, data=bytes(nbytes))
    assert e.value.reason == "size_mismatch"


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_compressed_roundtrip(ext):
    big = cv2.resize(RGB, (64, 48), interpolation=cv2.INTER_NEAREST)
    ok, buf = cv2.imencode(ext, big[:, :, ::-1])
    assert ok
    out = decode_compressed(buf.tobytes())
    assert out.shape == big.shape
    if ext == ".png":
        np.testing.assert_array_equal(out, big)
    else:
        assert np.abs(out.astype(int) - big.astype(int)).mean() < 20


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\xff\xd8\xff\xe0" + bytes(50)])
def test_corrupt_compressed(data):
    with pytest.raises(ImageDecodeError) as e:
        decode_compressed(data)
    assert e.value.reason in ("corrupt", "unknown_format", "truncated")


def test_sizes_over_the_limits_are_refused_before_decoding():
    ok, png = cv2.imencode(".png", RGB)
    huge = bytearray(png.tobytes())
    huge[16:24] = struct.pack(">II", 20000, 20000)
    with pytest.raises(ImageDecodeError, match="20000x20000 pixels exceeds") as e:
        decode_compressed(bytes(huge))
    assert e.value.reason == "too_large"
    h, w = RGB.shape[:2]
    assert decode_compressed(png.tobytes(), ImageLimits(max_pixels=h * w)).shape == RGB.shape
    with pytest.raises(ImageDecodeError, match="exceeds"):
        decode_compressed(png.tobytes(), ImageLimits(max_pixels=h * w - 1))
    # raw: declared sizes far larger than the data, or than the limits, are refused without allocating
    with pytest.raises(ImageDecodeError, match="exceeds") as e:
        decode_raw(encoding="rgb8", height=100000, width=100000, step=300000, is_bigendian=False, data=bytes(12))
    assert e.value.reason == "too_large"
    with pytest.raises(ImageDecodeError, match="data holds"):
        decode_raw(encoding="rgb8", height=4000, width=4000, step=12000, is_bigendian=False, data=bytes(12))
    with pytest.raises(ImageDecodeError, match="exceeds"):
        decode_raw(encoding="mono8", height=h, width=w, step=w, is_bigendian=False, data=bytes(h * w),
                   limits=ImageLimits(max_side=min(h, w) - 1))


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8"])
def test_encode_raw_roundtrip(encoding):
    h, w, step, data = encode_raw(RGB, encoding)
    out = decode_raw(encoding=encoding, height=h, width=w, step=step, is_bigendian=False, data=data)
    np.testing.assert_array_equal(out, RGB)


def test_encode_raw_rejects_bad_input():
    with pytest.raises(ValueError):
        encode_raw(RGB[:, :, 0])
    with pytest.raises(ValueError):
        encode_raw(RGB, "mono8")


# ---------------------------------------------------------------- real frames, every encoding
def _photo() -> np.ndarray:
    """A real photo (matplotlib's Grace Hopper portrait), RGB, cropped to even 120x96."""
    from matplotlib import cbook

    bgr = cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    return cv2.cvtColor(cv2.resize(bgr, (96, 120), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)


PHOTO = _photo()


def _bayer(rgb: np.ndarray, pattern: str) -> np.ndarray:
    """Mosaic ``rgb`` with the 2x2 ``pattern`` (ROS naming: the top-left cell's colours, row by row)."""
    channel = {"r": 0, "g": 1, "b": 2}
    out = np.empty(rgb.shape[:2], rgb.dtype)
    for k, colour in enumerate(pattern):
        dy, dx = divmod(k, 2)
        out[dy::2, dx::2] = rgb[dy::2, dx::2, channel[colour]]
    return out


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def _wide(x: np.ndarray) -> np.ndarray:
    """8-bit values as 16-bit ones (the 8 high bits), as a 16-bit camera would give them."""
    return x.astype(np.uint16) * 257


def _grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


# encoding -> (what the camera sends, from the RGB photo, converted with OpenCV or numpy; minimum PSNR, dB)
CAMERA_FRAMES = {
    "mono8": (_grey, np.inf),
    "8UC1": (_grey, np.inf),
    "mono16": (lambda p: _wide(_grey(p)), 40.0),
    "rgb8": (lambda p: p, np.inf),
    "bgr8": (lambda p: cv2.cvtColor(p, cv2.COLOR_RGB2BGR), np.inf),
    "rgba8": (lambda p: cv2.cvtColor(p, cv2.COLOR_RGB2RGBA), np.inf),
    "bgra8": (lambda p: cv2.cvtColor(p, cv2.COLOR_RGB2BGRA), np.inf),
    "8UC3": (lambda p: cv2.cvtColor(p, cv2.COLOR_RGB2BGR), np.inf),
    "8UC4": (lambda p: cv2.cvtColor(p, cv2.COLOR_RGB2BGRA), np.inf),
    "rgb16": (lambda p: _wide(p), np.inf),
    "bgr16": (lambda p: _wide(cv2.cvtColor(p, cv2.COLOR_RGB2BGR)), np.inf),
    "rgba16": (lambda p: _wide(cv2.cvtColor(p, cv2.COLOR_RGB2RGBA)), np.inf),
    "bgra16": (lambda p: _wide(cv2.cvtColor(p, cv2.COLOR_RGB2BGRA)), np.inf),
    "uyvy": (lambda p: cv2.cvtColor(p, cv2.COLOR_RGB2YUV_UYVY), 30.0),
    "yuv422": (lambda p: cv2.cvtColor(p, cv2.COLOR_RGB2YUV_UYVY), 30.0),
    "yuyv": (lambda p: cv2.cvtColor(p, cv2.COLOR_RGB2YUV_YUYV), 30.0),
    "yuv422_yuy2": (lambda p: cv2.cvtColor(p, cv2.COLOR_RGB2YUV_YUY2), 30.0),
    "nv12": (lambda p: _nv(p, swap=False), 28.0),
    "nv21": (lambda p: _nv(p, swap=True), 28.0),
    "bayer_rggb8": (lambda p: _bayer(p, "rggb"), 22.0),
    "bayer_bggr8": (lambda p: _bayer(p, "bggr"), 22.0),
    "bayer_gbrg8": (lambda p: _bayer(p, "gbrg"), 22.0),
    "bayer_grbg8": (lambda p: _bayer(p, "grbg"), 22.0),
    "bayer_rggb16": (lambda p: _wide(_bayer(p, "rggb")), 22.0),
    "bayer_bggr16": (lambda p: _wide(_bayer(p, "bggr")), 22.0),
    "bayer_gbrg16": (lambda p: _wide(_bayer(p, "gbrg")), 22.0),
    "bayer_grbg16": (lambda p: _wide(_bayer(p, "grbg")), 22.0),
}


def _nv(rgb: np.ndarray, *, swap: bool) -> np.ndarray:
    """NV12 (Y plane, then interleaved U V at half resolution) or NV21 (V U), from OpenCV's I420."""
    h, w = rgb.shape[:2]
    i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).reshape(-1)
    y, u, v = i420[:h * w], i420[h * w:h * w * 5 // 4], i420[h * w * 5 // 4:]
    uv = np.stack([v, u] if swap else [u, v], axis=1).reshape(-1)
    return np.concatenate([y, uv]).reshape(h * 3 // 2, w)


def test_every_supported_encoding_has_a_real_frame_test():
    from dope_core.image_encoding import SUPPORTED_ENCODINGS

    untested = set(SUPPORTED_ENCODINGS) - set(CAMERA_FRAMES)
    assert not untested


@pytest.mark.parametrize("pad", [0, 4])
@pytest.mark.parametrize("encoding", list(CAMERA_FRAMES))
def test_real_frame_in_every_camera_encoding(encoding, pad):
    make, min_psnr = CAMERA_FRAMES[encoding]
    frame = np.ascontiguousarray(make(PHOTO))
    step, data = _pack(frame.astype(frame.dtype.newbyteorder(">")) if frame.dtype == np.uint16 else frame, pad)
    h, w = PHOTO.shape[:2]
    out = decode_raw(encoding=encoding, height=h, width=w, step=step, is_bigendian=frame.dtype == np.uint16,
                     data=data)
    assert out.shape == PHOTO.shape and out.dtype == np.uint8
    expect = PHOTO
    if encoding in ("mono8", "8UC1", "mono16"):
        grey = _grey(PHOTO).astype(np.float64)
        if encoding == "mono16":  # scaled by its maximum
            grey = np.round(grey * 255.0 / grey.max())
        expect = np.repeat(grey[:, :, None], 3, axis=2).astype(np.uint8)
    assert _psnr(out, expect) >= min_psnr, (encoding, _psnr(out, expect))
    # Colours in the right order: the mean of every channel matches the photo's.
    np.testing.assert_allclose(out.reshape(-1, 3).mean(0), expect.reshape(-1, 3).mean(0), atol=4.0)


def test_yuv_byte_orders_are_not_interchangeable():
    uyvy = cv2.cvtColor(PHOTO, cv2.COLOR_RGB2YUV_UYVY)
    h, w = PHOTO.shape[:2]
    wrong = decode_raw(encoding="yuv422_yuy2", height=h, width=w, step=2 * w, is_bigendian=False, data=uyvy.tobytes())
    assert _psnr(wrong, PHOTO) < 15


def test_bayer_patterns_are_not_interchangeable():
    h, w = PHOTO.shape[:2]
    mosaic = _bayer(PHOTO, "rggb")
    wrong = decode_raw(encoding="bayer_bggr8", height=h, width=w, step=w, is_bigendian=False, data=mosaic.tobytes())
    right = decode_raw(encoding="bayer_rggb8", height=h, width=w, step=w, is_bigendian=False, data=mosaic.tobytes())
    assert _psnr(right, PHOTO) > _psnr(wrong, PHOTO) + 6


@pytest.mark.parametrize("encoding,dtype", [("16UC1", np.uint16), ("32FC1", np.float32)])
def test_depth_encodings_are_refused_with_a_reason(encoding, dtype):
    depth = np.full((4, 6), 1500, dtype)
    with pytest.raises(ImageDecodeError, match="depth image encoding") as e:
        decode_raw(encoding=encoding, height=4, width=6, step=6 * depth.itemsize, is_bigendian=False,
                   data=depth.tobytes())
    assert e.value.reason == "depth_image"


@pytest.mark.parametrize("image_format", [
    "16UC1; png compressed", "32FC1; png compressed", "16uc1; png compressed 16UC1",   # image_transport's compressed
    "16UC1; compressedDepth png", "32FC1; compressedDepth rvl", "compressedDepth",     # compressedDepth
])
def test_a_compressed_depth_format_is_refused_with_a_reason(image_format):
    """A real photo's grey levels as a 16-bit PNG of millimetres: decodable, but its format says depth."""
    png16 = cv2.imencode(".png", cv2.cvtColor(PHOTO, cv2.COLOR_RGB2GRAY).astype(np.uint16) * 40)[1].tobytes()
    with pytest.raises(ImageDecodeError, match="is a depth image") as e:
        decode_compressed(png16, image_format=image_format)
    assert e.value.reason == "depth_image" and "\n" not in str(e.value)
    with pytest.raises(ImageDecodeError):
        check_compressed_format(image_format)


@pytest.mark.parametrize("image_format", [
    "", "jpeg", "png", "rgb8; jpeg compressed bgr8", "bgr8; png compressed bgr8", "mono8; jpeg compressed mono8",
    "mono16; png compressed mono16",   # an infrared or grey camera, served as raw mono16 is
])
def test_photo_formats_are_decoded(image_format):
    png = cv2.imencode(".png", PHOTO[:, :, ::-1])[1].tobytes()
    np.testing.assert_array_equal(decode_compressed(png, image_format=image_format), PHOTO)


def test_a_truncated_png_writes_nothing_to_stderr(capfd):
    """OpenCV would print "PNG input buffer is incomplete" straight to fd 2, past the node's warning throttle;
    the ImageDecodeError says it all. OpenCV's log level is put back afterwards."""
    png = cv2.imencode(".png", PHOTO[:, :, ::-1])[1].tobytes()
    level = cv2.getLogLevel()
    capfd.readouterr()
    for _ in range(3):
        with pytest.raises(ImageDecodeError) as e:
            decode_compressed(png[:200])
        assert e.value.reason == "corrupt"
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
    assert cv2.getLogLevel() == level


@pytest.mark.parametrize("encoding,h,w", [("yuyv", 4, 5), ("nv12", 3, 4)])
def test_odd_sizes_of_subsampled_encodings(encoding, h, w):
    with pytest.raises(ImageDecodeError, match="even") as e:
        decode_raw(encoding=encoding, height=h, width=w, step=2 * w, is_bigendian=False, data=bytes(2 * w * h))
    assert e.value.reason == "odd_size"
