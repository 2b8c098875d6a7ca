"""PersonTracker, TrackRegistry and TrackIdAllocator on hand-made sequences of boxes and stamps."""

import numpy as np
import pytest

from dope_core.keypoints import Part
from dope_core.structures import PartPose, Person, WholeBodyPoses
from dope_core.structures import TrackState
from dope_core.tracking import MAX_SESSION, SESSION_BLOCK, PersonTracker, TrackIdAllocator, TrackRegistry


def _part(part: Part, box) -> PartPose:
    j = part.num_keypoints
    return PartPose(part=part, score=0.9, box=np.array(box, float), keypoints_2d=np.zeros((j, 2)),
                    keypoints_3d=np.zeros((j, 3)), confidence=np.ones(j))


def _frame(*people) -> WholeBodyPoses:
    """People given as body boxes, or as ``("face", box)`` for a face-only person."""
    out = []
    for i, p in enumerate(people):
        if p[0] == "face":
            out.append(Person(id=i, score=0.9, face=_part(Part.FACE, p[1])))
        else:
            out.append(Person(id=i, score=0.9, body=_part(Part.BODY, p)))
    return WholeBodyPoses(image_size=(640, 480), people=out)


def _ids(poses: WholeBodyPoses) -> list[int]:
    return [p.track_id for p in poses.people]


def test_two_walkers_keep_their_ids_whatever_the_order():
    tracker = PersonTracker(session=0)
    assert _ids(tracker.update(_frame([0, 0, 100, 300], [300, 0, 400, 300]))) == [0, 1]
    for dx in range(10, 60, 10):   # 10 px per frame, listed in the other order
        assert _ids(tracker.update(_frame([300 - dx, 0, 400 - dx, 300], [dx, 0, 100 + dx, 300]))) == [1, 0]
    assert tracker.active_tracks == 2 and tracker.tracks_started == 2


def test_a_person_missing_for_less_than_the_timeout_keeps_the_id_then_it_is_retired():
    tracker = PersonTracker(timeout_s=0.5, session=0)
    tracker.update(_frame([0, 0, 100, 300]), stamp=10.0)
    tracker.update(_frame(), stamp=10.2)
    tracker.update(_frame(), stamp=10.4)
    assert _ids(tracker.update(_frame([5, 0, 105, 300]), stamp=10.5)) == [0]   # unseen 0.5 s: same id
    out = tracker.update(_frame(), stamp=11.01)                                # unseen 0.51 s: lost
    assert out.lost_track_ids == [0] and tracker.active_tracks == 0
    assert _ids(tracker.update(_frame([5, 0, 105, 300]), stamp=11.02)) == [1]  # a new id, never reused
    assert tracker.active_tracks == 1


def test_the_timeout_is_in_seconds_whatever_the_frame_rate():
    for fps in (2.0, 30.0):
        tracker = PersonTracker(timeout_s=1.0, session=0)
        tracker.update(_frame([0, 0, 100, 300]), stamp=0.0)
        n = 0
        while not tracker.update(_frame(), stamp=(n + 1) / fps).lost_track_ids:
            n += 1
        assert (n + 1) / fps == pytest.approx(1.0 + 1.0 / fps)   # lost at the first frame past 1 s


def test_states_new_tracked_predicted_lost():
    tracker = PersonTracker(timeout_s=0.3, predict_s=0.1, session=0)
    states = lambda out: [(p.track_id, p.track_state) for p in out.people]  # noqa: E731
    assert states(tracker.update(_frame([0, 0, 100, 300]), stamp=0.0)) == [(0, TrackState.NEW)]
    assert states(tracker.update(_frame([2, 0, 102, 300]), stamp=0.05)) == [(0, TrackState.TRACKED)]
    out = tracker.update(_frame(), stamp=0.1)   # a 0.05 s gap: reported as predicted, holding its last pose
    assert states(out) == [(0, TrackState.PREDICTED)]
    assert out.people[0].body.box.tolist() == [2, 0, 102, 300]
    out = tracker.update(_frame(), stamp=0.2)   # 0.15 s: alive but not reported
    assert states(out) == [] and tracker.active_tracks == 1 and out.lost_track_ids == []
    assert tracker.update(_frame(), stamp=0.4).lost_track_ids == [0]


def test_a_stamp_going_backwards_forgets_the_tracks_but_not_the_ids():
    tracker = PersonTracker(session=0)
    tracker.update(_frame([0, 0, 100, 300]), stamp=5.0)
    out = tracker.update(_frame([0, 0, 100, 300]), stamp=1.0)   # a bag that loops
    assert _ids(out) == [1] and out.people[0].track_state is TrackState.NEW and out.lost_track_ids == [0]
    assert tracker.resets == 1


def test_ids_do_not_repeat_across_sessions():
    a = TrackIdAllocator()
    assert 1 <= a.session <= MAX_SESSION and a.next() == a.session * SESSION_BLOCK
    sessions = {TrackIdAllocator().session for _ in range(50)}
    assert len(sessions) > 40
    assert [TrackIdAllocator(session=0).next() for _ in range(2)] == [0, 0]
    zero = TrackIdAllocator(session=0)
    assert [zero.next(), zero.next()] == [0, 1] and zero.issued == 2
    assert TrackIdAllocator(session=MAX_SESSION).next() + SESSION_BLOCK - 1 < 2**31
    with pytest.raises(ValueError):
        TrackIdAllocator(session=MAX_SESSION + 1)


def test_registry_alone_for_other_matchers():
    reg = TrackRegistry(timeout_s=1.0, predict_s=0.5, ids=TrackIdAllocator(session=3))
    assert reg.advance(0.0) == []
    t = reg.start()
    assert t == 3 * SESSION_BLOCK and reg.state(t) is TrackState.NEW
    reg.advance(0.4)
    assert reg.state(t) is TrackState.PREDICTED and reg.unseen_for(t) == pytest.approx(0.4)
    reg.seen(t)
    assert reg.state(t) is TrackState.TRACKED
    reg.advance(1.0)
    assert reg.state(t) is TrackState.UNSEEN
    assert reg.advance(1.5) == [t] and reg.state(t) is TrackState.LOST
    with pytest.raises(ValueError):
        reg.advance(float("nan"))


def test_overlap_below_the_threshold_starts_a_new_track():
    tracker = PersonTracker(iou_threshold=0.5, session=0)
    tracker.update(_frame([0, 0, 100, 100]))
    # IoU of [0,0,100,100] and [50,0,150,100] = 5000 / 15000 = 1/3 < 0.5
    assert _ids(tracker.update(_frame([50, 0, 150, 100]))) == [1]


def test_best_overlap_wins_when_two_people_claim_one_track():
    tracker = PersonTracker(session=0)
    tracker.update(_frame([0, 0, 100, 100]))
    # IoU 0.9 with [0,0,90,100] ... vs 0.43 with [40,0,140,100]: the closer one continues the track.
    assert _ids(tracker.update(_frame([40, 0, 140, 100], [0, 0, 90, 100]))) == [1, 0]


def test_a_face_holds_the_track_while_the_body_is_lost():
    tracker = PersonTracker(session=0)
    body_and_face = WholeBodyPoses(image_size=(640, 480), people=[
        Person(id=0, score=0.9, body=_part(Part.BODY, [0, 0, 100, 300]), face=_part(Part.FACE, [30, 0, 60, 30]))])
    tracker.update(body_and_face)
    assert _ids(tracker.update(_frame(("face", [32, 1, 62, 31])))) == [0]
    assert _ids(tracker.update(body_and_face)) == [0]


def test_poses_are_copied_and_reset_forgets_the_tracks():
    tracker = PersonTracker(session=0)
    frame = _frame([0, 0, 100, 300])
    tracked = tracker.update(frame)
    assert frame.people[0].track_id is None and tracked.people[0].track_id == 0
    assert tracked.people[0].body is frame.people[0].body and tracked.image_size == frame.image_size
    tracker.reset()
    assert tracker.active_tracks == 0 and _ids(tracker.update(_frame([200, 0, 300, 300]))) == [1]


@pytest.mark.parametrize("kwargs", [{"iou_threshold": 1.5}, {"iou_threshold": -0.1}, {"timeout_s": -1.0},
                                    {"timeout_s": 1.0, "predict_s": 2.0}])
def test_invalid_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        PersonTracker(**kwargs)


def test_people_that_arrive_with_an_id_keep_it():
    tracker = PersonTracker(session=0)
    given = tracker.registry.ids.next()                  # an id drawn by a streaming estimator
    frame = _frame([0, 0, 100, 300], [300, 0, 400, 300])
    frame.people[1] = Person(id=1, score=0.9, body=frame.people[1].body, track_id=given)
    first = tracker.update(frame)
    assert _ids(first) == [1, 0] and [p.track_state for p in first.people] == [TrackState.NEW] * 2
    # The given id wins over box overlap: the region-tracked person moved onto the other's box.
    moved = _frame([0, 0, 100, 300], [5, 0, 105, 300])
    moved.people[1] = Person(id=1, score=0.9, body=moved.people[1].body, track_id=given)
    second = tracker.update(moved)
    assert _ids(second) == [1, 0] and second.people[1].track_state is TrackState.TRACKED
    assert tracker.tracks_started == 2



def test_a_track_continued_by_its_given_id_is_not_also_matched_by_overlap() -> None:
    """A person without an id who now overlaps the box of a track that another person continues by its given
    id more (IoU 0.38) than his own track (0.29) keeps his own id: one track, one person, no duplicate id."""
    tracker = PersonTracker(session=0, iou_threshold=0.2)
    given = tracker.registry.ids.next()

    def frame(box: list[float], given_box: list[float]) -> WholeBodyPoses:
        poses = _frame(box, given_box)
        poses.people[1] = Person(id=1, score=0.9, body=poses.people[1].body, track_id=given)
        return poses

    own = _ids(tracker.update(frame([0, 0, 100, 300], [100, 0, 200, 300])))[0]
    assert own != given
    second = tracker.update(frame([55, 0, 155, 300], [400, 0, 500, 300]))   # the given person moved away
    assert _ids(second) == [own, given]
    assert [p.track_state for p in second.people] == [TrackState.TRACKED] * 2

def test_a_camera_that_changes_its_resolution_ends_the_tracks():
    """Boxes of the old frame size must not match, nor be reported as predicted people, in the new one."""
    import dataclasses

    tracker = PersonTracker(predict_s=0.2, session=0)
    big = dataclasses.replace(_frame([1384, 592, 1622, 1014]), image_size=(1920, 1080))
    tracker.update(big, stamp=0.0)
    tracker.update(big, stamp=0.033)
    out = tracker.update(_frame([100, 100, 200, 400]), stamp=0.066)   # 640x480 now
    assert _ids(out) == [1] and out.lost_track_ids == [0]
    assert all(p.track_state is not TrackState.PREDICTED for p in out.people)
    assert tracker.active_tracks == 1


def test_a_track_unseen_for_exactly_predict_s_is_still_predicted() -> None:
    """PREDICTED while unseen for at most predict_s, UNSEEN after (until the timeout)."""
    reg = TrackRegistry(timeout_s=1.0, predict_s=0.25, ids=TrackIdAllocator(0))
    reg.advance(10.0)
    tid = reg.start()
    reg.advance(10.25)
    assert reg.state(tid) is TrackState.PREDICTED
    reg.advance(10.5)
    assert reg.state(tid) is TrackState.UNSEEN


def test_a_repeated_stamp_is_not_a_stamp_going_backwards() -> None:
    """Only an *earlier* stamp forgets the tracks: the same stamp again keeps them and counts no reset."""
    reg = TrackRegistry(timeout_s=1.0, predict_s=0.0, ids=TrackIdAllocator(0))
    reg.advance(3.0)
    tid = reg.start()
    assert reg.advance(3.0) == [] and reg.active == [tid] and reg.resets == 0


def test_an_overlap_exactly_at_the_threshold_continues_the_track() -> None:
    """iou_threshold is the smallest IoU that continues a track (IoU 0.5 at threshold 0.5 keeps the id)."""
    tracker = PersonTracker(iou_threshold=0.5, session=0)
    first = _ids(tracker.update(_frame([0, 0, 100, 100]), stamp=0.0))
    assert _ids(tracker.update(_frame([0, 0, 100, 50]), stamp=0.1)) == first   # IoU = 5000 / 10000
