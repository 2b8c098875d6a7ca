"""spin_until_shutdown: a stop arriving in the middle of a callback is a stop, an error before it is an error."""

from __future__ import annotations

import threading
import uuid
from typing import Callable

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from std_msgs.msg import String

from dope_ros.spinning import spin_until_shutdown


@pytest.fixture
def node():
    """A node in a context of its own, so that shutting it down leaves the other tests' context alone."""
    context = rclpy.Context()
    rclpy.init(context=context)
    n = rclpy.create_node(f"spin_test_{uuid.uuid4().hex[:8]}", context=context)
    yield n
    n.destroy_node()
    rclpy.try_shutdown(context=context)


def _stop_mid_publish(node) -> Callable[[], None]:
    """A timer callback doing what SIGTERM does to a node mid-frame: the context goes, then it publishes."""
    pub = node.create_publisher(String, "spin_test", 1)

    def tick() -> None:
        node.context.shutdown()
        pub.publish(String(data="late"))   # raises: the context (or the publisher's handle) is gone

    return tick


def test_bare_spin_raises_on_a_stop_mid_publish(node):
    """The failure spin_until_shutdown exists for (a node exiting 1 on SIGTERM)."""
    node.create_timer(0.01, _stop_mid_publish(node))
    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    with pytest.raises(Exception):
        executor.spin()


def test_stop_mid_publish_is_a_stop(node):
    node.create_timer(0.01, _stop_mid_publish(node))
    spin_until_shutdown(node)
    assert not node.context.ok()


def test_stop_mid_publish_is_a_stop_with_done(node):
    node.create_timer(0.01, _stop_mid_publish(node))
    spin_until_shutdown(node, done=lambda: False, period_s=0.02)
    assert not node.context.ok()


def test_an_error_while_running_is_raised(node):
    def tick() -> None:
        raise ValueError("a bug in a callback")

    node.create_timer(0.01, tick)
    with pytest.raises(ValueError, match="a bug"):
        spin_until_shutdown(node)
    assert node.context.ok()


def test_done_ends_the_spin(node):
    done = threading.Event()
    node.create_timer(0.01, done.set)
    spin_until_shutdown(node, done=done.is_set, period_s=0.02)
    assert done.is_set() and node.context.ok()
