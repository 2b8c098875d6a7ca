"""TeleopPipeline (frames, smoothing, grasp) and OperatorSelector on synthetic streams."""

import numpy as np
import pytest

from dope_core.grasp import INDEX_TIP, PinchThresholds, THUMB_TIP
from dope_core.smoothing import SmoothingConfig
from dope_core.structures import Person, TrackState, WholeBodyPoses
from dope_core.teleop import OperatorSelector, TeleopPipeline, camera_pose
from test_part_frames import _hand   # noqa: E402  (synthetic hands with a known frame)


def _person(track_id, box, *, z=None, gap=0.08, state=TrackState.TRACKED):
    hand = _hand(np.eye(3), left=False)
    hand.keypoints_3d[INDEX_TIP] = hand.keypoints_3d[THUMB_TIP] + [0, gap, 0]
    hand.box = np.array(box, float)
    if z is not None:
        hand.root_camera = np.array([0.0, 0.0, z])
    return Person(id=0, score=1, right_hand=hand, track_id=track_id, track_state=state)


def test_pipeline_adds_frames_grasp_and_velocity():
    pipe = TeleopPipeline(smoothing=SmoothingConfig(), pinch=PinchThresholds(close_below=0.3, open_above=0.45))
    for i, gap in enumerate([0.08, 0.02, 0.035, 0.05]):
        out = pipe(WholeBodyPoses(image_size=(10, 10), people=[_person(3, [0, 0, 5, 5], z=1.0, gap=gap)]), i / 30)
    hand = out.people[0].right_hand
    assert hand.frame.quaternion is not None and np.allclose(hand.velocity, 0, atol=1e-9)
    assert hand.grasp is not None and hand.grasp.pinch is False   # 0.05 / 0.09 > 0.45: released
    position, q = camera_pose(hand)
    assert np.allclose(position, [0, 0, 1.0]) and np.allclose(q, [0, 0, 0, 1])
    pinch = [pipe(WholeBodyPoses(image_size=(10, 10), people=[_person(3, [0, 0, 5, 5], gap=g)]), 1 + i / 30)
             .people[0].right_hand.grasp.pinch for i, g in enumerate([0.02, 0.035])]
    assert pinch == [True, True]   # hysteresis across frames of the same track
    raw = TeleopPipeline(smoothing=None)(WholeBodyPoses(image_size=(10, 10), people=[_person(3, [0, 0, 5, 5])]), 0.0)
    assert raw.people[0].right_hand.velocity is None and raw.people[0].right_hand.frame is not None


def _poses(*people, lost=()):
    return WholeBodyPoses(image_size=(640, 480), people=list(people), lost_track_ids=list(lost))


def test_operator_sticks_to_the_chosen_track_until_it_is_lost():
    sel = OperatorSelector("largest")
    assert sel.select(_poses(_person(1, [0, 0, 50, 50]), _person(2, [0, 0, 20, 20]))).track_id == 1
    # someone larger walks in: no jump
    assert sel.select(_poses(_person(1, [0, 0, 50, 50]), _person(2, [0, 0, 90, 90]))).track_id == 1
    assert sel.select(_poses(_person(2, [0, 0, 90, 90]))) is None          # 1 unseen, not lost: nobody this frame
    assert sel.select(_poses(_person(2, [0, 0, 90, 90]), lost=[1])).track_id == 2
    assert sel.switches == 2


def test_operator_modes():
    people = (_person(1, [0, 0, 90, 90], z=3.0), _person(2, [0, 0, 20, 20], z=1.0))
    assert OperatorSelector("closest").select(_poses(*people)).track_id == 2
    assert OperatorSelector("track_id", track_id=1).select(_poses(*people)).track_id == 1
    assert OperatorSelector("track_id", track_id=7).select(_poses(*people)) is None
    assert OperatorSelector("none").select(_poses(*people)) is None
    only = OperatorSelector("largest").only(_poses(*people))
    assert [p.track_id for p in only.people] == [1] and only.unassigned == []
    untracked = Person(id=0, score=1, body=None, right_hand=people[0].right_hand)
    assert OperatorSelector("largest").select(_poses(untracked)) is None
    with pytest.raises(ValueError):
        OperatorSelector("tallest")


def test_a_stamp_that_is_not_finite_is_refused_and_changes_nothing():
    import math

    from dope_core.smoothing import PoseSmoother
    from dope_core.teleop import TeleopPipeline

    person = Person(id=0, score=0.9, track_id=1, right_hand=_hand(np.eye(3), left=False))
    frame = WholeBodyPoses(image_size=(640, 480), people=[person])
    for update in (PoseSmoother().update, TeleopPipeline()):
        update(frame, 10.0)
        with pytest.raises(ValueError, match="stamp must be finite"):
            update(frame, math.nan)
        after = update(frame, 10.033).people[0].right_hand   # the filters did not take the NaN in
        assert np.all(np.isfinite(after.keypoints_2d)) and np.all(np.isfinite(after.keypoints_3d))


def test_a_stamp_going_back_starts_the_pinch_states_anew():
    """A stream that restarts (stamp earlier than the last) forgets the pinch held before: a hand in the
    hysteresis band is then open, not still pinching."""
    pipe = TeleopPipeline(smoothing=None, pinch=PinchThresholds(close_below=0.3, open_above=0.45))

    def pinch(gap: float, stamp: float) -> bool:
        frame = WholeBodyPoses(image_size=(10, 10), people=[_person(3, [0, 0, 5, 5], gap=gap)])
        return pipe(frame, stamp).people[0].right_hand.grasp.pinch

    assert pinch(0.02, 5.0) is True           # 0.02 / 0.09 < 0.3: pinching
    assert pinch(0.035, 5.1) is True          # 0.39, in the band: still pinching
    assert pinch(0.035, 1.0) is False         # the stream went back in time: a new stream, not pinching


def test_a_lost_track_is_never_chosen():
    """People whose track state is LOST are not candidates for the operator."""
    lost = _person(1, [0, 0, 90, 90], z=1.0, state=TrackState.LOST)
    alive = _person(2, [0, 0, 20, 20], z=3.0)
    assert OperatorSelector("largest").select(_poses(lost, alive)).track_id == 2
    assert OperatorSelector("closest").select(_poses(lost, alive)).track_id == 2
    assert OperatorSelector("track_id", track_id=1).select(_poses(lost, alive)) is None
