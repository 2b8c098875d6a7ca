"""Tests of dope_core.image_encoding: every encoding, padding, endianness, bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from dope_core.image_encoding import ImageDecodeError, decode_compressed, decode_raw, encode_raw

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


@pytest.mark.parametrize("encoding", ["mono16", "16UC1"])
@pytest.mark.parametrize("bigendian", [False, True])
@pytest.mark.parametrize("pad", [0, 2])
def test_16bit_encodings_endianness_and_padding(encoding, bigendian, pad):
    values = RNG.integers(0, 4000, size=(H, W)).astype(np.uint16)
    values[0, 0] = 4000  # the maximum, scaled to 255
    step, data = _pack(values.astype(">u2" if bigendian else "<u2"), pad)
    out = decode_raw(encoding=encoding, height=H, width=W, step=step, is_bigendian=bigendian, data=data)
    expect = np.round(values.astype(np.float32) * (255.0 / 4000)).astype(np.uint8)
    np.testing.assert_array_equal(out[:, :, 0], expect)
    np.testing.assert_array_equal(out[:, :, 2], expect)
    assert out[0, 0, 0] == 255


def test_16bit_wrong_endianness_gives_other_image():
    values = np.arange(H * W, dtype=np.uint16).reshape(H, W) * 300
    step, data = _pack(values.astype("<u2"), 0)
    right = decode_raw(encoding="16UC1", height=H, width=W, step=step, is_bigendian=False, data=data)
    wrong = decode_raw(encoding="16UC1", height=H, width=W, step=step, is_bigendian=True, data=data)
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


@pytest.mark.parametrize("encoding", ["yuv422", "32FC1", "bayer_rggb8", ""])
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
    assert e.value.reason == "corrupt"


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
