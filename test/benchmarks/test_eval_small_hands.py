"""benchmarks/eval_small_hands.py: shrinking an image with its hands onto a canvas, options, errors and a short real run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from script_loader import load_script

from dope_core.datasets.sample import AnnotatedSample, GroundTruthInstance
from dope_core.keypoints import Part


@pytest.fixture(scope="module")
def script():
    return load_script("eval_small_hands")


def _sample() -> tuple[AnnotatedSample, np.ndarray]:
    """A 400 x 300 image (width x height) with two labelled hands, 80 x 40 and 20 x 20 px."""
    kp = np.tile(np.array([[100.0, 100.0], [180.0, 140.0]]), (11, 1))[:21]
    big = GroundTruthInstance(Part.HAND, kp, np.ones(21, bool), np.array([100.0, 100.0, 180.0, 140.0]))
    small = GroundTruthInstance(Part.HAND, kp / 4 + 200, np.ones(21, bool), np.array([225.0, 225.0, 245.0, 245.0]))
    image = np.full((300, 400, 3), 10, np.uint8)
    image[100:140, 100:180] = 200
    return AnnotatedSample("test", Path("x.jpg"), [big, small]), image


def test_shrunk_hands_scales_to_the_largest_hand_on_a_canvas(script):
    sample, image = _sample()
    canvas, small = script.shrunk_hands(sample, image, 40.0)
    assert canvas.shape == (480, 640, 3)                                  # at least 640 x 480 pixels
    # halved to 200 x 150 and centred: shifted by (220, 165) px
    np.testing.assert_allclose(small.instances[0].box, [50 + 220, 50 + 165, 90 + 220, 70 + 165])
    np.testing.assert_allclose(small.instances[1].keypoints_2d, sample.instances[1].keypoints_2d / 2 + [220, 165])
    x1, y1, x2, y2 = small.instances[0].box.astype(int)
    assert canvas[y1 + 2:y2 - 2, x1 + 2:x2 - 2].min() > 150                # the bright hand moved with it
    assert (canvas[:100, :100] == canvas[0, 0]).all() and canvas[0, 0, 0] == int(image[..., 0].mean())   # the fill
    same, labels = script.shrunk_hands(sample, image, 500.0)              # never enlarged, still centred
    np.testing.assert_allclose(labels.instances[0].box, sample.instances[0].box + [120, 90, 120, 90])
    assert same.shape == (480, 640, 3)


def test_bad_options_are_clear_errors(script, tmp_path, shared_data, capsys):
    assert script.main(["--data-root", str(tmp_path / "nowhere")]) == 2
    assert "not found" in capsys.readouterr().err
    root = str(shared_data / "annotated")
    assert script.main(["--data-root", root, "--configs", str(tmp_path / "missing.yaml")]) == 2
    assert "not found" in capsys.readouterr().err
    assert script.main(["--data-root", root, "--configs", "yolo-alone"]) == 2


def test_short_real_run(script, shared_data, capsys):
    assert script.main(["--data-root", str(shared_data / "annotated"), "--limit", "2", "--sizes", "48",
                        "--configs", "default", "legacy", "--per-set"]) == 0
    out = capsys.readouterr().out
    assert "| default |" in out and "| legacy |" in out and "largest hand 48 px" in out
    assert "| default, coco_wholebody (" in out
