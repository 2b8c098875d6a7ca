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

from dope_core.msg_fields import (HAND_CODES, PART_CODES, PLACEMENT_CODES, SLOTS, STATE_CODES, part_from_fields,
                                  poses_from_fields)
from dope_core.structures import PartPose, PlacementSource, WholeBodyPoses
from dope_ros import msg as dope_msg

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


def part_to_msg(pose: Optional[PartPose]) -> dope_msg.PartPose:
    """One part as a message; ``None`` gives an empty slot (``present = False``)."""
    out = dope_msg.PartPose()
    if pose is None:
        return out
    out.present = True
    out.part = PART_CODES[pose.part]
    out.handedness = HAND_CODES[pose.handedness]
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
    out.placement = PLACEMENT_CODES[pose.placement if placed else PlacementSource.NONE]
    out.placement_uncertainty = (float(pose.placement_uncertainty)
                                 if placed and pose.placement_uncertainty is not None else float("nan"))
    _teleop_to_msg(pose, out)
    return out


def part_from_msg(m: dope_msg.PartPose) -> Optional[PartPose]:
    """Inverse of :func:`part_to_msg` (``None`` for an empty slot); see :func:`part_from_fields`.

    Raises:
        ValueError: unknown part, handedness or placement code.
    """
    return part_from_fields(m)


def poses_to_msg(poses: WholeBodyPoses, header: Header, *, camera_info_valid: bool) -> dope_msg.WholeBodyPoseArray:
    """The people of one image as a :class:`WholeBodyPoseArray` with the source image's header."""
    out = dope_msg.WholeBodyPoseArray(header=header, image_width=poses.image_size[0],
                                      image_height=poses.image_size[1], backend=poses.backend,
                                      camera_info_valid=camera_info_valid, lost_track_ids=list(poses.lost_track_ids))
    for person in poses.people:
        slots = {slot: part_to_msg(getattr(person, slot)) for slot in SLOTS}
        track_id = dope_msg.PersonPose.TRACK_ID_NONE if person.track_id is None else person.track_id
        out.people.append(dope_msg.PersonPose(id=person.id, score=float(person.score), track_id=track_id,
                                              track_state=STATE_CODES.get(person.track_state, 0), **slots))
    out.unassigned = [part_to_msg(p) for p in poses.unassigned]
    return out


def poses_from_msg(m: dope_msg.WholeBodyPoseArray) -> WholeBodyPoses:
    """Inverse of :func:`poses_to_msg` (the header is not part of :class:`WholeBodyPoses`)."""
    return poses_from_fields(m)
