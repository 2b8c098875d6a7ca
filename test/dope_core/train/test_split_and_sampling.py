"""Edges of the train/validation split, repeat factors, the sampler's stream and the records kept for training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dope_core.keypoints import KEYPOINT_NAMES, Part
from dope_core.pseudo_labels.cache import LabelCache, LabelRecord
from dope_core.structures import PartPose, WholeBodyPoses
from dope_core.train.dataset import PseudoLabelDataset, StepSampler, load_records, repeat_factors, split_records


def _records(keys: list[str], cache: LabelCache) -> list[tuple[LabelCache, LabelRecord]]:
    return [(cache, LabelRecord(k, "x.jpg", (4, 4), "ok")) for k in keys]


def test_by_image_split_keeps_a_training_record_at_a_large_fraction(tmp_path: Path) -> None:
    """by_image: at least one training record even when val_fraction rounds to every record."""
    records = _records([f"d__img{i}-012345678{i}" for i in range(4)], LabelCache(tmp_path))
    train, val = split_records(records, val_fraction=0.9, seed=0)       # round(3.6) = 4 records
    assert len(train) == 1 and len(val) == 3


def test_by_video_split_never_holds_out_the_only_source(tmp_path: Path) -> None:
    """by_video: a source whose frames are every record stays in training (at least one training record)."""
    records = _records([f"v__clip-0123456789__f{f:06d}" for f in range(10)], LabelCache(tmp_path))
    train, val = split_records(records, val_fraction=0.5, seed=0, by="by_video")
    assert len(train) == 10 and val == []


def test_by_video_split_stops_at_the_fraction(tmp_path: Path) -> None:
    """by_video: sources are held out only until val_fraction of the records is reached."""
    records = _records([f"d__img{i}-012345678{i}" for i in range(10)], LabelCache(tmp_path))   # 10 one-image sources
    for seed in range(3):
        train, val = split_records(records, val_fraction=0.2, seed=seed, by="by_video")
        assert len(val) == 2 and len(train) == 8


def _face_record(key: str, score: float | None) -> LabelRecord:
    j = len(KEYPOINT_NAMES[Part.FACE])
    faces = [] if score is None else [PartPose(part=Part.FACE, score=score, box=np.array([0, 0, 2, 2], float),
                                               keypoints_2d=np.zeros((j, 2)), keypoints_3d=np.zeros((j, 3)),
                                               confidence=np.ones(j))]
    return LabelRecord(key, "x.jpg", (4, 4), "ok", pseudo_gt=WholeBodyPoses(image_size=(4, 4), unassigned=faces))


def test_a_part_scored_exactly_at_the_hard_threshold_is_shown(tmp_path: Path) -> None:
    """repeat_factors: a pose of score equal to hard_threshold counts (score at least the threshold)."""
    cache = LabelCache(tmp_path)
    records = [(cache, _face_record("a", 0.5))] + [(cache, _face_record(k, None)) for k in "bcd"]
    factors = repeat_factors(records, parts=[Part.FACE], hard_threshold=0.5, threshold=1.0)
    assert factors.tolist() == pytest.approx([2.0, 1.0, 1.0, 1.0])      # f = 1/4: sqrt(1 / 0.25)


def test_a_sampler_iterated_again_gives_the_same_stream() -> None:
    """The stream is a pure function of the seed: a second pass over the same sampler repeats the first."""
    for factors in (None, [1.0, 1.0, 2.5, 1.0, 1.0]):
        sampler = StepSampler(5, batch_size=3, start_step=0, total_steps=6, seed=2, repeat_factors=factors)
        first = list(sampler)
        assert list(sampler) == first
        resumed = StepSampler(5, batch_size=3, start_step=4, total_steps=6, seed=2, repeat_factors=factors)
        assert len(resumed) == len(list(resumed)) == 6 and list(resumed) == first[12:]


def test_augmentation_seeds_differ_by_position_and_seed() -> None:
    """Each position of the stream gets its own augmentation seed, derived from (seed, position)."""
    stream = list(StepSampler(4, batch_size=2, start_step=0, total_steps=8, seed=1))
    seeds = [s for _, s in stream]
    assert len(set(seeds)) == len(seeds)
    other = [s for _, s in StepSampler(4, batch_size=2, start_step=0, total_steps=8, seed=2)]
    assert not set(seeds) & set(other)


def test_load_records_keeps_only_usable_records(tmp_path: Path) -> None:
    """Records with status no_person or unreadable are not training records."""
    cache = LabelCache(tmp_path / "cache")
    cache.write(LabelRecord("a", "a.jpg", (4, 4), "ok"))
    cache.write(LabelRecord("b", "b.jpg", (4, 4), "no_person", reason="no person"))
    cache.write(LabelRecord("c", "c.jpg", (0, 0), "unreadable", reason="cut file"))
    assert [r.key for _, r in load_records([cache.root])] == ["a"]


def test_no_flip_means_no_flip_whatever_the_seed(synthetic_cache: LabelCache) -> None:
    """With flip=False (and no zoom) every augmentation seed gives the unaugmented image."""
    records = load_records([synthetic_cache.root])
    ds = PseudoLabelDataset(records, max_size=64, scale_jitter=(1.0, 1.0), flip=False)
    plain = ds[0][0]
    assert all(torch.equal(ds[(0, s)][0], plain) for s in range(8))


def test_the_seed_draws_the_split(tmp_path: Path) -> None:
    """Both splits depend on the seed (not the records' order): different seeds hold out different records."""
    cache = LabelCache(tmp_path)
    images = _records([f"d__img{i:02d}-0123456789" for i in range(20)], cache)
    held = {tuple(r.key for _, r in split_records(images, val_fraction=0.2, seed=s)[1]) for s in range(5)}
    assert len(held) > 1
    videos = _records([f"v__clip{v}-012345678{v}__f{f:06d}" for v in range(8) for f in range(3)], cache)
    held = {tuple(r.key for _, r in split_records(videos, val_fraction=0.25, seed=s, by="by_video")[1]) for s in range(5)}
    assert len(held) > 1


def test_val_sources_matching_every_source_are_refused(tmp_path: Path) -> None:
    """Patterns that hold out every source would leave nothing to train on: a ValueError."""
    records = _records([f"v__clip{v}-012345678{v}__f{f:06d}" for v in range(2) for f in range(3)], LabelCache(tmp_path))
    with pytest.raises(ValueError, match="match 2 of the 2 sources"):
        split_records(records, val_fraction=0.0, seed=0, by="by_video", val_sources=["v__*"])


def test_each_epoch_has_its_own_shuffle() -> None:
    """Epoch e is shuffled with (seed, e): consecutive epochs are different permutations."""
    stream = [i for i, _ in StepSampler(10, batch_size=5, start_step=0, total_steps=4, seed=4)]
    first, second = stream[:10], stream[10:]
    assert sorted(first) == sorted(second) == list(range(10)) and first != second


def test_a_stored_record_damaged_into_other_json_is_a_value_error(tmp_path: Path) -> None:
    """A record file replaced by JSON of another shape (a list, a string) is 'gone or damaged', a ValueError."""
    cache = LabelCache(tmp_path / "cache")
    cache.write(LabelRecord("a", "a.jpg", (4, 4), "ok"))
    (stored,) = list(cache.stored_records())
    for text in ("[1, 2]", '"text"', '{"version": 1, "key": "a", "image": "a.jpg", "image_size": 4, "status": "ok", '
                 '"detections": {}}'):
        stored.path.write_text(text)
        with pytest.raises(ValueError, match="gone or damaged"):
            stored.load()
    stored.path.unlink()
    with pytest.raises(ValueError, match="gone or damaged"):
        stored.load()


def test_a_val_sources_pattern_that_matches_nothing_is_named(tmp_path: Path) -> None:
    """A mistyped pattern beside a right one, or patterns that all miss: ValueError naming them, with a few
    source names to show what the patterns are matched against."""
    records = _records(["in__test-27eb452435__f000000", "in__train-0123456789__f000000",
                        "in__train-0123456789__f000005"], LabelCache(tmp_path))
    for patterns, unmatched in ((["*test*", "*tset_typo*"], "['*tset_typo*']"), (["*nope*"], "['*nope*']")):
        with pytest.raises(ValueError) as e:
            split_records(records, val_fraction=0.0, seed=0, by="by_video", val_sources=patterns)
        assert f"val_sources {unmatched} match no source" in str(e.value)
        assert "in__test-27eb452435, in__train-0123456789" in str(e.value)
    train, val = split_records(records, val_fraction=0.0, seed=0, by="by_video", val_sources=["*test*"])
    assert len(train) == 2 and len(val) == 1
