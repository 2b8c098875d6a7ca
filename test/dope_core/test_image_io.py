import os
import struct

import cv2
import numpy as np
import pytest

from dope_core.image_header import ImageLimits
from dope_core.image_io import (ImageError, VideoReader, is_video, list_inputs, opencv_path, read_bgr, read_image,
                                to_rgb8, written_video_problem)
from oriented_media import jpeg_with_orientation, mp4_with_rotation, png_with_orientation


@pytest.mark.parametrize("image, expected", [
    (np.full((4, 5), 200, np.uint8), (200, 200, 200)),
    (np.full((4, 5, 1), 7, np.uint8), (7, 7, 7)),
    (np.full((4, 5), 65535, np.uint16), (255, 255, 255)),
    (np.full((4, 5), 257 * 10, np.uint16), (10, 10, 10)),
    (np.full((4, 5), 0.5, np.float32), (128, 128, 128)),
    (np.dstack([np.full((4, 5), v, np.uint8) for v in (10, 20, 30, 40)]), (10, 20, 30)),
])
def test_to_rgb8_converts_gray_16bit_float_rgba(image, expected):
    out = to_rgb8(image)
    assert out.dtype == np.uint8 and out.shape == (4, 5, 3)
    assert tuple(out[0, 0]) == expected


def test_bgr_order_is_swapped():
    bgr = np.zeros((3, 3, 3), np.uint8)
    bgr[..., 0] = 255  # blue
    assert tuple(to_rgb8(bgr, bgr=True)[0, 0]) == (0, 0, 255)


@pytest.mark.parametrize("image, message", [
    (np.zeros((0, 0, 3), np.uint8), "too small"),
    (np.zeros((1, 1, 3), np.uint8), "too small"),
    (np.zeros((4, 4, 2), np.uint8), "unsupported image shape"),
    (np.full((4, 4), np.nan, np.float32), "NaN"),
    (np.zeros((4, 4), np.complex64), "unsupported image dtype"),
])
def test_degenerate_images_are_clear_errors(image, message):
    with pytest.raises(ImageError, match=message):
        to_rgb8(image)


def test_read_image_bad_files(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(ImageError, match="empty file"):
        read_image(tmp_path / "empty.jpg")
    with pytest.raises(ImageError, match="unknown image format"):
        read_image(tmp_path / "bad.png")
    with pytest.raises(ImageError, match="no such file"):
        read_image(tmp_path / "missing.png")
    ok, png = cv2.imencode(".png", np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8))
    (tmp_path / "cut.png").write_bytes(png.tobytes()[:60])
    with pytest.raises(ImageError, match="not a readable image"):
        read_image(tmp_path / "cut.png")


def test_read_image_checks_the_declared_size_before_decoding(tmp_path):
    ok, png = cv2.imencode(".png", np.zeros((30, 40, 3), np.uint8))
    data = bytearray(png.tobytes())
    data[16:24] = struct.pack(">II", 20000, 20000)   # a header declaring 400 megapixels
    (tmp_path / "huge.png").write_bytes(bytes(data))
    with pytest.raises(ImageError, match="20000x20000 pixels exceeds the limit") as e:
        read_image(tmp_path / "huge.png")
    assert e.value.reason == "image over the size limit"
    cv2.imwrite(str(tmp_path / "ok.png"), np.zeros((30, 40, 3), np.uint8))
    assert read_image(tmp_path / "ok.png", ImageLimits(max_pixels=1200, max_side=40)).shape == (30, 40, 3)
    with pytest.raises(ImageError, match="exceeds the limit"):
        read_image(tmp_path / "ok.png", ImageLimits(max_pixels=1199))
    with pytest.raises(ImageError, match="exceeds the limit"):
        read_image(tmp_path / "ok.png", ImageLimits(max_side=39))


def test_read_image_16bit_and_rgba_files(tmp_path):
    cv2.imwrite(str(tmp_path / "g16.png"), np.full((8, 9), 65535, np.uint16))
    cv2.imwrite(str(tmp_path / "rgba.png"), np.dstack([np.zeros((8, 9, 3), np.uint8), np.full((8, 9), 255, np.uint8)]))
    assert read_image(tmp_path / "g16.png").shape == (8, 9, 3)
    assert read_image(tmp_path / "g16.png").max() == 255
    assert read_image(tmp_path / "rgba.png").shape == (8, 9, 3)


# How a viewer turns the stored bitmap upright, for each EXIF orientation.
UPRIGHT = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}


@pytest.mark.parametrize("value", sorted(UPRIGHT))
def test_read_image_applies_the_exif_orientation(tmp_path, value):
    """A phone's portrait photo is a landscape bitmap with an orientation tag: the pixels come
    back upright, as viewers show them (and as the pseudo-labeller's OpenCV decoding has them)."""
    rng = np.random.default_rng(value)
    bgr = rng.integers(0, 256, (6, 10, 3), dtype=np.uint8)
    (tmp_path / "tagged.png").write_bytes(png_with_orientation(bgr, value))
    out = read_image(tmp_path / "tagged.png")
    np.testing.assert_array_equal(out, UPRIGHT[value](bgr[:, :, ::-1]))
    assert out.shape[:2] == ((6, 10) if value < 5 else (10, 6))


def test_read_image_turns_a_tagged_jpeg_upright(tmp_path):
    """Stored 40 wide and 24 high with its left half dark, tagged 'rotate 90 degrees clockwise':
    shown 24 wide and 40 high with the dark half on top."""
    bgr = np.full((24, 40, 3), 230, np.uint8)
    bgr[:, :20] = 20
    (tmp_path / "portrait.jpg").write_bytes(jpeg_with_orientation(bgr, 6))
    out = read_image(tmp_path / "portrait.jpg")
    assert out.shape == (40, 24, 3)
    assert out[:18].mean() < 40 and out[22:].mean() > 210


def portrait_recording(path) -> np.ndarray:
    """A 64x48 clip with its left half bright, tagged 'turn 90 degrees clockwise': a phone's
    portrait recording. Returns the frame as it is shown (48 wide, 64 high, top half bright)."""
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:, :32] = 200
    mp4_with_rotation(path, [frame] * 3)
    return np.rot90(frame, -1)


def test_video_reader_turns_a_rotated_recording_upright(tmp_path):
    shown = portrait_recording(tmp_path / "portrait.mp4")
    frames = list(VideoReader(tmp_path / "portrait.mp4"))
    assert len(frames) == 3
    for f in frames:
        assert f.image.shape == shown.shape
        assert np.abs(f.image.astype(int) - shown).mean() < 10   # mp4v's loss, not a turn (about 100)


def test_list_inputs(tmp_path):
    with pytest.raises(ImageError, match="holds no image"):
        list_inputs(tmp_path)
    (tmp_path / "b.jpg").write_bytes(b"x")
    (tmp_path / "a.mp4").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in list_inputs(tmp_path)] == ["a.mp4", "b.jpg"]
    with pytest.raises(ImageError, match="no such file"):
        list_inputs(tmp_path / "nope")


def _animated_gif(path, frames: int, shift: int = 30) -> list[np.ndarray]:
    """A GIF of ``frames`` frames of matplotlib's photo of Grace Hopper, shifted ``shift`` px right each frame
    (written with Pillow, which torchvision brings); returns the RGB frames written."""
    pil = pytest.importorskip("PIL.Image")
    from matplotlib import cbook

    photo = cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))[..., ::-1]
    shown = [np.roll(photo, shift * i, axis=1) for i in range(frames)]
    images = [pil.fromarray(f) for f in shown]
    images[0].save(path, save_all=True, append_images=images[1:], duration=100, loop=0)
    return shown


def test_a_gif_is_a_video_of_its_frames(tmp_path):
    """OpenCV's wheels decode no GIF image; FFmpeg reads every frame of a GIF, so ``.gif`` files are
    videos: a folder lists them, and their frames come out as an animated GIF shows them."""
    shown = _animated_gif(tmp_path / "wave.gif", 3)
    (tmp_path / "still.jpg").write_bytes(b"x")
    assert [p.name for p in list_inputs(tmp_path)] == ["still.jpg", "wave.gif"]
    assert is_video(tmp_path / "wave.gif") and not is_video(tmp_path / "still.jpg")
    reader = VideoReader(tmp_path / "wave.gif")
    frames = list(reader)
    assert len(frames) == 3 and not reader.ended_early
    for frame, expected in zip(frames, shown):
        assert frame.image.shape == expected.shape
        assert np.abs(frame.image.astype(int) - expected).mean() < 8   # the GIF's 256-colour palette
    with pytest.raises(ImageError, match="read as a video"):
        read_image(tmp_path / "wave.gif")


def test_list_inputs_leaves_hidden_files_out(tmp_path):
    (tmp_path / "b.jpg").write_bytes(b"x")
    (tmp_path / "._b.jpg").write_bytes(b"macOS resource fork")
    (tmp_path / ".dope-k1ll3d.tmp.jpg").write_bytes(b"an unfinished output")
    assert [p.name for p in list_inputs(tmp_path)] == ["b.jpg"]


def test_unreadable_folder_is_an_image_error(tmp_path, monkeypatch):
    from pathlib import Path

    def refused(self):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(Path, "iterdir", refused)
    with pytest.raises(ImageError, match="folder cannot be read .Permission denied") as e:
        list_inputs(tmp_path)
    assert e.value.reason == "folder cannot be read"


NOT_UTF8 = os.fsdecode(b"caf\xe9")
"""A Latin-1 file name: valid on POSIX, not UTF-8 (Python holds it with a surrogate escape)."""


def test_files_whose_names_are_not_utf8_are_read(tmp_path):
    image = np.random.default_rng(0).integers(0, 255, (24, 32, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "ok.png"), image)
    os.rename(tmp_path / "ok.png", tmp_path / f"{NOT_UTF8}.png")
    assert np.array_equal(read_bgr(tmp_path / f"{NOT_UTF8}.png"), image)
    assert read_image(tmp_path / f"{NOT_UTF8}.png").shape == (24, 32, 3)
    _write_video(tmp_path / "v.avi", 3)
    os.rename(tmp_path / "v.avi", tmp_path / f"{NOT_UTF8}.avi")
    with opencv_path(tmp_path / f"{NOT_UTF8}.avi") as name:
        name.encode("utf-8")   # OpenCV gets an ASCII link (it crashes on the real name)
        assert os.path.islink(name) and name.endswith(".avi")
    assert not os.path.exists(name)
    assert len(list(VideoReader(tmp_path / f"{NOT_UTF8}.avi"))) == 3
    assert read_bgr(tmp_path / "missing.png") is None


def _write_video(path, n: int) -> None:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for i in range(n):
        w.write(np.full((24, 32, 3), i * 10, np.uint8))
    w.release()


def test_video_reader_stride_and_limit(tmp_path):
    _write_video(tmp_path / "v.avi", 10)
    frames = list(VideoReader(tmp_path / "v.avi", stride=3))
    assert [f.index for f in frames] == [0, 3, 6, 9]
    assert frames[0].image.shape == (24, 32, 3)
    assert len(list(VideoReader(tmp_path / "v.avi", max_frames=2))) == 2


def test_truncated_video_is_a_clear_error_or_a_short_read(tmp_path):
    _write_video(tmp_path / "v.avi", 20)
    data = (tmp_path / "v.avi").read_bytes()
    (tmp_path / "t.avi").write_bytes(data[: len(data) // 2])
    try:
        reader = VideoReader(tmp_path / "t.avi")
    except ImageError as e:
        assert "cannot be opened" in str(e)
        return
    assert len(list(reader)) < 20


def test_truncated_real_video_reports_early_end(tmp_path, shared_data):
    data = (shared_data / "video" / "vtest.avi").read_bytes()
    (tmp_path / "t.avi").write_bytes(data[:200_000])
    reader = VideoReader(tmp_path / "t.avi")
    frames = list(reader)
    assert 0 < len(frames) < 795
    assert reader.ended_early and reader.announced_frames == 795


def test_unopenable_video(tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(ImageError, match="cannot be opened"):
        VideoReader(tmp_path / "x.mp4")


def test_16bit_to_8bit_is_floor_of_value_over_257() -> None:
    """``uint16`` maps onto ``uint8`` by v // 257 (0 -> 0, 65535 -> 255), not by v // 256."""
    image = np.zeros((2, 4), np.uint16)
    image[0] = [256, 257 * 10 + 256, 65534, 65535]
    assert to_rgb8(image)[0, :, 0].tolist() == [0, 10, 254, 255]


def test_too_narrow_images_are_refused_whatever_their_height() -> None:
    """An image one pixel wide is too small even when tall enough."""
    with pytest.raises(ImageError, match="too small"):
        to_rgb8(np.zeros((8, 1, 3), np.uint8))


def test_video_reader_length_counts_the_kept_frames(tmp_path) -> None:
    """``len`` with a stride rounds up: 10 frames, one in 3 kept -> frames 0, 3, 6, 9."""
    _write_video(tmp_path / "v.avi", 10)
    reader = VideoReader(tmp_path / "v.avi", stride=3)
    assert reader.announced_frames == 10
    assert len(reader) == 4 == len(list(reader))
    assert len(VideoReader(tmp_path / "v.avi", stride=3, max_frames=2)) == 2


def test_a_source_announcing_no_frame_count_has_none(monkeypatch) -> None:
    """A capture reporting 0 frames (a camera or stream) announces no count: ``None``, and never ends early."""
    import dope_core.image_io as image_io

    class FakeCapture:
        def isOpened(self) -> bool:
            return True

        def get(self, prop: int) -> float:
            props = {cv2.CAP_PROP_FRAME_WIDTH: 32.0, cv2.CAP_PROP_FRAME_HEIGHT: 24.0, cv2.CAP_PROP_FPS: 10.0}
            return props.get(prop, 0.0)

        def read(self) -> tuple[bool, None]:
            return False, None

        def release(self) -> None:
            pass

    monkeypatch.setattr(image_io, "open_video", lambda source: FakeCapture())
    reader = VideoReader(0)
    assert reader.announced_frames is None and len(reader) == 0
    assert list(reader) == [] and not reader.ended_early


def test_a_written_video_is_whole_only_with_its_index_and_every_frame(tmp_path, shared_data) -> None:
    """Five frames of the real video written as the CLI writes them (mp4v): whole; cut short as a full disk leaves
    it (any cut that loses the index at its end), or holding fewer frames than written: the problem is said."""
    frames = [f.image for f in VideoReader(shared_data / "video" / "openpose_video.avi", max_frames=5)]
    path = tmp_path / "out.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, frames[0].shape[1::-1])
    for image in frames:
        writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    writer.release()
    assert written_video_problem(path, 5) is None
    assert written_video_problem(path, 6) == "it holds 5 frames of the 6 written"
    data = path.read_bytes()
    for cut in (len(data) - 100, len(data) // 2, 0):
        path.write_bytes(data[:cut])
        assert written_video_problem(path, 5) == "it does not open as a video", cut
    start, end = data.find(b"mdat") + 4, data.rfind(b"moov") - 4   # the index kept, the frames' bytes lost
    path.write_bytes(data[:start] + bytes(end - start) + data[end:])
    assert written_video_problem(path, 5) == "its last frame cannot be read"
