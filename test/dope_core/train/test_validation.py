"""dope_core/train/validation.py: which held-out records a capped validation uses."""

from __future__ import annotations

from dope_core.train.validation import spread


def test_spread_covers_every_held_out_video():
    # Held-out records come sorted by video: 3 videos of 40 frames each.
    records = [f"video{v}__f{i:03d}" for v in range(3) for i in range(40)]
    picked = spread(records, 12)
    assert len(picked) == 12 and picked[0] == records[0] and picked[-1] == records[-1]
    assert {r.split("__")[0] for r in picked} == {"video0", "video1", "video2"}
    assert [records.index(r) for r in picked] == sorted(records.index(r) for r in picked)   # order kept


def test_spread_keeps_all_when_fewer_and_none_for_zero():
    assert spread(["a", "b"], 5) == ["a", "b"]
    assert spread(["a", "b"], 0) == []
    assert spread([], 3) == []


def test_agreement_is_split_between_whole_images_and_crops(tmp_path):
    """``by_kind`` scores whole images and close-up crops apart (the crop mark in the key decides), and
    the totals are over both: a stand-in student that repeats the experts on whole images and finds
    nothing on crops agrees fully on the first and not at all on the second."""
    import dataclasses

    import cv2

    from dope_core.image_io import read_bgr
    from dope_core.keypoints import Part
    from dope_core.pseudo_labels.cache import labels_of
    from dope_core.pseudo_labels.crops import CROP_MARK
    from dope_core.structures import WholeBodyPoses
    from dope_core.train.validation import agreement_with_experts, item_kind
    from train_fixtures import make_synthetic_cache

    cache = make_synthetic_cache(tmp_path / "labels", n=4)
    for i in (2, 3):   # two of the images become crops of the first ones
        record = cache.read(f"im{i}")
        cache.record_path(record.key).unlink()
        cache.write(dataclasses.replace(record, key=f"im{i - 2}{CROP_MARK}body0"))
    records = [(cache, r) for r in cache.stored_records()]
    assert sorted(item_kind(r.key) for _, r in records) == ["crops", "crops", "whole", "whole"]
    answers = {}
    for _, r in records:
        r = labels_of(r)
        image = cv2.cvtColor(read_bgr(cache.image_path(r)), cv2.COLOR_BGR2RGB).tobytes()
        answers[image] = r.pseudo_gt if item_kind(r.key) == "whole" else WholeBodyPoses(image_size=r.image_size)

    class Repeater:
        parts = tuple(Part)

        def __call__(self, image):
            return answers[image.tobytes()]

    out = agreement_with_experts(Repeater(), records, alpha=0.1, hard_threshold=0.5, max_images=100)
    whole, crops = out["by_kind"]["whole"], out["by_kind"]["crops"]
    assert out["images"] == 4 and whole["images"] == 2 and crops["images"] == 2
    for part in ("body", "hand", "face"):
        assert whole["parts"][part]["pck"] == 1.0 and whole["parts"][part]["recall"] == 1.0
        assert crops["parts"][part]["pck"] == 0.0 and crops["parts"][part]["students"] == 0
        assert out["parts"][part]["pck"] == 0.5
        assert out["parts"][part]["teachers"] == whole["parts"][part]["teachers"] + crops["parts"][part]["teachers"]
