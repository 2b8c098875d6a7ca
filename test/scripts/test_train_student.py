"""scripts/train_student.sh end to end: real experts label two photos, two tiny students train, compare, export.

Default tier: the photos are matplotlib's portrait and its mirror image. The tiny
configs (a few steps, small images) make it a smoke run of the whole recipe.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "test" / "dope_core" / "train"))
from train_fixtures import tiny_config  # noqa: E402

from dope_core.checkpoint import load_checkpoint  # noqa: E402


def _configs(tmp_path: Path) -> tuple[Path, Path]:
    paths = []
    for mode in ("distillation", "hard"):
        cfg = tiny_config(tmp_path / "labels", tmp_path / f"run_{mode}", steps=3, batch_size=1, checkpoint_every=2)
        cfg["data"].update(mode=mode, val_fraction=0.5, max_size=160)
        path = tmp_path / f"{mode}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        paths.append(path)
    return paths[0], paths[1]


def test_recipe_labels_trains_both_modes_compares_and_exports(tmp_path: Path) -> None:
    from matplotlib import cbook

    photos = tmp_path / "photos"
    photos.mkdir()
    image = cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    cv2.imwrite(str(photos / "portrait.jpg"), image)
    cv2.imwrite(str(photos / "portrait_mirrored.jpg"), image[:, ::-1])
    (photos / "truncated.jpg").write_bytes(b"\xff\xd8 truncated")  # a counted skip, not the end of the recipe
    distill, hard = _configs(tmp_path)
    export = tmp_path / "student.pth"
    cmd = [str(REPO / "scripts" / "train_student.sh"), "--input", str(photos), "--config", str(distill),
           "--ablation", str(hard), "--workers", "0", "--device", "cpu", "--annotated", "none", "--export", str(export)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "some inputs could not be labelled" in run.stderr

    table = (tmp_path / "run_distillation" / "comparison.md").read_text().splitlines()
    assert table[0].startswith("| run | mode | step | part")
    rows = [line.split(" | ") for line in table[2:]]
    assert {(r[0].lstrip("| "), r[1], r[2]) for r in rows} == {("run_distillation", "distillation", "3"),
                                                               ("run_hard", "hard", "3")}
    # a row per part, then a row per part and kind of held-out image (these photos are whole images)
    assert {r[3] for r in rows} == {"body", "hand", "face", "body, whole images (1)", "hand, whole images (1)",
                                    "face, whole images (1)"}
    assert load_checkpoint(export).meta["data_mode"] == "distillation"

    # A second run finds every stage done and changes nothing.
    before = export.stat().st_mtime_ns, (tmp_path / "run_hard" / "last.pth").stat().st_mtime_ns
    again = subprocess.run(cmd + ["--export", "none"], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (export.stat().st_mtime_ns, (tmp_path / "run_hard" / "last.pth").stat().st_mtime_ns) == before


def test_unknown_option_is_a_usage_error() -> None:
    run = subprocess.run([str(REPO / "scripts" / "train_student.sh"), "--epochs", "3"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "unknown option --epochs" in run.stderr
    run = subprocess.run([str(REPO / "scripts" / "train_student.sh"), "--config"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 2 and "--config needs a value" in run.stderr


def test_relative_paths_are_taken_from_where_the_script_is_run(tmp_path: Path) -> None:
    """--config, --ablation, --input and --export relative to the user's directory, not the repository's; a
    configuration that is missing or wrong is one line, exit 2, no traceback."""
    script = str(REPO / "scripts" / "train_student.sh")
    run = subprocess.run([script, "--input", "in", "--config", "cfg.yaml", "--ablation", "none", "--export", "none"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    err = run.stderr.strip().splitlines()[-1]
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert err == f"train_student: error: configuration file '{tmp_path / 'cfg.yaml'}' does not exist", err
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(tiny_config(tmp_path / "labels", tmp_path / "run")))
    (tmp_path / "hard.yaml").write_text("data: {caches: [x]}\nschedule: {stpes: 3}\noutput_dir: r\n")
    run = subprocess.run([script, "--input", "in", "--config", "cfg.yaml", "--ablation", "hard.yaml"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.stderr.strip().splitlines()[-1].startswith(f"train_student: error: {tmp_path / 'hard.yaml'}."
                                                          "schedule: unknown key(s) ['stpes']")
    run = subprocess.run([script, "--input", "in", "--config", "cfg.yaml", "--ablation", "none"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and f"pseudo-labels of {tmp_path / 'in'} ->" in run.stdout, run.stdout + run.stderr
    assert f"input '{tmp_path / 'in'}' does not exist" in run.stderr
