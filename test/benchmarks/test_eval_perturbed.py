"""benchmarks/eval_perturbed.py: the mirrored labels, the copies, options, errors and a short real run."""

from __future__ import annotations

import numpy as np
import pytest
from script_loader import load_script

from dope_core.datasets.sample import GroundTruthInstance
from dope_core.keypoints import BODY_JOINTS, Part


@pytest.fixture(scope="module")
def script():
    return load_script("eval_perturbed")


def _body() -> GroundTruthInstance:
    """A body whose left wrist is at x 300 and right wrist at x 100 (pixels) of a 400-px wide image."""
    kp = np.full((13, 2), 200.0)
    kp[BODY_JOINTS.index("left_wrist")] = [300.0, 150.0]
    kp[BODY_JOINTS.index("right_wrist")] = [100.0, 160.0]
    visible = np.ones(13, bool)
    visible[BODY_JOINTS.index("left_wrist")] = False
    return GroundTruthInstance(Part.BODY, kp, visible, np.array([100.0, 50.0, 300.0, 250.0]))


def test_mirrored_labels_move_and_exchange_sides(script):
    m = script.mirrored(_body(), 400)
    left, right = BODY_JOINTS.index("left_wrist"), BODY_JOINTS.index("right_wrist")
    np.testing.assert_allclose(m.keypoints_2d[left], [299.0, 160.0])      # the right wrist's point, mirrored
    np.testing.assert_allclose(m.keypoints_2d[right], [99.0, 150.0])
    assert m.visible[right] == False and m.visible[left] == True          # noqa: E712 (numpy bools)
    np.testing.assert_allclose(m.box, [99.0, 50.0, 299.0, 250.0])
    twice = script.mirrored(m, 400)
    np.testing.assert_allclose(twice.keypoints_2d, _body().keypoints_2d)


def test_copies_hold_the_same_people(script):
    image = np.zeros((300, 400, 3), np.uint8)
    image[50:250, 100:180] = 220                                          # a bright figure left of centre
    out = {name: (pixels, labels) for name, pixels, labels in script.copies(image, [_body()])}
    assert list(out) == list(script.COPIES)
    assert out["mirrored"][0][100, 250].max() == 220 and out["mirrored"][0][100, 150].max() == 0
    assert out["x0.75"][0].shape == (225, 300, 3) and out["x1.5"][0].shape == (450, 600, 3)
    np.testing.assert_allclose(out["x1.5"][1][0].box, [150.0, 75.0, 450.0, 375.0])
    assert out["jpeg50"][0].shape == image.shape and abs(int(out["jpeg50"][0][150, 140, 0]) - 220) < 20


def test_photometric_copies_keep_the_geometry(script):
    """Grey, dark, blurred and noisy copies: the same size and labels; grey has three equal channels, dark
    is 0.35 of the values, blur spreads an edge, the noise is the same on every call (seeded)."""
    image = np.zeros((300, 400, 3), np.uint8)
    image[50:250, 100:180] = (200, 120, 40)
    out = {name: (pixels, labels) for name, pixels, labels in script.copies(image, [_body()], script.PHOTOMETRIC)}
    assert list(out) == list(script.PHOTOMETRIC)
    for pixels, labels in out.values():
        assert pixels.shape == image.shape and pixels.dtype == np.uint8
        np.testing.assert_allclose(labels[0].keypoints_2d, _body().keypoints_2d)
    gray = out["gray"][0]
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all() and gray[100, 140, 0] > 0
    assert tuple(out["dark"][0][100, 140]) == (70, 42, 14)
    assert 0 < out["blur"][0][100, 99, 0] < 200 and out["blur"][0][100, 140, 0] == 200
    again = dict((n, p) for n, p, _ in script.copies(image, [_body()], ["noise"]))
    np.testing.assert_array_equal(again["noise"], out["noise"][0])
    assert np.abs(out["noise"][0].astype(int) - image).mean() > 5


def test_bad_options_are_clear_errors(script, tmp_path, capsys):
    assert script.main(["--data-root", str(tmp_path / "nowhere")]) == 2
    assert "not found" in capsys.readouterr().err
    assert script.main(["--data-root", str(tmp_path), "--configs", str(tmp_path / "missing.yaml")]) == 2
    assert "not found" in capsys.readouterr().err


def test_short_real_run(script, shared_data, capsys):
    assert script.main(["--data-root", str(shared_data / "annotated"), "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert "| default |" in out and "| mirrored |" in out and "mean of the copies" in out
    # the one image is Human3.6M's (the first body set): a lab image, whose false bodies are counted per copy
    table = out.split("false bodies on the 1 lab images")[1]
    row = next(line for line in table.splitlines() if line.startswith("| default |"))
    counts = [int(c) for c in row.strip("| \n").split("|")[1:]]
    assert len(counts) == 6 and counts[-1] == sum(counts[1:5]) and min(counts) >= 0
    assert script.main(["--data-root", str(shared_data / "annotated"), "--limit", "1", "--copies", "gray"]) == 0
    out = capsys.readouterr().out
    assert "| experts | original | gray | mean of the copies |" in out
