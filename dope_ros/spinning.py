"""Spin a node until the process is asked to stop, and tell a stop from a failure.

On Ctrl-C or SIGTERM rclpy shuts the context down from its signal handler, while the executor may be anywhere:
waiting (it raises ``ExternalShutdownException``), building its wait set, or inside a callback that publishes
(``RCLError: ... context is invalid``, ``InvalidHandle``). An error raised once the context is shut down is part
of that stop, not a failure of the node; one raised while the context is still valid is re-raised.
"""

from __future__ import annotations

from typing import Callable, Optional

from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node


def spin_until_shutdown(node: Node, *, done: Optional[Callable[[], bool]] = None, period_s: float = 0.1) -> None:
    """Spin ``node`` (in its own context) until the context shuts down, Ctrl-C, or ``done()`` returns true.

    ``period_s`` (seconds) is how often ``done`` is asked. Returns normally on a stop; re-raises an error raised
    while the context is still valid. The node is left to the caller to destroy.
    """
    context = node.context
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        if done is None:
            executor.spin()
        else:
            while context.ok() and not done():
                executor.spin_once(timeout_sec=period_s)
    except KeyboardInterrupt:
        pass
    except Exception:
        if context.ok():
            raise
    finally:
        executor.remove_node(node)
        executor.shutdown(timeout_sec=0)
