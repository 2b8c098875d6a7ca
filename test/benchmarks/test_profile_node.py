"""A short run of benchmarks/profile_node.py: the node's callback profiled on two real frames, poses only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "profile_node.py"


@pytest.mark.timeout(300)
def test_profile_of_the_node_callback(shared_data):
    video = shared_data / "video" / "sports2d_demo.mp4"
    if not video.is_file():
        pytest.skip("sports2d_demo.mp4 is absent")
    run = subprocess.run([sys.executable, str(SCRIPT), "--video", str(video), "--frames", "2", "--outputs", "poses"],
                         capture_output=True, text=True, timeout=280)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert any(line.startswith("node callback:") for line in lines)
    stages = {line.split("|")[1].strip(): float(line.split("|")[2]) for line in lines
              if line.startswith("| ") and line.split("|")[2].strip().replace(".", "").isdigit()}
    assert stages["estimator (experts)"] > 0 and stages["pose messages (~/poses, ~/operator)"] > 0
    assert "markers" not in stages and "annotated image: drawing" not in stages   # nobody subscribed to them
