"""Diagnostics of the running node (another process): name, OK, WARN that clears, stale WARN then ERROR.

The node runs with the default diagnostics period (1 s) and stale timeouts (WARN after
1 s, ERROR after 3 s), a 2-period window and a 0.5 Hz minimum rate; a camera thread
in the test process streams small frames at about 5 Hz and stops.
"""

from __future__ import annotations

import threading
import time
import uuid

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from dope_ros.msg import WholeBodyPoseArray
from dope_ros_harness import wait_for

W, H = 96, 72


class Camera:
    """Streams frames (and camera info) at about 5 Hz until stopped; can slip in one bad frame."""

    def __init__(self, client, ns: str) -> None:
        self.image_pub = client.create_publisher(Image, f"/{ns}/camera/image_raw", qos_profile_sensor_data)
        self.info_pub = client.create_publisher(CameraInfo, f"/{ns}/camera/camera_info", qos_profile_sensor_data)
        self.info = CameraInfo(width=W, height=H)
        self.info.k = [90.0, 0.0, W / 2, 0.0, 90.0, H / 2, 0.0, 0.0, 1.0]
        self.good = Image(height=H, width=W, encoding="rgb8", step=3 * W,
                          data=np.random.default_rng(0).integers(0, 255, H * W * 3, dtype=np.uint8).tobytes())
        self.bad_pending = False
        self.last_sent = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.info_pub.publish(self.info)
            if self.bad_pending:
                self.bad_pending = False
                self.image_pub.publish(Image(height=H, width=W, encoding="rgb8", step=3 * W, data=b"\x00" * 7))
            else:
                self.image_pub.publish(self.good)
            self.last_sent = time.monotonic()
            time.sleep(0.2)

    def start(self) -> None:
        """Start (or restart, after :meth:`stop`) streaming."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.last_sent


@pytest.fixture(scope="module")
def diag_node(module_node, ros_client):
    ns = f"diag_{uuid.uuid4().hex[:6]}"
    node = module_node(namespace=ns, device="cpu", parameters={
        "parts": "[body]", "diagnostics_window": "2", "diagnostics_min_rate_hz": "0.5"})
    statuses: list[tuple[float, DiagnosticStatus]] = []
    name = f"/{ns}/dope: whole-body pose estimation"

    def on_diag(msg: DiagnosticArray) -> None:
        statuses.extend((time.monotonic(), s) for s in msg.status if s.name == name)

    ros_client.create_subscription(DiagnosticArray, "/diagnostics", on_diag, 10)
    ros_client.create_subscription(WholeBodyPoseArray, f"/{ns}/dope/poses", lambda _: None, 10)  # lazy node
    camera = Camera(ros_client, ns)
    wait_for(lambda: camera.image_pub.get_subscription_count() > 0, 20, "the node's image subscription")
    yield node, camera, statuses
    assert node.proc.poll() is None, node.output()


def _level(status: DiagnosticStatus) -> int:
    return status.level[0] if isinstance(status.level, bytes) else int(status.level)


def _wait_level(statuses, level: int, after: float, timeout: float, what: str,
                text: str = "") -> tuple[float, DiagnosticStatus]:
    """The first status at ``level`` (whose message holds ``text``) received after ``after``."""
    found: list[tuple[float, DiagnosticStatus]] = []

    def seen() -> bool:
        found[:] = [(t, s) for t, s in list(statuses) if t > after and _level(s) == level and text in s.message]
        return bool(found)

    wait_for(seen, timeout, what)
    return found[0]


def _age(status: DiagnosticStatus) -> float:
    """The image age (seconds) the node reports in ``status``."""
    return float({kv.key: kv.value for kv in status.values}["image_age_s"])


# The waits below only stop a hung test: they bound nothing the test checks (no timing thresholds).
@pytest.mark.timeout(300)
def test_diagnostics_states(diag_node):
    """Before any image ERROR; OK while streaming; one bad frame WARN, then OK again; the camera stops:
    stale WARN (1 s < age <= 3 s), then stale ERROR (age > 3 s); the camera restarts: OK again."""
    node, camera, statuses = diag_node
    # Before any image: the named status says the input is missing (stale from start-up).
    _, first = _wait_level(statuses, DiagnosticStatus.ERROR[0], 0.0, 60, "ERROR before any image",
                           "no image received since subscribing")
    values = {kv.key: kv.value for kv in first.values}
    assert values["image_topic"].endswith("/camera/image_raw") and values["image_age_s"] == "never"

    camera.start()
    _, ok = _wait_level(statuses, DiagnosticStatus.OK[0], time.monotonic(), 60, "OK while the camera streams")
    values = {kv.key: kv.value for kv in ok.values}
    assert ok.message == "ok" and float(values["rate_hz"]) > 0
    # the streaming experts publish their search and relocation counters, and (the node's default) that
    # the scheduled searches run in the background
    assert values["streaming"] == "true" and int(values["whole_frame_searches"]) >= 1
    assert values["background_search"] == "true" and values["background_search_failures"] == "0"
    assert values["lost_people_sought_locally"].isdigit()

    # One bad frame: WARN, which clears once the window (2 periods) has passed without bad input.
    camera.bad_pending = True
    t_warn, warn = _wait_level(statuses, DiagnosticStatus.WARN[0], time.monotonic(), 60, "WARN after a bad frame")
    assert "recent bad input: 1 bad image" in warn.message
    _wait_level(statuses, DiagnosticStatus.OK[0], t_warn, 60, "OK again after the window")

    # The camera stops: stale WARN, then ERROR (stale input), each at the ages of the default stale
    # timeouts as the node itself measures them.
    stopped = camera.stop()
    t_warn, warn = _wait_level(statuses, DiagnosticStatus.WARN[0], stopped, 60, "stale WARN", "no image received for")
    assert 1.0 < _age(warn) <= 3.0, warn.message
    found: list[tuple[float, DiagnosticStatus]] = []

    def stale_error() -> bool:
        found[:] = [(t, s) for t, s in list(statuses) if t > t_warn and _level(s) == DiagnosticStatus.ERROR[0]
                    and "no image received for" in s.message and _age(s) > 3.0]
        return bool(found)

    wait_for(stale_error, 60, "stale ERROR")
    t_err = found[0][0]
    assert "no image received for" in node.output()  # logged too (rate-limited)

    # The camera streams again: OK.
    camera.start()
    _wait_level(statuses, DiagnosticStatus.OK[0], t_err, 60, "OK once the camera streams again")
    camera.stop()
