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
