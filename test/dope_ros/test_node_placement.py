"""The running node (a separate process) places people only with a CameraInfo it can trust; depth fixes distances.

One node with a depth input serves the module; each test publishes a real photo of a
person (matplotlib's grace_hopper.jpg, 512x600) with its CameraInfo (and depth) under a
unique stamp and reads the answer on ``~/poses`` and the counters on ``/diagnostics``.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from dope_ros.msg import PartPose, WholeBodyPoseArray

from dope_ros_harness import set_parameter, wait_for

pytestmark = pytest.mark.timeout(300)
_stamps = itertools.count(100)
FRAME = "camera_optical_frame"
SHOULDERS = (10, 11)


def _photo() -> np.ndarray:
    import matplotlib.image
    from matplotlib import cbook

    return matplotlib.image.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))[:, :, :3].copy()


PHOTO = _photo()
H, W = PHOTO.shape[:2]
F = 600.0


def _info(stamp: int, *, width=W, height=H, k=(F, 0.0, W / 2, 0.0, F, H / 2, 0.0, 0.0, 1.0), model="plumb_bob",
          d=(0.0,) * 5, frame=FRAME, binning=0) -> CameraInfo:
    info = CameraInfo(width=width, height=height, distortion_model=model, binning_x=binning, binning_y=binning)
    info.k, info.d = list(map(float, k)), list(map(float, d))
    info.header.stamp.sec, info.header.frame_id = stamp, frame
    return info


def _image(stamp: int) -> Image:
    msg = Image(height=H, width=W, encoding="rgb8", step=3 * W, data=PHOTO.tobytes())
    msg.header.stamp.sec, msg.header.frame_id = stamp, FRAME
    return msg


def _depth(stamp: int, pixels: np.ndarray, encoding: str = "16UC1") -> Image:
    msg = Image(height=pixels.shape[0], width=pixels.shape[1], encoding=encoding, step=pixels.strides[0],
                data=pixels.tobytes())
    msg.header.stamp.sec, msg.header.frame_id = stamp, FRAME
    return msg


class PlacementIO:
    def __init__(self, client, ns: str) -> None:
        self.ns = ns
        self.poses: dict[int, WholeBodyPoseArray] = {}
        self.diag: dict[str, str] = {}
        self._lock = threading.Lock()
        self.image_pub = client.create_publisher(Image, f"/{ns}/camera/image_raw", qos_profile_sensor_data)
        self.info_pub = client.create_publisher(CameraInfo, f"/{ns}/camera/camera_info", 10)
        self.depth_pub = client.create_publisher(Image, f"/{ns}/camera/depth", 10)
        client.create_subscription(WholeBodyPoseArray, f"/{ns}/dope/poses", self._on_poses, 10)
        client.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 10)
        for pub in (self.image_pub, self.info_pub, self.depth_pub):
            wait_for(lambda: pub.get_subscription_count() > 0, 20, f"the node's subscription to {pub.topic_name}")

    def _on_poses(self, msg) -> None:
        with self._lock:
            self.poses[msg.header.stamp.sec] = msg

    def _on_diag(self, msg) -> None:
        for status in msg.status:
            values = {kv.key: kv.value for kv in status.values}
            if values.get("image_topic", "").startswith(f"/{self.ns}/"):
                with self._lock:
                    self.diag = values

    def counter(self, key: str) -> int:
        with self._lock:
            return int(self.diag.get(key, "0"))

    def send(self, *, info: CameraInfo | None = None, depth: Image | None = None, stamp: int | None = None,
             timeout: float = 60.0) -> WholeBodyPoseArray:
        """Publish the CameraInfo and depth first, then the photo (again every 3 s: best effort)."""
        stamp = next(_stamps) if stamp is None else stamp
        if info is not None:
            self.info_pub.publish(info)
        if depth is not None:
            self.depth_pub.publish(depth)
        time.sleep(0.2)
        msg = _image(stamp)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.image_pub.publish(msg)
            try:
                wait_for(lambda: stamp in self.poses, 3.0, "poses")
                return self.poses[stamp]
            except AssertionError:
                continue
        raise AssertionError(f"no poses for the frame stamped {stamp}")

    def wait_counter(self, key: str, above: int) -> None:
        wait_for(lambda: self.counter(key) > above, 15, f"diagnostics {key} > {above} (now {self.diag})")


@pytest.fixture(scope="module")
def io(module_node, ros_client):
    ns = f"place_{uuid.uuid4().hex[:6]}"
    node = module_node(namespace=ns, device="cpu", parameters={"depth_topic": "camera/depth"})
    io = PlacementIO(ros_client, ns)
    io.process = node
    yield io
    assert node.proc.poll() is None, f"the node died:\n{node.output()}"


def _body(msg: WholeBodyPoseArray) -> PartPose:
    assert len(msg.people) >= 1, "the experts found nobody in grace_hopper.jpg"
    return msg.people[0].body


def test_matching_camera_info_places_the_person(io):
    stamp = next(_stamps)
    out = io.send(info=_info(stamp), stamp=stamp)
    body = _body(out)
    assert out.camera_info_valid and body.frame_3d == PartPose.FRAME_CAMERA
    assert body.placement == PartPose.PLACEMENT_MONOCULAR and 0.0 < body.placement_uncertainty < 1.0
    assert 0.3 < body.root_camera.z < 5.0
    face = out.people[0].face
    assert face.present and face.placement == PartPose.PLACEMENT_BODY_ANCHORED


def test_camera_info_of_another_size_is_not_used(io):
    """The issue's case: a 1920x1080 matrix for a 512x600 image moved a body 0.64 m."""
    before = io.counter("camera_info_mismatch")
    stamp = next(_stamps)
    hd = _info(stamp, width=1920, height=1080, k=(1400.0, 0.0, 960.0, 0.0, 1400.0, 540.0, 0.0, 0.0, 1.0))
    out = io.send(info=hd, stamp=stamp)
    assert not out.camera_info_valid
    assert _body(out).frame_3d == PartPose.FRAME_PART_RELATIVE and _body(out).placement == PartPose.PLACEMENT_NONE
    assert np.isnan(_body(out).placement_uncertainty)
    io.wait_counter("camera_info_mismatch", before)
    wait_for(lambda: io.diag.get("camera_info") == "size_mismatch", 10, "camera_info size_mismatch")
    # Binning explains a calibration at twice the resolution.
    stamp = next(_stamps)
    binned = _info(stamp, width=2 * W, height=2 * H, k=(2 * F, 0.0, W, 0.0, 2 * F, H, 0.0, 0.0, 1.0), binning=2)
    assert io.send(info=binned, stamp=stamp).camera_info_valid
    assert "does not fit the image" in io.process.output()


def test_camera_info_far_in_stamp_is_not_used(io):
    before = io.counter("camera_info_unsynced")
    stamp = next(_stamps)
    out = io.send(info=_info(stamp - 5), stamp=stamp)  # 5 s apart, tolerance 0.05 s
    assert not out.camera_info_valid and _body(out).frame_3d == PartPose.FRAME_PART_RELATIVE
    io.wait_counter("camera_info_unsynced", before)


def _points(points) -> np.ndarray:
    """``(N, 3)`` metres of ``geometry_msgs/Point`` messages."""
    return np.array([(q.x, q.y, q.z) for q in points], dtype=np.float64).reshape(-1, 3)


@pytest.mark.parametrize("stretch", [None, True], ids=["default", "stretch_body_depth"])
def test_placing_moves_the_body_and_reshapes_it_only_when_asked(module_node, ros_client, stretch):
    """By default the placed body is its part-relative 3D moved to its root; ``stretch_body_depth`` stretches
    its depth. (A node that searches every frame afresh and does not smooth: both frames' bodies are the same.)"""
    ns = f"shape_{uuid.uuid4().hex[:6]}"
    parameters = {"streaming": False, "smoothing.enabled": False, "depth_topic": "camera/depth"}
    if stretch is not None:
        parameters["stretch_body_depth"] = stretch
    node = module_node(namespace=ns, device="cpu", parameters=parameters)
    io = PlacementIO(ros_client, ns)
    for _ in range(5):   # a node just started may not have matched the CameraInfo publisher yet
        stamp = next(_stamps)
        answer = io.send(info=_info(stamp), stamp=stamp)
        if answer.camera_info_valid:
            break
    placed = _body(answer)
    stamp = next(_stamps)
    relative = _body(io.send(info=_info(stamp - 5), stamp=stamp))
    assert placed.frame_3d == PartPose.FRAME_CAMERA and relative.frame_3d == PartPose.FRAME_PART_RELATIVE
    moved, rel = _points(placed.keypoints_3d) - _points([placed.root_camera]), _points(relative.keypoints_3d)
    np.testing.assert_allclose(moved[:, :2], rel[:, :2], atol=1e-4)
    if stretch:
        ratio = np.ptp(moved[:, 2]) / np.ptp(rel[:, 2])
        assert ratio > 1.05, f"depth spread x{ratio:.3f}"
    else:
        np.testing.assert_allclose(moved[:, 2], rel[:, 2], atol=1e-4)
    assert node.proc.poll() is None


def test_sync_tolerance_applies_at_run_time(io, ros_client):
    assert set_parameter(ros_client, io.ns, "camera_info_sync_tolerance_s", 10.0) == (True, "")
    try:
        stamp = next(_stamps)
        assert io.send(info=_info(stamp - 5), stamp=stamp).camera_info_valid
    finally:
        assert set_parameter(ros_client, io.ns, "camera_info_sync_tolerance_s", 0.05) == (True, "")


def test_other_frame_id_is_warned_and_used(io):
    before = io.counter("camera_info_frame_mismatch")
    stamp = next(_stamps)
    assert io.send(info=_info(stamp, frame="another_frame"), stamp=stamp).camera_info_valid
    io.wait_counter("camera_info_frame_mismatch", before)
    assert "is not the image's" in io.process.output()


@pytest.mark.parametrize("kwargs,words", [
    (dict(model="kannala_brandt"), "unknown distortion model"),
    (dict(k=(1e-300, 0.0, W / 2, 0.0, 1e-300, H / 2, 0.0, 0.0, 1.0)), "implausible"),
    (dict(model="plumb_bob", d=(0.1, 0.2)), "distortion coefficients"),
])
def test_invalid_camera_info_is_counted_and_poses_part_relative(io, kwargs, words):
    before = io.counter("bad_camera_info")
    stamp = next(_stamps)
    out = io.send(info=_info(stamp, **kwargs), stamp=stamp)
    assert not out.camera_info_valid
    io.wait_counter("bad_camera_info", before)
    assert words in io.process.output()


def test_depth_fixes_the_distance(io):
    stamp = next(_stamps)
    mono = _body(io.send(info=_info(stamp), stamp=stamp))
    assert mono.placement == PartPose.PLACEMENT_MONOCULAR
    # Her shoulders are 1.5 times as far as the monocular fit says (a flat depth image).
    target = 1.5 * np.mean([mono.keypoints_3d[j].z for j in SHOULDERS])
    depth = np.full((H, W), int(1000 * (target - 0.07)), np.uint16)
    depth[::5, ::5] = 0  # holes
    stamp = next(_stamps)
    out = io.send(info=_info(stamp), depth=_depth(stamp, depth), stamp=stamp)
    body = _body(out)
    assert out.camera_info_valid and body.placement == PartPose.PLACEMENT_DEPTH
    assert body.placement_uncertainty < 0.1
    assert np.mean([body.keypoints_3d[j].z for j in SHOULDERS]) == pytest.approx(target, rel=0.05)
    if out.people[0].face.present:
        assert out.people[0].face.placement == PartPose.PLACEMENT_BODY_ANCHORED


def test_bad_depth_is_counted_and_the_frame_answered(io):
    bad, holes = io.counter("bad_depth"), io.counter("depth_holes")
    stamp = next(_stamps)
    small = np.full((H // 2, W // 2), 2000, np.uint16)
    out = io.send(info=_info(stamp), depth=_depth(stamp, small), stamp=stamp)
    assert out.camera_info_valid and _body(out).placement == PartPose.PLACEMENT_MONOCULAR
    io.wait_counter("bad_depth", bad)
    stamp = next(_stamps)
    rgb = _depth(stamp, np.zeros((H, W, 3), np.uint8), "rgb8")
    assert _body(io.send(info=_info(stamp), depth=rgb, stamp=stamp)).placement == PartPose.PLACEMENT_MONOCULAR
    io.wait_counter("bad_depth", bad + 1)
    stamp = next(_stamps)
    empty = np.full((H, W), np.nan, np.float32)
    out = io.send(info=_info(stamp), depth=_depth(stamp, empty, "32FC1"), stamp=stamp)
    assert _body(out).placement == PartPose.PLACEMENT_MONOCULAR
    io.wait_counter("depth_holes", holes)
    assert io.process.proc.poll() is None
