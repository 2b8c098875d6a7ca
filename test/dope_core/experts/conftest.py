"""Fixtures of the expert tests: the real experts, a real one-person photo and a real video frame."""

from __future__ import annotations

import numpy as np
import pytest

from dope_core.image_io import read_image


@pytest.fixture(scope="module")
def experts():
    """The default experts (real MediaPipe models, CPU), built once per test module."""
    from dope_core.experts.ensemble import ExpertsEstimator

    return ExpertsEstimator()


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    """matplotlib's Grace Hopper portrait (512x600 RGB): one person, face and shoulders."""
    from matplotlib import cbook

    return read_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


@pytest.fixture(scope="module")
def walkers_frame(shared_data) -> np.ndarray:
    """Frame 80 of the demo clip (``../shared/data/video/sports2d_demo.mp4``) at full size, 1768x994
    RGB: two people walking, on which the hand model fits a 211-px "hand" over the woman's clothes."""
    import cv2

    cap = cv2.VideoCapture(str(shared_data / "video" / "sports2d_demo.mp4"))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 80)
    ok, frame = cap.read()
    cap.release()
    assert ok, "frame 80 of the demo clip could not be read"
    return np.ascontiguousarray(frame[:, :, ::-1])
