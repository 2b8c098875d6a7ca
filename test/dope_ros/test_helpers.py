"""Pure helpers of the node: warning throttle, score filter, statistics."""

from __future__ import annotations

import numpy as np

from dope_core.keypoints import Part
from dope_core.structures import PartPose, Person, WholeBodyPoses
from dope_ros.score_filter import filter_by_score
from dope_ros.stats import NodeStats
from dope_ros.throttle import WarningThrottle


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_throttle_per_category_and_suppressed_count():
    clock = FakeClock()
    th = WarningThrottle(period_s=5.0, clock=clock)
    assert th.allow("a") and th.allow("b")
    assert not th.allow("a") and not th.allow("a")
    clock.t += 5.0
    assert th.allow("a") and th.take_suppressed("a") == 2 and th.take_suppressed("a") == 0


def _pose(part: Part, score: float) -> PartPose:
    j = part.num_keypoints
    return PartPose(part=part, score=score, box=np.zeros(4), keypoints_2d=np.zeros((j, 2)),
                    keypoints_3d=np.zeros((j, 3)), confidence=np.ones(j))


def test_filter_by_score():
    poses = WholeBodyPoses(image_size=(4, 4), people=[
        Person(id=0, score=0.9, track_id=5, body=_pose(Part.BODY, 0.9), face=_pose(Part.FACE, 0.2)),
        Person(id=1, score=0.1, body=_pose(Part.BODY, 0.1)),
    ], unassigned=[_pose(Part.HAND, 0.6), _pose(Part.HAND, 0.4)])
    out = filter_by_score(poses, {Part.BODY: 0.5, Part.FACE: 0.5, Part.HAND: 0.5})
    assert [p.id for p in out.people] == [0] and out.people[0].face is None and out.people[0].track_id == 5
    assert [p.score for p in out.unassigned] == [0.6]
    assert len(poses.people) == 2  # input untouched


def test_stats_window():
    clock = FakeClock()
    s = NodeStats(window_s=2.0, window=2, clock=clock)
    assert s.mean_latency_ms() == 0
    s.record_processed(0.2, 0.1)
    clock.t += 1.0
    s.record_processed(0.4, 0.3)
    assert abs(s.mean_latency_ms() - 300) < 1e-9 and abs(s.mean_inference_ms() - 200) < 1e-9
    clock.t += 1.5
    assert abs(s.mean_latency_ms() - 400) < 1e-9 and s.processed == 2
    s.count_bad("bad_image")
    s.count_bad("bad_image")
    assert s.bad_input["bad_image"] == 2 and s.bad_input["other"] == 0
    values = s.bad.update().values
    assert values["bad_image_recent"] == "2" and values["inference_error"] == "0"


def test_notices_are_counted_apart_from_bad_input():
    s = NodeStats()
    s.count_notice("unstamped_image")
    s.count_notice("unstamped_image")
    s.count_notice("empty_frame_id")
    assert s.notice_counts() == {"empty_frame_id": 1, "unstamped_image": 2}
    from dope_ros.health import Level

    assert sum(s.bad_input.values()) == 0 and s.bad.update().level == Level.OK


def test_a_part_scoring_exactly_the_threshold_is_kept() -> None:
    """filter_by_score drops parts scoring *below* the threshold only."""
    poses = WholeBodyPoses(image_size=(4, 4), people=[Person(id=0, score=0.5, body=_pose(Part.BODY, 0.5))],
                           unassigned=[_pose(Part.HAND, 0.25)])
    out = filter_by_score(poses, {Part.BODY: 0.5, Part.HAND: 0.25})
    assert out.people[0].body is not None and len(out.unassigned) == 1
