"""Tests of pseudo-labelling: sources, cache records, resumable parallel runs, counted skips."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from dope_core.keypoints import Part
from dope_core.pseudo_labels.cache import LabelCache, LabelRecord
from dope_core.pseudo_labels.runner import LabelSettings, run_labelling
from dope_core.pseudo_labels.sources import extract_frames, find_media, item_key
from oriented_media import mp4_with_rotation

FAKE = "fake_experts:FakeExperts"


def _media(tmp: Path) -> Path:
    d = tmp / "media"
    (d / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    cv2.imwrite(str(d / "a.jpg"), rng.integers(60, 255, (60, 80, 3), dtype=np.uint8))
    cv2.imwrite(str(d / "sub" / "b.png"), rng.integers(60, 255, (50, 40, 3), dtype=np.uint8))
    cv2.imwrite(str(d / "black.png"), np.zeros((30, 30, 3), np.uint8))
    (d / "corrupt.jpg").write_bytes(b"not a jpeg at all")
    (d / "broken.mp4").write_bytes(b"\x00" * 100)
    (d / "notes.txt").write_text("ignored")
    writer = cv2.VideoWriter(str(d / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(7):
        writer.write(np.full((48, 64, 3), 100 + 10 * i, np.uint8))
    writer.release()
    return d


def test_find_media_and_errors(tmp_path: Path) -> None:
    d = _media(tmp_path)
    images, videos = find_media([d])
    assert [p.name for p in images] == ["a.jpg", "black.png", "corrupt.jpg", "b.png"]
    assert [p.name for p in videos] == ["broken.mp4", "clip.avi"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_media([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image or video"):
        find_media([tmp_path / "empty"])
    with pytest.raises(ValueError, match="neither an image"):
        find_media([d / "notes.txt"])
    assert item_key(d / "a.jpg") != item_key(d / "sub" / "a.jpg")


def test_extract_frames_stride_and_resume(tmp_path: Path) -> None:
    d = _media(tmp_path)
    items, skip = extract_frames(d / "clip.avi", tmp_path / "frames", stride=3)
    assert skip is None and [it.key[-7:] for it in items] == ["f000000", "f000003", "f000006"]
    mtimes = [it.image.stat().st_mtime_ns for it in items]
    again, _ = extract_frames(d / "clip.avi", tmp_path / "frames", stride=3)
    assert [it.image.stat().st_mtime_ns for it in again] == mtimes
    assert extract_frames(d / "broken.mp4", tmp_path / "frames")[1].reason.startswith("video")


def test_extract_frames_writes_a_rotated_recording_upright(tmp_path: Path) -> None:
    """A phone's portrait recording (stored landscape, rotation in the track header) is labelled
    upright, as the `dope` command reads it."""
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:, :32] = 200
    mp4_with_rotation(tmp_path / "portrait.mp4", [frame] * 2)
    items, skip = extract_frames(tmp_path / "portrait.mp4", tmp_path / "frames")
    assert skip is None and len(items) == 2
    written = cv2.imread(str(items[0].image))
    assert written.shape == (64, 48, 3)
    assert np.abs(written.astype(int) - np.rot90(frame, -1)).mean() < 10


@pytest.mark.parametrize("workers", [0, 2])
def test_run_labelling_records_skips_and_resumes(tmp_path: Path, workers: int) -> None:
    d = _media(tmp_path)
    out = tmp_path / "cache"
    settings = LabelSettings(min_score=0.1, gt_threshold={"body": 0.5, "hand": 0.5, "face": 0.5})
    summary = run_labelling([d], out, stride=2, workers=workers, estimator=FAKE, settings=settings, show_progress=False)
    # 4 images + 4 frames (0, 2, 4, 6) of the clip; the broken video is a skipped source.
    assert summary.items == 8 and summary.already_done == 0
    assert dict(summary.status) == {"ok": 6, "no_person": 1, "unreadable": 1}
    assert [s.reason for s in summary.skipped_sources] == ["video cannot be opened"]
    assert json.loads((out / "summary.json").read_text())["labelled_now"]["ok"] == 6
    cache = LabelCache(out)
    records = {r.key: r for r in cache.records()}
    ok = next(r for r in records.values() if r.image.endswith("a.jpg"))
    assert ok.status == "ok" and ok.image_size == (80, 60)
    assert len(ok.detections[Part.HAND]) == 2  # the raw, low-score hand is kept for distillation
    assert ok.pseudo_gt is not None and len(ok.pseudo_gt.parts(Part.HAND)) == 1
    assert len(ok.pseudo_gt.people) == 1 and ok.pseudo_gt.people[0].face is not None
    frame = next(r for r in records.values() if "__f000002" in r.key)
    assert not Path(frame.image).is_absolute() and cache.image_path(frame).is_file()
    assert LabelRecord.from_dict(ok.to_dict()).to_dict() == ok.to_dict()
    # Resume: delete one record, run again; only that one is labelled.
    cache.record_path(ok.key).unlink()
    again = run_labelling([d], out, stride=2, workers=0, estimator=FAKE, settings=settings, show_progress=False)
    assert again.already_done == 7 and dict(again.status) == {"ok": 1}


def test_bad_record_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="version"):
        LabelRecord.from_dict({"version": 99})
    with pytest.raises(ValueError, match="missing the key"):
        LabelRecord.from_dict({"version": 1, "key": "k"})


def test_labelling_into_a_cache_inside_the_input_folder_never_touches_inputs(tmp_path: Path, monkeypatch) -> None:
    import functools
    import struct

    import dope_core.pseudo_labels.runner as runner
    from dope_core.train.cli import main as train_main

    d = _media(tmp_path)
    (d / "other").mkdir()
    cv2.imwrite(str(d / "other" / "a.jpg"), np.full((30, 40, 3), 200, np.uint8))   # same name as d/a.jpg
    cv2.imwrite(str(d / "a.png"), np.full((30, 40, 3), 150, np.uint8))             # same stem
    ok, png = cv2.imencode(".png", np.full((30, 40, 3), 90, np.uint8))
    huge = bytearray(png.tobytes())
    huge[16:24] = struct.pack(">II", 30000, 30000)       # declares 900 megapixels: refused before decoding
    (d / "huge.png").write_bytes(bytes(huge))
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in d.rglob("*") if p.is_file()}
    args = ["label", "--input", str(d), "--out", str(d / "labels"), "--workers", "0", "--stride", "3"]
    monkeypatch.setattr(runner, "run_labelling", functools.partial(runner.run_labelling, estimator=FAKE))
    assert train_main(args) == 1          # corrupt.jpg, huge.png and broken.mp4 failed; the rest was labelled
    assert train_main(args) == 1          # a second run resumes; the cache's own frames are not inputs
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in before} == before
    records = list(LabelCache(d / "labels").records())
    assert len(records) == 7 + 3     # 7 images (other/a.jpg, a.jpg and a.png apart) + frames 0, 3, 6
    assert len({r.key for r in records}) == len(records)
    huge_record = next(r for r in records if r.image.endswith("huge.png"))
    assert huge_record.status == "unreadable" and "30000x30000 pixels exceeds" in huge_record.reason


def test_a_folder_of_other_files_is_refused_as_out(tmp_path: Path, monkeypatch, capsys) -> None:
    """--out naming a folder that holds files and is no cache (the input folder itself, with the user's own
    summary.json) or naming a file is refused in one line (exit 2), and nothing in it changes; a new or
    empty folder becomes a cache, and a cache is continued."""
    import functools

    import dope_core.pseudo_labels.runner as runner
    from dope_core.train.cli import main as train_main

    d = _media(tmp_path)
    (d / "summary.json").write_text('{"my": "own summary"}')
    before = {p: p.read_bytes() for p in d.rglob("*") if p.is_file()}
    monkeypatch.setattr(runner, "run_labelling", functools.partial(runner.run_labelling, estimator=FAKE))
    capsys.readouterr()
    for out in (d, d / "a.jpg"):
        assert train_main(["label", "--input", str(d), "--out", str(out), "--workers", "0"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(out) in err, err
    assert {p: p.read_bytes() for p in d.rglob("*") if p.is_file()} == before
    (tmp_path / "empty").mkdir()
    for _ in range(2):   # an empty folder is labelled into, then continued as a cache
        assert train_main(["label", "--input", str(d / "a.jpg"), "--out", str(tmp_path / "empty"), "--workers", "0"]) == 0
    assert len(LabelCache(tmp_path / "empty").keys()) == 1


def test_a_run_that_fails_its_checks_writes_nothing_into_out(tmp_path: Path, monkeypatch) -> None:
    """A mistyped input, or inputs without media, fail before anything is written: no settings are recorded
    in --out, so the next run with other settings is not refused."""
    import functools

    import dope_core.pseudo_labels.runner as runner
    from dope_core.train.cli import main as train_main

    d = _media(tmp_path)
    (tmp_path / "no_media").mkdir()
    (tmp_path / "no_media" / "notes.txt").write_text("x")
    (tmp_path / "empty_cache").mkdir()
    monkeypatch.setattr(runner, "run_labelling", functools.partial(runner.run_labelling, estimator=FAKE))
    for out in (tmp_path / "newcache", tmp_path / "empty_cache"):
        for bad in (tmp_path / "typo_dir", tmp_path / "no_media"):
            assert train_main(["label", "--input", str(bad), "--out", str(out), "--stride", "5", "--workers", "0"]) == 2
        assert not out.exists() or not any(out.iterdir())
        assert train_main(["label", "--input", str(d / "a.jpg"), "--out", str(out), "--stride", "1",
                           "--workers", "0"]) == 0
        assert len(LabelCache(out).keys()) == 1


def test_label_uses_the_configured_experts(tmp_path: Path, monkeypatch, capsys) -> None:
    import dope_core.pseudo_labels.runner as runner
    from dope_core.experts.config import PRESETS
    from dope_core.train.cli import main as train_main

    seen = {}

    def fake_run(inputs, out, **kw):
        seen.update(kw["estimator_kwargs"])
        return runner.LabelSummary()

    monkeypatch.setattr(runner, "run_labelling", fake_run)
    cfg = tmp_path / "experts.yaml"
    cfg.write_text("experts:\n  preset: thorough\n")
    assert train_main(["label", "--input", str(tmp_path), "--out", str(tmp_path / "o"), "--experts-config", str(cfg),
                       "--person-detectors", "blazepose"]) == 0
    assert seen["config"] == PRESETS["thorough"].replace(person_detectors=("blazepose",))
    assert train_main(["label", "--input", str(tmp_path), "--out", str(tmp_path / "o"),
                       "--person-detectors", "nope"]) == 2
    assert "unknown person detector 'nope'" in capsys.readouterr().err


def test_label_defaults_never_use_the_optional_detector(tmp_path: Path, monkeypatch) -> None:
    """The student's pseudo-labels come from the permissive default experts unless a user asks for yolo."""
    import dope_core.pseudo_labels.runner as runner
    from dope_core.experts.config import PRESETS
    from dope_core.train.cli import main as train_main

    seen = {}
    monkeypatch.setattr(runner, "run_labelling", lambda inputs, out, **kw: seen.update(kw["estimator_kwargs"])
                        or runner.LabelSummary())
    assert train_main(["label", "--input", str(tmp_path), "--out", str(tmp_path / "o")]) == 0
    assert seen["config"] == PRESETS["default"] and "yolo" not in seen["config"].person_detectors
    assert not seen["config"].source_joints


def test_min_change_keeps_the_frames_that_differ_enough(tmp_path: Path) -> None:
    d = _media(tmp_path)   # clip.avi: 7 frames, each 10 grey levels brighter than the one before
    every, _ = extract_frames(d / "clip.avi", tmp_path / "all", stride=1)
    assert len(every) == 7
    kept, _ = extract_frames(d / "clip.avi", tmp_path / "f", stride=1, min_change=15.0)
    assert [it.key[-7:] for it in kept] == ["f000000", "f000002", "f000004", "f000006"]
    assert [it.key for it in extract_frames(d / "clip.avi", tmp_path / "f", stride=1, min_change=15.0)[0]] \
        == [it.key for it in kept]                                        # a rerun keeps the same frames
    # stride is the least gap: with both, a frame 3 after the last kept one that changed enough
    assert [it.key[-7:] for it in extract_frames(d / "clip.avi", tmp_path / "g", stride=3, min_change=25.0)[0]] \
        == ["f000000", "f000003", "f000006"]
    # a scene that never changes enough still gives a frame every max_gap frames
    assert [it.key[-7:] for it in extract_frames(d / "clip.avi", tmp_path / "m", min_change=100.0, max_gap=3)[0]] \
        == ["f000000", "f000003", "f000006"]
    with pytest.raises(ValueError, match="min_change"):
        extract_frames(d / "clip.avi", tmp_path / "h", min_change=-1.0)
    with pytest.raises(ValueError, match="max_gap"):
        extract_frames(d / "clip.avi", tmp_path / "h", stride=4, max_gap=2)


def test_min_change_on_a_real_video(shared_data: Path, tmp_path: Path) -> None:
    from dope_core.pseudo_labels.sources import frame_change, thumbnail

    video = shared_data / "video" / "mmaction2" / "test.mp4"
    fixed, _ = extract_frames(video, tmp_path / "fixed", stride=5)
    diverse, _ = extract_frames(video, tmp_path / "diverse", stride=2, min_change=6.0)
    assert 0 < len(diverse) and fixed[0].key == diverse[0].key
    thumbs = [thumbnail(cv2.imread(str(it.image))) for it in diverse]
    # JPEG re-encoding moves grey levels a little: kept frames differ by about the threshold at least
    assert min(frame_change(a, b) for a, b in zip(thumbs, thumbs[1:])) >= 5.0
    gaps = np.diff([int(it.key[-6:]) for it in diverse])
    assert gaps.min() >= 2


def test_crops_are_cut_labelled_and_resumed(tmp_path: Path) -> None:
    from dope_core.pseudo_labels.crops import CropSettings, crop_windows
    from dope_core.pseudo_labels.sources import source_of

    d = _media(tmp_path)
    out = tmp_path / "cache"
    crops = CropSettings(parts=("face", "hand", "body"), min_part_size=5.0, max_per_image=2)
    summary = run_labelling([d / "a.jpg", d / "clip.avi"], out, stride=3, crops=crops, workers=0, estimator=FAKE,
                            show_progress=False)
    # a.jpg and frames 0, 3, 6: each gives its two best-scoring parts' crops (face 0.95, body 0.9)
    assert summary.items == 4 + 8 and summary.crops == 8 and dict(summary.status) == {"ok": 12}
    cache = LabelCache(out)
    records = {r.key: r for r in cache.records()}
    whole = next(r for r in records.values() if r.image.endswith("a.jpg"))
    face = records[f"{whole.key}__crop-face0"]
    body = records[f"{whole.key}__crop-body1"]
    w, h = face.image_size
    fx1, fy1, fx2, fy2 = whole.pseudo_gt.parts(Part.FACE)[0].box
    assert w == h and abs(w - 3 * max(fx2 - fx1, fy2 - fy1)) <= 1      # a square of 3x the face (whole pixels)
    assert cache.image_path(face).parent == cache.frames_dir and body.image_size[1] == 60   # body: cut to the image
    assert crop_windows(face, crops) == []                                # no crop of a crop
    frame_crop = next(k for k in records if "__f000003__crop-" in k)
    assert source_of(frame_crop) == source_of(frame_crop.split("__crop-")[0]) == frame_crop.split("__f")[0]
    again = run_labelling([d / "a.jpg", d / "clip.avi"], out, stride=3, crops=crops, workers=0, estimator=FAKE,
                          show_progress=False)
    assert again.already_done == 12 and not again.status
    with pytest.raises(ValueError, match="crop parts"):
        CropSettings(parts=("feet",))


def test_label_takes_its_settings_from_the_training_config(tmp_path: Path, monkeypatch) -> None:
    import functools

    import yaml

    import dope_core.pseudo_labels.runner as runner
    from dope_core.train.cli import main as train_main

    d = _media(tmp_path)
    cfg = tmp_path / "train.yaml"
    cfg.write_text(yaml.safe_dump({
        "data": {"caches": [str(tmp_path / "cache")]}, "schedule": {"steps": 1}, "output_dir": str(tmp_path / "run"),
        "labels": {"stride": 3, "crops": ["face"], "max_crops": 1, "crop_min_part": 5.0}}))
    monkeypatch.setattr(runner, "run_labelling", functools.partial(runner.run_labelling, estimator=FAKE))
    assert train_main(["label", "--input", str(d / "a.jpg"), str(d / "clip.avi"), "--config", str(cfg),
                       "--workers", "0"]) == 0
    keys = LabelCache(tmp_path / "cache").keys()
    assert sorted(k[-7:] for k in keys if "__f" in k and "__crop" not in k) == ["f000000", "f000003", "f000006"]
    assert sum("__crop-face0" in k for k in keys) == 4                   # one face crop per labelled image
    # a flag overrides the config; the cache is the config's, which refuses labels of other settings
    before = LabelCache(tmp_path / "cache").keys()
    assert train_main(["label", "--input", str(d / "clip.avi"), "--config", str(cfg), "--stride", "2",
                       "--crops", "--workers", "0"]) == 2
    assert LabelCache(tmp_path / "cache").keys() == before
    assert train_main(["label", "--input", str(d / "clip.avi"), "--config", str(cfg), "--stride", "2",
                       "--crops", "--workers", "0", "--out", str(tmp_path / "cache2")]) == 0
    assert "f000002" in " ".join(LabelCache(tmp_path / "cache2").keys())
    assert train_main(["label", "--input", str(d / "clip.avi")]) == 2    # neither --out nor --config


def test_a_cache_refuses_labels_of_other_settings_and_takes_more_inputs_of_its_own(tmp_path: Path, capsys) -> None:
    """Resuming or extending a cache with other settings would mix labels of two recipes in one cache."""
    from dope_core.pseudo_labels.runner import RECIPE

    d = _media(tmp_path)
    cache = tmp_path / "cache"
    run_labelling([d / "a.jpg"], cache, workers=0, estimator=FAKE, show_progress=False,
                  settings=LabelSettings(min_score=0.05))
    recipe = json.loads((cache / RECIPE).read_text())
    assert recipe["min_score"] == 0.05 and recipe["stride"] == 1
    with pytest.raises(ValueError, match=r"made with other settings \(min_score 0.05 -> 0.5; stride 1 -> 5\)"):
        run_labelling([d / "clip.avi"], cache, workers=0, estimator=FAKE, show_progress=False, stride=5,
                      settings=LabelSettings(min_score=0.5))
    summary = run_labelling([d / "a.jpg", d / "clip.avi"], cache, workers=0, estimator=FAKE, show_progress=False,
                            settings=LabelSettings(min_score=0.05, max_side=8000))   # limits may differ
    assert summary.already_done == 1 and summary.items > 1


def test_abandoned_writes_are_cleaned_and_a_damaged_record_is_labelled_again(tmp_path: Path) -> None:
    d = _media(tmp_path)
    cache = LabelCache(tmp_path / "cache")
    run_labelling([d / "a.jpg"], cache.root, workers=0, estimator=FAKE, show_progress=False)
    key = cache.keys()[0]
    stale = cache.items_dir / f".{key}.json.dope-k1ll3d_x.tmp"
    stale.write_text("half a record")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    fresh = cache.items_dir / f".{key}.json.dope-abcd1234.tmp"
    fresh.write_text("a write in progress elsewhere")
    cache.record_path(key).write_text("")   # emptied by the user or a crash of another tool
    assert not cache.has(key)
    with pytest.raises(ValueError, match=f"label record {cache.record_path(key)} is damaged"):
        cache.read(key)
    summary = run_labelling([d / "a.jpg"], cache.root, workers=0, estimator=FAKE, show_progress=False)
    assert summary.already_done == 0 and cache.read(key).status == "ok"
    assert not stale.exists() and fresh.exists()


@pytest.mark.parametrize("flag,value,message", [("--stride", "0", "stride must be >= 1"),
                                                ("--min-change", "-5", "min_change must be >= 0")])
def test_bad_frame_settings_are_refused_before_anything_is_written(tmp_path: Path, monkeypatch, capsys,
                                                                   flag: str, value: str, message: str) -> None:
    """A bad --stride or --min-change is one line (exit 2) and records no settings in --out, so the
    corrected command labels into the same folder."""
    import functools

    import dope_core.pseudo_labels.runner as runner
    from dope_core.train.cli import main as train_main

    d = _media(tmp_path)
    monkeypatch.setattr(runner, "run_labelling", functools.partial(runner.run_labelling, estimator=FAKE))
    out = tmp_path / "c0b"
    assert train_main(["label", "--input", str(d / "clip.avi"), "--out", str(out), flag, value, "--workers", "0"]) == 2
    assert message in capsys.readouterr().err
    assert not (out / "labelling.json").exists() and not out.exists()
    assert train_main(["label", "--input", str(d / "clip.avi"), "--out", str(out), "--stride", "3",
                       "--workers", "0"]) == 0
    assert json.loads((out / "labelling.json").read_text())["stride"] == 3


def test_a_truncated_video_is_reported_with_the_frames_read(tmp_path: Path) -> None:
    """A video whose file was cut (its header announces more frames than decode) is labelled as far as it goes
    and reported in the summary (frames read of announced) instead of passing for a whole one."""
    video = tmp_path / "in" / "cut.avi"
    video.parent.mkdir()
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    rng = np.random.default_rng(0)
    for _ in range(40):
        writer.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    writer.release()
    whole = run_labelling([video], tmp_path / "whole", workers=0, estimator=FAKE, show_progress=False)
    assert whole.items == 40
    assert not json.loads((tmp_path / "whole" / "summary.json").read_text()).get("videos_ended_early")
    data = video.read_bytes()
    video.write_bytes(data[:len(data) // 2])          # a copy cut off half-way (a full disk, a killed download)
    summary = run_labelling([video], tmp_path / "cache", workers=0, estimator=FAKE, show_progress=False)
    assert 0 < summary.items < 40
    stored = json.loads((tmp_path / "cache" / "summary.json").read_text()).get("videos_ended_early")
    assert stored == [{"source": str(video.resolve()), "frames_read": summary.items, "frames_announced": 40}]
    assert f"{summary.items} of 40 announced frames read" in summary.text()
    from dope_core.pseudo_labels.sources import EarlyEnd

    ends: list[EarlyEnd] = []
    items, skip = extract_frames(video, tmp_path / "frames", on_early_end=ends.append)
    assert skip is None and ends == [EarlyEnd(str(video), len(items), 40)]


def test_label_config_needs_no_init_from_or_annotated_folder(tmp_path: Path, monkeypatch) -> None:
    """label --config uses the config's labels section and cache only: a fine-tuning config's model.init_from (a
    path relative to the repository) or validation.annotated that does not resolve here does not stop it."""
    import yaml

    import dope_core.pseudo_labels.runner as runner
    from dope_core.train.cli import main as train_main

    seen = {}
    monkeypatch.setattr(runner, "run_labelling", lambda inputs, out, **kw: seen.update(out=out, stride=kw["stride"])
                        or runner.LabelSummary())
    cfg = tmp_path / "finetune.yaml"
    cfg.write_text(yaml.safe_dump({
        "data": {"caches": [str(tmp_path / "cache")]}, "schedule": {"steps": 1}, "output_dir": str(tmp_path / "run"),
        "model": {"init_from": "dope_core/weights/not_here.pth"}, "validation": {"annotated": "no_such_folder"},
        "labels": {"stride": 4}}))
    monkeypatch.chdir(tmp_path)
    assert train_main(["label", "--input", str(tmp_path), "--config", str(cfg)]) == 0
    assert seen == {"out": str(tmp_path / "cache"), "stride": 4}


def test_ctrl_c_in_label_is_one_line_and_exit_130(tmp_path: Path, monkeypatch, capsys) -> None:
    """Ctrl-C while labelling: no traceback; one line saying a rerun continues; exit status 130."""
    import dope_core.pseudo_labels.runner as runner
    from dope_core.train.cli import main as train_main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_labelling", interrupted)
    try:
        rc = train_main(["label", "--input", str(tmp_path), "--out", str(tmp_path / "o")])
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped dope-train label (a traceback)")
    assert rc == 130
    assert capsys.readouterr().err.strip() == "dope-train label: interrupted; run it again to continue"


def test_labels_fuse_hands_with_the_experts_configured_reach():
    """The experts' ``hand_body_reach`` (their configuration) goes to the fusion; an estimator without
    an experts configuration (the network) fuses by the release's limit alone."""
    from types import SimpleNamespace

    from dope_core.experts.config import PRESETS
    from dope_core.pseudo_labels.runner import hand_body_reach

    assert hand_body_reach(SimpleNamespace(config=PRESETS["default"])) == 0.1
    assert hand_body_reach(SimpleNamespace(config=PRESETS["legacy"])) is None
    assert hand_body_reach(object()) is None
