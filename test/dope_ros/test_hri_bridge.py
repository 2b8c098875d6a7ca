"""ROS4HRI bridge: off with one message without hri_msgs; with it (system ROS), the topics of REP-155."""

from __future__ import annotations

import importlib.util
import uuid

import numpy as np
import pytest
from std_msgs.msg import Header

from dope_core.keypoints import Part
from dope_core.structures import PartPose, Person, WholeBodyPoses
from dope_ros.hri_bridge import TRACKED_TOPIC, make_hri_bridge
from dope_ros_harness import wait_for

HAS_HRI = importlib.util.find_spec("hri_msgs") is not None


@pytest.mark.skipif(HAS_HRI, reason="hri_msgs is importable here")
def test_without_hri_msgs_the_bridge_is_off_and_says_so_once():
    said: list[str] = []
    assert make_hri_bridge(None, said.append) is None
    assert len(said) == 1 and "hri_msgs is not importable" in said[0]


def _person(track_id: int) -> Person:
    j = Part.BODY.num_keypoints
    body = PartPose(part=Part.BODY, score=0.9, box=[20, 40, 120, 240], keypoints_2d=np.full((j, 2), 50.0),
                    keypoints_3d=np.zeros((j, 3)), confidence=np.full(j, 0.8))
    return Person(id=0, score=0.9, track_id=track_id, body=body)


@pytest.mark.skipif(not HAS_HRI, reason="hri_msgs is not importable (no registry here carries it; system ROS only)")
def test_bridge_publishes_tracked_ids_skeleton_and_roi(ros_client):
    import rclpy
    from hri_msgs.msg import IdsList, NormalizedRegionOfInterest2D, Skeleton2D

    node = rclpy.create_node(f"hri_bridge_test_{uuid.uuid4().hex[:6]}", context=ros_client.context)
    try:
        bridge = make_hri_bridge(node, lambda _: None)
        got: dict[str, list] = {"ids": [], "skel": [], "roi": []}
        ros_client.create_subscription(IdsList, TRACKED_TOPIC, got["ids"].append, 10)
        ros_client.create_subscription(Skeleton2D, "/humans/bodies/b7/skeleton2d", got["skel"].append, 10)
        ros_client.create_subscription(NormalizedRegionOfInterest2D, "/humans/bodies/b7/roi", got["roi"].append, 10)
        poses = WholeBodyPoses(image_size=(200, 400), people=[_person(7)])

        def published() -> bool:
            bridge.publish(poses, Header(frame_id="cam"))
            return bool(got["ids"] and got["skel"] and got["roi"])

        wait_for(published, 20, "ROS4HRI messages")
        assert list(got["ids"][-1].ids) == ["b7"] and len(got["skel"][-1].skeleton) == 18
        roi = got["roi"][-1]
        assert (roi.xmin, roi.ymin, roi.xmax, roi.ymax) == pytest.approx((0.1, 0.1, 0.6, 0.6))
        bridge.publish(WholeBodyPoses(image_size=(200, 400)), Header(frame_id="cam"))
        assert bridge.body_ids == []  # the body's publishers go with it
    finally:
        node.destroy_node()


def test_lazy_check_survives_a_publisher_destroyed_by_the_worker():
    """The lazy timer (executor thread) counts subscribers while the worker may destroy a
    per-body publisher: a destroyed handle is skipped, never an exception in the timer."""
    from types import SimpleNamespace

    from dope_ros.node import DopeNode

    class Destroyed:
        @property
        def topic_name(self) -> str:
            raise RuntimeError("InvalidHandle: destroyed")

    def pub(topic: str, count: int) -> SimpleNamespace:
        return SimpleNamespace(topic_name=topic, get_subscription_count=lambda: count)

    check = DopeNode._has_output_subscribers
    assert check(SimpleNamespace(publishers=[Destroyed(), pub("/ns/dope/poses", 1)]))
    assert not check(SimpleNamespace(publishers=[Destroyed(), pub("/diagnostics", 3), pub("/ns/dope/poses", 0)]))
