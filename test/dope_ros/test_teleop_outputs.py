"""dope_ros.teleop_outputs without a running graph: TF off, with one log line, when no TF package imports;
the operator message built only while ``~/operator`` has a subscriber."""

from __future__ import annotations

import sys

import numpy as np
from std_msgs.msg import Header

from dope_core.keypoints import Part
from dope_core.structures import Person, PartPose, WholeBodyPoses
from dope_ros.parameters import PARAMETERS
from dope_ros.teleop_outputs import TeleopOutputs, make_tf_sender


class _Logger:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, text: str) -> None:
        self.errors.append(text)


class _Publisher:
    def __init__(self) -> None:
        self.subscribers = 0
        self.sent: list = []

    def get_subscription_count(self) -> int:
        return self.subscribers

    def publish(self, msg) -> None:
        self.sent.append(msg)


class _Node:
    def __init__(self) -> None:
        self.logger = _Logger()
        self.publishers: dict[str, _Publisher] = {}

    def get_logger(self) -> _Logger:
        return self.logger

    def create_publisher(self, _type, topic: str, _depth: int) -> _Publisher:
        return self.publishers.setdefault(topic, _Publisher())


def test_the_operator_message_is_built_only_while_subscribed():
    node = _Node()
    outputs = TeleopOutputs(node, lambda name: PARAMETERS[name].default, min_confidence=0.2)
    body = PartPose(part=Part.BODY, score=0.9, box=np.array([0.0, 0.0, 50.0, 100.0]),
                    keypoints_2d=np.random.default_rng(0).uniform(0, 50, (13, 2)), keypoints_3d=np.zeros((13, 3)),
                    confidence=np.ones(13))
    poses = WholeBodyPoses(people=[Person(id=0, score=0.9, body=body, track_id=5)], image_size=(64, 128))
    pub = node.publishers["~/operator"]
    outputs.publish(poses, Header(), camera_info_valid=False)
    assert pub.sent == []                                     # nobody listens: nothing built
    pub.subscribers = 1
    outputs.publish(poses, Header(), camera_info_valid=False)
    assert len(pub.sent) == 1 and [p.track_id for p in pub.sent[0].people] == [5]


def test_publish_tf_without_any_tf_package_turns_tf_off(monkeypatch):
    for name in ("tf2_ros", "tf2_msgs", "tf2_msgs.msg"):
        monkeypatch.setitem(sys.modules, name, None)   # import raises ImportError
    node = _Node()
    assert make_tf_sender(node) is None
    assert len(node.logger.errors) == 1 and "TF off" in node.logger.errors[0]


def test_a_frame_id_tf2_cannot_take_is_mended_or_left_out():
    from dope_ros.tf_frames import tf2_frame

    assert tf2_frame("camera_optical_frame") == ("camera_optical_frame", None)
    frame, why = tf2_frame("/camera_optical_frame")
    assert frame == "camera_optical_frame" and "leading '/' is dropped" in why
    frame, why = tf2_frame("a b /c")
    assert frame == "" and "has blanks" in why


def _oriented_body(track_id: int = 7) -> WholeBodyPoses:
    """One person whose body is placed 2 m ahead and oriented (identity rotation)."""
    from dope_core.structures import PartFrame

    body = PartPose(part=Part.BODY, score=0.9, box=np.array([0.0, 0.0, 50.0, 100.0]), keypoints_2d=np.zeros((13, 2)),
                    keypoints_3d=np.zeros((13, 3)), confidence=np.ones(13), root_camera=np.array([0.1, -0.2, 2.0]),
                    frame=PartFrame(origin=np.zeros(3), quaternion=np.array([0.0, 0.0, 0.0, 1.0]), confidence=0.9))
    return WholeBodyPoses(people=[Person(id=0, score=0.9, body=body, track_id=track_id)], image_size=(64, 128))


def test_part_transforms_are_parented_to_the_image_frame_with_its_stamp() -> None:
    """tf_frames: each transform's parent is header.frame_id, stamped with the image stamp, child named per part."""
    from dope_ros.tf_frames import part_transforms

    header = Header(frame_id="head_camera_optical_frame")
    header.stamp.sec, header.stamp.nanosec = 17, 250
    (t,) = part_transforms(_oriented_body(), header, prefix="dope/")
    assert t.header.frame_id == "head_camera_optical_frame" and (t.header.stamp.sec, t.header.stamp.nanosec) == (17, 250)
    assert t.child_frame_id == "dope/body_7"
    assert (t.transform.translation.x, t.transform.translation.y, t.transform.translation.z) == (0.1, -0.2, 2.0)


def test_no_transform_without_a_parent_frame(monkeypatch) -> None:
    """TeleopOutputs sends TF on /tf only for images with a frame_id (no parent frame, no transform)."""
    monkeypatch.setitem(sys.modules, "tf2_ros", None)   # fall back to the tf2_msgs publisher
    node = _Node()
    params = {name: p.default for name, p in PARAMETERS.items()} | {"publish_tf": True}
    outputs = TeleopOutputs(node, params.__getitem__, min_confidence=0.2)
    assert outputs.tf_kind == "tf2_msgs"
    outputs.publish(_oriented_body(), Header(frame_id=""), camera_info_valid=True)
    assert node.publishers["/tf"].sent == []
    outputs.publish(_oriented_body(), Header(frame_id="cam"), camera_info_valid=True)
    (msg,) = node.publishers["/tf"].sent
    assert [t.header.frame_id for t in msg.transforms] == ["cam"]


def test_smoothing_config_reads_every_smoothing_parameter() -> None:
    """smoothing.* parameters (non-default values) all reach the SmoothingConfig; disabled gives None."""
    from dope_ros.teleop_outputs import smoothing_config

    values = {"smoothing.enabled": True, "smoothing.min_cutoff_hz": 1.5, "smoothing.beta": 2.5,
              "smoothing.d_cutoff_hz": 3.5, "smoothing.max_gap_s": 4.5, "smoothing.depth_min_cutoff_hz": 0.75}
    cfg = smoothing_config(values.__getitem__)
    assert (cfg.min_cutoff_hz, cfg.beta, cfg.d_cutoff_hz, cfg.max_gap_s, cfg.depth_min_cutoff_hz) == \
        (1.5, 2.5, 3.5, 4.5, 0.75)
    assert smoothing_config((values | {"smoothing.enabled": False}).__getitem__) is None
