"""dope-train pack: a self-contained, shrunk copy of a label cache that trains like the original."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from dope_core.fusion import assemble
from dope_core.keypoints import Part
from dope_core.pseudo_labels.cache import LabelCache, LabelRecord
from dope_core.pseudo_labels.pack import pack_cache, scale_record_dict
from dope_core.structures import Handedness, PartPose
from dope_core.train import cli
from dope_core.train.dataset import PseudoLabelDataset, load_records


def _pose(part: Part, box, score: float, rng: np.random.Generator, handedness=None) -> PartPose:
    j = part.num_keypoints
    x1, y1, x2, y2 = box
    u = rng.uniform(0.1, 0.9, size=(j, 2))
    return PartPose(part=part, score=score, box=np.array(box, float),
                    keypoints_2d=np.stack([x1 + (x2 - x1) * u[:, 0], y1 + (y2 - y1) * u[:, 1]], 1),
                    keypoints_3d=rng.normal(0, 0.1, (j, 3)), confidence=np.full(j, 0.9), handedness=handedness)


def _cache(root: Path, photos: Path) -> LabelCache:
    """A cache like the labeller's: a photo by absolute path outside the cache, a video
    frame and its crop inside it, a record with nobody and an unreadable one."""
    rng = np.random.default_rng(0)
    cache = LabelCache(root)
    photos.mkdir(parents=True)
    (root / "frames").mkdir(parents=True)
    images = {"photo-aa11": photos / "photo.jpg", "clip-bb22__f000003": root / "frames" / "clip-bb22__f000003.jpg",
              "clip-bb22__f000003__crop-face0": root / "frames" / "clip-bb22__f000003__crop-face0.jpg",
              "empty-cc33": photos / "empty.png"}
    for i, (key, path) in enumerate(images.items()):
        h, w = (300, 400) if i % 2 == 0 else (160, 120)
        img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        cv2.imwrite(str(path), img)
        if key.startswith("empty"):
            cache.write(LabelRecord(key=key, image=str(path), image_size=(w, h), status="no_person"))
            continue
        body = _pose(Part.BODY, [w * 0.2, h * 0.1, w * 0.7, h * 0.95], 0.9, rng)
        hand = _pose(Part.HAND, [w * 0.2, h * 0.5, w * 0.3, h * 0.6], 0.6, rng, Handedness.RIGHT)
        face = _pose(Part.FACE, [w * 0.4, h * 0.1, w * 0.5, h * 0.25], 0.3, rng)
        image = str(path) if path.parent == photos else str(path.relative_to(root))
        cache.write(LabelRecord(key=key, image=image, image_size=(w, h), status="ok",
                                detections={Part.BODY: [body], Part.HAND: [hand], Part.FACE: [face]},
                                pseudo_gt=assemble([body], [hand], [], image_size=(w, h), backend="experts")))
    cache.write(LabelRecord(key="gone-dd44", image=str(photos / "gone.jpg"), image_size=(0, 0), status="unreadable",
                            reason="cannot be read"))
    return cache


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_pack_shrinks_images_and_scales_records(tmp_path: Path) -> None:
    src = _cache(tmp_path / "cache", tmp_path / "photos")
    before = {**_digest(tmp_path / "cache"), **_digest(tmp_path / "photos")}
    summary = pack_cache(src.root, tmp_path / "packed", max_side=200, quality=95)
    assert (summary.packed, summary.excluded, summary.without_people, summary.failed) == (3, 0, 2, [])
    assert {**_digest(tmp_path / "cache"), **_digest(tmp_path / "photos")} == before   # the source is only read
    packed = LabelCache(tmp_path / "packed")
    assert packed.keys() == [k for k in src.keys() if src.read(k).status == "ok"]   # what training reads
    for key in packed.keys():
        a, b = src.read(key), packed.read(key)
        assert b.status == a.status == "ok"
        assert not Path(b.image).is_absolute()
        image = cv2.imread(str(packed.image_path(b)))
        assert image is not None and (image.shape[1], image.shape[0]) == b.image_size
        f = min(1.0, 200 / max(a.image_size))
        assert b.image_size == (round(a.image_size[0] * f), round(a.image_size[1] * f))
        for part in a.detections:
            for pa, pb in zip(a.detections[part], b.detections[part]):
                np.testing.assert_allclose(pb.box, pa.box * f, atol=1e-3)
                np.testing.assert_allclose(pb.keypoints_2d, pa.keypoints_2d * f, atol=1e-3)
                np.testing.assert_allclose(pb.keypoints_3d, pa.keypoints_3d, atol=1e-4)   # metres: unchanged
                assert pb.score == pytest.approx(pa.score, abs=1e-4) and pb.handedness == pa.handedness
        if a.pseudo_gt is not None:
            assert b.pseudo_gt.image_size == b.image_size
            np.testing.assert_allclose(b.pseudo_gt.people[0].body.box, a.pseudo_gt.people[0].body.box * f, atol=1e-3)
    info = json.loads((tmp_path / "packed" / "pack.json").read_text())
    assert info["records"] == 3 and info["max_side"] == 200
    # The packed copy is self-contained: it trains after the photos are gone.
    for p in (tmp_path / "photos").iterdir():
        p.unlink()
    records = load_records([str(tmp_path / "packed")])
    assert len(records) == 3   # the records with people; none of them refers to the photos folder


def test_packed_cache_gives_the_same_training_targets(tmp_path: Path) -> None:
    """Training shrinks images to data.max_size: from the original or from a pack made at
    that size, the same targets come out (up to rounding)."""
    src = _cache(tmp_path / "cache", tmp_path / "photos")
    pack_cache(src.root, tmp_path / "packed", max_side=160)
    kw = dict(max_size=160, scale_jitter=(1.0, 1.0), flip=False)
    original = PseudoLabelDataset(load_records([str(src.root)]), **kw)
    packed = PseudoLabelDataset(load_records([str(tmp_path / "packed")]), **kw)
    assert len(original) == len(packed) == 3
    for i in range(len(original)):
        (ia, ta, ka), (ib, tb, kb) = original[i], packed[i]
        assert ka == kb and ia.shape == ib.shape
        assert float((ia.float() - ib.float()).abs().mean()) < 0.05 * 255   # JPEG re-encoding only
        for part in ta:
            for name in ("boxes", "pose2d", "pose3d", "scores"):
                np.testing.assert_allclose(tb[part][name], ta[part][name], atol=2e-3, err_msg=name)


def test_pack_excludes_sources_resumes_and_reports_failures(tmp_path: Path, capsys) -> None:
    src = _cache(tmp_path / "cache", tmp_path / "photos")
    (tmp_path / "photos" / "photo.jpg").unlink()
    out = tmp_path / "packed"
    assert cli.main(["pack", "--cache", str(src.root), "--out", str(out), "--max-side", "256",
                     "--exclude", "clip-*"]) == 1   # the missing photo failed, the others were packed
    report = json.loads(capsys.readouterr().out)
    assert (report["packed"], report["excluded"], report["without_people"]) == (0, 2, 2)
    assert [k for k, _ in report["failed"]] == ["photo-aa11"]
    assert LabelCache(out).keys() == []
    cv2.imwrite(str(tmp_path / "photos" / "photo.jpg"), np.zeros((300, 400, 3), np.uint8))
    assert cli.main(["pack", "--cache", str(src.root), "--out", str(out), "--max-side", "256",
                     "--exclude", "clip-*"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["packed"], report["already_there"], report["failed"]) == (1, 0, [])
    assert LabelCache(out).keys() == ["photo-aa11"]
    assert cli.main(["pack", "--cache", str(src.root), "--out", str(out), "--exclude", "clip-*"]) == 2
    assert "made with other settings (max_side 256 -> 853)" in capsys.readouterr().err   # sizes would mix
    assert cli.main(["pack", "--cache", str(src.root), "--out", str(out), "--max-side", "256",
                     "--exclude", "clip-*"]) == 0
    assert json.loads(capsys.readouterr().out)["already_there"] == 1
    assert cli.main(["pack", "--cache", str(src.root), "--out", str(src.root)]) == 2
    assert "another folder" in capsys.readouterr().err
    assert cli.main(["pack", "--cache", str(tmp_path / "photos"), "--out", str(tmp_path / "x")]) == 2
    assert "not a pseudo-label cache" in capsys.readouterr().err


def test_pack_refuses_a_folder_of_other_files_and_writes_nothing(tmp_path: Path, capsys) -> None:
    """A non-empty --out that is no packed cache (a user's folder holding its own pack.json and images/) is
    refused before anything is written; a file too."""
    src = _cache(tmp_path / "cache", tmp_path / "photos")
    mine = tmp_path / "mine"
    (mine / "images").mkdir(parents=True)
    (mine / "pack.json").write_text('{"my": "list"}')
    (mine / "images" / "photo-aa11.jpg").write_bytes(b"my photo")
    before = _digest(mine)
    assert cli.main(["pack", "--cache", str(src.root), "--out", str(mine)]) == 2
    err = capsys.readouterr().err
    assert "holds other files and is no pseudo-label cache (no pack_settings.json, no items/)" in err
    assert len(err.strip().splitlines()) == 1
    assert _digest(mine) == before and sorted(p.name for p in mine.iterdir()) == ["images", "pack.json"]
    (tmp_path / "afile").write_text("x")
    assert cli.main(["pack", "--cache", str(src.root), "--out", str(tmp_path / "afile")]) == 2
    assert "is a file" in capsys.readouterr().err and (tmp_path / "afile").read_text() == "x"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["pack", "--cache", str(src.root), "--out", str(empty)]) == 0   # an empty folder is fine
    assert (empty / "pack_settings.json").is_file()


def test_scale_record_dict_rounds_sizes_and_keeps_metres() -> None:
    loose = {"box": [10.0, 10.0, 50.0, 50.0], "keypoints_2d": [[1.0, 2.0]], "keypoints_3d": [[0.1, 0.2, 0.3]],
             "velocity_2d": [4.0, 8.0]}
    d = {"image_size": [101, 51], "detections": {"body": []},
         "pseudo_gt": {"image_size": [101, 51], "people": [], "unassigned": [loose]}}
    out = scale_record_dict(d, (50, 26))
    assert out["image_size"] == [50, 26] and out["pseudo_gt"]["image_size"] == [50, 26]
    u = out["pseudo_gt"]["unassigned"][0]
    sx, sy = 50 / 101, 26 / 51
    np.testing.assert_allclose(u["box"], [10 * sx, 10 * sy, 50 * sx, 50 * sy])
    np.testing.assert_allclose(u["keypoints_2d"], [[sx, 2 * sy]])
    np.testing.assert_allclose(u["velocity_2d"], [4 * sx, 8 * sy])
    assert u["keypoints_3d"] == [[0.1, 0.2, 0.3]] and d["image_size"] == [101, 51]   # input untouched


def test_an_exclude_pattern_that_matches_nothing_is_named(tmp_path: Path, capsys, caplog) -> None:
    """A mistyped --exclude leaves in the source it meant to leave out: the pack goes on (the others may be right,
    and fit's data.val_sources check refuses the same typo) with a warning naming the pattern and showing what
    the cache's sources look like."""
    src = _cache(tmp_path / "cache", tmp_path / "photos")
    out = tmp_path / "packed"
    assert cli.main(["pack", "--cache", str(src.root), "--out", str(out), "--exclude", "clip-*", "cilp-*",
                     "--max-side", "64"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["excluded"] == 2 and report["exclude_matched_nothing"] == ["cilp-*"]
    assert json.loads((out / "pack.json").read_text())["exclude_matched_nothing"] == ["cilp-*"]
    warned = [r.getMessage() for r in caplog.records if "matched no source" in r.getMessage()]
    assert len(warned) == 1 and "cilp-*" in warned[0] and "clip-*" not in warned[0].split("matched")[0]
    assert "clip-bb22, empty-cc33" in warned[0]
    caplog.clear()
    assert cli.main(["pack", "--cache", str(src.root), "--out", str(tmp_path / "p2"), "--exclude", "clip-*",
                     "--max-side", "64"]) == 0
    assert not [r for r in caplog.records if "matched no source" in r.getMessage()]
