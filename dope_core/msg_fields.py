"""WholeBodyPoses as the field values of ``dope_ros/msg`` messages, without ROS (for recordings).

:func:`poses_fields` gives the nested dict of a ``WholeBodyPoseArray`` (field names and
codes of ``msg/*.msg``); :func:`dope_core.recording.build_message` turns it into a
rosbags message that deserializes to what :func:`dope_ros.conversions.poses_to_msg`
gives through rclpy (a test checks it). :func:`poses_from_fields` reads any object with
the message's attributes (a rosbags message read from a bag) back into poses.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

import numpy as np

from dope_core.keypoints import Part
from dope_core.structures import (Grasp, Handedness, PartFrame, PartPose, Person, PlacementSource, TrackState,
                                  WholeBodyPoses)

# Codes of msg/PartPose.msg and msg/PersonPose.msg.
PART_CODES = {Part.BODY: 0, Part.HAND: 1, Part.FACE: 2}
HAND_CODES = {None: 0, Handedness.LEFT: 1, Handedness.RIGHT: 2}
FRAME_PART_RELATIVE, FRAME_CAMERA = 0, 1
TRACK_ID_NONE = -1
PLACEMENT_CODES = {PlacementSource.NONE: 0, PlacementSource.MONOCULAR: 1, PlacementSource.BODY_ANCHORED: 2,
                   PlacementSource.DEPTH: 3}
STATE_CODES = {None: 0, TrackState.NEW: 1, TrackState.TRACKED: 2, TrackState.PREDICTED: 3}
SLOTS = ("body", "left_hand", "right_hand", "face")
TF_NAMES = {"body": "body", "left_hand": "hand_left", "right_hand": "hand_right", "face": "face"}


def frame_name(slot: str, person_id: int, prefix: str = "") -> str:
    """The TF frame of a part slot of a person (``hand_left_17``...)."""
    return f"{prefix}{TF_NAMES[slot]}_{person_id}"


def _xyz(v: np.ndarray) -> dict:
    return {"x": float(v[0]), "y": float(v[1]), "z": float(v[2])}


def part_fields(pose: Optional[PartPose]) -> dict:
    """Fields of one ``PartPose`` message (``present`` False for ``None``)."""
    if pose is None:
        return {}
    placed = pose.root_camera is not None
    points = pose.keypoints_3d + pose.root_camera if placed else pose.keypoints_3d
    d: dict[str, Any] = {
        "present": True, "part": PART_CODES[pose.part], "handedness": HAND_CODES[pose.handedness],
        "score": float(pose.score), "box": pose.box.astype(np.float32),
        "keypoints_2d": [{"x": float(x), "y": float(y)} for x, y in pose.keypoints_2d],
        "keypoints_3d": [_xyz(p) for p in points], "frame_3d": FRAME_CAMERA if placed else FRAME_PART_RELATIVE,
        "confidence": pose.confidence.astype(np.float32),
    }
    if placed:
        d["root_camera"] = _xyz(pose.root_camera)
    d["placement"] = PLACEMENT_CODES[pose.placement if placed else PlacementSource.NONE]
    d["placement_uncertainty"] = (float(pose.placement_uncertainty)
                                  if placed and pose.placement_uncertainty is not None else float("nan"))
    if pose.frame is not None:
        q = pose.frame.quaternion
        d.update(has_frame=True, has_orientation=q is not None, orientation_confidence=pose.frame.confidence,
                 pose={"position": _xyz(pose.frame_position),
                       "orientation": dict(zip("xyzw", (0.0, 0.0, 0.0, 1.0) if q is None else (float(v) for v in q)))})
    if pose.grasp is not None:
        d.update(has_grasp=True, grasp_aperture=pose.grasp.aperture_m,
                 grasp_aperture_normalised=pose.grasp.aperture_normalised, grasp_confidence=pose.grasp.confidence,
                 pinch=pose.grasp.pinch)
    if pose.velocity is not None:
        d.update(has_velocity=True, velocity=_xyz(pose.velocity))
    if pose.velocity_2d is not None:
        d.update(has_velocity_2d=True, velocity_2d=pose.velocity_2d.astype(np.float64))
    return d


def poses_fields(poses: WholeBodyPoses, header: dict, *, camera_info_valid: bool) -> dict:
    """Fields of a ``WholeBodyPoseArray`` message; ``header`` is ``{"stamp": {...}, "frame_id": ...}``."""
    return {
        "header": header, "image_width": poses.image_size[0], "image_height": poses.image_size[1],
        "backend": poses.backend, "camera_info_valid": camera_info_valid,
        "people": [{"id": p.id, "score": float(p.score),
                    "track_id": TRACK_ID_NONE if p.track_id is None else p.track_id,
                    "track_state": STATE_CODES.get(p.track_state, 0),
                    **{slot: part_fields(getattr(p, slot)) for slot in SLOTS}} for p in poses.people],
        "unassigned": [part_fields(p) for p in poses.unassigned],
        "lost_track_ids": list(poses.lost_track_ids),
    }


def tf_parts(poses: WholeBodyPoses, *, prefix: str = "") -> Iterator[tuple[str, PartPose]]:
    """``(child frame name, part)`` of every part of a person that is placed in the camera
    frame and oriented: the parts that get a TF frame."""
    for person in poses.people:
        for slot, pose in person.parts():
            if pose.root_camera is not None and pose.frame is not None and pose.frame.quaternion is not None:
                yield frame_name(slot, person.display_id, prefix), pose


def transforms_fields(poses: WholeBodyPoses, header: dict, *, prefix: str = "") -> list[dict]:
    """``geometry_msgs/TransformStamped`` fields of every placed, oriented part (as the node's TF)."""
    return [{"header": header, "child_frame_id": name,
             "transform": {"translation": _xyz(pose.frame_position),
                           "rotation": dict(zip("xyzw", (float(v) for v in pose.frame.quaternion)))}}
            for name, pose in tf_parts(poses, prefix=prefix)]


_CODE_PARTS = {v: k for k, v in PART_CODES.items()}
_CODE_HANDS = {v: k for k, v in HAND_CODES.items()}
_CODE_PLACEMENTS = {v: k for k, v in PLACEMENT_CODES.items()}
_CODE_STATES = {v: k for k, v in STATE_CODES.items()}


def part_from_fields(m: Any) -> Optional[PartPose]:
    """One ``PartPose`` message (rclpy or rosbags, any object with its attributes) as a part.

    ``None`` for an empty slot (``present`` False). 3D keypoints come back part-relative
    (metres) with ``root_camera`` set when the message holds them in the camera frame.

    Raises:
        ValueError: unknown part, handedness or placement code.
    """
    if not m.present:
        return None
    for name, codes in (("part", _CODE_PARTS), ("handedness", _CODE_HANDS), ("placement", _CODE_PLACEMENTS)):
        if getattr(m, name) not in codes:
            raise ValueError(f"unknown {name} code {getattr(m, name)}")
    points = np.array([(p.x, p.y, p.z) for p in m.keypoints_3d], dtype=np.float64).reshape(-1, 3)
    root = None
    if m.frame_3d == FRAME_CAMERA:
        root = np.array([m.root_camera.x, m.root_camera.y, m.root_camera.z])
        points = points - root
    extra: dict[str, Any] = {}
    if root is not None:
        extra["placement"] = _CODE_PLACEMENTS[m.placement]
        if np.isfinite(m.placement_uncertainty):
            extra["placement_uncertainty"] = float(m.placement_uncertainty)
    if m.has_frame:
        p, o = m.pose.position, m.pose.orientation
        position = np.array([p.x, p.y, p.z])
        extra["frame"] = PartFrame(origin=position if root is None else position - root,
                                   quaternion=np.array([o.x, o.y, o.z, o.w]) if m.has_orientation else None,
                                   confidence=m.orientation_confidence if m.has_orientation else 0.0)
    if m.has_grasp:
        extra["grasp"] = Grasp(aperture_m=m.grasp_aperture, aperture_normalised=m.grasp_aperture_normalised,
                               confidence=m.grasp_confidence, pinch=m.pinch)
    if m.has_velocity:
        extra["velocity"] = np.array([m.velocity.x, m.velocity.y, m.velocity.z])
    if m.has_velocity_2d:
        extra["velocity_2d"] = np.asarray(m.velocity_2d, dtype=np.float64)
    return PartPose(part=_CODE_PARTS[m.part], score=float(m.score), box=np.asarray(m.box, dtype=np.float64),
                    keypoints_2d=np.array([(k.x, k.y) for k in m.keypoints_2d], dtype=np.float64).reshape(-1, 2),
                    keypoints_3d=points, confidence=np.asarray(m.confidence, dtype=np.float64),
                    handedness=_CODE_HANDS[m.handedness], root_camera=root, **extra)


def poses_from_fields(m: Any) -> WholeBodyPoses:
    """Poses of a ``WholeBodyPoseArray`` (rclpy or rosbags, any object with its attributes).

    The header is not part of :class:`WholeBodyPoses`. Raises ``ValueError`` on unknown codes.
    """
    people = [Person(id=p.id, score=float(p.score), track_id=None if p.track_id == TRACK_ID_NONE else p.track_id,
                     track_state=_CODE_STATES.get(p.track_state), **{slot: part_from_fields(getattr(p, slot)) for slot in SLOTS})
              for p in m.people]
    unassigned = [q for q in (part_from_fields(p) for p in m.unassigned) if q is not None]
    return WholeBodyPoses(image_size=(m.image_width, m.image_height), people=people, unassigned=unassigned,
                          backend=m.backend, lost_track_ids=[int(i) for i in m.lost_track_ids])
