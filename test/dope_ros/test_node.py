"""The running node (a separate process) against good and bad input, over real rclpy, loopback only.

One raw-image node and one compressed-image node serve the whole module; each test
publishes frames with unique stamps and waits for the node's answers on ``~/poses``
and ``/diagnostics``.
"""

from __future__ import annotations

import itertools
import struct
import threading
import time
import uuid

import cv2
import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from dope_ros.msg import WholeBodyPoseArray

from dope_ros_harness import wait_for

_stamps = itertools.count(1)
H, W = 240, 320
K = [300.0, 0.0, 160.0, 0.0, 300.0, 120.0, 0.0, 0.0, 1.0]


def _test_image() -> np.ndarray:
    """A smooth synthetic RGB image (no people), 320x240."""
    y, x = np.mgrid[0:H, 0:W]
    return np.stack([x * 255 // W, y * 255 // H, (x + y) * 255 // (W + H)], axis=2).astype(np.uint8)


def _raw(encoding: str, pixels: np.ndarray, *, step: int | None = None, bigendian: bool = False) -> Image:
    h, w = pixels.shape[:2]
    row = pixels.reshape(h, -1).view(np.uint8)
    step = row.shape[1] if step is None else step
    padded = np.zeros((h, step), np.uint8)
    padded[:, :row.shape[1]] = row
    return Image(height=h, width=w, encoding=encoding, is_bigendian=int(bigendian), step=step,
                 data=padded.tobytes())


def _info(k: list[float]) -> CameraInfo:
    info = CameraInfo(height=H, width=W, distortion_model="plumb_bob")
    info.k = k
    info.header.frame_id = "camera_optical_frame"
    return info


class NodeIO:
    """Publishers into one node and its collected outputs (poses keyed by image stamp seconds)."""

    def __init__(self, client, namespace: str, *, compressed: bool = False) -> None:
        self.ns = namespace
        self.poses: dict[int, WholeBodyPoseArray] = {}
        self.diag: dict[str, str] = {}
        self.diag_message = ""
        self._lock = threading.Lock()
        kind = CompressedImage if compressed else Image
        topic = f"/{namespace}/camera/image_raw" + ("/compressed" if compressed else "")
        self.image_pub = client.create_publisher(kind, topic, qos_profile_sensor_data)
        self.info_pub = client.create_publisher(CameraInfo, f"/{namespace}/camera/camera_info", 10)
        client.create_subscription(WholeBodyPoseArray, f"/{namespace}/dope/poses", self._on_poses, 10)
        client.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 10)
        wait_for(lambda: self.image_pub.get_subscription_count() > 0, 20, "the node's image subscription")
        wait_for(lambda: self.info_pub.get_subscription_count() > 0, 20, "the node's camera info subscription")

    def _on_poses(self, msg: WholeBodyPoseArray) -> None:
        with self._lock:
            self.poses[msg.header.stamp.sec] = msg

    def _on_diag(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            values = {kv.key: kv.value for kv in status.values}
            if values.get("image_topic", "").startswith(f"/{self.ns}/"):
                with self._lock:
                    self.diag, self.diag_message = values, status.message

    def counter(self, key: str) -> int:
        with self._lock:
            return int(self.diag.get(key, "0"))

    def send(self, msg, stamp: int | None = None, nanosec: int = 0) -> int:
        """Publish ``msg`` stamped ``stamp`` seconds (default: the next unique stamp) and ``nanosec``."""
        stamp = next(_stamps) if stamp is None else stamp
        msg.header.stamp.sec, msg.header.stamp.nanosec = stamp, nanosec
        msg.header.frame_id = "camera_optical_frame"
        self.image_pub.publish(msg)
        return stamp

    def send_and_wait(self, msg, timeout: float = 30.0, stamp: int | None = None,
                      nanosec: int = 0) -> WholeBodyPoseArray:
        """Publish ``msg`` (again every 2 s: best effort) and return the node's answer to it."""
        stamp = self.send(msg, stamp, nanosec)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                wait_for(lambda: stamp in self.poses, 2.0, "poses")
                return self.poses[stamp]
            except AssertionError:
                self.image_pub.publish(msg)
        raise AssertionError(f"no poses for the frame stamped {stamp} within {timeout} s")

    def wait_counter(self, key: str, above: int, timeout: float = 15.0) -> None:
        wait_for(lambda: self.counter(key) > above, timeout, f"diagnostics {key} > {above} (now {self.diag})")


@pytest.fixture(scope="module")
def raw_io(module_node, ros_client):
    ns = f"raw_{uuid.uuid4().hex[:6]}"
    node = module_node(namespace=ns, image_topic="camera/image_raw", camera_info_topic="camera/camera_info",
                       device="cpu")
    io = NodeIO(ros_client, ns)
    io.process = node
    yield io
    assert node.proc.poll() is None, f"the node died:\n{node.output()}"


@pytest.fixture(scope="module")
def compressed_io(module_node, ros_client):
    ns = f"cmp_{uuid.uuid4().hex[:6]}"
    node = module_node(namespace=ns, image_topic="camera/image_raw", camera_info_topic="camera/camera_info",
                       image_transport="compressed", device="cpu")
    io = NodeIO(ros_client, ns, compressed=True)
    io.process = node
    yield io
    assert node.proc.poll() is None, f"the node died:\n{node.output()}"


IMAGE = _test_image()


def _bayer_rggb(rgb: np.ndarray) -> np.ndarray:
    out = rgb[:, :, 1].copy()
    out[0::2, 0::2], out[1::2, 1::2] = rgb[0::2, 0::2, 0], rgb[1::2, 1::2, 2]
    return out


@pytest.mark.parametrize("encoding,pixels,bigendian", [
    ("rgb8", IMAGE, False),
    ("bgr8", IMAGE[:, :, ::-1].copy(), False),
    ("rgba8", np.dstack([IMAGE, np.full((H, W), 255, np.uint8)]), False),
    ("bgra8", np.dstack([IMAGE[:, :, ::-1], np.full((H, W), 255, np.uint8)]), False),
    ("8UC3", IMAGE[:, :, ::-1].copy(), False),
    ("mono8", IMAGE[:, :, 0].copy(), False),
    ("mono16", (IMAGE[:, :, 1].astype(np.uint16) * 200).astype(">u2"), True),
    ("yuv422", cv2.cvtColor(IMAGE, cv2.COLOR_RGB2YUV_UYVY), False),
    ("yuv422_yuy2", cv2.cvtColor(IMAGE, cv2.COLOR_RGB2YUV_YUY2), False),
    ("bayer_rggb8", _bayer_rggb(IMAGE), False),
])
def test_every_encoding_is_served(raw_io, encoding, pixels, bigendian):
    bad_before = raw_io.counter("bad_image")
    out = raw_io.send_and_wait(_raw(encoding, pixels, bigendian=bigendian))
    assert (out.image_width, out.image_height) == (W, H)
    assert out.header.frame_id == "camera_optical_frame" and out.backend == "experts"
    assert raw_io.counter("bad_image") == bad_before


def test_padded_rows_are_served(raw_io):
    out = raw_io.send_and_wait(_raw("rgb8", IMAGE, step=3 * W + 16))
    assert (out.image_width, out.image_height) == (W, H)


@pytest.mark.parametrize("make_bad,why", [
    (lambda: _raw("8UC2", IMAGE[:, :, :2].copy()), "unsupported image encoding"),
    (lambda: _raw("16UC1", np.full((H, W), 1200, "<u2")), "'16UC1' is a depth image encoding"),
    (lambda: _raw("32FC1", np.full((H, W), 1.2, "<f4")), "is a depth image encoding"),
    (lambda: Image(height=0, width=0, encoding="rgb8", step=0, data=b""), "zero-size"),
    (lambda: Image(height=H, width=W, encoding="rgb8", step=3 * W, data=bytes(3 * W * H - 5)), "data holds"),
    (lambda: Image(height=20000, width=20000, encoding="rgb8", step=60000, data=bytes(3 * W * H)),
     "rgb8 image of 20000x20000 pixels exceeds the limit"),
])
def test_bad_raw_image_is_counted_and_next_frame_served(raw_io, make_bad, why):
    before = raw_io.counter("bad_image")
    stamp = raw_io.send(make_bad())
    raw_io.wait_counter("bad_image", before)
    assert stamp not in raw_io.poses
    assert why in raw_io.process.output()
    out = raw_io.send_and_wait(_raw("rgb8", IMAGE))
    assert out.image_width == W
    assert raw_io.process.proc.poll() is None


def test_camera_info_zero_nan_then_valid(raw_io):
    before = raw_io.counter("bad_camera_info")
    raw_io.info_pub.publish(_info([0.0] * 9))
    raw_io.wait_counter("bad_camera_info", before)
    wait_for(lambda: raw_io.diag.get("camera_info") == "invalid", 10, "camera_info invalid")
    assert "part-relative" in raw_io.diag_message
    raw_io.info_pub.publish(_info([float("nan")] * 9))
    raw_io.wait_counter("bad_camera_info", before + 1)
    assert not raw_io.send_and_wait(_raw("rgb8", IMAGE)).camera_info_valid
    raw_io.info_pub.publish(_info(K))
    wait_for(lambda: raw_io.diag.get("camera_info") == "valid", 10, "camera_info valid")
    assert raw_io.send_and_wait(_raw("rgb8", IMAGE)).camera_info_valid
    log = raw_io.process.output()
    assert "all zero" in log and "NaN" in log


def test_flood_drops_old_frames_and_keeps_serving(raw_io):
    dropped = raw_io.counter("frames_dropped")
    msg = _raw("rgb8", IMAGE)
    for _ in range(60):
        raw_io.send(msg)
        time.sleep(0.002)
    raw_io.wait_counter("frames_dropped", dropped, timeout=20)
    assert raw_io.send_and_wait(_raw("rgb8", IMAGE)).image_width == W
    log = raw_io.process.output()
    # Rate-limited: one warning per 5 s period at most, not one per dropped frame.
    assert 1 <= log.count("inference is slower than the camera") <= 3
    assert raw_io.process.proc.poll() is None


def test_diagnostics_report_rate_latency_backend(raw_io):
    raw_io.send_and_wait(_raw("rgb8", IMAGE))
    wait_for(lambda: float(raw_io.diag.get("rate_hz", "0")) > 0, 10, "a positive rate")
    d = raw_io.diag
    assert d["backend"] == "experts" and d["device"] == "cpu"
    assert float(d["latency_ms"]) > 0 and float(d["inference_ms"]) > 0
    assert int(d["frames_processed"]) >= 1 and int(d["frames_received"]) >= int(d["frames_processed"])


def test_compressed_good_and_corrupt(compressed_io):
    ok, buf = cv2.imencode(".jpg", IMAGE[:, :, ::-1])
    good = CompressedImage(format="jpeg", data=buf.tobytes())
    assert compressed_io.send_and_wait(good).image_width == W
    before = compressed_io.counter("bad_image")
    compressed_io.send(CompressedImage(format="jpeg", data=b"\xff\xd8\xff\xe0 this is not a jpeg"))
    compressed_io.wait_counter("bad_image", before)
    assert "corrupt" in compressed_io.process.output()
    huge = bytearray(cv2.imencode(".png", IMAGE)[1].tobytes())
    huge[16:24] = struct.pack(">II", 20000, 20000)    # declares 400 megapixels: refused before decoding
    compressed_io.send(CompressedImage(format="png", data=bytes(huge)))
    compressed_io.wait_counter("bad_image", before + 1)
    assert "20000x20000 pixels exceeds the limit" in compressed_io.process.output()
    png = CompressedImage(format="png", data=cv2.imencode(".png", IMAGE[:, :, ::-1])[1].tobytes())
    assert compressed_io.send_and_wait(png).image_height == H


def test_an_unstamped_image_is_served_and_counted(compressed_io):
    """Stamped 0 (last for this node: its clock jumps to the arrival time): answered, and counted in the
    diagnostics besides the throttled warning."""
    before = compressed_io.counter("unstamped_image")
    msg = CompressedImage(format="jpeg", data=cv2.imencode(".jpg", IMAGE[:, :, ::-1])[1].tobytes())
    msg.header.frame_id = "camera_optical_frame"
    compressed_io.image_pub.publish(msg)
    compressed_io.wait_counter("unstamped_image", before)
    wait_for(lambda: 0 in compressed_io.poses, 30, "the answer to the unstamped image")
    assert "image stamped 0" in compressed_io.process.output()


def test_a_person_keeps_the_track_id_across_frames(raw_io):
    from matplotlib import cbook

    portrait = cv2.cvtColor(cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)), cv2.COLOR_BGR2RGB)
    answers = [raw_io.send_and_wait(_raw("rgb8", portrait)) for _ in range(3)]
    ids = [[p.track_id for p in a.people] for a in answers]
    assert all(len(i) == 1 for i in ids), ids
    assert ids[0] == ids[1] == ids[2] and ids[0][0] >= 0
    wait_for(lambda: raw_io.counter("tracks_started") >= 1, 10, "tracks in the diagnostics")


def test_a_ros1_style_frame_id_is_mended_and_counted(raw_io):
    before = raw_io.counter("bad_frame_id")
    msg = _raw("rgb8", IMAGE)
    stamp = next(_stamps)
    msg.header.stamp.sec = stamp
    msg.header.frame_id = "/camera_optical_frame"
    raw_io.image_pub.publish(msg)
    wait_for(lambda: stamp in raw_io.poses, 30, "the answer")
    assert raw_io.poses[stamp].header.frame_id == "camera_optical_frame"
    raw_io.wait_counter("bad_frame_id", before)


def _portrait() -> np.ndarray:
    """A real photo of one person (matplotlib's Grace Hopper portrait), RGB."""
    from matplotlib import cbook

    return cv2.cvtColor(cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)), cv2.COLOR_BGR2RGB)


def test_stamps_going_backwards_or_invalid_are_warned_and_counted(raw_io):
    """A stamp earlier than the last restarts tracking and smoothing: logged and counted (``stamp_resets``); a
    nanosec of 4e9 is no time: timed by the arrival, as a stamp 0, and counted (``invalid_stamp``)."""
    frame = _raw("rgb8", _portrait())
    earlier, later = next(_stamps), next(_stamps)
    resets = raw_io.counter("stamp_resets")
    raw_io.send_and_wait(frame, stamp=later)
    raw_io.send_and_wait(frame, stamp=earlier)   # 1 s back, as a bag that loops
    raw_io.wait_counter("stamp_resets", resets)
    assert "is earlier than the last one: person tracks and smoothing restarted" in raw_io.process.output()
    invalid = raw_io.counter("invalid_stamp")
    answer = raw_io.send_and_wait(frame, nanosec=4_000_000_000)
    assert answer.image_width == frame.width   # served
    raw_io.wait_counter("invalid_stamp", invalid)
    assert "image stamp nanosec 4000000000 is not below 1e9" in raw_io.process.output()
    raw_io.send_and_wait(frame)   # back on the image stamps (before the arrival time of the invalid one: a reset)


def test_a_compressed_depth_image_is_refused_not_estimated(compressed_io):
    """The CompressedImage format says depth (a 16-bit PNG of millimetres, compressedDepth): bad_image, never
    estimated as a photo; a mono16 (infrared) PNG is served, as raw mono16 is."""
    grey = cv2.cvtColor(_portrait(), cv2.COLOR_RGB2GRAY).astype(np.uint16) * 40   # 0 .. 10 m in mm
    png16 = cv2.imencode(".png", grey)[1].tobytes()
    before = compressed_io.counter("bad_image")
    stamp = compressed_io.send(CompressedImage(format="16UC1; png compressed", data=png16))
    compressed_io.wait_counter("bad_image", before)
    compressed_io.send(CompressedImage(format="16UC1; compressedDepth png", data=png16))
    compressed_io.wait_counter("bad_image", before + 1)
    assert stamp not in compressed_io.poses
    assert "format '16UC1; png compressed' is a depth image" in compressed_io.process.output()
    mono16 = CompressedImage(format="mono16; png compressed mono16", data=png16)
    assert compressed_io.send_and_wait(mono16).image_width == grey.shape[1]


def test_a_second_sigint_while_a_large_frame_is_processed_exits_cleanly(start_node, ros_client, shared_data):
    """Ctrl-C twice (an impatient user) while the worker is in a 35-megapixel frame: the second one is only
    logged; the node cleans up and exits 0, without a traceback."""
    import signal

    ns = f"sigint_{uuid.uuid4().hex[:6]}"
    node = start_node(namespace=ns, image_transport="compressed", device="cpu", parameters={"lazy": "false"})
    io = NodeIO(ros_client, ns, compressed=True)
    photo = cv2.imread(str(shared_data / "images" / "coco_val2014" / "COCO_val2014_000000000192.jpg"))
    small = cv2.imencode(".jpg", cv2.resize(photo, (640, 480)))[1].tobytes()
    io.send_and_wait(CompressedImage(format="jpeg", data=small), timeout=60)   # warm
    large = cv2.imencode(".jpg", cv2.resize(photo, (7000, 5000)))[1].tobytes()
    io.send(CompressedImage(format="jpeg", data=large))
    time.sleep(0.8)   # decoding (or estimating) it
    node.proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    node.proc.send_signal(signal.SIGINT)
    rc = node.proc.wait(timeout=60)
    out = node.output()
    assert rc == 0 and "Traceback" not in out and "terminate called" not in out, f"rc {rc}:\n{out[-3000:]}"
