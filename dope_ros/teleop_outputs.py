"""The node's teleoperation outputs: frames, smoothing, grasp, the operator topic and TF.

Built from the node's parameters (``smoothing.*``, ``grasp.*``, ``operator.*``,
``publish_tf``, ``tf_prefix``; dope_ros/parameters.py) so that node.py only calls
:meth:`TeleopOutputs.process` and :meth:`TeleopOutputs.publish`. Publishes:

* ``~/operator`` (``dope_ros/WholeBodyPoseArray``): the image's poses holding only the
  chosen person (:class:`dope_core.teleop.OperatorSelector`), or nobody; published for
  every processed image, so a consumer sees the camera rate;
* TF (when ``publish_tf``): one frame per placed, oriented part
  (:mod:`dope_ros.tf_frames`), through tf2_ros's ``TransformBroadcaster`` where a
  system ROS provides it, else as ``tf2_msgs/TFMessage`` on ``/tf`` (the message is
  built into the venv by scripts/setup_env.sh when no tf2_msgs is installed).
"""

from __future__ import annotations

from typing import Callable, Optional

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header

from dope_core.grasp import PinchThresholds
from dope_core.smoothing import SmoothingConfig
from dope_core.structures import WholeBodyPoses
from dope_core.teleop import OperatorSelector, TeleopPipeline
from dope_ros.conversions import poses_to_msg
from dope_ros.msg import WholeBodyPoseArray
from dope_ros.tf_frames import part_transforms

_TF_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)


def smoothing_config(get: Callable[[str], object]) -> SmoothingConfig | None:
    """The ``smoothing.*`` parameters as a config, ``None`` when disabled."""
    if not get("smoothing.enabled"):
        return None
    return SmoothingConfig(**{name: float(get(f"smoothing.{name}")) for name in
                              ("min_cutoff_hz", "beta", "d_cutoff_hz", "max_gap_s", "depth_min_cutoff_hz")})


class _TfSender:
    """tf2_ros's broadcaster when importable, else a plain ``/tf`` publisher of TFMessage.

    Raises:
        ImportError: neither tf2_ros nor tf2_msgs is importable.
    """

    def __init__(self, node: Node) -> None:
        try:
            from tf2_ros import TransformBroadcaster

            self._broadcaster = TransformBroadcaster(node)
            self.kind = "tf2_ros"
        except ImportError:
            from tf2_msgs.msg import TFMessage

            self._broadcaster = None
            self._message = TFMessage
            self._pub = node.create_publisher(TFMessage, "/tf", _TF_QOS)
            self.kind = "tf2_msgs"

    def send(self, transforms: list) -> None:
        if not transforms:
            return
        if self._broadcaster is not None:
            self._broadcaster.sendTransform(transforms)
        else:
            self._pub.publish(self._message(transforms=transforms))


def make_tf_sender(node: Node) -> Optional[_TfSender]:
    """A TF sender, or ``None`` (TF off, said once in the log) when no TF package is importable."""
    try:
        return _TfSender(node)
    except ImportError as e:
        node.get_logger().error(f"publish_tf: TF off, neither tf2_ros nor tf2_msgs is importable ({e}); run "
                                "scripts/setup_env.sh (builds extras/tf2_msgs) or source a ROS 2 installation")
        return None


class TeleopOutputs:
    """Frames, smoothing, velocities, grasp; the operator topic and TF (module docstring).

    Args:
        node: the DOPE node (publishers are created on it).
        get: reads a parameter's value.
        min_confidence: keypoints less confident do not orient a part.
    """

    def __init__(self, node: Node, get: Callable[[str], object], *, min_confidence: float) -> None:
        self.pipeline = TeleopPipeline(
            smoothing=smoothing_config(get) if get("track_people") else None,
            pinch=PinchThresholds(close_below=get("grasp.close_below"), open_above=get("grasp.open_above"),
                                  min_confidence=get("grasp.min_confidence")),
            min_confidence=min_confidence)
        self.operator = OperatorSelector(get("operator.mode"), track_id=get("operator.track_id"))
        self._operator_pub = node.create_publisher(WholeBodyPoseArray, "~/operator", 10)
        self._tf = make_tf_sender(node) if get("publish_tf") else None
        self._prefix = str(get("tf_prefix"))

    @property
    def tf_kind(self) -> str:
        """How TF is sent: ``tf2_ros``, ``tf2_msgs`` or ``off``."""
        return "off" if self._tf is None else self._tf.kind

    def process(self, poses: WholeBodyPoses, stamp_s: float) -> WholeBodyPoses:
        """Frames, filtering and grasp of one image's tracked (and placed) poses."""
        return self.pipeline(poses, stamp_s)

    def publish(self, poses: WholeBodyPoses, header: Header, *, camera_info_valid: bool) -> None:
        """``~/operator`` (built only while it has a subscriber) and TF for one image."""
        if self._operator_pub.get_subscription_count() > 0:
            self._operator_pub.publish(poses_to_msg(self.operator.only(poses), header,
                                                    camera_info_valid=camera_info_valid))
        if self._tf is not None and header.frame_id:   # no parent frame, no transform
            self._tf.send(part_transforms(poses, header, prefix=self._prefix))
