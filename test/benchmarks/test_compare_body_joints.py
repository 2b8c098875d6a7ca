"""benchmarks/compare_body_joints.py: configurations it cannot measure are one line and exit code 2."""

from __future__ import annotations

from pathlib import Path

from script_loader import load_script

REPO = Path(__file__).resolve().parents[2]


def test_a_configuration_without_yolo_or_without_the_extra_is_exit_2(capsys):
    module = load_script("compare_body_joints")
    assert module.main(["--config", str(REPO / "config" / "experts.yaml")]) == 2
    assert "does not name the yolo person detector" in capsys.readouterr().err
    from dope_core.experts.extras import missing_extra

    if missing_extra("yolo", what="yolo") is not None:   # the default install: the yolo preset cannot load
        assert module.main(["--config", str(REPO / "config" / "experts_yolo.yaml")]) == 2
        assert "scripts/setup_env.sh --with yolo" in capsys.readouterr().err
