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


def _assert_same_fields(got: object, want: object, where: str) -> None:
    """Compare two dataclass instances field by field (recursively), not through their ``to_dict``."""
    import dataclasses
    from enum import Enum

    assert type(got) is type(want), f"{where}: {type(got).__name__} != {type(want).__name__}"
    for f in dataclasses.fields(want):
        a, b = getattr(got, f.name), getattr(want, f.name)
        name = f"{where}.{f.name}"
        if dataclasses.is_dataclass(b):
            _assert_same_fields(a, b, name)
        elif isinstance(b, list):
            assert isinstance(a, list) and len(a) == len(b), name
            for i, (x, y) in enumerate(zip(a, b)):
                if dataclasses.is_dataclass(y):
                    _assert_same_fields(x, y, f"{name}[{i}]")
                else:
                    assert x == y, f"{name}[{i}]"
        elif isinstance(b, np.ndarray):
            assert isinstance(a, np.ndarray), name
            np.testing.assert_array_equal(a, b, err_msg=name)
        elif isinstance(b, Enum):
            assert a is b, name
        else:
            assert type(a) is type(b) and a == b, f"{name}: {a!r} != {b!r}"


def test_every_field_of_every_dataclass_survives_the_json_round_trip() -> None:
    """Each field of PartPose, PartFrame, Grasp, Person and WholeBodyPoses, all set off their defaults, comes
    back from JSON equal (compared field by field, since ``__eq__`` compares ``to_dict`` and is blind to a
    field that ``to_dict`` drops)."""
    import dataclasses

    from dope_core.structures import Grasp, PartFrame, PlacementSource, TrackState

    rng = np.random.default_rng(5)
    j = Part.HAND.num_keypoints
    hand = PartPose(part=Part.HAND, score=0.8, box=rng.uniform(0, 9, 4), keypoints_2d=rng.uniform(0, 9, (j, 2)),
                    keypoints_3d=rng.normal(size=(j, 3)), confidence=rng.uniform(size=j), handedness="right",
                    root_camera=rng.normal(size=3),
                    frame=PartFrame(origin=rng.normal(size=3), quaternion=np.array([0.36, 0.48, 0.0, 0.8]),
                                    confidence=0.7),
                    grasp=Grasp(aperture_m=0.04, aperture_normalised=0.4, confidence=0.9, pinch=True),
                    velocity=rng.normal(size=3), velocity_2d=rng.normal(size=2),
                    placement=PlacementSource.DEPTH, placement_uncertainty=0.03)
    poses = WholeBodyPoses(image_size=(9, 7), backend="network", lost_track_ids=[3, 100001], people=[
        Person(id=2, score=0.6, right_hand=hand, track_id=100002, track_state=TrackState.PREDICTED,
               body=_part(Part.BODY, rng, placement="monocular", placement_uncertainty=0.5))],
        unassigned=[_part(Part.FACE, rng, velocity_2d=[1.5, -2.0], placement=PlacementSource.BODY_ANCHORED)])
    # every field with a default is set off it (but the person's unused slots), so a field lost on the way shows
    for obj, unused in ((hand, ()), (poses, ()), (poses.people[0], ("left_hand", "face"))):
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if f.name in unused or (f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING):
                continue
            assert value is not None and value is not f.default, f.name
            assert f.default_factory is dataclasses.MISSING or len(value) > 0, f.name
    assert poses.backend != ""
    back = WholeBodyPoses.from_json(poses.to_json())
    _assert_same_fields(back, poses, "poses")
    _assert_same_fields(PartPose.from_dict(hand.to_dict()), hand, "hand")
