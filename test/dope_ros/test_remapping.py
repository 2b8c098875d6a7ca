"""A node started as ``ros2 run`` would start it: remapped inputs, namespaced outputs, mirrored images.

``--ros-args -r __ns:=/<ns> -r image:=/<cam>/color/image_raw -p mirrored:=true`` (no
camera_info remapping): the image input follows the remapping, camera_info is its
sibling (image_transport's rule), the outputs follow the namespace; a selfie-view image
keeps the person's own left and right. The deprecated ``camera_info_topic`` parameter,
given the same topic, is honoured with a warning.
"""

from __future__ import annotations

import sys
import uuid

import cv2
import numpy as np
import pytest
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from dope_ros.msg import WholeBodyPoseArray
from dope_ros_harness import REPO, NodeProcess, node_executable, wait_for

RIGHT_SHOULDER, LEFT_SHOULDER = 10, 11  # dope_core.keypoints.BODY_JOINTS


@pytest.fixture(scope="module")
def ros2_run_node(ros_client, tmp_path_factory):
    ns, cam = f"rm_{uuid.uuid4().hex[:6]}", f"cam_{uuid.uuid4().hex[:6]}"
    topics = {"image": f"/{cam}/color/image_raw", "info": f"/{cam}/color/camera_info", "poses": f"/{ns}/dope/poses"}
    cmd = [sys.executable, str(node_executable()), "--ros-args", "-r", "__node:=dope", "-r", f"__ns:=/{ns}",
           "-r", f"image:={topics['image']}", "--params-file", str(REPO / "config" / "dope.yaml"),
           "-p", "device:=cpu", "-p", "parts:=[body]", "-p", "mirrored:=true",
           "-p", f"camera_info_topic:={topics['info']}"]  # deprecated, still honoured (the sibling anyway)
    node = NodeProcess(cmd, tmp_path_factory.mktemp("node") / "node.log")
    try:
        node.wait_ready()
        answers: list[WholeBodyPoseArray] = []
        ros_client.create_subscription(WholeBodyPoseArray, topics["poses"], answers.append, 10)
        image_pub = ros_client.create_publisher(Image, topics["image"], qos_profile_sensor_data)
        info_pub = ros_client.create_publisher(CameraInfo, topics["info"], qos_profile_sensor_data)
        yield node, topics, answers, image_pub, info_pub
    finally:
        assert node.stop() == 0, node.output()


def _send_until_answered(answers, image_pub, info_pub, image: Image, info: CameraInfo) -> WholeBodyPoseArray:
    image.header.stamp.sec = int(uuid.uuid4().int % 1_000_000) + 1

    def answered() -> bool:
        if any(a.header.stamp.sec == image.header.stamp.sec and a.camera_info_valid for a in answers):
            return True
        info_pub.publish(info)
        image_pub.publish(image)
        return False

    wait_for(answered, 40, "poses computed with the sibling camera_info")
    return next(a for a in answers if a.header.stamp.sec == image.header.stamp.sec and a.camera_info_valid)


@pytest.mark.timeout(180)
def test_ros2_run_remapping_moves_inputs_and_namespace_moves_outputs(ros2_run_node, ros_client):
    node, topics, answers, image_pub, info_pub = ros2_run_node
    assert f"images from {topics['image']} (raw), camera info from {topics['info']}" in node.output()
    assert "parameter camera_info_topic is deprecated: remap 'camera_info' instead" in node.output()
    wait_for(lambda: image_pub.get_subscription_count() == 1 and info_pub.get_subscription_count() == 1, 20,
             "the node's subscriptions on the remapped topics")
    assert ros_client.count_subscribers(f"/{topics['poses'].split('/')[1]}/image") == 0  # the unremapped name
    info = CameraInfo(width=64, height=48)
    info.k = [60.0, 0.0, 32.0, 0.0, 60.0, 24.0, 0.0, 0.0, 1.0]
    image = Image(height=48, width=64, encoding="rgb8", step=3 * 64, data=np.full(48 * 64 * 3, 90, np.uint8).tobytes())
    image.header.frame_id = "cam"
    assert _send_until_answered(answers, image_pub, info_pub, image, info).header.frame_id == "cam"


@pytest.mark.timeout(180)
def test_mirrored_selfie_keeps_the_persons_sides(ros2_run_node):
    """A selfie of a person facing the camera: in 2D (the mirrored image) their right shoulder is on the
    image's right; in 3D (the true view, camera optical frame) it is on the camera's left (smaller x)."""
    from matplotlib import cbook

    _, _, answers, image_pub, info_pub = ros2_run_node
    bgr = cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    selfie = cv2.cvtColor(cv2.resize(bgr, (256, 300), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)[:, ::-1]
    h, w = selfie.shape[:2]
    image = Image(height=h, width=w, encoding="rgb8", step=3 * w, data=np.ascontiguousarray(selfie).tobytes())
    image.header.frame_id = "cam"
    info = CameraInfo(width=w, height=h)
    info.k = [300.0, 0.0, (w - 1) / 2, 0.0, 300.0, (h - 1) / 2, 0.0, 0.0, 1.0]
    out = _send_until_answered(answers, image_pub, info_pub, image, info)
    body = next(p.body for p in out.people if p.body.present)
    r2, l2 = body.keypoints_2d[RIGHT_SHOULDER], body.keypoints_2d[LEFT_SHOULDER]
    assert r2.x > l2.x + 20
    r3, l3 = body.keypoints_3d[RIGHT_SHOULDER], body.keypoints_3d[LEFT_SHOULDER]
    assert r3.x < l3.x and min(r3.z, l3.z) > 0
