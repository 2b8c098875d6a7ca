"""Relative, remappable inputs across processes: a node started as ``ros2 run`` would start it.

``--ros-args -r __ns:=/<ns> -r image:=/<cam>/color/image_raw`` (no camera_info remapping):
the image input follows the remapping, camera_info is its sibling (image_transport's
rule), the outputs follow the namespace.
"""

from __future__ import annotations

import sys
import uuid

import numpy as np
import pytest
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from dope_ros.msg import WholeBodyPoseArray
from dope_ros_harness import REPO, NodeProcess, node_executable, wait_for


@pytest.mark.timeout(180)
def test_ros2_run_remapping_moves_inputs_and_namespace_moves_outputs(ros_client, tmp_path):
    ns, cam = f"rm_{uuid.uuid4().hex[:6]}", f"cam_{uuid.uuid4().hex[:6]}"
    image_topic, info_topic = f"/{cam}/color/image_raw", f"/{cam}/color/camera_info"
    cmd = [sys.executable, str(node_executable()), "--ros-args", "-r", "__node:=dope", "-r", f"__ns:=/{ns}",
           "-r", f"image:={image_topic}", "--params-file", str(REPO / "config" / "dope.yaml"),
           "-p", "device:=cpu", "-p", "parts:=[body]"]
    node = NodeProcess(cmd, tmp_path / "node.log")
    try:
        node.wait_ready()
        assert f"images from {image_topic} (raw), camera info from {info_topic}" in node.output()
        answers: list[WholeBodyPoseArray] = []
        ros_client.create_subscription(WholeBodyPoseArray, f"/{ns}/dope/poses", answers.append, 10)
        image_pub = ros_client.create_publisher(Image, image_topic, qos_profile_sensor_data)
        info_pub = ros_client.create_publisher(CameraInfo, info_topic, qos_profile_sensor_data)
        wait_for(lambda: image_pub.get_subscription_count() == 1 and info_pub.get_subscription_count() == 1, 20,
                 "the node's subscriptions on the remapped topics")
        assert ros_client.count_subscribers(f"/{ns}/image") == 0  # the unremapped name is not used
        info = CameraInfo(width=64, height=48)
        info.k = [60.0, 0.0, 32.0, 0.0, 60.0, 24.0, 0.0, 0.0, 1.0]
        image = Image(height=48, width=64, encoding="rgb8", step=3 * 64, data=np.full(48 * 64 * 3, 90, np.uint8).tobytes())
        image.header.frame_id = "cam"

        def answered() -> bool:
            if not answers or not answers[-1].camera_info_valid:
                info_pub.publish(info)
                image_pub.publish(image)
                return False
            return True

        wait_for(answered, 40, "poses computed with the sibling camera_info")
        assert answers[-1].header.frame_id == "cam"
    finally:
        assert node.stop() == 0, node.output()
