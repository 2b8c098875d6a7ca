"""The node's teleoperation outputs across processes: TF frames, filtered poses, the operator topic.

One node (a separate process, loopback only) with ``publish_tf``, a TF prefix and
``operator.mode: largest``; the test process plays a real portrait as a camera with
CameraInfo and listens to ``~/poses``, ``~/operator`` and ``/tf`` (tf2_msgs/TFMessage).
"""

from __future__ import annotations

import threading
import time
import uuid

import cv2
import numpy as np
import pytest
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from tf2_msgs.msg import TFMessage

from dope_ros.msg import PersonPose, WholeBodyPoseArray
from dope_ros_harness import set_parameter, wait_for


def _portrait() -> np.ndarray:
    from matplotlib import cbook

    return cv2.cvtColor(cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)), cv2.COLOR_BGR2RGB)


def _ns(stamp) -> int:
    return stamp.sec * 1_000_000_000 + stamp.nanosec


S = 1_000_000_000


class TeleopIO:
    def __init__(self, client, ns: str) -> None:
        self.lock = threading.Lock()
        self.poses: dict[int, WholeBodyPoseArray] = {}
        self.operator: dict[int, WholeBodyPoseArray] = {}
        self.tf: dict[int, list] = {}
        self.image_pub = client.create_publisher(Image, f"/{ns}/camera/image_raw", qos_profile_sensor_data)
        self.info_pub = client.create_publisher(CameraInfo, f"/{ns}/camera/camera_info", 10)
        client.create_subscription(WholeBodyPoseArray, f"/{ns}/dope/poses", self._store(self.poses), 10)
        client.create_subscription(WholeBodyPoseArray, f"/{ns}/dope/operator", self._store(self.operator), 10)
        client.create_subscription(TFMessage, "/tf", self._on_tf, 100)
        wait_for(lambda: self.image_pub.get_subscription_count() > 0, 30, "the node's image subscription")

    def _store(self, into: dict):
        def callback(msg) -> None:
            with self.lock:
                into[_ns(msg.header.stamp)] = msg
        return callback

    def _on_tf(self, msg: TFMessage) -> None:
        with self.lock:
            for t in msg.transforms:
                self.tf.setdefault(_ns(t.header.stamp), []).append(t)

    def send(self, image: np.ndarray, stamp_ns: int) -> WholeBodyPoseArray:
        h, w = image.shape[:2]
        f = (w / 2) / np.tan(np.radians(30))
        info = CameraInfo(height=h, width=w, distortion_model="plumb_bob", k=[f, 0.0, w / 2, 0.0, f, h / 2, 0.0, 0.0, 1.0])
        info.header.frame_id = "cam_optical"
        self.info_pub.publish(info)
        msg = Image(height=h, width=w, encoding="rgb8", is_bigendian=0, step=3 * w, data=image.tobytes())
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
        msg.header.frame_id = "cam_optical"
        for _ in range(15):
            self.image_pub.publish(msg)
            try:
                wait_for(lambda: stamp_ns in self.poses and stamp_ns in self.operator, 3.0, f"poses of {stamp_ns}")
                return self.poses[stamp_ns]
            except AssertionError:
                self.info_pub.publish(info)
        raise AssertionError(f"no answer to the frame stamped {stamp_ns} ns")


@pytest.fixture(scope="module")
def teleop_io(module_node, ros_client):
    ns = f"tel_{uuid.uuid4().hex[:6]}"
    node = module_node(namespace=ns, image_topic="camera/image_raw", camera_info_topic="camera/camera_info",
                       device="cpu", parameters={"publish_tf": "true", "tf_prefix": "t_", "operator.mode": "largest"})
    io = TeleopIO(ros_client, ns)
    io.process, io.ns = node, ns
    yield io
    assert node.proc.poll() is None, f"the node died:\n{node.output()}"


@pytest.mark.timeout(240)
def test_tf_frames_filtered_poses_and_operator(teleop_io):
    image = _portrait()
    stamps = [100 * S, 100 * S + S // 10, 100 * S + 2 * S // 10]   # 10 frames per second
    answers = [teleop_io.send(image, t) for t in stamps]
    people = [a.people for a in answers]
    assert all(len(p) >= 1 for p in people), people
    main = [max(p, key=lambda q: q.score) for p in people]
    assert main[0].track_state == PersonPose.TRACK_STATE_NEW
    assert [m.track_state for m in main[1:]] == [PersonPose.TRACK_STATE_TRACKED] * 2
    assert len({m.track_id for m in main}) == 1 and main[0].track_id % 100_000 == 0   # session block ids
    face = main[2].face
    assert face.present and face.has_frame and face.has_orientation and 0 < face.orientation_confidence <= 1
    q = face.pose.orientation
    assert np.isclose(np.linalg.norm([q.x, q.y, q.z, q.w]), 1.0)
    # a portrait looks at the camera: the face's x axis (forward) points back towards the camera (-z optical)
    x_axis_z = 2 * (q.x * q.z - q.y * q.w)
    assert x_axis_z < -0.5
    # the same image again: the filtered root hardly moves (streaming experts refine their crops), velocity ~0
    assert face.has_velocity and np.linalg.norm([face.velocity.x, face.velocity.y, face.velocity.z]) < 0.05
    # operator: only the followed person, the same track every frame
    ops = [teleop_io.operator[t] for t in stamps]
    assert [len(o.people) for o in ops] == [1, 1, 1] and {o.people[0].track_id for o in ops} == {main[0].track_id}
    # TF: one frame per placed, oriented part, parented to the image frame, stamped with the image stamp
    wait_for(lambda: stamps[2] in teleop_io.tf, 10, "TF of the third frame")
    with teleop_io.lock:
        frames = {t.child_frame_id: t for t in teleop_io.tf[stamps[2]]}
    name = f"t_face_{main[2].track_id}"
    assert name in frames, sorted(frames)
    t = frames[name]
    assert t.header.frame_id == "cam_optical" and _ns(t.header.stamp) == stamps[2]
    assert (t.transform.translation.z, t.transform.rotation.w) == (face.pose.position.z, face.pose.orientation.w)
    assert set(frames) <= {f"t_{kind}_{main[2].track_id}" for kind in ("body", "face", "hand_left", "hand_right")} | {
        f"t_{kind}_{p.track_id}" for p in people[2] for kind in ("body", "face", "hand_left", "hand_right")}


@pytest.mark.timeout(120)
def test_a_stamp_going_backwards_restarts_tracks_and_filters(teleop_io):
    image = _portrait()
    first = teleop_io.send(image, 150 * S)
    back = teleop_io.send(image, 120 * S)   # a bag that loops
    assert back.people and all(p.track_state == PersonPose.TRACK_STATE_NEW for p in back.people)
    assert set(back.lost_track_ids) >= {p.track_id for p in first.people}
    assert not any(p.face.has_velocity for p in back.people if p.face.present)
    assert teleop_io.process.proc.poll() is None


@pytest.mark.timeout(120)
def test_the_keypoint_confidence_threshold_set_at_run_time_applies_to_part_frames(teleop_io, ros_client):
    image = _portrait()
    assert set_parameter(ros_client, teleop_io.ns, "keypoint_confidence_threshold", 1.0) == (True, "")
    try:
        strict = teleop_io.send(image, 200 * S)
    finally:
        assert set_parameter(ros_client, teleop_io.ns, "keypoint_confidence_threshold", 0.2) == (True, "")
    faces = [p.face for p in strict.people if p.face.present]
    assert faces and not any(f.has_orientation for f in faces)   # no keypoint is confident enough to orient
    again = teleop_io.send(image, 201 * S)
    assert any(p.face.has_orientation for p in again.people if p.face.present)


@pytest.mark.timeout(120)
def test_unstamped_images_are_timed_by_their_arrival(teleop_io):
    """Images stamped 0 (last: it takes the node's clock past the stamps above): the filtered
    poses follow the person instead of staying at the first frame for ever."""
    image = _portrait()
    first = teleop_io.send(image, 0)
    with teleop_io.lock:
        del teleop_io.poses[0], teleop_io.operator[0]
    shifted = np.concatenate([np.repeat(image[:, :1], 24, axis=1), image[:, :-24]], axis=1)   # 24 px right
    # The filters' step is the gap between arrivals: at rest speed their cutoff is 0.5 Hz, so the share
    # of the 24 px they pass grows with the gap (0.14 s, on a quiet machine: 7 px). Waiting 0.6 s first
    # bounds it from below on any machine (at least 15 px); a frozen filter would still pass 0 px.
    time.sleep(0.6)
    moved = teleop_io.send(shifted, 0)

    def face_x(answer: WholeBodyPoseArray) -> float:
        person = max((p for p in answer.people if p.face.present), key=lambda p: p.score)
        return float(np.mean([k.x for k in person.face.keypoints_2d]))

    assert moved.people and all(p.track_state == PersonPose.TRACK_STATE_TRACKED for p in moved.people)
    assert face_x(moved) - face_x(first) > 8.0   # 24 px to the right, low-passed (frozen: exactly 0)
    assert teleop_io.process.proc.poll() is None
