"""PersonTracker on hand-made sequences of boxes."""

import numpy as np
import pytest

from dope_core.keypoints import Part
from dope_core.structures import PartPose, Person, WholeBodyPoses
from dope_core.tracking import PersonTracker


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
    tracker = PersonTracker()
    assert _ids(tracker.update(_frame([0, 0, 100, 300], [300, 0, 400, 300]))) == [0, 1]
    for dx in range(10, 60, 10):   # 10 px per frame, listed in the other order
        assert _ids(tracker.update(_frame([300 - dx, 0, 400 - dx, 300], [dx, 0, 100 + dx, 300]))) == [1, 0]
    assert tracker.active_tracks == 2 and tracker.tracks_started == 2


def test_a_person_missing_for_a_few_frames_keeps_the_id_then_it_is_retired():
    tracker = PersonTracker(max_missed=2)
    tracker.update(_frame([0, 0, 100, 300]))
    tracker.update(_frame())
    tracker.update(_frame())
    assert _ids(tracker.update(_frame([5, 0, 105, 300]))) == [0]     # missed 2 frames: same id
    for _ in range(3):
        tracker.update(_frame())
    assert _ids(tracker.update(_frame([5, 0, 105, 300]))) == [1]     # missed 3: a new id, never reused
    assert tracker.active_tracks == 1


def test_overlap_below_the_threshold_starts_a_new_track():
    tracker = PersonTracker(iou_threshold=0.5)
    tracker.update(_frame([0, 0, 100, 100]))
    # IoU of [0,0,100,100] and [50,0,150,100] = 5000 / 15000 = 1/3 < 0.5
    assert _ids(tracker.update(_frame([50, 0, 150, 100]))) == [1]


def test_best_overlap_wins_when_two_people_claim_one_track():
    tracker = PersonTracker()
    tracker.update(_frame([0, 0, 100, 100]))
    # IoU 0.9 with [0,0,90,100] ... vs 0.43 with [40,0,140,100]: the closer one continues the track.
    assert _ids(tracker.update(_frame([40, 0, 140, 100], [0, 0, 90, 100]))) == [1, 0]


def test_a_face_holds_the_track_while_the_body_is_lost():
    tracker = PersonTracker()
    body_and_face = WholeBodyPoses(image_size=(640, 480), people=[
        Person(id=0, score=0.9, body=_part(Part.BODY, [0, 0, 100, 300]), face=_part(Part.FACE, [30, 0, 60, 30]))])
    tracker.update(body_and_face)
    assert _ids(tracker.update(_frame(("face", [32, 1, 62, 31])))) == [0]
    assert _ids(tracker.update(body_and_face)) == [0]


def test_poses_are_copied_and_reset_starts_over():
    tracker = PersonTracker()
    frame = _frame([0, 0, 100, 300])
    tracked = tracker.update(frame)
    assert frame.people[0].track_id is None and tracked.people[0].track_id == 0
    assert tracked.people[0].body is frame.people[0].body and tracked.image_size == frame.image_size
    tracker.reset()
    assert tracker.active_tracks == 0 and _ids(tracker.update(_frame([200, 0, 300, 300]))) == [0]


@pytest.mark.parametrize("kwargs", [{"iou_threshold": 1.5}, {"iou_threshold": -0.1}, {"max_missed": -1}])
def test_invalid_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        PersonTracker(**kwargs)
