"""benchmarks/diff_bodies.py: matching bodies across configurations, drawing, options, errors and a short real run."""

from __future__ import annotations

import numpy as np
import pytest
from script_loader import load_script

from dope_core.keypoints import Part
from dope_core.structures import PartPose


@pytest.fixture(scope="module")
def script():
    return load_script("diff_bodies")


def _body(x: float, *, spread: float = 0.0) -> PartPose:
    """A 100-px tall body whose left edge is at ``x`` (pixels); ``spread`` moves 8 of its 13 joints that far right."""
    kp = np.stack([np.full(13, x + 20.0), np.linspace(0.0, 100.0, 13)], axis=1)
    kp[:, 0] += spread * (np.arange(13) % 3 != 0)
    return PartPose(part=Part.BODY, score=0.9, box=np.array([x, 0.0, x + 40.0, 100.0]), keypoints_2d=kp,
                    keypoints_3d=np.zeros((13, 3)), confidence=np.ones(13))


def test_unmatched_bodies_are_those_no_other_body_is_one_person_with(script):
    a = _body(0.0)
    assert script.unmatched([a], [_body(0.0)]) == []
    assert script.unmatched([a], [_body(2.0)]) == []                   # 2 px off: the same body
    assert script.unmatched([a], [_body(100.0)]) == [a]                # elsewhere
    assert script.unmatched([a], [_body(0.0, spread=40.0)]) == [a]     # same box, most joints 40 px off
    assert script.unmatched([a], []) == [a]


def test_drawing_marks_each_side_in_its_colour(script):
    image = np.zeros((120, 200, 3), np.uint8)
    out = script.drawing(image, [_body(10.0)], [_body(120.0)])
    assert out.shape == image.shape and tuple(out[0, 10]) == (0, 0, 255) and tuple(out[0, 120]) == (0, 255, 0)
    assert image.max() == 0                                             # the input is left alone


def test_bad_options_are_clear_errors(script, tmp_path, capsys):
    assert script.main(["--configs", "default", "default", "--data", str(tmp_path / "nowhere")]) == 2
    assert "not found" in capsys.readouterr().err
    assert script.main(["--configs", "default", str(tmp_path / "missing.yaml"), "--data", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err
    assert script.main(["--configs", "default", "default", "--data", str(tmp_path), "--frame-step", "0"]) == 2
    assert "--frame-step" in capsys.readouterr().err


def test_short_real_run(script, shared_data, tmp_path, capsys):
    """The same configuration twice agrees on every body; a configuration without the late passes
    (``weak_inside_passes``) misses the man in the suit behind the Millrose girl, drawn in green."""
    assert script.main(["--configs", "default", "default", "--data", str(shared_data), "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1].startswith("2 items, 0 differ")
    data = tmp_path / "data"
    (data / "images" / "dope").mkdir(parents=True)
    (data / "images" / "dope" / "015994080.jpg").write_bytes((shared_data / "images" / "dope" / "015994080.jpg")
                                                             .read_bytes())
    assert script.main(["--configs", "default+weak_inside_passes=0", "default", "--data", str(data),
                        "--out", str(tmp_path / "drawn")]) == 0
    out = capsys.readouterr().out
    assert "dope/015994080.jpg: 5 -> 6 bodies; only default+weak_inside_passes=0: -; only default: [648, 104" in out
    assert [p.name for p in (tmp_path / "drawn").iterdir()] == ["dope_015994080.jpg.jpg"]
