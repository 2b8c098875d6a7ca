"""End-to-end tests of dope-train on a synthetic cache: fit, export, load, resume after a kill (DDP: test_ddp.py)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from train_fixtures import tiny_config
from dope_core.checkpoint import load_checkpoint
from dope_core.estimator import build_estimator
from dope_core.fusion import assemble
from dope_core.keypoints import Part
from dope_core.pseudo_labels.cache import labels_of
from dope_core.train import cli
from dope_core.train.checkpointing import load_training_state
from dope_core.train.config import ConfigError, config_from_dict, load_config
from dope_core.train.dataset import load_records
from dope_core.train.trainer import fit, make_loader

REPO = Path(__file__).resolve().parents[3]


def _write(cfg: dict, path: Path) -> Path:
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_config_errors_are_clear(tmp_path: Path) -> None:
    base = tiny_config(tmp_path / "cache", tmp_path / "out")
    with pytest.raises(ConfigError, match=r"schedule: unknown key\(s\) \['stpes'\]"):
        config_from_dict({**base, "schedule": {"stpes": 3}})
    with pytest.raises(ConfigError, match="schedule.batch_size: expected int, got str"):
        config_from_dict({**base, "schedule": {**base["schedule"], "batch_size": "2"}})
    with pytest.raises(ConfigError, match="unknown loss name"):
        config_from_dict({**base, "loss_weights": {"loss_bodyy_cls": 1.0}})
    with pytest.raises(ConfigError, match="data.mode"):
        config_from_dict({**base, "data": {**base["data"], "mode": "soft"}})
    with pytest.raises(ConfigError, match="data.repeat_factor_threshold"):
        config_from_dict({**base, "data": {**base["data"], "repeat_factor_threshold": 2.0}})
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.yaml")
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "binary.yaml")
    # The CLI reports a bad config or a missing cache in one line, exit status 2.
    assert cli.main(["fit", "--config", str(_write({**base, "oops": 1}, tmp_path / "bad.yaml"))]) == 2
    assert cli.main(["fit", "--config", str(_write(base, tmp_path / "nocache.yaml"))]) == 2


def test_loader_repeats_the_images_of_a_rare_part(tmp_path: Path, synthetic_cache, caplog) -> None:
    raw = tiny_config(synthetic_cache.root, tmp_path / "out", steps=60)
    records = load_records([synthetic_cache.root])   # a face in the first image only
    records = [(c, r) if i == 0 else (c, dataclasses.replace(whole, pseudo_gt=assemble(
        whole.detections[Part.BODY], whole.detections[Part.HAND][:1], [], image_size=r.image_size, backend="experts")))
        for i, (c, r) in enumerate(records) for whole in [labels_of(r)]]

    def draws(threshold: float) -> int:
        cfg = config_from_dict({**raw, "data": {**raw["data"], "repeat_factor_threshold": threshold}})
        return sum(key == records[0][1].key for _, _, keys, _ in make_loader(cfg, records, start_step=0) for key in keys)

    with caplog.at_level(logging.INFO, logger="dope_core.train.trainer"):
        plain, repeated = draws(0.0), draws(0.6)
    assert plain == 20 and repeated > 30   # 120 samples: 1/6 of them, then sqrt(3.6) as often
    assert "repeat-factor sampling (threshold 0.6): 1 of 6 training images" in caplog.text


def test_shipped_configs_are_valid() -> None:
    for path in sorted((REPO / "config" / "train").glob("*.yaml")):
        load_config(path)


def test_fit_export_and_load(tmp_path: Path, synthetic_cache, capsys) -> None:
    torch.set_num_threads(1)
    raw = tiny_config(synthetic_cache.root, tmp_path / "run", steps=16, batch_size=3, lr=0.02, checkpoint_every=8)
    raw["data"]["val_fraction"] = 0.34
    result = fit(config_from_dict(raw), show_progress=False)
    assert (result.start_step, result.end_step) == (0, 16) and len(result.losses) == 16
    first = np.mean([l["loss"] for l in result.losses[:4]])
    last = np.mean([l["loss"] for l in result.losses[-4:]])
    assert last < first, (first, last)
    assert {"loss_objectness", "loss_hand_cls", "loss_face_pose3d"} <= set(result.losses[0])
    agreement = result.validation["agreement"]
    assert agreement["images"] == 2 and set(agreement["parts"]) == {"body", "hand", "face"}
    assert agreement["parts"]["body"]["teachers"] == 2 and 0.0 <= agreement["parts"]["body"]["recall"] <= 1.0
    assert json.loads((tmp_path / "run" / "validation.json").read_text())["step"] == 16
    state = load_training_state(tmp_path / "run")
    assert state["step"] == 16 and state["anchor_poses"]["hand"].shape == (2, 21, 5)
    assert list((tmp_path / "run" / "tb").glob("events.out.tfevents.*"))
    capsys.readouterr()
    assert cli.main(["validate", "--run", str(tmp_path / "run")]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["step"] == 16 and again["agreement"]["images"] == 2 and again["accuracy"] is None
    out = tmp_path / "student.pth"
    assert cli.main(["export", "--run", str(tmp_path / "run"), "--out", str(out)]) == 0
    loaded = load_checkpoint(out)
    assert loaded.arch == "mobilenetv2" and loaded.meta["trained_steps"] == 16 and loaded.meta["fp16"] is True
    sd = torch.load(out, weights_only=True)["state_dict"]
    assert sd["roi_heads.hand_anchor_poses"].dtype == torch.float16
    np.testing.assert_allclose(sd["roi_heads.hand_anchor_poses"].float().numpy(),
                               state["anchor_poses"]["hand"].numpy(), atol=2e-3)
    estimator = build_estimator("network", checkpoint=out, device="cpu")
    poses = estimator(np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8))
    assert poses.image_size == (128, 96) and poses.backend == "network"
    # The export (or any checkpoint) validated on the run's held-out images through the network backend.
    capsys.readouterr()
    assert cli.main(["validate", "--run", str(tmp_path / "run"), "--checkpoint", str(out)]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["checkpoint"] == str(out) and exported["step"] == 16 and exported["mode"] == again["mode"]
    assert exported["agreement"]["images"] == 2
    assert exported["agreement"]["parts"]["body"]["teachers"] == again["agreement"]["parts"]["body"]["teachers"]
    assert cli.main(["validate", "--run", str(tmp_path / "run"), "--checkpoint", str(tmp_path / "none.pth")]) == 2
    assert "none.pth" in capsys.readouterr().err
    # A student trained elsewhere: the held-out images of its configuration, no run folder needed.
    cfg_file = _write(raw, tmp_path / "cfg.yaml")
    assert cli.main(["validate", "--config", str(cfg_file), "--checkpoint", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["agreement"] == exported["agreement"]
    assert cli.main(["validate", "--config", str(cfg_file)]) == 2
    assert "--config needs --checkpoint" in capsys.readouterr().err


def test_fine_tuning_starts_from_an_exported_student(tmp_path: Path, synthetic_cache, capsys) -> None:
    """``model.init_from``: a run starts from an exported student's weights and anchor poses (a
    step at a negligible rate leaves them as they were, up to the file's fp16), not from the
    backbone and anchors a fresh run gets; a checkpoint of other anchor counts or a missing file is
    one clear line (exit 2)."""
    torch.set_num_threads(1)
    raw = tiny_config(synthetic_cache.root, tmp_path / "first", steps=6, batch_size=2, lr=0.02, checkpoint_every=6)
    fit(config_from_dict(raw), show_progress=False)
    student = tmp_path / "first.pth"
    assert cli.main(["export", "--run", str(tmp_path / "first"), "--out", str(student)]) == 0
    exported = torch.load(student, weights_only=True)["state_dict"]

    def run(name: str, **model) -> dict:
        cfg = {**raw, "output_dir": str(tmp_path / name), "model": {**raw["model"], **model},
               "schedule": {**raw["schedule"], "steps": 1, "lr": 1e-9}}
        fit(config_from_dict(cfg), show_progress=False)
        return load_training_state(tmp_path / name)

    tuned, fresh = run("tuned", init_from=str(student)), run("fresh")
    for part in ("body", "hand", "face"):
        np.testing.assert_array_equal(tuned["anchor_poses"][part].numpy(),
                                      exported[f"roi_heads.{part}_anchor_poses"].float().numpy())
    gaps = {k: float((tuned["model"][k].float() - v.float()).abs().max()) for k, v in exported.items()
            if v.is_floating_point()}
    assert max(gaps.values()) < 1e-4, max(gaps.items(), key=lambda kv: kv[1])
    weights = "roi_heads.dope_predictor.body_cls_score.weight"
    assert weights in exported and not torch.allclose(fresh["model"][weights], exported[weights].float(), atol=1e-3)

    other = {**raw, "output_dir": str(tmp_path / "other"),
             "model": {**raw["model"], "init_from": str(student), "num_anchors": {"body": 3, "hand": 2, "face": 2}}}
    with pytest.raises(ConfigError, match="anchor poses"):
        fit(config_from_dict(other), show_progress=False)
    with pytest.raises(ConfigError, match="model.init_from: no file"):
        config_from_dict({**raw, "model": {**raw["model"], "init_from": str(tmp_path / "none.pth")}})
    capsys.readouterr()
    assert cli.main(["fit", "--config", str(_write(other, tmp_path / "other.yaml"))]) == 2
    assert "anchor poses" in capsys.readouterr().err


def _run_cli(args: list[str], **kw) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "dope_core.train.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def _recipe_config(cache: Path, out: Path, steps: int) -> dict:
    """The tiny config with the CPU recipe's settings: a resolution schedule that changes at
    step 8 (the resumed run usually crosses it) and frozen first backbone blocks."""
    cfg = tiny_config(cache, out, steps=steps, checkpoint_every=1)
    cfg["schedule"]["resolution"] = [{"from_step": 0, "min_size": 64, "max_size": 96},
                                     {"from_step": 8, "min_size": 96, "max_size": 128}]
    cfg["model"]["frozen_backbone_blocks"] = 4
    return cfg


def test_resume_after_kill_matches_uninterrupted_run(tmp_path: Path, synthetic_cache) -> None:
    steps = 16
    ref_cfg = _write(_recipe_config(synthetic_cache.root, tmp_path / "ref", steps), tmp_path / "ref.yaml")
    cut_cfg = _write(_recipe_config(synthetic_cache.root, tmp_path / "cut", steps), tmp_path / "cut.yaml")
    ref = _run_cli(["fit", "--config", str(ref_cfg), "--no-progress"])
    victim = _run_cli(["fit", "--config", str(cut_cfg), "--no-progress"])
    deadline = time.monotonic() + 240
    killed_at = None
    while time.monotonic() < deadline and victim.poll() is None:
        try:
            state = load_training_state(tmp_path / "cut")
        except ValueError:  # never: writes are atomic
            raise
        if state is not None and state["step"] >= 3:
            victim.send_signal(signal.SIGKILL)
            killed_at = state["step"]
            break
        time.sleep(0.05)
    victim.wait()
    assert killed_at is not None and killed_at < steps, victim.stdout.read()
    assert ref.wait(timeout=240) == 0, ref.stdout.read()
    before = load_training_state(tmp_path / "cut")["step"]
    assert killed_at <= before < steps
    # What a kill during a checkpoint write leaves (the kill above may or may not have hit one).
    (tmp_path / "cut" / ".last.pth.dope-k1ll3d_x.tmp").write_bytes(b"half a checkpoint")
    (tmp_path / "cut" / "notes.tmp").write_text("not ours")
    resumed = _run_cli(["fit", "--config", str(cut_cfg), "--resume", "--no-progress"])
    out = resumed.communicate(timeout=240)[0]
    assert resumed.returncode == 0, out
    report = json.loads(out[out.index("{"):])
    assert report["steps"] == [before, steps]
    a = load_training_state(tmp_path / "ref")
    b = load_training_state(tmp_path / "cut")
    assert a["step"] == b["step"] == steps
    for k, v in a["model"].items():
        torch.testing.assert_close(b["model"][k], v, rtol=1e-5, atol=1e-6, msg=f"parameter {k} differs")
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"]
    assert not list((tmp_path / "cut").glob(".last.pth.*.tmp")) and (tmp_path / "cut" / "notes.tmp").exists()


def test_new_recipe_settings_are_checked(tmp_path: Path) -> None:
    base = tiny_config(tmp_path / "cache", tmp_path / "out")
    with pytest.raises(ConfigError, match="frozen_backbone_blocks must be in"):
        config_from_dict({**base, "model": {**base["model"], "frozen_backbone_blocks": 15}})
    with pytest.raises(ConfigError, match="mobilenetv2 variant only"):
        config_from_dict({**base, "model": {**base["model"], "variant": "resnet50", "frozen_backbone_blocks": 2}})
    stages = [{"from_step": 0, "min_size": 64, "max_size": 96}, {"from_step": 4, "min_size": 96, "max_size": 128}]
    for bad, message in (([stages[1]], "first stage must start"), ([stages[0], stages[0]], "must increase"),
                         ([{**stages[0], "min_size": 100}], "min_size <= max_size")):
        with pytest.raises(ConfigError, match=message):
            config_from_dict({**base, "schedule": {**base["schedule"], "resolution": bad}})
    with pytest.raises(ConfigError, match="data.split"):
        config_from_dict({**base, "data": {**base["data"], "split": "by_frame"}})
    with pytest.raises(ConfigError, match="val_sources needs"):
        config_from_dict({**base, "data": {**base["data"], "val_sources": ["a*"]}})


def test_frozen_blocks_and_resolution_schedule_in_training(tmp_path: Path, synthetic_cache, monkeypatch) -> None:
    from dope_core.model.transform import DopeTransform
    from dope_core.train.trainer import build_model, training_input_size

    torch.set_num_threads(1)
    raw = tiny_config(synthetic_cache.root, tmp_path / "run", steps=4, batch_size=2)
    raw["model"]["frozen_backbone_blocks"] = 7
    raw["schedule"]["resolution"] = [{"from_step": 0, "min_size": 64, "max_size": 96},
                                     {"from_step": 2, "min_size": 96, "max_size": 128}]
    cfg = config_from_dict(raw)
    assert [training_input_size(cfg, s) for s in (0, 1, 2, 3)] == [(64, 96), (64, 96), (96, 128), (96, 128)]
    body = build_model(cfg).backbone.body
    assert not any(p.requires_grad for p in body[:7].parameters()) and all(p.requires_grad for p in body[7:].parameters())
    seen = []
    forward = DopeTransform.forward

    def spy(self, images, targets=None):
        batch, out = forward(self, images, targets)
        seen.append((self.training, min(batch.image_sizes[0])))
        return batch, out

    monkeypatch.setattr(DopeTransform, "forward", spy)
    torch.manual_seed(0)
    before = {k: v.clone() for k, v in build_model(cfg).state_dict().items()}
    result = fit(cfg, show_progress=False)
    assert [s for training, s in seen if training] == [64, 64, 96, 96]   # 128x96 images: the shorter side
    assert (result.model.transform.min_sizes, result.model.transform.max_size) == ((96,), 128)  # the inference size
    after = result.model.state_dict()
    frozen = [k for k in after if k.startswith("backbone.body.") and int(k.split(".")[2]) < 7 and "weight" in k]
    trained = [k for k in after if k.startswith("backbone.body.13.") and k.endswith("weight")]
    assert frozen and all(torch.equal(after[k], before[k]) for k in frozen)
    assert trained and any(not torch.equal(after[k], before[k]) for k in trained)


def test_frozen_modules_keep_their_weights_while_the_rest_trains(tmp_path: Path, synthetic_cache) -> None:
    """``model.frozen_modules``: the named modules (here everything but the body and hand predictors
    and the face regressor) come out of training as they went in; an unknown name is a clear error."""
    from dope_core.train.trainer import build_model

    torch.set_num_threads(1)
    frozen = ["backbone", "rpn", "roi_heads.dope_head", "roi_heads.dope_predictor.face_cls_score"]
    raw = tiny_config(synthetic_cache.root, tmp_path / "run", steps=3, batch_size=2)
    raw["model"]["frozen_modules"] = frozen
    cfg = config_from_dict(raw)
    torch.manual_seed(0)
    before = {k: v.clone() for k, v in build_model(cfg).state_dict().items()}
    after = fit(cfg, show_progress=False).model.state_dict()
    kept = [k for k in after if any(k.startswith(m + ".") for m in frozen) and after[k].is_floating_point()]
    assert len(kept) > 100 and all(torch.equal(after[k], before[k]) for k in kept)
    moved = [k for k in after if k.startswith(("roi_heads.dope_predictor.body_", "roi_heads.dope_predictor.hand_",
                                               "roi_heads.dope_predictor.face_pose"))]
    assert len(moved) == 10 and all(not torch.equal(after[k], before[k]) for k in moved)
    raw["model"]["frozen_modules"] = ["roi_heads.no_such_head"]
    with pytest.raises(ConfigError, match="model.frozen_modules: the mobilenetv2 network has no module "
                                          "'roi_heads.no_such_head'"):
        build_model(config_from_dict(raw))


def test_max_time_stops_with_a_checkpoint_and_resume_finishes(tmp_path: Path, synthetic_cache, capsys) -> None:
    """A job under a wall-clock limit: --max-time stops at a step boundary with the state
    written (not only at checkpoint_every), and --resume completes the schedule."""
    torch.set_num_threads(1)
    raw = tiny_config(synthetic_cache.root, tmp_path / "run", steps=6, checkpoint_every=4)
    raw["data"]["val_fraction"] = 0.34
    cfg = _write(raw, tmp_path / "cfg.yaml")
    assert cli.main(["fit", "--config", str(cfg), "--no-progress", "--max-time", "1e-6"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out[captured.out.index("{"):])
    assert report["steps"] == [0, 1] and report["validation"] is None   # no final validation when cut
    assert report["steady_steps_per_second"] is None                   # too few steps to tell
    assert "stopped at step 1 of 6" in captured.err and "--resume" in captured.err
    assert load_training_state(tmp_path / "run")["step"] == 1             # between two checkpoint_every
    assert cli.main(["fit", "--config", str(cfg), "--no-progress", "--resume", "--max-time", "600"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out[out.index("{"):])
    assert report["steps"] == [1, 6] and report["validation"]["agreement"]["images"] == 2
    assert 0 < report["steady_steps_per_second"] < 1000   # 5 steps: timed over the last 2 intervals
    assert load_training_state(tmp_path / "run")["step"] == 6
    assert cli.main(["fit", "--config", str(cfg), "--max-time", "0"]) == 2
    assert "max_seconds must be positive" in capsys.readouterr().err


def test_a_part_the_labels_never_show_takes_the_shipped_students_anchors(tmp_path: Path, caplog) -> None:
    """Pseudo ground truth with bodies and faces but no hand (a portrait whose hands are out of the
    frame): the hand anchors are the shipped student's reclustered to K (mirror halves), with a
    warning; with no body either, the run is refused."""
    from train_fixtures import _pose
    from dope_core.anchors import mirror_normalised
    from dope_core.fusion import assemble
    from dope_core.keypoints import Part
    from dope_core.pseudo_labels.cache import LabelRecord
    from dope_core.train.trainer import training_anchor_poses

    rng = np.random.default_rng(0)
    records = []
    for i in range(3):
        body = _pose(Part.BODY, np.array([10.0, 10, 60, 74]), rng, 0.95)
        face = _pose(Part.FACE, np.array([25.0, 10, 45, 30]), rng, 0.9)
        records.append((i, LabelRecord(key=f"im{i}", image="x.png", image_size=(128, 96), status="ok",
                                       detections={Part.BODY: [body], Part.FACE: [face]},
                                       pseudo_gt=assemble([body], [], [face], image_size=(128, 96), backend="experts"))))
    cfg = config_from_dict(tiny_config(tmp_path / "cache", tmp_path / "out"))
    with caplog.at_level("WARNING"):
        anchors = training_anchor_poses(cfg, records)
    assert "no hand in the training labels" in caplog.text
    assert anchors[Part.HAND].shape == (2, 21, 5) and anchors[Part.FACE].shape == (2, 84, 5)
    np.testing.assert_allclose(anchors[Part.HAND][1:], mirror_normalised(anchors[Part.HAND][:1], Part.HAND), atol=1e-6)
    empty = [(i, LabelRecord(key=r.key, image=r.image, image_size=r.image_size, status="ok", detections={},
                                pseudo_gt=assemble([], [], [], image_size=(128, 96), backend="experts")))
                for i, r in records]
    with pytest.raises(ValueError, match="no body pose"):
        training_anchor_poses(cfg, empty)


def test_a_new_run_never_replaces_one_and_a_resume_keeps_its_network(tmp_path: Path, synthetic_cache, capsys) -> None:
    """``fit`` without ``--resume`` into a run's folder, or ``--resume`` with another network or other targets
    (the ablation that forgot its output_dir): one line, exit 2, the run untouched."""
    torch.set_num_threads(1)
    raw = tiny_config(synthetic_cache.root, tmp_path / "run", steps=2)
    cfg = _write(raw, tmp_path / "cfg.yaml")
    assert cli.main(["fit", "--config", str(cfg), "--no-progress"]) == 0
    capsys.readouterr()
    before = (tmp_path / "run" / "last.pth").read_bytes()
    assert cli.main(["fit", "--config", str(cfg), "--no-progress"]) == 2
    assert "holds a training run (last.pth): run with --resume" in capsys.readouterr().err
    hard = {**raw, "data": {**raw["data"], "mode": "hard"}, "schedule": {**raw["schedule"], "steps": 3}}
    assert cli.main(["fit", "--config", str(_write(hard, tmp_path / "hard.yaml")), "--resume", "--no-progress"]) == 2
    assert "differs from the run's in data.mode ('distillation' -> 'hard')" in capsys.readouterr().err
    wider = {**raw, "model": {**raw["model"], "kwargs": {**raw["model"]["kwargs"], "representation_size": 64}}}
    assert cli.main(["fit", "--config", str(_write(wider, tmp_path / "wider.yaml")), "--resume", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "model.kwargs" in err and "\n" not in err
    assert (tmp_path / "run" / "last.pth").read_bytes() == before
    longer = {**raw, "schedule": {**raw["schedule"], "steps": 3}}   # a longer schedule extends the run
    assert cli.main(["fit", "--config", str(_write(longer, tmp_path / "longer.yaml")), "--resume", "--no-progress"]) == 0
    assert load_training_state(tmp_path / "run")["step"] == 3


def test_a_final_validation_cut_short_is_made_on_resume(tmp_path: Path, synthetic_cache, monkeypatch) -> None:
    import dope_core.train.trainer as trainer

    torch.set_num_threads(1)
    raw = tiny_config(synthetic_cache.root, tmp_path / "run", steps=2)
    raw["data"]["val_fraction"] = 0.34
    cfg = config_from_dict(raw)
    real = trainer._validate

    def killed(*args, **kwargs):
        raise KeyboardInterrupt   # the job is stopped during the final validation, after the last checkpoint
    monkeypatch.setattr(trainer, "_validate", killed)
    with pytest.raises(KeyboardInterrupt):
        fit(cfg, show_progress=False)
    assert load_training_state(tmp_path / "run")["step"] == 2 and not (tmp_path / "run" / "validation.json").exists()
    monkeypatch.setattr(trainer, "_validate", real)
    result = fit(cfg, resume=True, show_progress=False)
    assert result.validation is not None and json.loads((tmp_path / "run" / "validation.json").read_text())["step"] == 2
    assert fit(cfg, resume=True, show_progress=False).validation is None   # done once


def test_a_full_disk_is_one_line_and_the_checkpoint_before_it_stays(tmp_path: Path, synthetic_cache, capsys,
                                                                     monkeypatch) -> None:
    import dope_core.train.checkpointing as checkpointing

    torch.set_num_threads(1)
    raw = tiny_config(synthetic_cache.root, tmp_path / "run", steps=4, checkpoint_every=2)
    cfg = _write(raw, tmp_path / "cfg.yaml")
    real, calls = checkpointing.torch.save, []

    def full(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            Path(f).write_bytes(b"a third of a checkpoint")
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")
        return real(obj, f, *args, **kwargs)
    monkeypatch.setattr(checkpointing.torch, "save", full)
    assert cli.main(["fit", "--config", str(cfg), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot write the training checkpoint" in err and "the previous one is intact" in err and "\n" not in err
    assert load_training_state(tmp_path / "run")["step"] == 2
    # no temporary left behind: the checkpoint, the run's lock file and its split
    assert sorted(p.name for p in (tmp_path / "run").iterdir() if p.name != "tb") == [".lock", "last.pth", "split.json"]
    assert oct((tmp_path / "run" / "last.pth").stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_outputs_replace_only_files_of_their_kind(tmp_path: Path, synthetic_cache, capsys) -> None:
    """export and validate --out never replace a run's training state (which resumes it)."""
    torch.set_num_threads(1)
    raw = tiny_config(synthetic_cache.root, tmp_path / "run", steps=1, checkpoint_every=1)
    raw["data"]["val_fraction"] = 0.34
    assert cli.main(["fit", "--config", str(_write(raw, tmp_path / "cfg.yaml")), "--no-progress"]) == 0
    last = tmp_path / "run" / "last.pth"
    before = last.read_bytes()
    capsys.readouterr()
    for args, why in ((["export", "--run", str(tmp_path / "run"), "--out", str(last)], "is not an exported"),
                      (["validate", "--run", str(tmp_path / "run"), "--out", str(last)], "is not a validation report"),
                      (["export", "--run", str(tmp_path / "run"), "--out", str(tmp_path)], "is a folder")):
        assert cli.main(args) == 2
        err = capsys.readouterr().err.strip()
        assert why in err and "\n" not in err, err
    assert last.read_bytes() == before
    out = tmp_path / "student.pth"
    for _ in range(2):   # an export replaces an export
        assert cli.main(["export", "--run", str(tmp_path / "run"), "--out", str(out)]) == 0
    assert load_checkpoint(out).meta["trained_steps"] == 1


def test_a_run_folder_is_held_by_one_fit_at_a_time(tmp_path: Path, synthetic_cache, capsys) -> None:
    """A second fit (new or --resume) into a folder a live run holds is one line, exit 2, and writes nothing;
    the lock goes with its process, so a run whose process was killed resumes without clean-up."""
    import fcntl

    torch.set_num_threads(1)
    run = tmp_path / "run"
    raw = tiny_config(synthetic_cache.root, run, steps=2)
    cfg = _write(raw, tmp_path / "cfg.yaml")
    run.mkdir()
    holder = open(run / ".lock", "w")      # a first fit, still running, holds the folder's lock
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    holder.write(f"{os.getpid()}\n")
    holder.flush()
    try:
        for extra in ([], ["--resume"]):
            assert cli.main(["fit", "--config", str(cfg), "--no-progress", *extra]) == 2
            err = capsys.readouterr().err.strip()
            assert f"is in use by another dope-train fit (process {os.getpid()})" in err and "\n" not in err, err
            assert not (run / "last.pth").exists()
    finally:
        holder.close()
    assert cli.main(["fit", "--config", str(cfg), "--no-progress"]) == 0
    # a holder that is killed (SIGKILL: no clean-up of its own) leaves no lock behind
    code = ("import fcntl, os, sys, time\nh = open(sys.argv[1], 'w'); fcntl.flock(h, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
            "h.write(f'{os.getpid()}\\n'); h.flush(); print('held', flush=True); time.sleep(600)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(run / ".lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        longer = _write({**raw, "schedule": {**raw["schedule"], "steps": 3}}, tmp_path / "longer.yaml")
        assert cli.main(["fit", "--config", str(longer), "--no-progress", "--resume"]) == 2
        assert f"(process {proc.pid})" in capsys.readouterr().err
    finally:
        proc.kill()
        proc.wait()
    assert cli.main(["fit", "--config", str(longer), "--no-progress", "--resume"]) == 0
    assert load_training_state(run)["step"] == 3


def _copy_records(cache_root: Path, prefix: str) -> list[str]:
    """Add a copy of every record of the cache under a new key (more labels written into the cache later)."""
    from dope_core.pseudo_labels.cache import LabelCache

    cache = LabelCache(cache_root)
    keys = cache.keys()
    for key in keys:
        cache.write(dataclasses.replace(cache.read(key), key=f"{prefix}{key}"))
    return [f"{prefix}{k}" for k in keys]


def test_a_run_keeps_its_split_when_labels_are_added(tmp_path: Path, synthetic_cache, capsys, caplog) -> None:
    """The held-out keys are stored with the run (split.json): labels added to the cache later are used by
    neither side of a resumed run or of validate --run, so no training image moves into validation; a held-out
    record gone from the cache is skipped and counted; a run without split.json draws as before, with a warning."""
    from dope_core.train.trainer import train_val_split

    torch.set_num_threads(1)
    run = tmp_path / "run"
    raw = tiny_config(synthetic_cache.root, run, steps=2)
    raw["data"]["val_fraction"] = 0.5
    assert cli.main(["fit", "--config", str(_write(raw, tmp_path / "cfg.yaml")), "--no-progress"]) == 0
    split = json.loads((run / "split.json").read_text())
    assert len(split["train"]) == len(split["held_out"]) == 3
    assert sorted(split["train"] + split["held_out"]) == sorted(synthetic_cache.keys())
    added = _copy_records(synthetic_cache.root, "zz_")
    # drawn again from the grown cache, the split would hold out images the run trained on
    _, redrawn = train_val_split(config_from_dict(raw), load_records([synthetic_cache.root]))
    assert {r.key for _, r in redrawn} & set(split["train"])
    capsys.readouterr()
    caplog.set_level(logging.INFO, logger="dope_core.train.trainer")
    assert cli.main(["validate", "--run", str(run)]) == 0
    assert json.loads(capsys.readouterr().out)["agreement"]["images"] == 3
    assert "6 records were added to the caches after the run began" in caplog.text
    longer = {**raw, "schedule": {**raw["schedule"], "steps": 3}}
    caplog.clear()
    result = fit(config_from_dict(longer), resume=True, show_progress=False)
    assert result.end_step == 3 and result.validation["agreement"]["images"] == 3
    assert "6 records were added" in caplog.text
    assert json.loads((run / "split.json").read_text()) == split          # the stored split is kept
    # a held-out record deleted from the cache is skipped and counted
    (synthetic_cache.root / "items" / f"{split['held_out'][0]}.json").unlink()
    caplog.clear()
    assert cli.main(["validate", "--run", str(run)]) == 0
    assert json.loads(capsys.readouterr().out)["agreement"]["images"] == 2
    assert "0 training and 1 held-out records of the run's split are no longer in the caches" in caplog.text
    # a run made before runs kept their split: drawn again, with a warning
    (run / "split.json").unlink()
    caplog.clear()
    assert cli.main(["validate", "--run", str(run)]) == 0
    assert json.loads(capsys.readouterr().out)["agreement"]["images"] == 6
    assert "has no split.json" in caplog.text and added


def test_fit_refuses_a_cache_labelled_without_a_trained_part(tmp_path: Path, synthetic_cache, capsys) -> None:
    """A cache whose labelling.json says it was labelled with --parts body cannot train hands and faces (they
    would be taught as background): one line, exit 2, nothing written; nor can its packed copy (dope-train
    pack carries the settings in pack.json, and a pack of that pack too). A cache without labelling.json
    (made before caches kept their settings) and a config training only the labelled parts are accepted."""
    from dope_core.pseudo_labels.cache import LabelCache
    from dope_core.train.trainer import check_labelled_parts

    recipe = {"stride": 1, "estimator": "dope_core.experts.ensemble:ExpertsEstimator",
              "estimator_kwargs": {"parts": ["body"], "config": {}}}
    (synthetic_cache.root / "labelling.json").write_text(json.dumps(recipe))
    packed, repacked = tmp_path / "packed", tmp_path / "repacked"
    assert cli.main(["pack", "--cache", str(synthetic_cache.root), "--out", str(packed)]) == 0
    assert cli.main(["pack", "--cache", str(packed), "--out", str(repacked)]) == 0
    assert LabelCache(packed).labelling() == LabelCache(repacked).labelling() == recipe
    assert not (packed / "labelling.json").exists()   # a pack is no labelling cache to extend
    capsys.readouterr()
    for cache in (synthetic_cache.root, packed, repacked):
        raw = tiny_config(cache, tmp_path / "run", steps=1)
        assert cli.main(["fit", "--config", str(_write(raw, tmp_path / "cfg.yaml")), "--no-progress"]) == 2
        err = capsys.readouterr().err.strip()
        assert "was labelled without hand, face" in err and str(cache) in err and "\n" not in err, err
        assert not (tmp_path / "run" / "last.pth").exists()
        check_labelled_parts(config_from_dict({**raw, "data": {**raw["data"], "parts": ["body"]}}))
    (synthetic_cache.root / "labelling.json").unlink()
    check_labelled_parts(config_from_dict(tiny_config(synthetic_cache.root, tmp_path / "run", steps=1)))


def test_a_val_sources_typo_is_refused_by_fit(tmp_path: Path, synthetic_cache, capsys) -> None:
    """by_video with one pattern that matches and one that matches nothing: one line naming the pattern, exit 2."""
    raw = tiny_config(synthetic_cache.root, tmp_path / "run", steps=1)
    raw["data"].update(split="by_video", val_sources=["im1", "im_typo*"])
    assert cli.main(["fit", "--config", str(_write(raw, tmp_path / "cfg.yaml")), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "['im_typo*'] match no source" in err and "im0, im1, im2" in err and "\n" not in err, err


def test_device_names_and_the_cpu_fallback(tmp_path: Path, monkeypatch, caplog, capsys) -> None:
    """--device: an unknown name is one line, exit 2, before anything is written; cuda (as cuda:0) without a GPU
    falls back to the CPU with a warning, as inference does."""
    raw = tiny_config(tmp_path / "cache", tmp_path / "run", steps=1)
    cfg = _write(raw, tmp_path / "cfg.yaml")
    for bad in ("gpu", "mps", "cuda:x"):
        assert cli.main(["fit", "--config", str(cfg), "--device", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert f"--device {bad!r}: unknown device" in err and "\n" not in err, err
    assert not (tmp_path / "run").exists()
    from dope_core.train.trainer import _device, _device_name

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for name in ("cuda", "cuda:0", "auto", "cpu"):
        caplog.clear()
        assert _device(_device_name(name), 0) == torch.device("cpu")
        assert ("CUDA is not available" in caplog.text) == name.startswith("cuda")


def test_ctrl_c_in_fit_is_one_line_and_exit_130(tmp_path: Path, monkeypatch, capsys) -> None:
    """Ctrl-C during fit: no traceback; one line saying how to continue; exit status 130."""
    import dope_core.train.trainer as trainer

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "fit", interrupted)
    cfg = _write(tiny_config(tmp_path / "cache", tmp_path / "run"), tmp_path / "cfg.yaml")
    try:
        rc = cli.main(["fit", "--config", str(cfg)])
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped dope-train fit (a traceback)")
    assert rc == 130
    assert capsys.readouterr().err.strip() == ("dope-train fit: interrupted; run the same command with --resume to "
                                               "continue")
