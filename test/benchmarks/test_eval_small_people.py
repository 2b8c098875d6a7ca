"""benchmarks/eval_small_people.py: shrinking an image with its labels, options, errors and a short real run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from script_loader import load_script

from dope_core.datasets.sample import AnnotatedSample, GroundTruthInstance
from dope_core.keypoints import Part


@pytest.fixture(scope="module")
def script():
    return load_script("eval_small_people")


def _sample() -> tuple[AnnotatedSample, np.ndarray]:
    """A 400 x 300 image (width x height) with two labelled bodies, 200 and 100 px tall."""
    kp = np.tile(np.array([[100.0, 50.0], [140.0, 250.0]]), (7, 1))[:13]
    tall = GroundTruthInstance(Part.BODY, kp, np.ones(13, bool), np.array([100.0, 50.0, 140.0, 250.0]))
    short = GroundTruthInstance(Part.BODY, kp / 2, np.ones(13, bool), np.array([50.0, 25.0, 70.0, 125.0]))
    image = np.full((300, 400, 3), 10, np.uint8)
    image[50:250, 100:140] = 200
    return AnnotatedSample("test", Path("x.jpg"), [tall, short]), image


def test_shrunk_scales_the_image_and_labels_to_the_tallest_person(script):
    sample, image = _sample()
    small, gts = script.shrunk(sample, image, 100.0)
    assert small.shape == (150, 200, 3)                                  # halved, pixels
    np.testing.assert_allclose(gts[0].box, [50, 25, 70, 125])
    np.testing.assert_allclose(gts[1].keypoints_2d, sample.instances[1].keypoints_2d / 2)
    same, gts = script.shrunk(sample, image, 500.0)                      # never enlarged
    assert same.shape == image.shape and np.array_equal(gts[0].box, sample.instances[0].box)


def test_shrunk_on_a_canvas_keeps_the_size_and_shifts_the_labels(script):
    sample, image = _sample()
    out, gts = script.shrunk(sample, image, 100.0, canvas=True)
    assert out.shape == image.shape
    np.testing.assert_allclose(gts[0].box, [50 + 100, 25 + 75, 70 + 100, 125 + 75])   # centred: +100, +75 px
    x1, y1, x2, y2 = gts[0].box.astype(int)
    assert out[y1 + 5:y2 - 5, x1 + 2:x2 - 2].min() > 150                  # the bright person moved with it
    assert (out[:50, :50] == out[0, 0]).all() and out[0, 0, 0] == int(image[..., 0].mean())   # the fill


def test_bad_options_are_clear_errors(script, tmp_path, shared_data, capsys):
    assert script.main(["--data-root", str(tmp_path / "nowhere")]) == 2
    assert "not found" in capsys.readouterr().err
    root = str(shared_data / "annotated")
    assert script.main(["--data-root", root, "--configs", "default+refine_min_height"]) == 2
    assert "NAME+ATTR=NUMBER" in capsys.readouterr().err
    assert script.main(["--data-root", root, "--configs", "default+no_such_setting=1"]) == 2
    assert "no attribute" in capsys.readouterr().err
    assert script.main(["--data-root", root, "--configs", str(tmp_path / "missing.yaml")]) == 2
    assert "not found" in capsys.readouterr().err


def test_short_real_run(script, shared_data, capsys):
    assert script.main(["--data-root", str(shared_data / "annotated"), "--limit", "1", "--heights", "100",
                        "--configs", "default", "default+refine_min_height=300"]) == 0
    out = capsys.readouterr().out
    assert "| default |" in out and "| default+refine_min_height=300 |" in out and "tallest 100 px" in out
