"""benchmarks/eval_hand_assignment.py: item groups, drawing, options, errors and a short real run."""

from __future__ import annotations

import numpy as np
import pytest
from script_loader import load_script

from dope_core.keypoints import BODY_RIGHT_WRIST, HAND_WRIST, Part
from dope_core.structures import Handedness, PartPose


@pytest.fixture(scope="module")
def script():
    return load_script("eval_hand_assignment")


def test_items_are_grouped_by_where_they_come_from(script):
    folders = {"coco_val2014", "multihmr"}
    assert script.group_of("multihmr/a.jpg", folders) == "photos"
    assert script.group_of("coco/000000000785.jpg", folders) == "annotated"
    assert script.group_of("pose2sim/MultiPerson/cam01.mp4#45", folders) == "frames"


def test_held_is_the_release_rule_or_the_reach(script):
    """A 10-px hand 30 px below a 350-px body's right wrist: the body's only with a reach of 0.1."""
    kp = np.zeros((13, 2))
    kp[BODY_RIGHT_WRIST] = (60, 300)
    body = PartPose(part=Part.BODY, score=0.9, box=np.array([50.0, 100.0, 150.0, 450.0]), keypoints_2d=kp,
                    keypoints_3d=np.zeros((13, 3)), confidence=np.ones(13))
    hk = np.tile([60.0, 335.0], (21, 1))
    hk[HAND_WRIST] = (60, 330)
    hand = PartPose(part=Part.HAND, score=0.8, box=np.array([55.0, 330.0, 65.0, 340.0]), keypoints_2d=hk,
                    keypoints_3d=np.zeros((21, 3)), confidence=np.ones(21), handedness=Handedness.RIGHT)
    assert script.held([body], [hand], None) == {}
    assert script.held([body], [hand], 0.1) == {0: (0, Handedness.RIGHT)}
    image = np.zeros((500, 300, 3), np.uint8)
    crop = script.drawing(image, body, hand, Handedness.RIGHT, size=200)
    assert max(crop.shape[:2]) == 200 and crop.max() > 0 and image.max() == 0


def test_bad_options_are_clear_errors(script, tmp_path, capsys):
    assert script.main(["--data", str(tmp_path / "nowhere")]) == 2
    assert "not found" in capsys.readouterr().err
    assert script.main(["--data", str(tmp_path), "--reach", "0"]) == 2
    assert "--reach" in capsys.readouterr().err
    assert script.main(["--data", str(tmp_path), "--config", str(tmp_path / "missing.yaml")]) == 2
    assert "not found" in capsys.readouterr().err


def test_short_real_run(script, shared_data, tmp_path, capsys):
    """COCO val2014 257: the hand of the man pushing a stroller goes to his left wrist at a reach of 0.1."""
    name = "COCO_val2014_000000000257.jpg"
    data = tmp_path / "data"
    (data / "images" / "coco_val2014").mkdir(parents=True)
    (data / "images" / "coco_val2014" / name).write_bytes((shared_data / "images" / "coco_val2014" / name).read_bytes())
    assert script.main(["--data", str(data), "--reach", "0.1", "--out", str(tmp_path / "drawn")]) == 0
    out = capsys.readouterr().out
    assert f"reach 0.1 coco_val2014/{name}: hand [159, 418, 170, 429]" in out
    assert "left wrist" in out and "release: None" in out
    rows = [line for line in out.splitlines() if line.startswith("| 1 photos |")]
    assert len(rows) == 1
    hands, release, reach = (int(v) for v in rows[0].strip("| ").split(" | ")[1:])
    assert release < reach <= hands
    assert [p.name for p in (tmp_path / "drawn").iterdir()] == [f"001_coco_val2014_{name}.jpg"]
