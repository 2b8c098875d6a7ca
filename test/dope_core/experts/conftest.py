"""Fixtures of the expert tests: the real experts and a real one-person photo."""

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
