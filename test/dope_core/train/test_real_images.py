"""dope-train end to end on a handful of real photos: experts label, student trains, exports, runs.

Needs ``../shared/data`` (skipped without it). Tiny model and input size: a few CPU seconds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from dope_core.estimator import build_estimator
from dope_core.image_io import read_image
from dope_core.pseudo_labels.cache import LabelCache
from dope_core.train import cli
from train_fixtures import tiny_config

PHOTOS = ("packages/zidane.jpg", "packages/bus.jpg", "dope/015994080.jpg", "alphapose/2.jpg")


@pytest.mark.timeout(600)   # about 2 min on an idle 2-core CPU; the close-up crops made it pass 300 s under load
def test_label_fit_export_run_on_real_photos(tmp_path: Path, shared_data: Path, capsys) -> None:
    src = tmp_path / "photos"
    src.mkdir()
    for rel in PHOTOS:
        shutil.copy(shared_data / "images" / rel, src / rel.replace("/", "_"))
    (src / "corrupt.jpg").write_bytes(b"\xff\xd8 truncated")
    cache = tmp_path / "labels"
    # exit 1: the other items were labelled, the corrupt one is a counted skip
    # with one close-up crop per photo, around its best face (the experts label the crop in turn)
    assert cli.main(["label", "--input", str(src), "--out", str(cache), "--workers", "1", "--crops", "face",
                     "--max-crops", "1"]) == 1
    summary = json.loads((cache / "summary.json").read_text())
    assert summary["labelled_now"]["unreadable"] == 1 and 1 <= summary["crops"] <= 4
    assert summary["labelled_now"]["ok"] + summary["labelled_now"].get("no_person", 0) == 4 + summary["crops"]
    crops = [r for r in LabelCache(cache).records() if "__crop-face" in r.key]
    assert any(r.status == "ok" and r.pseudo_gt.parts("face") for r in crops)   # the experts see the face close up
    records = [r for r in LabelCache(cache).records() if r.status == "ok" and "__crop-" not in r.key]
    assert len(records) == 4
    assert sum(len(r.pseudo_gt.parts("body")) for r in records) >= 4
    assert sum(len(r.detections.get("hand", [])) for r in records) >= 2

    cfg = tiny_config(cache, tmp_path / "run", steps=12, batch_size=2, lr=0.02, checkpoint_every=6)
    cfg["data"].update(max_size=256, val_fraction=0.25)
    cfg["model"]["kwargs"].update(min_size=192, max_size=256)
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    capsys.readouterr()
    assert cli.main(["fit", "--config", str(tmp_path / "cfg.yaml"), "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    usable = len([r for r in LabelCache(cache).records() if r.status == "ok"])     # photos and crops
    assert report["steps"] == [0, 12] and report["validation"]["agreement"]["images"] == round(0.25 * usable)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "run" / "tb"))
    events.Reload()
    total = [e.value for e in events.Scalars("train/loss")]
    assert len(total) == 12
    assert np.mean(total[-4:]) < np.mean(total[:4]), total
    # the held-out agreement over all images and per kind of image (whole photos, close-up crops), as reported
    scalars = set(events.Tags()["scalars"])
    agreement = report["validation"]["agreement"]
    groups = {"val/agreement": agreement["parts"]}
    groups.update({f"val/agreement_{kind}": split["parts"] for kind, split in agreement["by_kind"].items()})
    assert len(groups) >= 2, agreement["by_kind"]
    logged = 0
    for prefix, parts in groups.items():
        for part, values in parts.items():
            for name, value in values.items():
                if isinstance(value, float) and np.isfinite(value):
                    last = events.Scalars(f"{prefix}/{part}_{name}")[-1]
                    assert last.step == 12 and last.value == pytest.approx(value, abs=1e-6), (prefix, part, name)
                    logged += 1
    assert logged >= 2 * len(groups)
    assert {t.rsplit("/", 1)[0] for t in scalars if t.startswith("val/agreement")} == set(groups)

    capsys.readouterr()
    assert cli.main(["validate", "--run", str(tmp_path / "run"), "--annotated", str(shared_data / "annotated")]) == 0
    accuracy = json.loads(capsys.readouterr().out)["accuracy"]
    assert accuracy["all/images"] > 10 and "h36m/body/detection_rate" in accuracy

    out = tmp_path / "student.pth"
    assert cli.main(["export", "--run", str(tmp_path / "run"), "--out", str(out)]) == 0
    estimator = build_estimator("network", checkpoint=out, device="cpu")
    poses = estimator(read_image(shared_data / "images" / PHOTOS[0]))
    assert poses.backend == "network" and poses.image_size[0] > 0
