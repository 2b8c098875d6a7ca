"""Marker geometry (pure) and MarkerArray building: DELETEALL first, namespaces, colours, frames."""

from __future__ import annotations

import numpy as np
from std_msgs.msg import Header
from visualization_msgs.msg import Marker

from dope_core.keypoints import SKELETON_EDGES, Part
from dope_core.structures import Handedness, PartPose, Person, WholeBodyPoses
from dope_ros.marker_geometry import part_geometry, skeleton_geometry
from dope_ros.markers import poses_to_markers


def _part(part: Part, root, conf: float = 0.9, handedness=None) -> PartPose:
    j = part.num_keypoints
    rel = np.linspace(-0.2, 0.2, 3 * j).reshape(j, 3)
    return PartPose(part=part, score=0.8, box=[0, 0, 10, 10], keypoints_2d=np.zeros((j, 2)), keypoints_3d=rel,
                    confidence=np.full(j, conf), handedness=handedness,
                    root_camera=None if root is None else np.asarray(root, float))


def test_part_geometry_placed_and_confidence():
    pose = _part(Part.BODY, (0, 0, 3))
    segments, joints = part_geometry(pose, min_confidence=0.3)
    assert segments.shape == (len(SKELETON_EDGES[Part.BODY]), 2, 3) and joints.shape == (13, 3)
    np.testing.assert_allclose(joints, pose.keypoints_3d + [0, 0, 3])
    pose.confidence[12] = 0.0  # head: its two edges and its joint go
    segments, joints = part_geometry(pose, min_confidence=0.3)
    assert len(segments) == len(SKELETON_EDGES[Part.BODY]) - 2 and len(joints) == 12
    assert part_geometry(_part(Part.BODY, None), min_confidence=0.3) is None


def test_skeleton_geometry_namespaces_and_colours():
    poses = WholeBodyPoses(image_size=(10, 10), people=[
        Person(id=0, score=1, body=_part(Part.BODY, (0, 0, 3)), face=_part(Part.FACE, (0, -0.5, 3))),
        Person(id=1, score=1, body=_part(Part.BODY, (1, 0, 3)), left_hand=_part(Part.HAND, None, handedness=Handedness.LEFT)),
    ], unassigned=[_part(Part.HAND, (2, 0, 3)), _part(Part.HAND, (2, 1, 3))])
    geo = skeleton_geometry(poses)
    assert [(g.namespace, g.index) for g in geo] == [("body", 0), ("face", 0), ("body", 1),
                                                      ("unassigned_hand", 0), ("unassigned_hand", 1)]
    assert geo[0].colour == geo[1].colour != geo[2].colour


def test_marker_array_structure():
    poses = WholeBodyPoses(image_size=(10, 10), people=[Person(id=2, score=1, body=_part(Part.BODY, (0, 0, 3)))])
    header = Header(frame_id="camera_optical_frame")
    markers = poses_to_markers(poses, header).markers
    assert markers[0].action == Marker.DELETEALL
    bones, joints = markers[1:]
    assert bones.type == Marker.LINE_LIST and joints.type == Marker.SPHERE_LIST
    assert bones.ns == joints.ns == "body" and (bones.id, joints.id) == (4, 5)
    assert len(bones.points) == 2 * len(SKELETON_EDGES[Part.BODY]) and len(joints.points) == 13
    assert bones.header.frame_id == "camera_optical_frame" and bones.color.a == 1.0
    assert abs(joints.points[0].z - (3 + poses.people[0].body.keypoints_3d[0, 2])) < 1e-9
    # An empty image still clears what the previous one drew.
    assert [m.action for m in poses_to_markers(WholeBodyPoses(image_size=(1, 1)), header).markers] == [Marker.DELETEALL]


def test_without_camera_info_no_skeleton_only_a_flag():
    poses = WholeBodyPoses(image_size=(10, 10), people=[Person(id=0, score=1, body=_part(Part.BODY, (0, 0, 3)))])
    markers = poses_to_markers(poses, Header(frame_id="cam"), camera_info_valid=False, lifetime_s=1.5).markers
    assert [m.action for m in markers] == [Marker.DELETEALL, Marker.ADD]
    text = markers[1]
    assert text.type == Marker.TEXT_VIEW_FACING and text.ns == "status" and "no valid CameraInfo" in text.text
    assert (text.lifetime.sec, text.lifetime.nanosec) == (1, 500_000_000)


def test_lifetime_on_every_marker():
    poses = WholeBodyPoses(image_size=(10, 10), people=[Person(id=0, score=1, body=_part(Part.BODY, (0, 0, 3)))])
    markers = poses_to_markers(poses, Header(frame_id="cam"), lifetime_s=0.25).markers[1:]
    assert markers and all((m.lifetime.sec, m.lifetime.nanosec) == (0, 250_000_000) for m in markers)


def test_grasp_markers_of_long_track_ids_and_lifetime_rounding():
    """Grasp marker ids stay small whatever the track id (int32 field; session-block ids are ~2e9),
    at the finger tips; a lifetime a hair under 2 s is 2 s, not 1 s."""
    from dataclasses import replace

    from dope_core.grasp import INDEX_TIP, THUMB_TIP
    from dope_core.structures import Grasp

    hand = replace(_part(Part.HAND, [0.1, 0.0, 1.0], handedness=Handedness.RIGHT),
                   grasp=Grasp(aperture_m=0.02, aperture_normalised=0.2, confidence=0.9, pinch=True))
    people = [Person(id=i, score=0.9, track_id=2_056_100_000 + i, right_hand=hand) for i in range(2)]
    markers = poses_to_markers(WholeBodyPoses(image_size=(640, 480), people=people), Header(frame_id="cam"),
                               lifetime_s=1.9999999999).markers
    grasp = [m for m in markers if m.ns == "grasp"]
    assert sorted(m.id for m in grasp) == [2, 3, 6, 7]   # 2 per hand, right hands of persons 0 and 1
    line = next(m for m in grasp if m.type == Marker.LINE_STRIP)
    tips = hand.keypoints_3d_camera[[THUMB_TIP, INDEX_TIP]]
    np.testing.assert_allclose([(p.x, p.y, p.z) for p in line.points], tips)
    assert all((m.lifetime.sec, m.lifetime.nanosec) == (2, 0) for m in markers[1:])


def _grasping_hand(aperture_m: float, pinch: bool) -> PartPose:
    from dataclasses import replace

    from dope_core.structures import Grasp

    return replace(_part(Part.HAND, [0.1, 0.0, 1.0], handedness=Handedness.LEFT),
                   grasp=Grasp(aperture_m=aperture_m, aperture_normalised=0.1, confidence=0.9, pinch=pinch))


def test_grasp_text_says_the_aperture_in_centimetres_above_the_index_tip() -> None:
    """Grasp text: aperture in cm ('pinch 1.2 cm'), placed 2 cm up the image (-y, optical y points down)."""
    from dope_core.grasp import INDEX_TIP

    for aperture, pinch, text in ((0.012, True, "pinch 1.2 cm"), (0.065, False, "6.5 cm")):
        hand = _grasping_hand(aperture, pinch)
        markers = poses_to_markers(WholeBodyPoses(image_size=(64, 48), people=[Person(id=0, score=1, left_hand=hand)]),
                                   Header(frame_id="cam")).markers
        label = next(m for m in markers if m.ns == "grasp" and m.type == Marker.TEXT_VIEW_FACING)
        assert label.text == text
        index = hand.keypoints_3d_camera[INDEX_TIP]
        np.testing.assert_allclose([label.pose.position.x, label.pose.position.y, label.pose.position.z],
                                   index + [0.0, -0.02, 0.0], atol=1e-12)


def test_bone_width_and_joint_diameter_per_part() -> None:
    """LINE_LIST scale.x is the part's line width, SPHERE_LIST scale the part's joint diameter (metres)."""
    from dope_ros.marker_geometry import JOINT_DIAMETER_M, LINE_WIDTH_M

    for part in (Part.BODY, Part.FACE):
        poses = WholeBodyPoses(image_size=(10, 10), people=[Person(id=0, score=1, **{part.value: _part(part, (0, 0, 3))})])
        bones, joints = poses_to_markers(poses, Header(frame_id="cam")).markers[1:3]
        assert bones.scale.x == LINE_WIDTH_M[part]
        assert joints.scale.x == joints.scale.y == joints.scale.z == JOINT_DIAMETER_M[part]


def test_no_camera_info_text_is_one_metre_in_front_of_the_camera() -> None:
    """The status text sits at +z (optical frame: forward) 1 m, so RViz shows it in view."""
    markers = poses_to_markers(WholeBodyPoses(image_size=(1, 1)), Header(frame_id="cam"), camera_info_valid=False).markers
    p = markers[1].pose.position
    assert (p.x, p.y, p.z) == (0.0, 0.0, 1.0) and markers[1].pose.orientation.w == 1.0


def test_a_keypoint_exactly_at_min_confidence_is_drawn() -> None:
    """marker_geometry keeps keypoints whose confidence *reaches* min_confidence."""
    segments, joints = part_geometry(_part(Part.BODY, (0, 0, 3), conf=0.3), min_confidence=0.3)
    assert len(joints) == 13 and len(segments) == len(SKELETON_EDGES[Part.BODY])
