"""Dataset and sampler of the trainer: deterministic per (seed, step, rank), disjoint across ranks, unreadable images dropped."""

from __future__ import annotations

import dataclasses
import numpy as np
import pytest
import torch

from dope_core.keypoints import Part
from dope_core.fusion import assemble
from dope_core.pseudo_labels.cache import labels_of
from dope_core.train.dataset import (PseudoLabelDataset, StepSampler, collate, load_records, model_inputs,
                                    repeat_factors, split_records)


def test_sampler_is_a_function_of_seed_step_and_rank():
    full = list(StepSampler(10, batch_size=3, start_step=0, total_steps=5, seed=4))
    resumed = list(StepSampler(10, batch_size=3, start_step=2, total_steps=5, seed=4))
    assert resumed == full[6:] and len(full) == 15
    # each epoch (10 positions) is a permutation of the dataset
    assert sorted(i for i, _ in full[:10]) == list(range(10))
    assert full != list(StepSampler(10, batch_size=3, start_step=0, total_steps=5, seed=5))
    # two ranks split every step's positions between them, without overlap
    r0 = list(StepSampler(10, batch_size=1, start_step=0, total_steps=5, seed=4, rank=0, world_size=2))
    r1 = list(StepSampler(10, batch_size=1, start_step=0, total_steps=5, seed=4, rank=1, world_size=2))
    assert sorted(i for i, _ in r0 + r1) == list(range(10))
    single = list(StepSampler(10, batch_size=2, start_step=0, total_steps=5, seed=4))
    assert [s for pair in zip(r0, r1) for s in pair] == single
    with pytest.raises(ValueError, match="empty"):
        StepSampler(0, batch_size=1, start_step=0, total_steps=1)


def test_repeat_factors_draw_a_rare_part_more_often(synthetic_cache):
    records = load_records([synthetic_cache.root])
    # faces only in the first of the six images; hands (0.8) and bodies in all
    records = [(c, r) if i == 0 else (c, dataclasses.replace(whole, pseudo_gt=assemble(
        whole.detections[Part.BODY], whole.detections[Part.HAND][:1], [], image_size=r.image_size, backend="experts")))
        for i, (c, r) in enumerate(records) for whole in [labels_of(r)]]   # stored records and records in memory mixed
    factors = repeat_factors(records, parts=list(Part), hard_threshold=0.5, threshold=0.6)
    assert factors == pytest.approx([np.sqrt(0.6 * 6)] + [1.0] * 5)
    assert repeat_factors(records, parts=list(Part), hard_threshold=0.5, threshold=0.0).tolist() == [1.0] * 6
    # the hands are under a threshold of 0.95: a part no image shows changes nothing
    assert repeat_factors(records, parts=[Part.HAND], hard_threshold=0.95, threshold=0.6).tolist() == [1.0] * 6
    with pytest.raises(ValueError, match="threshold"):
        repeat_factors(records, parts=list(Part), hard_threshold=0.5, threshold=1.5)


def test_sampler_with_repeat_factors():
    factors = [1.0, 1.0, 1.0, 2.5]
    full = list(StepSampler(4, batch_size=2, start_step=0, total_steps=500, seed=3, repeat_factors=factors))
    counts = np.bincount([i for i, _ in full], minlength=4)
    # record 3 is drawn 2.5 times as often as each other record (2 or 3 times per epoch)
    assert counts[3] / counts[:3].mean() == pytest.approx(2.5, rel=0.1)
    resumed = list(StepSampler(4, batch_size=2, start_step=123, total_steps=500, seed=3, repeat_factors=factors))
    assert resumed == full[246:]
    r0 = list(StepSampler(4, batch_size=1, start_step=0, total_steps=50, seed=3, rank=0, world_size=2,
                          repeat_factors=factors))
    r1 = list(StepSampler(4, batch_size=1, start_step=0, total_steps=50, seed=3, rank=1, world_size=2,
                          repeat_factors=factors))
    assert [s for pair in zip(r0, r1) for s in pair] == full[:100]
    # factors of 1 are the plain sampler's stream
    assert list(StepSampler(4, batch_size=2, start_step=0, total_steps=20, seed=3, repeat_factors=[1.0] * 4)) == \
        list(StepSampler(4, batch_size=2, start_step=0, total_steps=20, seed=3))
    with pytest.raises(ValueError, match="repeat_factors"):
        StepSampler(4, batch_size=1, start_step=0, total_steps=1, repeat_factors=[1.0, 0.5, 1.0, 1.0])


def test_dataset_items_and_unreadable_images(synthetic_cache):
    records = load_records([synthetic_cache.root])
    train, val = split_records(records, val_fraction=0.34, seed=0)
    assert len(train) + len(val) == 6 and len(val) == 2
    assert not {r.key for _, r in train} & {r.key for _, r in val}
    ds = PseudoLabelDataset(train, mode="distillation", max_size=64, scale_jitter=(1.0, 1.0), flip=True)
    image, targets, key = ds[0]
    assert image.shape == (3, 48, 64) and image.dtype == torch.uint8 and int(image.max()) > 0
    assert key == train[0][1].key
    assert targets["hand"]["scores"].tolist() == pytest.approx([0.8, 0.3])      # both hands, soft scores
    assert targets["body"]["pose2d"].shape == (1, 13, 2)
    # boxes shrink with the image (128 -> 64 px wide): half of the cache's pixels
    src = labels_of(train[0][1]).detections[Part.BODY][0].box
    np.testing.assert_allclose(targets["body"]["boxes"][0], np.asarray(src) / 2, atol=1e-4)
    # an augmentation seed decides the flip: the same seed gives the same sample
    a, b = ds[(0, 123)], ds[(0, 123)]
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1]["body"]["pose2d"], b[1]["body"]["pose2d"])
    flips = {bool(torch.equal(ds[(0, s)][0], image)) for s in range(8)}
    assert flips == {True, False}                                                 # some seeds flip, some not
    hard = PseudoLabelDataset(train, mode="hard", max_size=64, scale_jitter=(1.0, 1.0), flip=False)
    assert hard[0][1]["hand"]["scores"].tolist() == [1.0]                           # the 0.3 hand is not pseudo GT
    synthetic_cache.image_path(train[1][1]).unlink()
    assert ds[1] is None
    images, tgts, keys, dropped = collate([ds[0], ds[1]])
    assert len(images) == len(tgts) == len(keys) == 1 and dropped == 1


def test_model_inputs_turn_a_batch_into_float_images_and_target_tensors(synthetic_cache):
    train, _ = split_records(load_records([synthetic_cache.root]), val_fraction=0.0, seed=0)
    ds = PseudoLabelDataset(train, mode="distillation", max_size=64, scale_jitter=(1.0, 1.0), flip=False)
    images, targets, _, _ = collate([ds[0], ds[1], ds[2]])
    floats, tensors = model_inputs(images, targets, torch.device("cpu"))
    for image, f in zip(images, floats):
        assert f.dtype == torch.float32 and f.shape == image.shape
        torch.testing.assert_close(f, image.float() / 255.0, rtol=0, atol=0)
    assert image.dtype == torch.uint8                                   # the batch's own images are unchanged
    for arrays, t in zip(targets, tensors):
        assert set(t) == set(arrays)
        for part in arrays:
            assert set(t[part]) == {"boxes", "pose2d", "pose3d", "scores"}
            for name, a in arrays[part].items():
                assert t[part][name].dtype == torch.float32 and tuple(t[part][name].shape) == a.shape
                np.testing.assert_array_equal(t[part][name].numpy(), a)
    empty = {"boxes": np.zeros((0, 4), np.float32), "pose2d": np.zeros((0, 84, 2), np.float32),
             "pose3d": np.zeros((0, 84, 3), np.float32), "scores": np.zeros(0, np.float32)}
    _, (only_empty,) = model_inputs(images[:1], [{"face": empty}], torch.device("cpu"))
    assert {k: tuple(v.shape) for k, v in only_empty["face"].items()} == {k: v.shape for k, v in empty.items()}
    assert model_inputs([], [], torch.device("cpu")) == ([], [])


def test_split_by_video_holds_out_whole_sources(synthetic_cache):
    from dope_core.pseudo_labels.cache import LabelRecord
    from dope_core.pseudo_labels.sources import source_of

    assert source_of("video__clip-0123456789__f000015") == "video__clip-0123456789"
    assert source_of("video__clip-0123456789__f000015__crop-hand2") == "video__clip-0123456789"
    assert source_of("photos__a-0123456789__crop-face0") == "photos__a-0123456789" == source_of("photos__a-0123456789")
    base = load_records([synthetic_cache.root])[0]
    keys = [f"v__clip{v}-012345678{v}__f{f:06d}" for v in range(4) for f in range(0, 50, 5)]
    keys += [f"p__photo{i}-aaaaaaaaa{i}" for i in range(5)] + ["p__photo0-aaaaaaaaa0__crop-face0"]
    records = [(base[0], LabelRecord(k, "x.jpg", (4, 4), "ok")) for k in keys]
    train, val = split_records(records, val_fraction=0.2, seed=0, by="by_video")
    seen = {source_of(r.key) for _, r in train}
    held = {source_of(r.key) for _, r in val}
    assert not seen & held and len(train) + len(val) == len(records) and val
    assert len(val) >= round(0.2 * len(records))
    assert split_records(records, val_fraction=0.2, seed=0, by="by_video") == (train, val)   # deterministic
    _, named = split_records(records, val_fraction=0.0, seed=0, by="by_video", val_sources=["v__clip1-*", "p__photo0-*"])
    assert sorted({source_of(r.key) for _, r in named}) == ["p__photo0-aaaaaaaaa0", "v__clip1-0123456781"]
    assert len(named) == 10 + 2                                             # the video's frames, the photo and its crop
    with pytest.raises(ValueError, match=r"\[.nothing\*.\] match no source"):
        split_records(records, val_fraction=0.0, seed=0, by="by_video", val_sources=["nothing*"])
    with pytest.raises(ValueError, match="by_video"):
        split_records(records, val_fraction=0.1, seed=0, val_sources=["v*"])


def test_the_training_set_keeps_its_labels_on_disk(synthetic_cache, caplog):
    """load_records keeps what selecting and splitting need (a few hundred bytes a record, not the ~17 KB of
    the labels: a hundred thousand video frames would be 2 GB, and again in each loader worker); the
    labels read back are the cache's, and a record changed on disk during a run skips its sample."""
    import gc
    import logging
    import tracemalloc

    from dope_core.pseudo_labels.cache import LabelCache

    cache = LabelCache(synthetic_cache.root)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        records = load_records([synthetic_cache.root])
        stored = tracemalloc.get_traced_memory()[0] - before
        whole = [cache.read(r.key) for _, r in records]
        in_memory = tracemalloc.get_traced_memory()[0] - before - stored
    finally:
        tracemalloc.stop()
    assert stored < in_memory / 4, (stored, in_memory)
    assert [labels_of(r) for _, r in records] == whole
    assert not hasattr(records[0][1], "pseudo_gt") and not hasattr(records[0][1], "detections")   # on disk

    ds = PseudoLabelDataset(records, max_size=64, scale_jitter=(1.0, 1.0), flip=False)
    assert ds[0] is not None
    records[0][1].path.write_text("{ cut")   # labelled anew into the same cache, say
    with caplog.at_level(logging.WARNING):
        assert ds[0] is None
    assert f"skipping {records[0][1].key}" in caplog.text and "damaged" in caplog.text
