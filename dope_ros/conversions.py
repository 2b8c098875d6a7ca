"""Conversion between :class:`dope_core.structures.WholeBodyPoses` and ``dope_ros/msg`` messages.

Units and frames are those of :mod:`dope_core.structures`: boxes and 2D keypoints in
pixels; 3D keypoints in metres, in the camera optical frame when the part was placed
(``PartPose.root_camera`` known; ``frame_3d = FRAME_CAMERA``), part-relative otherwise;
``placement`` says what placed the part and ``placement_uncertainty`` (metres, float32,
NaN when not placed) how well.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from geometry_msgs.msg import Point, Pose, Quaternion, Vector3
from std_msgs.msg import Header

from dope_core.keypoints import Part
from dope_core.structures import (Grasp, Handedness, PartFrame, PartPose, Person, PlacementSource, TrackState,
                                  WholeBodyPoses)
from dope_ros import msg as dope_msg

_PART_CODES = {Part.BODY: dope_msg.PartPose.BODY, Part.HAND: dope_msg.PartPose.HAND, Part.FACE: dope_msg.PartPose.FACE}
_CODE_PARTS = {v: k for k, v in _PART_CODES.items()}
_HAND_CODES = {None: dope_msg.PartPose.HANDEDNESS_NONE, Handedness.LEFT: dope_msg.PartPose.HANDEDNESS_LEFT,
               Handedness.RIGHT: dope_msg.PartPose.HANDEDNESS_RIGHT}
_CODE_HANDS = {v: k for k, v in _HAND_CODES.items()}
_PLACEMENT_CODES = {PlacementSource.NONE: dope_msg.PartPose.PLACEMENT_NONE,
                    PlacementSource.MONOCULAR: dope_msg.PartPose.PLACEMENT_MONOCULAR,
                    PlacementSource.BODY_ANCHORED: dope_msg.PartPose.PLACEMENT_BODY_ANCHORED,
                    PlacementSource.DEPTH: dope_msg.PartPose.PLACEMENT_DEPTH}
_CODE_PLACEMENTS = {v: k for k, v in _PLACEMENT_CODES.items()}
_SLOTS = ("body", "left_hand", "right_hand", "face")
_STATE_CODES = {None: dope_msg.PersonPose.TRACK_STATE_NONE, TrackState.NEW: dope_msg.PersonPose.TRACK_STATE_NEW,
                TrackState.TRACKED: dope_msg.PersonPose.TRACK_STATE_TRACKED,
                TrackState.PREDICTED: dope_msg.PersonPose.TRACK_STATE_PREDICTED}
_CODE_STATES = {v: k for k, v in _STATE_CODES.items()}


def _teleop_to_msg(pose: PartPose, out: dope_msg.PartPose) -> None:
    """Frame, grasp and velocity fields (the contiguous teleop block of PartPose.msg)."""
    if pose.frame is not None:
        out.has_frame = True
        x, y, z = (float(v) for v in pose.frame_position)
        q = pose.frame.quaternion
        out.has_orientation = q is not None
        out.orientation_confidence = pose.frame.confidence
        q = (0.0, 0.0, 0.0, 1.0) if q is None else tuple(float(v) for v in q)
        out.pose = Pose(position=Point(x=x, y=y, z=z), orientation=Quaternion(x=q[0], y=q[1], z=q[2], w=q[3]))
    if pose.grasp is not None:
        out.has_grasp = True
        out.grasp_aperture = pose.grasp.aperture_m
        out.grasp_aperture_normalised = pose.grasp.aperture_normalised
        out.grasp_confidence = pose.grasp.confidence
        out.pinch = pose.grasp.pinch
    if pose.velocity is not None:
        out.has_velocity = True
        out.velocity = Vector3(x=float(pose.velocity[0]), y=float(pose.velocity[1]), z=float(pose.velocity[2]))
    if pose.velocity_2d is not None:
        out.has_velocity_2d = True
        out.velocity_2d = pose.velocity_2d.astype(np.float64)


def _teleop_from_msg(m: dope_msg.PartPose, root: Optional[np.ndarray]) -> dict:
    """Inverse of :func:`_teleop_to_msg`: keyword arguments of :class:`PartPose`."""
    out: dict = {}
    if m.has_frame:
        p, o = m.pose.position, m.pose.orientation
        position = np.array([p.x, p.y, p.z])
        q = np.array([o.x, o.y, o.z, o.w]) if m.has_orientation else None
        out["frame"] = PartFrame(origin=position if root is None else position - root, quaternion=q,
                                 confidence=m.orientation_confidence if m.has_orientation else 0.0)
    if m.has_grasp:
        out["grasp"] = Grasp(aperture_m=m.grasp_aperture, aperture_normalised=m.grasp_aperture_normalised,
                             confidence=m.grasp_confidence, pinch=m.pinch)
    if m.has_velocity:
        out["velocity"] = np.array([m.velocity.x, m.velocity.y, m.velocity.z])
    if m.has_velocity_2d:
        out["velocity_2d"] = np.asarray(m.velocity_2d, dtype=np.float64)
    return out


def part_to_msg(pose: Optional[PartPose]) -> dope_msg.PartPose:
    """One part as a message; ``None`` gives an empty slot (``present = False``)."""
    out = dope_msg.PartPose()
    if pose is None:
        return out
    out.present = True
    out.part = _PART_CODES[pose.part]
    out.handedness = _HAND_CODES[pose.handedness]
    out.score = float(pose.score)
    out.box = pose.box.astype(np.float32)
    out.keypoints_2d = [dope_msg.Keypoint2D(x=float(x), y=float(y)) for x, y in pose.keypoints_2d]
    if pose.root_camera is not None:
        out.frame_3d = dope_msg.PartPose.FRAME_CAMERA
        out.root_camera = Point(x=float(pose.root_camera[0]), y=float(pose.root_camera[1]), z=float(pose.root_camera[2]))
        points = pose.keypoints_3d + pose.root_camera
    else:
        out.frame_3d = dope_msg.PartPose.FRAME_PART_RELATIVE
        points = pose.keypoints_3d
    out.keypoints_3d = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in points]
    out.confidence = pose.confidence.astype(np.float32)
    placed = pose.root_camera is not None
    out.placement = _PLACEMENT_CODES[pose.placement if placed else PlacementSource.NONE]
    out.placement_uncertainty = (float(pose.placement_uncertainty)
                                 if placed and pose.placement_uncertainty is not None else float("nan"))
    _teleop_to_msg(pose, out)
    return out


def part_from_msg(m: dope_msg.PartPose) -> Optional[PartPose]:
    """Inverse of :func:`part_to_msg` (``None`` for an empty slot).

    Raises:
        ValueError: unknown part/handedness code or keypoint counts that do not match the part.
    """
    if not m.present:
        return None
    if m.part not in _CODE_PARTS:
        raise ValueError(f"unknown part code {m.part}")
    if m.handedness not in _CODE_HANDS:
        raise ValueError(f"unknown handedness code {m.handedness}")
    if m.placement not in _CODE_PLACEMENTS:
        raise ValueError(f"unknown placement code {m.placement}")
    points = np.array([(p.x, p.y, p.z) for p in m.keypoints_3d], dtype=np.float64).reshape(-1, 3)
    root = None
    if m.frame_3d == dope_msg.PartPose.FRAME_CAMERA:
        root = np.array([m.root_camera.x, m.root_camera.y, m.root_camera.z])
        points = points - root
    return PartPose(
        part=_CODE_PARTS[m.part],
        score=m.score,
        box=np.asarray(m.box, dtype=np.float64),
        keypoints_2d=np.array([(k.x, k.y) for k in m.keypoints_2d], dtype=np.float64).reshape(-1, 2),
        keypoints_3d=points,
        confidence=np.asarray(m.confidence, dtype=np.float64),
        handedness=_CODE_HANDS[m.handedness],
        root_camera=root,
        placement=_CODE_PLACEMENTS[m.placement] if root is not None else PlacementSource.NONE,
        placement_uncertainty=(float(m.placement_uncertainty)
                               if root is not None and np.isfinite(m.placement_uncertainty) else None),
        **_teleop_from_msg(m, root),
    )


def poses_to_msg(poses: WholeBodyPoses, header: Header, *, camera_info_valid: bool) -> dope_msg.WholeBodyPoseArray:
    """The people of one image as a :class:`WholeBodyPoseArray` with the source image's header."""
    out = dope_msg.WholeBodyPoseArray(header=header, image_width=poses.image_size[0],
                                      image_height=poses.image_size[1], backend=poses.backend,
                                      camera_info_valid=camera_info_valid, lost_track_ids=list(poses.lost_track_ids))
    for person in poses.people:
        slots = {slot: part_to_msg(getattr(person, slot)) for slot in _SLOTS}
        track_id = dope_msg.PersonPose.TRACK_ID_NONE if person.track_id is None else person.track_id
        out.people.append(dope_msg.PersonPose(id=person.id, score=float(person.score), track_id=track_id,
                                              track_state=_STATE_CODES.get(person.track_state, 0), **slots))
    out.unassigned = [part_to_msg(p) for p in poses.unassigned]
    return out


def poses_from_msg(m: dope_msg.WholeBodyPoseArray) -> WholeBodyPoses:
    """Inverse of :func:`poses_to_msg` (the header is not part of :class:`WholeBodyPoses`)."""
    none = dope_msg.PersonPose.TRACK_ID_NONE
    people = [Person(id=p.id, score=p.score, track_id=None if p.track_id == none else p.track_id,
                     track_state=_CODE_STATES.get(p.track_state), **{slot: part_from_msg(getattr(p, slot)) for slot in _SLOTS})
              for p in m.people]
    unassigned = [part_from_msg(p) for p in m.unassigned]
    return WholeBodyPoses(image_size=(m.image_width, m.image_height), people=people,
                          unassigned=[p for p in unassigned if p is not None], backend=m.backend,
                          lost_track_ids=list(m.lost_track_ids))
