"""The Fast DDS profile of config/ carries 4K rgb8 frames (24.9 MB) between processes, best effort.

Frames go out 0.5 s apart: the 64 MiB segment holds two frames in flight, so a receiver stalled for under a
second on a loaded 2-core machine still gets every frame (0.2 s apart, one of six was lost once in CI).
"""

import subprocess
import sys
from pathlib import Path

import pytest

PEER = str(Path(__file__).with_name("large_frame_peer.py"))


@pytest.mark.timeout(90)
def test_4k_rgb8_frames_cross_processes():
    n = 6
    sub = subprocess.Popen([sys.executable, PEER, "sub", str(n), "40"], stdout=subprocess.PIPE, text=True)
    pub = subprocess.run([sys.executable, PEER, "pub", str(n), "0.5"], timeout=60)
    out, _ = sub.communicate(timeout=60)
    assert pub.returncode == 0 and sub.returncode == 0
    assert out.startswith(f"received {n} [24883200]"), out
