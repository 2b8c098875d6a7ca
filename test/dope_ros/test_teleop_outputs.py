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
