import struct

import cv2
import numpy as np
import pytest

from dope_core.image_header import ImageHeaderError, ImageLimits, check_encoded, read_dimensions

IMAGE = np.random.default_rng(0).integers(0, 255, (37, 53, 3), dtype=np.uint8)


@pytest.mark.parametrize("ext, params", [
    (".png", []), (".jpg", []), (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]), (".bmp", []), (".webp", []),
    (".webp", [cv2.IMWRITE_WEBP_QUALITY, 101]), (".tiff", []), (".ppm", []), (".pgm", []), (".pbm", []),
    (".pam", []), (".pfm", []), (".ras", []), (".hdr", []),
])
def test_dimensions_of_every_format_opencv_writes(ext, params):
    image = IMAGE[:, :, 0] if ext in (".pgm", ".pbm") else IMAGE
    if ext in (".pfm", ".hdr"):
        image = image.astype(np.float32) / 255
    ok, buf = cv2.imencode(ext, image, params)
    assert ok
    assert read_dimensions(buf) == (53, 37)
    assert read_dimensions(buf.tobytes()) == (53, 37)


def test_jpeg_size_found_after_large_metadata_segments():
    ok, jpg = cv2.imencode(".jpg", IMAGE)
    app = b"\xff\xe1" + struct.pack(">H", 65535) + bytes(65533)   # a 64 KB APP1 (EXIF-like) segment
    data = jpg.tobytes()[:2] + app * 3 + jpg.tobytes()[2:]
    assert read_dimensions(data) == (53, 37)
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR).shape == (37, 53, 3)


def test_limits_refuse_before_decoding():
    ok, png = cv2.imencode(".png", np.zeros((20000, 200), np.uint8))   # 4 megapixels but a 20000-pixel side
    with pytest.raises(ImageHeaderError, match="200x20000 pixels exceeds") as e:
        check_encoded(png)
    assert e.value.reason == "too_large"
    assert check_encoded(png, ImageLimits(max_side=20000)) == (200, 20000)
    with pytest.raises(ImageHeaderError, match="exceeds"):
        check_encoded(png, ImageLimits(max_pixels=3_999_999, max_side=20000))
    with pytest.raises(ValueError):
        ImageLimits(max_pixels=0)


@pytest.mark.parametrize("data, reason", [
    (b"", "unknown_format"), (b"hello, world", "unknown_format"), (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "unknown_format"),
    (b"\x89PNG\r\n\x1a\n", "truncated"), (b"\xff\xd8\xff\xe0\x00\x10JFIF", "truncated"), (b"\xff\xd8junk", "truncated"),
    (b"II*\x00\xff\xff\xff\x00", "truncated"), (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "truncated"), (b"P6\n", "truncated"),
])
def test_unknown_or_truncated_headers_are_refused(data, reason):
    with pytest.raises(ImageHeaderError) as e:
        read_dimensions(data)
    assert e.value.reason == reason


def test_a_gif_is_refused_as_an_image_with_the_way_to_read_it():
    """OpenCV's wheels decode no GIF image (``cv2.imdecode`` gives ``None``): listing GIF as accepted let
    a GIF through the header check to fail as "not a readable image". It is read as a video instead."""
    gif = b"GIF89a" + struct.pack("<HH", 40, 30) + bytes(20)
    assert cv2.imdecode(np.frombuffer(gif, np.uint8), cv2.IMREAD_COLOR) is None
    with pytest.raises(ImageHeaderError, match="read as a video") as e:
        read_dimensions(gif)
    assert e.value.reason == "unknown_format"
    with pytest.raises(ImageHeaderError) as e:
        read_dimensions(b"hello, world")
    assert "GIF" not in str(e.value) and "PNG" in str(e.value)


def _decoded_size(data: bytes) -> tuple[int, int]:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return image.shape[1], image.shape[0]


def test_a_tiff_that_gives_its_size_twice_is_read_at_the_larger():
    """libtiff takes the first ImageWidth/ImageLength entry: a file that lists the real size first and a
    small one after must not pass the limits as small."""
    image = np.random.default_rng(0).integers(0, 255, (200, 160, 3)).astype(np.uint8)
    tif = cv2.imencode(".tiff", image)[1].tobytes()
    assert tif[:2] == b"II"
    offset = struct.unpack("<I", tif[4:8])[0]
    n = struct.unpack("<H", tif[offset:offset + 2])[0]
    entries = []
    for k in range(n):
        entry = tif[offset + 2 + 12 * k: offset + 14 + 12 * k]
        entries.append(entry)
        tag, kind = struct.unpack("<HH", entry[:4])
        if tag in (256, 257):
            entries.append(entry[:8] + struct.pack("<H" if kind == 3 else "<I", 10).ljust(4, b"\0"))
    next_ifd = tif[offset + 2 + 12 * n: offset + 6 + 12 * n]
    crafted = bytearray(tif + struct.pack("<H", len(entries)) + b"".join(entries) + next_ifd)
    crafted[4:8] = struct.pack("<I", len(tif))
    assert _decoded_size(bytes(crafted)) == (160, 200)
    assert read_dimensions(bytes(crafted)) == (160, 200)
    with pytest.raises(ImageHeaderError, match="exceeds"):
        check_encoded(bytes(crafted), ImageLimits(max_pixels=10_000, max_side=100))


def test_radiance_hdr_size_is_the_line_after_the_header_whatever_its_blanks():
    """OpenCV scans the resolution line with any blanks between its fields; a parser that wanted single
    spaces skipped it and found a small decoy further in the pixel bytes."""
    pixels = bytearray(np.random.default_rng(1).integers(1, 255, 200 * 150 * 4).astype(np.uint8).tobytes())
    pixels[3::4] = bytes([128]) * (200 * 150)   # exponents
    decoy = b"\n\n-Y 10 +X 10\n"
    pixels[400:400 + len(decoy)] = decoy
    crafted = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y  150 +X\t200\n" + bytes(pixels)
    assert _decoded_size(crafted) == (200, 150)
    assert read_dimensions(crafted) == (200, 150)
    with pytest.raises(ImageHeaderError, match="truncated or corrupt"):
        read_dimensions(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\nnot a resolution\n" + decoy + bytes(64))


def test_webp_vp8x_canvas_size_is_stored_minus_one() -> None:
    """An extended (VP8X) WebP stores its canvas width and height minus one, 24-bit little-endian."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes(4) + (53 - 1).to_bytes(3, "little") + (37 - 1).to_bytes(3, "little")
    data = b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x
    assert read_dimensions(data) == (53, 37)


def test_jpeg_whose_height_is_left_to_a_dnl_marker_is_refused() -> None:
    """A JPEG frame header with height 0 (height defined later by DNL) gives no size: refused as truncated."""
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 0, 53, 1) + b"\x01\x11\x00"
    with pytest.raises(ImageHeaderError) as e:
        read_dimensions(b"\xff\xd8" + sof0 + b"\xff\xd9")
    assert e.value.reason == "truncated"
    ok = b"\xff\xd8\xff\xc0" + struct.pack(">HBHHB", 11, 8, 37, 53, 1) + b"\x01\x11\x00\xff\xd9"
    assert read_dimensions(ok) == (53, 37)
