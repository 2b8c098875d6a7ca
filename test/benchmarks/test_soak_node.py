"""A short run of benchmarks/soak_node.py: a few frames, a small flood, every raw bad input, one backend."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "soak_node.py"


@pytest.mark.timeout(600)
def test_short_soak_flood_and_bad_inputs(tmp_path, shared_data):
    video = shared_data / "video" / "sports2d_demo.mp4"
    if not video.is_file():
        pytest.skip("sports2d_demo.mp4 is absent")
    run = subprocess.run([sys.executable, str(SCRIPT), "--video", str(video), "--backends", "network",
                          "--frames", "12", "--rss-period", "1", "--flood", "40", "--flood-seconds", "0.5",
                          "--skip-compressed", "--progress", "0", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=580)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (result,) = json.loads((tmp_path / "soak_node.json").read_text())["backends"]
    assert result["soak"]["answered"] == 12 and result["soak"]["rss_samples"] >= 2
    assert result["flood"]["next_valid_answered"] and result["raw_node_exit"] == 0
    bad = result["bad_raw"]
    assert bad["all_next_valid_answered"] and bad["node_alive"] and not bad["no_trace"]
    outcomes = {c["input"]: c["outcome"] for c in bad["cases"]}
    assert outcomes["declares 20000x20000, holds 12 bytes"] == "skipped (counted)"
    assert outcomes["3840x2160 rgb8 (4K, 24.9 MB)"] == "answered"
    assert result["raw_node_peak_rss_mb"] < 2048
