"""RViz markers of whole-body poses: one LINE_LIST (bones) and one SPHERE_LIST (joints) per part.

Every array starts with a DELETEALL marker so the markers of the previous image never
linger, and every marker has a lifetime so they go when images stop. Coordinates in
metres in the camera optical frame (the header's frame_id). Skeletons are drawn only
for parts placed with a valid CameraInfo; without one the array holds a single text
marker that says so (no 3D skeleton is guessed).
"""

from __future__ import annotations

from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from dope_core.grasp import INDEX_TIP, THUMB_TIP
from dope_core.structures import WholeBodyPoses
from dope_ros.marker_geometry import JOINT_DIAMETER_M, LINE_WIDTH_M, skeleton_geometry


NO_CAMERA_INFO_TEXT = "no valid CameraInfo: 3D skeletons not shown"
"""Text of the marker shown instead of skeletons while the camera is not calibrated."""


def poses_to_markers(poses: WholeBodyPoses, header: Header, *, camera_info_valid: bool = True,
                     min_confidence: float = 0.3, lifetime_s: float = 0.0) -> MarkerArray:
    """The markers of one image's poses (only parts placed in the camera frame).

    ``camera_info_valid`` False gives, after the DELETEALL, one TEXT_VIEW_FACING marker
    (namespace ``status``, 1 m in front of the camera) saying so, and no skeleton.
    ``lifetime_s`` > 0 makes RViz drop markers that are not refreshed in time (0: forever,
    until the next DELETEALL).
    """
    out = MarkerArray()
    out.markers.append(Marker(header=header, action=Marker.DELETEALL))
    sec, nanosec = divmod(int(round(lifetime_s * 1e9)), 1_000_000_000)
    life = Duration(sec=sec, nanosec=nanosec)
    if not camera_info_valid:
        text = Marker(header=header, ns="status", id=0, type=Marker.TEXT_VIEW_FACING, action=Marker.ADD,
                      text=NO_CAMERA_INFO_TEXT, lifetime=life, color=ColorRGBA(r=1.0, g=0.6, b=0.0, a=1.0))
        text.pose.position.z = 1.0
        text.pose.orientation.w = 1.0
        text.scale.z = 0.05
        out.markers.append(text)
        return out
    for geo in skeleton_geometry(poses, min_confidence=min_confidence):
        colour = ColorRGBA(r=geo.colour[0], g=geo.colour[1], b=geo.colour[2], a=1.0)
        bones = Marker(header=header, ns=geo.namespace, id=2 * geo.index, type=Marker.LINE_LIST,
                       action=Marker.ADD, color=colour, lifetime=life)
        bones.pose.orientation.w = 1.0
        bones.scale.x = LINE_WIDTH_M[geo.part]
        bones.points = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in geo.segments.reshape(-1, 3)]
        joints = Marker(header=header, ns=geo.namespace, id=2 * geo.index + 1, type=Marker.SPHERE_LIST,
                        action=Marker.ADD, color=colour, lifetime=life)
        joints.pose.orientation.w = 1.0
        joints.scale.x = joints.scale.y = joints.scale.z = JOINT_DIAMETER_M[geo.part]
        joints.points = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in geo.joints]
        out.markers.extend([bones, joints])
    out.markers.extend(grasp_markers(poses, header, life))
    return out


def grasp_markers(poses: WholeBodyPoses, header: Header, lifetime: Duration) -> list[Marker]:
    """Namespace ``grasp``: per placed hand with a grasp, a text 2 cm beyond the index tip
    ("pinch 1.2 cm" in red, or the aperture in white) and a line from the thumb tip to
    the index tip (camera optical frame, metres)."""
    out = []
    for n, person in enumerate(poses.people):
        for slot in ("left_hand", "right_hand"):
            hand = getattr(person, slot)
            if hand is None or hand.grasp is None or hand.root_camera is None:
                continue
            pts = hand.keypoints_3d_camera
            thumb, index = pts[THUMB_TIP], pts[INDEX_TIP]
            colour = ColorRGBA(r=1.0, g=0.15, b=0.15, a=1.0) if hand.grasp.pinch else ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0)
            marker_id = 2 * n + (slot == "right_hand")   # per image (DELETEALL first); track ids overflow int32
            text = Marker(header=header, ns="grasp", id=2 * marker_id, type=Marker.TEXT_VIEW_FACING,
                          action=Marker.ADD, color=colour, lifetime=lifetime,
                          text=("pinch " if hand.grasp.pinch else "") + f"{100 * hand.grasp.aperture_m:.1f} cm")
            text.pose.position = Point(x=float(index[0]), y=float(index[1]) - 0.02, z=float(index[2]))
            text.pose.orientation.w = 1.0
            text.scale.z = 0.02
            line = Marker(header=header, ns="grasp", id=2 * marker_id + 1, type=Marker.LINE_STRIP, action=Marker.ADD,
                          color=colour, lifetime=lifetime)
            line.pose.orientation.w = 1.0
            line.scale.x = 0.003
            line.points = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in (thumb, index)]
            out.extend([text, line])
    return out
