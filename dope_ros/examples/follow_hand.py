"""Teleoperation example: follow the right hand of the nearest person.

Subscribes to a DOPE node's ``~/operator`` topic (the node's ``operator.mode: closest``
keeps one person, the nearest, while their track lives) and, for every image the node
processed (so at the camera rate the node sustains), turns the operator's right hand
into

* an end-effector target, ``geometry_msgs/PoseStamped`` on ``~/ee_target``: the hand
  frame (origin at the wrist, x to the middle-finger base, z out of the palm) in the
  camera optical frame, stamped with the image stamp;
* a gripper command, ``std_msgs/Float64`` on ``~/gripper``: 0 closed .. 1 open, from
  the thumb-index aperture normalised by the hand size (``--open-at``: the normalised
  aperture read as fully open), and 0 while the node reports a pinch.

Both are printed, one line per image. When the hand is missing, unplaced (no
CameraInfo) or unoriented, the last target is held and the line says why. Run::

    python -m dope_ros.examples.follow_hand --operator-topic /dope/operator
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Optional

import rclpy
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from std_msgs.msg import Float64

from dope_ros.msg import WholeBodyPoseArray
from dope_ros.spinning import spin_until_shutdown


def gripper_command(aperture_normalised: float, pinch: bool, *, open_at: float = 1.0) -> float:
    """Gripper opening in [0, 1] (0 closed) from the normalised thumb-index aperture.

    Raises:
        ValueError: ``open_at`` not positive.
    """
    if not open_at > 0.0:
        raise ValueError(f"open_at must be > 0, got {open_at}")
    if pinch:
        return 0.0
    return float(min(1.0, max(0.0, aperture_normalised / open_at)))


class FollowHand(Node):
    """The example node (module docstring)."""

    def __init__(self, operator_topic: str, *, open_at: float = 1.0, count: int = 0) -> None:
        super().__init__("follow_hand")
        self._open_at = open_at
        self._count = count
        self.lines = 0
        self.done = threading.Event()
        self._target: Optional[PoseStamped] = None
        self._ee_pub = self.create_publisher(PoseStamped, "~/ee_target", 10)
        self._gripper_pub = self.create_publisher(Float64, "~/gripper", 10)
        self.create_subscription(WholeBodyPoseArray, operator_topic, self._on_operator, 10)

    def _on_operator(self, msg: WholeBodyPoseArray) -> None:
        hand = msg.people[0].right_hand if msg.people else None
        stamp = f"{msg.header.stamp.sec}.{msg.header.stamp.nanosec:09d}"
        why = None
        if hand is None or not hand.present:
            why = "no operator" if not msg.people else "no right hand"
        elif hand.frame_3d != hand.FRAME_CAMERA:
            why = "right hand not placed (no CameraInfo)"
        elif not (hand.has_frame and hand.has_orientation):
            why = "right hand not oriented (too few confident keypoints)"
        if why is None:
            self._target = PoseStamped(header=msg.header, pose=hand.pose)
            self._ee_pub.publish(self._target)
            p, q = hand.pose.position, hand.pose.orientation
            line = (f"{stamp} ee_target frame={msg.header.frame_id} track={msg.people[0].track_id} "
                    f"p=({p.x:.3f}, {p.y:.3f}, {p.z:.3f}) q=({q.x:.3f}, {q.y:.3f}, {q.z:.3f}, {q.w:.3f}) "
                    f"conf={hand.orientation_confidence:.2f}")
        else:
            line = f"{stamp} hold: {why}" + ("" if self._target is not None else " (no target yet)")
        if hand is not None and hand.present and hand.has_grasp:
            g = gripper_command(hand.grasp_aperture_normalised, hand.pinch, open_at=self._open_at)
            self._gripper_pub.publish(Float64(data=g))
            line += f" gripper={g:.2f} aperture={100 * hand.grasp_aperture:.1f}cm pinch={hand.pinch}"
        print(line, flush=True)
        self.lines += 1
        if self._count and self.lines >= self._count:
            self.done.set()


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--operator-topic", default="/dope/operator", help="the DOPE node's ~/operator topic")
    p.add_argument("--open-at", type=float, default=1.0, help="normalised aperture read as a fully open gripper")
    p.add_argument("--count", type=int, default=0, help="exit after this many images (0: run until Ctrl-C)")
    args, ros_args = p.parse_known_args(argv)
    if not args.open_at > 0.0:
        p.error(f"--open-at must be > 0, got {args.open_at}")
    rclpy.init(args=ros_args)
    node = FollowHand(args.operator_topic, open_at=args.open_at, count=args.count)
    try:
        spin_until_shutdown(node, done=node.done.is_set)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
