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
