"""Video frames as camera images: intrinsics from a field of view, frame reading and errors."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from dope_ros.video_source import intrinsics_from_fov, video_fps, video_frames
from oriented_media import mp4_with_rotation


def test_intrinsics_from_fov():
    k = intrinsics_from_fov(640, 480, 90.0)
    assert k[0, 0] == pytest.approx(320.0) and k[1, 1] == k[0, 0] and tuple(k[:2, 2]) == (320.0, 240.0)
    # A point at the image's right edge lies at half the field of view.
    assert math.degrees(math.atan((640 - k[0, 2]) / k[0, 0])) == pytest.approx(45.0)


def test_video_frames_resize_and_limit(tmp_path):
    path = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, (200, 100))
    for i in range(5):
        frame = np.zeros((100, 200, 3), np.uint8)
        frame[:, :, 2] = 200  # red in BGR
        writer.write(frame)
    writer.release()
    frames = list(video_frames(path, max_frames=3, max_width=100))
    assert len(frames) == 3 and frames[0].shape == (50, 100, 3)
    assert frames[0][..., 0].mean() > 150 and frames[0][..., 2].mean() < 50  # RGB order
    assert len(list(video_frames(path))) == 5
    assert video_fps(path) == pytest.approx(12.0)


def test_video_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        next(video_frames(tmp_path / "missing.mp4"))
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(ValueError, match="cannot open"):
        next(video_frames(bad))


def test_video_frames_of_a_rotated_recording_are_upright(tmp_path):
    """The demo's video publisher sends a phone's portrait recording upright (48 wide, 64 high)."""
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:, :32] = 200
    mp4_with_rotation(tmp_path / "portrait.mp4", [frame] * 2)
    frames = list(video_frames(tmp_path / "portrait.mp4"))
    assert len(frames) == 2 and frames[0].shape == (64, 48, 3)
    assert frames[0][:24].mean() > 150 and frames[0][40:].mean() < 30
