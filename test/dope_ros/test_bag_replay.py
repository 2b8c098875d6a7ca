"""Bag replay: real video frames written to an MCAP bag with rosbags, replayed as raw CDR into the node.

Needs the real data folder (skipped without it): the frames come from
``video/sports2d_demo.mp4`` (two people walking).
"""

from __future__ import annotations

import threading
import uuid

import numpy as np
from rclpy.qos import qos_profile_sensor_data
from rclpy.serialization import serialize_message
from sensor_msgs.msg import CameraInfo, Image
from visualization_msgs.msg import Marker, MarkerArray

from dope_core.image_encoding import encode_raw
from dope_ros.bag_io import BagWriter, read_bag
from dope_ros.msg import PartPose, WholeBodyPoseArray
from dope_ros.video_source import intrinsics_from_fov, video_frames
from dope_ros_harness import wait_for

FRAMES = 4
FIRST, STEP = 80, 30


def _write_bag(path, video) -> list[int]:
    stamps = []
    with BagWriter(path) as bag:
        bag.add_topic("/camera/image_raw", "sensor_msgs/msg/Image")
        bag.add_topic("/camera/camera_info", "sensor_msgs/msg/CameraInfo")
        for i, frame in enumerate(video_frames(video, max_frames=FIRST + FRAMES * STEP, max_width=640)):
            if i < FIRST or (i - FIRST) % STEP:  # people in different places, close enough at 640 px
                continue
            t = 1_700_000_000 * 10**9 + i * 33_333_333
            h, w, step, data = encode_raw(frame, "bgr8")
            image = Image(height=h, width=w, encoding="bgr8", step=step, data=data)
            info = CameraInfo(height=h, width=w, distortion_model="plumb_bob")
            info.k = intrinsics_from_fov(w, h, 60.0).reshape(-1).tolist()
            for msg in (image, info):
                msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(t, 10**9)
                msg.header.frame_id = "camera_optical_frame"
            bag.write("/camera/camera_info", t, serialize_message(info))
            bag.write("/camera/image_raw", t, serialize_message(image))
            stamps.append(t)
    return stamps


def test_replayed_bag_gives_people_in_the_camera_frame(shared_data, tmp_path, start_node, ros_client):
    stamps = _write_bag(tmp_path / "camera_bag", shared_data / "video" / "sports2d_demo.mp4")
    assert len(stamps) == FRAMES
    ns = f"bag_{uuid.uuid4().hex[:6]}"
    node = start_node(namespace=ns, image_topic="camera/image_raw", camera_info_topic="camera/camera_info",
                      device="cpu")
    lock = threading.Lock()
    poses: dict[int, WholeBodyPoseArray] = {}
    markers: list[MarkerArray] = []

    def on_poses(msg):
        with lock:
            poses[msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec] = msg

    pubs = {"/camera/image_raw": ros_client.create_publisher(Image, f"/{ns}/camera/image_raw", qos_profile_sensor_data),
            "/camera/camera_info": ros_client.create_publisher(CameraInfo, f"/{ns}/camera/camera_info", 10)}
    ros_client.create_subscription(WholeBodyPoseArray, f"/{ns}/dope/poses", on_poses, 10)
    ros_client.create_subscription(MarkerArray, f"/{ns}/dope/markers", markers.append, 10)
    wait_for(lambda: all(p.get_subscription_count() > 0 for p in pubs.values()), 20, "the node's subscriptions")

    # Replay: the bag's raw CDR bytes go out unchanged, one frame at a time.
    pending_info = None
    for topic, msgtype, t, data in read_bag(tmp_path / "camera_bag"):
        if topic == "/camera/camera_info":
            pending_info = data
            continue
        for _ in range(3):  # best effort: resend if the frame was lost
            pubs["/camera/camera_info"].publish(pending_info)
            pubs["/camera/image_raw"].publish(data)
            try:
                wait_for(lambda: t in poses, 20, f"poses of frame {t}")
                break
            except AssertionError:
                continue
    assert sorted(poses) == stamps, node.output()

    with_body = 0
    for msg in poses.values():
        assert msg.camera_info_valid and msg.header.frame_id == "camera_optical_frame"
        assert (msg.image_width, msg.image_height) == (640, 360)
        for person in msg.people:
            if not person.body.present:
                continue
            with_body += 1
            body = person.body
            assert body.frame_3d == PartPose.FRAME_CAMERA and 1.0 < body.root_camera.z < 40.0
            xy = np.array([(k.x, k.y) for k in body.keypoints_2d])
            assert np.all((xy > -50) & (xy < [690, 410]))
            assert len(body.keypoints_3d) == 13 and len(body.confidence) == 13
    assert with_body >= FRAMES - 1, "people expected in the replayed frames"
    wait_for(lambda: len(markers) >= 1, 10, "markers")
    assert markers[-1].markers[0].action == Marker.DELETEALL
    assert node.proc.poll() is None
