"""The teleoperation example (dope_ros/examples/follow_hand.py) against a node, three processes, loopback only."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid

import cv2
import numpy as np
import pytest
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from dope_ros.examples.follow_hand import gripper_command
from dope_ros.msg import WholeBodyPoseArray
from dope_ros_harness import REPO, wait_for


def test_gripper_command():
    assert gripper_command(0.5, False) == 0.5 and gripper_command(1.7, False) == 1.0
    assert gripper_command(0.9, True) == 0.0 and gripper_command(0.3, False, open_at=0.6) == 0.5
    with pytest.raises(ValueError, match="open_at"):   # never a ZeroDivisionError inside the callback
        gripper_command(0.3, False, open_at=0.0)


@pytest.mark.timeout(300)
def test_follow_the_right_hand_of_the_nearest_person(shared_data, start_node, ros_client):
    image = cv2.cvtColor(cv2.imread(str(shared_data / "images" / "packages" / "zidane.jpg")), cv2.COLOR_BGR2RGB)
    image = np.ascontiguousarray(image[:, 560:])   # the man on the right, whose right hand is up (720 x 720)
    h, w = image.shape[:2]
    ns = f"fh_{uuid.uuid4().hex[:6]}"
    start_node(namespace=ns, image_topic="camera/image_raw", camera_info_topic="camera/camera_info", device="cpu",
               parameters={"operator.mode": "closest"})
    example = subprocess.Popen([sys.executable, "-m", "dope_ros.examples.follow_hand", "--operator-topic",
                                f"/{ns}/dope/operator", "--count", "3"], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        image_pub = ros_client.create_publisher(Image, f"/{ns}/camera/image_raw", qos_profile_sensor_data)
        info_pub = ros_client.create_publisher(CameraInfo, f"/{ns}/camera/camera_info", 10)
        answered: set[int] = set()
        ros_client.create_subscription(WholeBodyPoseArray, f"/{ns}/dope/operator",
                                       lambda m: answered.add(m.header.stamp.sec), 10)
        wait_for(lambda: ros_client.count_subscribers(f"/{ns}/dope/operator") >= 2, 60, "the example's subscription")
        f = (w / 2) / np.tan(np.radians(30))
        info = CameraInfo(height=h, width=w, k=[f, 0.0, w / 2, 0.0, f, h / 2, 0.0, 0.0, 1.0])
        info.header.frame_id = "cam_optical"
        # One image a second of stamp time until the example has printed its three lines: under load
        # the node's publisher may match the example's subscription well after the graph shows it (a CI
        # run once answered 30 images before it did), so images go on until the example exits.
        deadline = time.monotonic() + 180
        sec = 9
        while example.poll() is None and time.monotonic() < deadline:
            sec += 1
            msg = Image(height=h, width=w, encoding="rgb8", step=3 * w, data=image.tobytes())
            msg.header.stamp.sec, msg.header.frame_id = sec, "cam_optical"
            for _ in range(10):
                info_pub.publish(info)
                image_pub.publish(msg)
                try:
                    wait_for(lambda: sec in answered, 5, f"operator of {sec}")
                    break
                except AssertionError:
                    continue
        out, _ = example.communicate(timeout=60)
    finally:
        if example.poll() is None:
            example.kill()
    lines = [line for line in out.splitlines() if re.match(r"\d+\.\d{9} ", line)]   # "<stamp> ..." per image
    assert example.returncode == 0 and len(lines) == 3, out
    stamps = [float(line.split()[0]) for line in lines]
    assert stamps == sorted(stamps) and stamps[0] >= 10 and stamps[-1] > stamps[0], out   # a line per image, in order
    targets = [line for line in lines if " ee_target frame=cam_optical " in line]
    assert targets, out   # the right hand of the nearest (here the only) person
    assert all(" gripper=" in line for line in targets)
