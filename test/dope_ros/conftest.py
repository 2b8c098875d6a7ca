"""Fixtures of the ROS tests: a client node in the test process and node processes.

Loopback only: test/conftest.py sets ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, a
run-specific ROS_DOMAIN_ID and the Fast DDS profile before rclpy is imported; the
node processes started here inherit them.
"""

from __future__ import annotations

import os
import threading
import uuid
from typing import Callable, Iterator

import pytest
from dope_ros_harness import NodeProcess, launch_command


def _node_factory(tmp_path_factory) -> Iterator[Callable[..., NodeProcess]]:
    """Yields a function that starts a node with launch-file arguments; stops them all afterwards."""
    started: list[NodeProcess] = []

    def start(**overrides: str) -> NodeProcess:
        log = tmp_path_factory.mktemp("node") / "node.log"
        node = NodeProcess(launch_command(**overrides), log)
        started.append(node)
        node.wait_ready()
        return node

    yield start
    for node in started:
        node.stop()


@pytest.fixture
def start_node(tmp_path_factory) -> Iterator[Callable[..., NodeProcess]]:
    """Factory: start a node with launch-file arguments, stopped at teardown."""
    yield from _node_factory(tmp_path_factory)


@pytest.fixture(scope="module")
def module_node(tmp_path_factory) -> Iterator[Callable[..., NodeProcess]]:
    """Factory like ``start_node`` whose nodes live for the whole test module."""
    yield from _node_factory(tmp_path_factory)


@pytest.fixture(scope="session")
def ros_client():
    """A client rclpy node spinning in a background thread of the test process."""
    assert os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") == "LOCALHOST"
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node(f"dope_test_client_{uuid.uuid4().hex[:8]}", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    yield node
    executor.shutdown()
    node.destroy_node()
    rclpy.shutdown(context=context)
    thread.join(timeout=5)
