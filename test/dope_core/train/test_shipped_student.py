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


def test_shipped_student_finds_the_person_of_a_portrait() -> None:
    from matplotlib import cbook

    from dope_core.image_io import read_image
    from dope_core.keypoints import BODY_JOINTS

    image = read_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))   # 512x600, one person
    poses = build_estimator("network", device="cpu")(image)
    bodies = [p.body for p in poses.people if p.body is not None]
    assert len(bodies) == 1, poses.counts()
    kp = bodies[0].keypoints_2d
    head = kp[BODY_JOINTS.index("head_top"), 1]
    shoulders = kp[[BODY_JOINTS.index("right_shoulder"), BODY_JOINTS.index("left_shoulder")], 1].mean()
    hips = kp[[BODY_JOINTS.index("right_hip"), BODY_JOINTS.index("left_hip")], 1].mean()
    assert head < shoulders < hips                                # upright, y down (pixels)
    assert 128 < (bodies[0].box[0] + bodies[0].box[2]) / 2 < 384  # centred, as she is
