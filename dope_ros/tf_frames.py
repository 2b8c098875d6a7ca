"""TF frames of the placed, oriented parts of one image, as ``geometry_msgs/TransformStamped``.

One frame per part whose position is in the camera optical frame (placed) and whose
orientation is known (:mod:`dope_core.part_frames`): ``{prefix}body_<id>``,
``{prefix}hand_left_<id>``, ``{prefix}hand_right_<id>``, ``{prefix}face_<id>``, where
``<id>`` is the person's track id (the index in the image when untracked), each
parented to the image's ``frame_id`` and stamped with the image's stamp. Unassigned
parts get no frame (they have no person id).
"""

from __future__ import annotations

from geometry_msgs.msg import Quaternion, TransformStamped, Vector3
from std_msgs.msg import Header

from dope_core.msg_fields import tf_parts
from dope_core.structures import WholeBodyPoses


def tf2_frame(frame_id: str) -> tuple[str, str | None]:
    """``frame_id`` as a tf2 frame, and what was wrong with it (``None``: nothing): a leading ``/`` (a ROS 1
    habit that tf2 refuses) is dropped; a frame with blanks cannot be one, and gives ``""``."""
    if any(c.isspace() for c in frame_id):
        return "", f"frame_id {frame_id!r} has blanks, which a tf2 frame cannot: no markers nor TF for it"
    if frame_id.startswith("/"):
        return frame_id.lstrip("/"), f"frame_id {frame_id!r}: its leading '/' is dropped (tf2 frames have none)"
    return frame_id, None


def part_transforms(poses: WholeBodyPoses, header: Header, *, prefix: str = "") -> list[TransformStamped]:
    """Transforms from ``header.frame_id`` to every placed, oriented part (module docstring)."""
    out = []
    for name, pose in tf_parts(poses, prefix=prefix):
        x, y, z = (float(v) for v in pose.frame_position)
        qx, qy, qz, qw = (float(v) for v in pose.frame.quaternion)
        t = TransformStamped(header=Header(stamp=header.stamp, frame_id=header.frame_id), child_frame_id=name)
        t.transform.translation = Vector3(x=x, y=y, z=z)
        t.transform.rotation = Quaternion(x=qx, y=qy, z=qz, w=qw)
        out.append(t)
    return out
