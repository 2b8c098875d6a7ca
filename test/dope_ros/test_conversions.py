"""WholeBodyPoses <-> dope_ros messages: lossless round trip, frames, empty slots, bad codes."""

from __future__ import annotations

import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from std_msgs.msg import Header

from dope_core.keypoints import Part
from dope_core.structures import Handedness, PartPose, Person, WholeBodyPoses
from dope_ros.conversions import part_from_msg, part_to_msg, poses_from_msg, poses_to_msg
from dope_ros.msg import PartPose as PartPoseMsg
from dope_ros.msg import PersonPose as PersonPoseMsg
from dope_ros.msg import WholeBodyPoseArray

RNG = np.random.default_rng(3)


def _part(part: Part, *, handedness=None, root=None) -> PartPose:
    j = part.num_keypoints
    # float32-representable values: the message stores boxes, 2D and confidences as float32.
    f32 = lambda a: a.astype(np.float32).astype(np.float64)  # noqa: E731
    return PartPose(part=part, score=0.75, box=f32(RNG.uniform(0, 500, 4)), keypoints_2d=f32(RNG.uniform(0, 500, (j, 2))),
                    keypoints_3d=RNG.normal(scale=0.3, size=(j, 3)), confidence=f32(RNG.uniform(0, 1, j)),
                    handedness=handedness, root_camera=root)


def _poses() -> WholeBodyPoses:
    a = Person(id=0, score=0.9, body=_part(Part.BODY, root=np.array([0.1, 0.2, 3.0])),
               left_hand=_part(Part.HAND, handedness=Handedness.LEFT, root=np.array([0.3, 0.1, 2.9])),
               face=_part(Part.FACE))
    b = Person(id=1, score=0.5, track_id=4, right_hand=_part(Part.HAND, handedness=Handedness.RIGHT))
    return WholeBodyPoses(image_size=(640, 480), people=[a, b], unassigned=[_part(Part.FACE)], backend="experts")


def test_round_trip_through_cdr():
    poses = _poses()
    header = Header(frame_id="cam")
    header.stamp.sec = 12
    msg = poses_to_msg(poses, header, camera_info_valid=True)
    back = deserialize_message(serialize_message(msg), WholeBodyPoseArray)
    assert back.header.frame_id == "cam" and back.header.stamp.sec == 12 and back.camera_info_valid
    out = poses_from_msg(back)
    assert out.image_size == (640, 480) and out.backend == "experts"
    assert [p.id for p in out.people] == [0, 1]
    assert [p.track_id for p in back.people] == [PersonPoseMsg.TRACK_ID_NONE, 4] == [-1, 4]
    assert [p.track_id for p in out.people] == [None, 4]
    for got, want in zip(out.parts(), poses.parts()):
        assert got.part is want.part and got.handedness == want.handedness
        np.testing.assert_array_equal(got.keypoints_2d, want.keypoints_2d)
        np.testing.assert_array_equal(got.confidence, want.confidence)
        np.testing.assert_allclose(got.keypoints_3d, want.keypoints_3d, atol=1e-12)
        assert (got.root_camera is None) == (want.root_camera is None)


def test_frames_of_3d_keypoints():
    placed = _part(Part.BODY, root=np.array([0.0, 0.0, 4.0]))
    m = part_to_msg(placed)
    assert m.frame_3d == PartPoseMsg.FRAME_CAMERA and m.root_camera.z == 4.0
    np.testing.assert_allclose([p.z for p in m.keypoints_3d], placed.keypoints_3d[:, 2] + 4.0)
    rel = part_to_msg(_part(Part.HAND, handedness=Handedness.LEFT))
    assert rel.frame_3d == PartPoseMsg.FRAME_PART_RELATIVE and rel.handedness == PartPoseMsg.HANDEDNESS_LEFT
    assert len(rel.keypoints_2d) == len(rel.keypoints_3d) == len(rel.confidence) == 21


def test_empty_slot():
    m = part_to_msg(None)
    assert not m.present and len(m.keypoints_2d) == 0
    assert part_from_msg(m) is None
    assert poses_from_msg(poses_to_msg(_poses(), Header(), camera_info_valid=False)).people[1].body is None


def test_bad_codes_and_counts_raise():
    m = part_to_msg(_part(Part.BODY))
    m.part = 9
    with pytest.raises(ValueError, match="part code"):
        part_from_msg(m)
    m = part_to_msg(_part(Part.BODY))
    m.keypoints_2d = m.keypoints_2d[:5]
    with pytest.raises(ValueError, match="shape"):
        part_from_msg(m)


def test_placement_source_and_uncertainty():
    from dataclasses import replace

    from dope_core.structures import PlacementSource

    for source, code in ((PlacementSource.MONOCULAR, PartPoseMsg.PLACEMENT_MONOCULAR),
                         (PlacementSource.BODY_ANCHORED, PartPoseMsg.PLACEMENT_BODY_ANCHORED),
                         (PlacementSource.DEPTH, PartPoseMsg.PLACEMENT_DEPTH)):
        placed = replace(_part(Part.HAND, handedness=Handedness.LEFT, root=np.array([0.1, 0.0, 2.0])),
                         placement=source, placement_uncertainty=0.125)
        m = deserialize_message(serialize_message(part_to_msg(placed)), PartPoseMsg)
        assert m.placement == code and m.placement_uncertainty == 0.125
        back = part_from_msg(m)
        assert back.placement is source and back.placement_uncertainty == 0.125
    rel = part_to_msg(_part(Part.FACE))
    assert rel.placement == PartPoseMsg.PLACEMENT_NONE and np.isnan(rel.placement_uncertainty)
    assert part_from_msg(rel).placement is PlacementSource.NONE and part_from_msg(rel).placement_uncertainty is None
    rel.placement = 9
    with pytest.raises(ValueError, match="placement code"):
        part_from_msg(rel)


def test_frames_grasp_velocity_and_track_state_round_trip():
    from dope_core.structures import Grasp, PartFrame, TrackState

    placed = _part(Part.HAND, handedness=Handedness.RIGHT, root=np.array([0.3, 0.1, 2.9]))
    placed.frame = PartFrame(origin=np.zeros(3), quaternion=np.array([0.0, 0.6, 0.0, 0.8]), confidence=0.7)
    placed.grasp = Grasp(aperture_m=0.031, aperture_normalised=0.33, confidence=0.8, pinch=True)
    placed.velocity, placed.velocity_2d = np.array([0.1, -0.2, 0.05]), np.array([12.5, -3.0])
    face = _part(Part.FACE)
    face.frame = PartFrame(origin=np.array([0.0, -0.02, 0.01]))   # part-relative, no orientation
    poses = WholeBodyPoses(image_size=(640, 480), lost_track_ids=[7, 9], people=[
        Person(id=0, score=0.9, track_id=3, track_state=TrackState.PREDICTED, right_hand=placed, face=face)])
    msg = deserialize_message(serialize_message(poses_to_msg(poses, Header(), camera_info_valid=True)),
                              WholeBodyPoseArray)
    hand = msg.people[0].right_hand
    assert msg.people[0].track_state == PersonPoseMsg.TRACK_STATE_PREDICTED and list(msg.lost_track_ids) == [7, 9]
    assert hand.has_orientation and hand.pose.position.z == pytest.approx(2.9) and hand.pose.orientation.w == 0.8
    assert hand.pinch and hand.grasp_aperture == 0.031 and hand.velocity.y == -0.2
    f = msg.people[0].face
    assert f.has_frame and not f.has_orientation and f.pose.orientation.w == 1.0 and not f.has_grasp
    back = poses_from_msg(msg)
    assert back.lost_track_ids == [7, 9] and back.people[0].track_state is TrackState.PREDICTED
    got = back.people[0].right_hand
    np.testing.assert_allclose(got.frame.origin, 0.0, atol=1e-12)
    assert got.frame.quaternion.tolist() == [0.0, 0.6, 0.0, 0.8] and got.grasp == placed.grasp
    assert got.velocity.tolist() == [0.1, -0.2, 0.05] and got.velocity_2d.tolist() == [12.5, -3.0]
    assert back.people[0].face.frame.to_dict() == face.frame.to_dict()


def test_shared_codes_are_the_message_constants():
    """dope_core.msg_fields holds the codes without ROS; they must be those of msg/*.msg."""
    from dope_core.msg_fields import (FRAME_CAMERA, FRAME_PART_RELATIVE, HAND_CODES, PART_CODES, PLACEMENT_CODES,
                                      STATE_CODES, TRACK_ID_NONE)
    from dope_core.structures import PlacementSource, TrackState
    from dope_ros.msg import PersonPose

    assert PART_CODES == {Part.BODY: PartPoseMsg.BODY, Part.HAND: PartPoseMsg.HAND, Part.FACE: PartPoseMsg.FACE}
    assert HAND_CODES == {None: PartPoseMsg.HANDEDNESS_NONE, Handedness.LEFT: PartPoseMsg.HANDEDNESS_LEFT,
                          Handedness.RIGHT: PartPoseMsg.HANDEDNESS_RIGHT}
    assert PLACEMENT_CODES == {PlacementSource.NONE: PartPoseMsg.PLACEMENT_NONE,
                               PlacementSource.MONOCULAR: PartPoseMsg.PLACEMENT_MONOCULAR,
                               PlacementSource.BODY_ANCHORED: PartPoseMsg.PLACEMENT_BODY_ANCHORED,
                               PlacementSource.DEPTH: PartPoseMsg.PLACEMENT_DEPTH}
    assert STATE_CODES == {None: PersonPose.TRACK_STATE_NONE, TrackState.NEW: PersonPose.TRACK_STATE_NEW,
                           TrackState.TRACKED: PersonPose.TRACK_STATE_TRACKED,
                           TrackState.PREDICTED: PersonPose.TRACK_STATE_PREDICTED}
    assert (FRAME_CAMERA, FRAME_PART_RELATIVE) == (PartPoseMsg.FRAME_CAMERA, PartPoseMsg.FRAME_PART_RELATIVE)
    assert TRACK_ID_NONE == PersonPose.TRACK_ID_NONE


def test_an_unplaced_part_has_no_placement_uncertainty_even_if_one_was_set() -> None:
    """PartPose.msg: placement_uncertainty is NaN when the part is not placed (no root_camera)."""
    pose = _part(Part.BODY)
    pose.placement_uncertainty = 0.05   # stale value without a root: not a placement
    m = part_to_msg(pose)
    assert m.frame_3d == PartPoseMsg.FRAME_PART_RELATIVE and np.isnan(m.placement_uncertainty)


def test_every_unassigned_part_is_in_the_message() -> None:
    """poses_to_msg keeps all unassigned parts, in order."""
    parts = [_part(Part.HAND, handedness=Handedness.LEFT), _part(Part.FACE), _part(Part.BODY)]
    m = poses_to_msg(WholeBodyPoses(image_size=(8, 6), unassigned=parts), Header(), camera_info_valid=False)
    assert [u.part for u in m.unassigned] == [part_to_msg(p).part for p in parts]
    assert [u.score for u in m.unassigned] == [0.75, 0.75, 0.75] and len(m.unassigned) == 3
