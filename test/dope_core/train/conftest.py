"""Fixtures of the trainer tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from dope_core.pseudo_labels.cache import LabelCache
from train_fixtures import make_synthetic_cache


@pytest.fixture
def synthetic_cache(tmp_path: Path) -> LabelCache:
    """A six-image synthetic pseudo-label cache (see :mod:`train_fixtures`)."""
    return make_synthetic_cache(tmp_path / "cache")
