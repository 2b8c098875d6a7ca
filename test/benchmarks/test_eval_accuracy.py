"""benchmarks/eval_accuracy.py: options, table, errors and a short real run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from script_loader import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "eval_accuracy.py"


@pytest.fixture(scope="module")
def script():
    return load_script("eval_accuracy")


def test_help_lists_backend_options(script, capsys):
    with pytest.raises(SystemExit) as e:
        script.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for option in ("--backend", "--checkpoint", "--device", "--datasets", "--limit", "--json"):
        assert option in out


def test_missing_data_root_is_a_clear_error(script, tmp_path, capsys):
    assert script.main(["--data-root", str(tmp_path / "nowhere")]) == 2
    assert "not found" in capsys.readouterr().err


def test_table_rows_format_metrics(script):
    metrics = {"h36m/images": 4.0, "h36m/failed_images": 1.0, "h36m/seconds_per_image": 0.25,
               "h36m/body/instances": 4.0, "h36m/body/detection_rate": 0.75, "h36m/body/pck@0.1": 0.5,
               "h36m/body/mpjpe_mm": 101.26, "all/images": 4.0, "all/failed_images": 1.0}
    (row,) = script.table_rows(metrics, ["h36m"])
    assert row[:6] == ["h36m", "body", "4", "75%", "50.0% @0.1", "-"]
    assert "101.3" in row and row[-2:] == ["0.250", "4 (1 failed)"]
    md = script.format_table([row], markdown=True)
    assert md.splitlines()[0].startswith("| dataset | part |") and md.count("\n") == 2


def test_short_real_run(script, shared_data, tmp_path, capsys):
    out = tmp_path / "m.json"
    assert script.main(["--data-root", str(shared_data / "annotated"), "--datasets", "rhd", "--limit", "1",
                        "--quiet", "--json", str(out)]) == 0
    metrics = json.loads(out.read_text())
    assert metrics["rhd/images"] == 1 and metrics["rhd/hand/instances"] == 1
    assert "rhd" in capsys.readouterr().out


def test_jpeg_round_trip_keeps_the_picture_and_loses_detail(script):
    import numpy as np

    rng = np.random.default_rng(0)
    image = np.zeros((64, 96, 3), np.uint8)
    image[16:48, 24:72] = (200, 60, 20)                                   # an orange block (RGB)
    image = np.clip(image.astype(int) + rng.integers(-20, 21, image.shape), 0, 255).astype(np.uint8)
    out = script.jpeg_round_trip(image, 50)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert abs(out[32, 48].astype(int) - [200, 60, 20]).max() < 40        # still orange, not BGR-swapped
    assert 0 < np.abs(out.astype(int) - image).mean() < 20                # the noise partly gone


def test_recompressed_estimator_sees_the_round_trip(script):
    import numpy as np

    seen = []

    class Echo:
        device = "cpu"

        def __call__(self, image):
            seen.append(image)
            return "poses"

    image = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    wrapped = script.Recompressed(Echo(), 30)
    assert wrapped(image) == "poses" and wrapped.device == "cpu"
    np.testing.assert_array_equal(seen[0], script.jpeg_round_trip(image, 30))


def test_bad_jpeg_quality_is_a_clear_error(script, shared_data, capsys):
    root = str(shared_data / "annotated")
    assert script.main(["--data-root", root, "--jpeg-quality", "0"]) == 2
    assert "1 to 100" in capsys.readouterr().err
    assert script.main(["--data-root", root, "--multi-person", "--jpeg-quality", "50"]) == 2
    assert "eval_perturbed" in capsys.readouterr().err


def test_yolo_alone_names_its_input_side_or_says_what_to_install(script):
    from dope_core.experts.config import ExpertsConfigError
    from dope_core.experts.extras import missing_extra

    if missing_extra("yolo", what="yolo") is not None:
        with pytest.raises(ExpertsConfigError, match="setup_env.sh --with yolo"):
            script.experts_config("yolo-alone")
        return
    assert script.experts_config("yolo-alone") == 640 and script.experts_config("yolo-alone@1280") == 1280
    with pytest.raises(ExpertsConfigError, match="yolo-alone@SIZE"):
        script.experts_config("yolo-alone@big")


def test_false_bodies_on_the_lab_images(script, shared_data, tmp_path):
    """The lab images show their labelled person alone: bodies beyond that person are counted as false."""
    from dope_core.experts.config import PRESETS

    (tmp_path / "mmpose").mkdir()
    (tmp_path / "mmpose" / "h36m").symlink_to(shared_data / "annotated" / "mmpose" / "h36m")
    got = script.run_multi_person({"default": PRESETS["default"], "legacy": PRESETS["legacy"]}, tmp_path, [],
                                  quiet=True, sets=(), lab_sets=("h36m",))
    for m in got.values():
        assert m["lab_images"] == 4
        assert 0 <= m["extra_bodies_lab"] <= 20
    # legacy (BlazePose's detector on half-size tiles only) finds each actor and nothing else.
    assert got["legacy"]["extra_bodies_lab"] == 0


def test_a_configuration_name_sets_body_expert_attributes(script):
    """``default+flat_aspect=0``: the preset, with the body expert's attribute set (its type kept);
    an attribute the body expert lacks, or a setting that is not ATTR=NUMBER, is a one-line error."""
    from dope_core.experts.config import PRESETS, ExpertsConfigError

    assert script.body_settings("default+flat_aspect=0+max_people=5") == ("default", {"flat_aspect": 0.0,
                                                                                       "max_people": 5.0})
    assert script.experts_config("default+flat_aspect=0") == PRESETS["default"]
    estimator = script.experts_estimator("default+flat_aspect=0+max_people=5", PRESETS["default"])
    assert estimator.body.flat_aspect == 0.0
    assert estimator.body.max_people == 5 and isinstance(estimator.body.max_people, int)
    with pytest.raises(ExpertsConfigError, match="no attribute 'no_such_rule'"):
        script.experts_estimator("default+no_such_rule=1", PRESETS["default"])
    for bad in ("default+flat_aspect", "default+flat_aspect=high", "default+=1"):
        with pytest.raises(ExpertsConfigError, match="NAME\\+ATTR=NUMBER"):
            script.experts_config(bad)


def test_configurations_take_turns_going_first(script, tmp_path, monkeypatch):
    """Side by side, every other image runs the configurations in the reverse order, so that none is
    always timed right after another on the same image."""
    import cv2
    import numpy as np

    from dope_core.experts.config import PRESETS

    calls: list[str] = []

    class Recorder:
        def __init__(self, name):
            self.name = name

        def __call__(self, image):
            calls.append(self.name)
            return type("Result", (), {"parts": lambda self, part: []})()

    monkeypatch.setattr(script, "experts_estimator", lambda name, cfg, **kw: Recorder(name))
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((32, 32, 3), 40 * i, np.uint8))
    got = script.run_multi_person({"a": PRESETS["default"], "b": PRESETS["legacy"]}, tmp_path, [tmp_path],
                                  quiet=True, sets=(), lab_sets=())
    assert calls == ["a", "b", "b", "a", "a", "b"]
    assert set(got) == {"a", "b"}
