import json

import numpy as np
import pytest

from dope_core.keypoints import Part
from dope_core.structures import Handedness, PartPose, Person, WholeBodyPoses


def _part(part: Part, rng: np.random.Generator, **kw) -> PartPose:
    j = part.num_keypoints
    return PartPose(part=part, score=rng.random(), box=rng.random(4) * 100, keypoints_2d=rng.random((j, 2)) * 640,
                    keypoints_3d=rng.normal(size=(j, 3)), confidence=rng.random(j), **kw)


def test_json_round_trip_is_lossless():
    rng = np.random.default_rng(0)
    poses = WholeBodyPoses(
        image_size=(640, 480), backend="experts",
        people=[Person(id=0, score=0.9, track_id=7, body=_part(Part.BODY, rng), face=_part(Part.FACE, rng),
                       left_hand=_part(Part.HAND, rng, handedness="left"),
                       right_hand=_part(Part.HAND, rng, handedness=Handedness.RIGHT, root_camera=[0.1, 0.2, 2.5]))],
        unassigned=[_part(Part.HAND, rng)],
    )
    text = poses.to_json()
    back = WholeBodyPoses.from_json(text)
    assert back == poses
    np.testing.assert_array_equal(back.people[0].body.keypoints_3d, poses.people[0].body.keypoints_3d)
    assert back.people[0].right_hand.handedness is Handedness.RIGHT
    np.testing.assert_array_equal(back.people[0].right_hand.keypoints_3d_camera,
                                  poses.people[0].right_hand.keypoints_3d + [0.1, 0.2, 2.5])
    assert json.loads(text)["people"][0]["left_hand"]["handedness"] == "left"
    assert back.counts() == {"people": 1, "bodies": 1, "hands": 3, "faces": 1}
    assert back.people[0].track_id == 7 and back.people[0].display_id == 7
    untracked = Person.from_dict({"id": 3, "score": 0.5})
    assert untracked.track_id is None and untracked.display_id == 3 and "track_id" not in untracked.to_dict()


def test_empty_result_round_trips():
    empty = WholeBodyPoses(image_size=(2, 2))
    assert WholeBodyPoses.from_json(empty.to_json()) == empty


def test_bad_shapes_and_slots_are_clear_errors():
    rng = np.random.default_rng(1)
    with pytest.raises(ValueError, match=r"keypoints_2d must have shape \(13, 2\)"):
        PartPose(part="body", score=1, box=np.zeros(4), keypoints_2d=np.zeros((12, 2)),
                 keypoints_3d=np.zeros((13, 3)), confidence=np.zeros(13))
    with pytest.raises(ValueError, match="handedness is only defined for hands"):
        _part(Part.FACE, rng, handedness="left")
    with pytest.raises(ValueError, match="must be a hand"):
        Person(id=0, score=1, left_hand=_part(Part.FACE, rng))
    with pytest.raises(ValueError, match="missing the key 'score'"):
        PartPose.from_dict({"part": "body"})


def test_teleop_fields_round_trip_through_json_without_loss():
    from dope_core.structures import Grasp, PartFrame, TrackState

    j = Part.HAND.num_keypoints
    rng = np.random.default_rng(4)
    hand = PartPose(part=Part.HAND, score=0.8, box=rng.uniform(0, 9, 4), keypoints_2d=rng.uniform(0, 9, (j, 2)),
                    keypoints_3d=rng.normal(size=(j, 3)), confidence=rng.uniform(size=j), handedness="left",
                    root_camera=rng.normal(size=3),
                    frame=PartFrame(origin=np.zeros(3), quaternion=np.array([0.36, 0.48, 0.0, 0.8]), confidence=0.1 / 3),
                    grasp=Grasp(aperture_m=1 / 30, aperture_normalised=0.3, confidence=0.9, pinch=True),
                    velocity=rng.normal(size=3), velocity_2d=rng.normal(size=2))
    poses = WholeBodyPoses(image_size=(9, 9), lost_track_ids=[100001], people=[
        Person(id=0, score=1, left_hand=hand, track_id=100002, track_state=TrackState.NEW)])
    back = WholeBodyPoses.from_json(poses.to_json())
    assert back == poses and back.people[0].left_hand.frame.quaternion.tolist() == [0.36, 0.48, 0.0, 0.8]
    assert back.people[0].track_state is TrackState.NEW and back.lost_track_ids == [100001]
    with pytest.raises(ValueError, match="unit quaternion"):
        PartFrame(origin=np.zeros(3), quaternion=np.array([np.nan, 0, 0, 1.0]))
    with pytest.raises(ValueError, match="grasp"):
        PartPose(part=Part.FACE, score=1, box=np.zeros(4), keypoints_2d=np.zeros((84, 2)),
                 keypoints_3d=np.zeros((84, 3)), confidence=np.zeros(84), grasp=hand.grasp)


def test_json_is_strict_and_joints_without_values_come_back_as_nan():
    """A joint without a value (NaN) is written as null (a bare NaN is not JSON: JavaScript's and Go's
    parsers refuse it) and read back as NaN."""
    rng = np.random.default_rng(2)
    body = _part(Part.BODY, rng)
    body.keypoints_3d[3] = np.nan
    poses = WholeBodyPoses(image_size=(640, 480), people=[Person(id=0, score=0.9, body=body)])
    text = poses.to_json()
    assert "NaN" not in text and json.loads(text, parse_constant=lambda c: pytest.fail(c))
    back = WholeBodyPoses.from_json(text)
    assert np.isnan(back.people[0].body.keypoints_3d[3]).all()
    np.testing.assert_array_equal(back.people[0].body.keypoints_3d[:3], body.keypoints_3d[:3])


@pytest.mark.parametrize("text", ["null", "3", '{"image_size": [640]}', '{"image_size": [640, 480], "people": {"a": 1}}',
                                  '{"image_size": [640, 480], "people": [null]}',
                                  '{"image_size": [640, 480], "lost_track_ids": [null]}',
                                  '{"image_size": [-5, 0]}', '{"image_size": [640.5, 480]}'])
def test_what_is_not_poses_json_is_a_value_error(text):
    with pytest.raises(ValueError):
        WholeBodyPoses.from_json(text)
