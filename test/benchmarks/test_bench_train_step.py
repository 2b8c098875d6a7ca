"""benchmarks/bench_train_step.py: the three variants train on the same synthetic batches and report a row each."""

from __future__ import annotations

import torch
from script_loader import load_script


def test_synthetic_targets_are_valid_and_repeatable():
    script = load_script("bench_train_step")
    a, b = script.synthetic_targets(3, 2, 96, 64), script.synthetic_targets(3, 2, 96, 64)
    assert len(a) == 2 and set(a[0]) == {"body", "hand", "face"}
    for part, (n, joints) in script.PART_JOINTS.items():
        t = a[1][part]
        assert t["boxes"].shape == (n, 4)
        assert t["pose2d"].shape == (n, joints, 2) and t["pose3d"].shape == (n, joints, 3)
        assert (t["boxes"][:, 2:] > t["boxes"][:, :2]).all()
        assert torch.equal(t["pose2d"], b[1][part]["pose2d"])


def test_one_short_run_prints_every_variant(capsys):
    script = load_script("bench_train_step")
    assert script.main(["--steps", "1", "--block", "1", "--batch", "1", "--size", "64", "96"]) == 0
    out = capsys.readouterr().out
    for variant in script.VARIANTS:
        assert f"| {variant} |" in out
    assert "load average at start" in out and "1.00x" in out
