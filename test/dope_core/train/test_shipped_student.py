"""The shipped student checkpoint: small, in the project format, the network backend's default."""

from __future__ import annotations

import numpy as np

from dope_core.checkpoint import load_checkpoint
from dope_core.estimator import build_estimator
from dope_core.train.export import DEFAULT_EXPORT


def test_shipped_student_loads_and_runs_by_default() -> None:
    assert DEFAULT_EXPORT.is_file() and DEFAULT_EXPORT.stat().st_size < 10 * 2**20
    loaded = load_checkpoint(DEFAULT_EXPORT)
    assert loaded.arch == "mobilenetv2" and loaded.meta["data_mode"] == "distillation"
    assert loaded.meta["trained_steps"] > 0 and loaded.num_anchor_poses == {"body": 20, "hand": 10, "face": 10}
    estimator = build_estimator("network", device="cpu")
    poses = estimator(np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8))
    assert poses.image_size == (160, 120) and poses.backend == "network"
