"""dope_ros.teleop_outputs without a running graph: TF off, with one log line, when no TF package imports."""

from __future__ import annotations

import sys

from dope_ros.teleop_outputs import make_tf_sender


class _Logger:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, text: str) -> None:
        self.errors.append(text)


class _Node:
    def __init__(self) -> None:
        self.logger = _Logger()

    def get_logger(self) -> _Logger:
        return self.logger


def test_publish_tf_without_any_tf_package_turns_tf_off(monkeypatch):
    for name in ("tf2_ros", "tf2_msgs", "tf2_msgs.msg"):
        monkeypatch.setitem(sys.modules, name, None)   # import raises ImportError
    node = _Node()
    assert make_tf_sender(node) is None
    assert len(node.logger.errors) == 1 and "TF off" in node.logger.errors[0]
