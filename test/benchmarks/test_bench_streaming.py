"""benchmarks/bench_streaming.py: pairing the two modes' parts and telling a second pass from a lost person."""

from __future__ import annotations

import numpy as np
import pytest
from script_loader import load_script

from dope_core.keypoints import Part
from dope_core.structures import PartPose


@pytest.fixture(scope="module")
def script():
    return load_script("bench_streaming")


def body(x1: float, y1: float, x2: float, y2: float, shift: float = 0.0) -> PartPose:
    """A body in the box (pixels) whose 13 joints spread over it, moved right by ``shift`` pixels."""
    kp = np.stack([np.linspace(x1, x2, 13), np.linspace(y1, y2, 13)], axis=1) + [shift, 0.0]
    return PartPose(part=Part.BODY, score=1.0, box=np.array([x1, y1, x2, y2], float), keypoints_2d=kp,
                    keypoints_3d=np.zeros((13, 3)), confidence=np.ones(13))


def frame(bodies: list) -> dict:
    return {Part.BODY: bodies, Part.HAND: [], Part.FACE: []}


def test_pairs_by_box_overlap_each_part_once(script):
    a = [body(0, 0, 100, 200), body(300, 0, 400, 200)]
    b = [body(305, 0, 405, 200), body(2, 0, 102, 200), body(0, 0, 100, 200)]
    assert sorted(script.match(a, b)) == [(0, 2), (1, 0)]
    assert script.match(a, []) == []


def test_second_passes_and_lost_people_are_told_apart(script):
    person, beside = body(0, 0, 100, 200), body(300, 0, 400, 200)
    # Per frame: the person, a second pass over the person (legs stretched below), and someone
    # streaming has no body for; streaming: the person and a body nobody per frame has.
    per_frame = frame([person, body(10, 50, 110, 390), beside])
    streaming = frame([body(0, 0, 100, 200, shift=4.0), body(600, 0, 700, 200)])
    acc = {p: {"correct": 0, "keypoints": 0, "pairs": 0, "per_frame": 0, "streaming": 0} for p in Part}
    only = {"per_frame": 0, "streaming": 0, "per_frame_nobody_there": 0, "streaming_nobody_there": 0}
    script._agreement_of(per_frame, streaming, acc, only, "streaming")
    assert only == {"per_frame": 2, "streaming": 1, "per_frame_nobody_there": 1, "streaming_nobody_there": 1}
    # 4 px off on a 200-px body: within 0.1 of its side, every joint agrees.
    assert acc[Part.BODY]["pairs"] == 1 and acc[Part.BODY]["correct"] == 13 == acc[Part.BODY]["keypoints"]


def test_nobody_there_counts_only_the_unmatched(script):
    bodies = [body(0, 0, 100, 200), body(300, 0, 400, 200)]
    assert script.nobody_there(bodies, [], {0, 1}) == 2
    assert script.nobody_there(bodies, [body(0, 0, 100, 200)], {0, 1}) == 1
    assert script.nobody_there(bodies, [body(0, 0, 100, 200)], set()) == 0
