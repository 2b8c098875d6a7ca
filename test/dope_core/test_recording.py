"""Recordings without ROS: MCAP round trip, one time base, cut-off files, message fields."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from dope_core.keypoints import Part
from dope_core.recording import (CAMERA_INFO_TOPIC, IMAGE_TOPIC, POSES_TOPIC, TF_TOPIC, Recorder, build_message,
                                 read_recording)
from dope_core.structures import Grasp, PartFrame, PartPose, Person, TrackState, WholeBodyPoses

K = np.array([[500.0, 0, 160], [0, 500.0, 120], [0, 0, 1]])


def _image(i: int) -> np.ndarray:
    y, x = np.mgrid[0:240, 0:320]
    return np.stack([(x + 10 * i) % 256, y % 256, np.full_like(x, 40 * i % 256)], axis=2).astype(np.uint8)


def _poses(i: int) -> WholeBodyPoses:
    rng = np.random.default_rng(i)
    # values the message keeps exactly: float32 scores, 2D and confidences; 3D in 1/1024 m steps
    hand = PartPose(part=Part.HAND, score=0.75, box=np.float32([10, 20, 60, 90]),
                    keypoints_2d=rng.uniform(0, 300, (21, 2)).astype(np.float32),
                    keypoints_3d=rng.integers(-60, 60, (21, 3)) / 1024,
                    confidence=rng.uniform(size=21).astype(np.float32), handedness="right",
                    root_camera=np.array([0.1, 0.0, 1.0 + i]), placement="body_anchored", placement_uncertainty=0.0625,
                    frame=PartFrame(origin=np.zeros(3), quaternion=np.array([0.0, 0.0, 0.6, 0.8]), confidence=0.5),
                    grasp=Grasp(aperture_m=0.02, aperture_normalised=0.2, confidence=0.9, pinch=True),
                    velocity=np.array([0.0, 0.1, 0.0]))
    return WholeBodyPoses(image_size=(320, 240), backend="experts", people=[
        Person(id=0, score=0.5, track_id=700000 + i // 2, track_state=TrackState.TRACKED, right_hand=hand)])


def _record(path, n=4):
    stamps = [1_700_000_000_000_000_000 + i * 33_333_333 for i in range(n)]
    with Recorder(path) as rec:
        for i, t in enumerate(stamps):
            rec.write(t, _image(i), _poses(i), camera=K)
    return stamps


def test_round_trip_same_frames_stamps_and_poses(tmp_path):
    stamps = _record(tmp_path / "rec")
    frames = list(read_recording(tmp_path / "rec"))
    assert [f.stamp_ns for f in frames] == stamps
    for i, f in enumerate(frames):
        assert f.poses == _poses(i) and np.allclose(f.intrinsics, K)
        assert np.abs(f.image.astype(int) - _image(i)).mean() < 3   # JPEG
    with pytest.raises(FileExistsError):
        Recorder(tmp_path / "rec")


def test_one_time_base_and_tf(tmp_path):
    from dope_ros.bag_io import deserialize, read_bag

    stamps = _record(tmp_path / "rec", n=2)
    seen = {}
    for topic, msgtype, t, data in read_bag(tmp_path / "rec"):
        msg = deserialize(data, msgtype)
        header = msg.transforms[0].header if topic == TF_TOPIC else msg.header
        assert header.stamp.sec * 1_000_000_000 + header.stamp.nanosec == t   # log time = image stamp
        seen.setdefault(topic, []).append(t)
        if topic == TF_TOPIC:
            tf = msg.transforms[0]
            assert tf.child_frame_id == "hand_right_700000" and tf.header.frame_id == "camera_optical_frame"
            assert tf.transform.rotation.w == 0.8
    assert {k: v for k, v in seen.items()} == {IMAGE_TOPIC: stamps, CAMERA_INFO_TOPIC: stamps, POSES_TOPIC: stamps,
                                               TF_TOPIC: stamps}


def test_a_cut_off_recording_reads_up_to_its_last_complete_frame(tmp_path, caplog):
    """A killed recording with a partly written last record: its frames are read, and a warning gives the
    byte where the complete part ends."""
    import logging

    path = tmp_path / "rec"
    rec = Recorder(path)
    for i in range(3):
        rec.write(1_000_000_000 * (i + 1), _image(i), _poses(i), camera=K)
    # the process is killed here: no metadata.yaml, no MCAP summary; and a partly written record at the end
    mcap = next(path.glob("*.mcap"))
    cut = tmp_path / "cut"
    cut.mkdir()
    data = mcap.read_bytes()
    (cut / mcap.name).write_bytes(data + b"\x06\xff\xff\x00\x00\x00\x00\x00\x00partial")
    with caplog.at_level(logging.WARNING, logger="dope_core.recording"):
        frames = list(read_recording(cut))
    assert [f.stamp_ns for f in frames] == [1_000_000_000, 2_000_000_000, 3_000_000_000]
    assert frames[2].poses == _poses(2)
    assert f"bytes {len(data)} to {len(data) + 16} are not a complete record" in caplog.text
    rec.close()
    shutil.rmtree(cut)


def test_recorded_poses_are_the_message_the_node_publishes():
    from rclpy.serialization import deserialize_message
    from std_msgs.msg import Header

    from dope_core.msg_fields import poses_fields
    from dope_ros.bag_io import dope_typestore
    from dope_ros.conversions import poses_to_msg

    store = dope_typestore()
    poses = _poses(3)
    poses.lost_track_ids = [5]
    header = Header(frame_id="cam")
    header.stamp.sec, header.stamp.nanosec = 17, 5
    ours = store.serialize_cdr(build_message(store, "dope_ros/msg/WholeBodyPoseArray", poses_fields(
        poses, {"stamp": {"sec": 17, "nanosec": 5}, "frame_id": "cam"}, camera_info_valid=True)),
        "dope_ros/msg/WholeBodyPoseArray")
    # equal as rclpy messages (CDR padding bytes are unspecified, so the bytes may differ there)
    from dope_ros.msg import WholeBodyPoseArray

    assert deserialize_message(bytes(ours), WholeBodyPoseArray) == poses_to_msg(poses, header, camera_info_valid=True)
    with pytest.raises(ValueError, match="no field"):
        build_message(store, "dope_ros/msg/Keypoint2D", {"x": 1.0, "w": 2.0})


def test_topics_absent_from_the_bag_give_no_message(tmp_path):
    from dope_ros.bag_io import read_bag

    _record(tmp_path / "rec", n=1)
    assert list(read_bag(tmp_path / "rec", {"/no/such/topic"})) == []


def test_the_recorded_camera_info_gives_back_the_camera_model_with_its_distortion(tmp_path):
    from dope_core.camera import CameraModel, InvalidIntrinsicsError

    camera = CameraModel.from_calibration(width=640, height=480, k=[520.0, 0, 300, 0, 515.0, 250, 0, 0, 1],
                                          distortion_model="plumb_bob", d=[-0.28, 0.09, 0.001, -0.002, 0.0],
                                          binning=(2, 2))
    with Recorder(tmp_path / "rec") as rec:
        rec.write(1_000, _image(0), None, camera=camera)
        with pytest.raises(InvalidIntrinsicsError, match="320x240"):
            rec.write(2_000, _image(1)[:200], None, camera=camera)   # a camera that does not fit the image
    (frame,) = list(read_recording(tmp_path / "rec"))
    back = frame.camera()
    assert (back.width, back.height, back.distortion_model, back.binning) == (320, 240, "plumb_bob", (2, 2))
    assert np.allclose(back.d, camera.d) and np.allclose(back.k, camera.k)
    pts = np.array([[10.0, 12.0], [300.0, 200.0], [160.0, 120.0]])
    assert np.allclose(back.normalize(pts), camera.normalize(pts))
    pinhole = CameraModel.from_matrix(frame.intrinsics, 640, 480)._folded()
    assert not np.allclose(back.normalize(pts[:1]), pinhole.resized(320, 240).normalize(pts[:1]), atol=1e-3)


def test_a_recorded_image_that_is_too_large_or_broken_is_skipped_when_asked_else_refused(tmp_path):
    import struct
    import zlib

    def png_header(w: int, h: int) -> np.ndarray:
        ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
        chunk = b"IHDR" + ihdr
        return np.frombuffer(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk
                             + struct.pack(">I", zlib.crc32(chunk)), np.uint8)

    with Recorder(tmp_path / "rec") as rec:
        rec.write(1_000, _image(0), None, camera=K)
        for stamp, data in ((2_000, png_header(20000, 20000)), (3_000, np.frombuffer(b"\xff\xd8 not a jpeg", np.uint8))):
            header = {"stamp": {"sec": 0, "nanosec": stamp}, "frame_id": "camera_optical_frame"}
            rec._write(IMAGE_TOPIC, "sensor_msgs/msg/CompressedImage", stamp,
                       {"header": header, "format": "png", "data": data})
        rec.write(4_000, _image(3), None, camera=K)
    with pytest.raises(ValueError, match="2000 ns"):
        list(read_recording(tmp_path / "rec"))
    skipped = []
    frames = list(read_recording(tmp_path / "rec", on_skip=lambda stamp, reason: skipped.append((stamp, reason))))
    assert [f.stamp_ns for f in frames] == [1_000, 4_000]
    assert [s for s, _ in skipped] == [2_000, 3_000] and "exceeds the limit" in skipped[0][1]


def test_frames_that_share_a_stamp_stay_apart(tmp_path):
    """A camera without a clock stamps every frame 0: each frame is read back, with its own poses."""
    with Recorder(tmp_path / "rec") as rec:
        for i in range(3):
            rec.write(0, _image(i), _poses(i), camera=K)
    frames = list(read_recording(tmp_path / "rec"))
    assert len(frames) == 3 and all(f.stamp_ns == 0 for f in frames)
    assert [f.poses for f in frames] == [_poses(i) for i in range(3)]


def test_a_bag_cut_under_its_metadata_reads_up_to_its_last_complete_frame(tmp_path, caplog):
    _record(tmp_path / "rec", n=4)
    mcap = next((tmp_path / "rec").glob("*.mcap"))
    data = mcap.read_bytes()
    mcap.write_bytes(data[: int(len(data) * 0.7)])   # metadata.yaml stays; rosbags refuses the file
    frames = list(read_recording(tmp_path / "rec"))
    assert 1 <= len(frames) < 4 and all(f.poses is not None for f in frames)
    assert caplog.text.count("up to its last complete message") == 1   # said once, though the bag is read twice


def test_a_frame_cut_between_its_messages_is_left_out(tmp_path, caplog):
    """Killed after a frame's image reached the disk and before its camera info and poses (PNG frames are
    over rosbags' chunk size): that frame is not read as one without camera or poses."""
    from dope_ros.bag_io import BagWriter, dope_typestore
    from dope_core.msg_fields import poses_fields
    from dope_core.camera import CameraModel, camera_info_fields
    import cv2

    store = dope_typestore()
    writer = BagWriter(tmp_path / "rec", typestore=store)
    for topic, msgtype in ((IMAGE_TOPIC, "sensor_msgs/msg/CompressedImage"),
                           (CAMERA_INFO_TOPIC, "sensor_msgs/msg/CameraInfo"),
                           (POSES_TOPIC, "dope_ros/msg/WholeBodyPoseArray")):
        writer.add_topic(topic, msgtype)
    camera = CameraModel.from_matrix(K, 320, 240)
    for i in range(3):
        header = {"stamp": {"sec": 100 + i, "nanosec": 0}, "frame_id": "cam"}
        fields = {IMAGE_TOPIC: ("sensor_msgs/msg/CompressedImage", {"header": header, "format": "jpeg",
                                "data": cv2.imencode(".jpg", _image(i))[1].reshape(-1)}),
                  CAMERA_INFO_TOPIC: ("sensor_msgs/msg/CameraInfo", {"header": header, **camera_info_fields(camera)}),
                  POSES_TOPIC: ("dope_ros/msg/WholeBodyPoseArray", poses_fields(_poses(i), header,
                                                                                camera_info_valid=True))}
        for topic, (msgtype, values) in fields.items():
            if i == 2 and topic != IMAGE_TOPIC:
                break   # the kill
            writer.write(topic, (100 + i) * 10**9, bytes(store.serialize_cdr(build_message(store, msgtype, values),
                                                                               msgtype)))
            writer.flush()
    # no close(): no metadata.yaml, as after a kill
    frames = list(read_recording(tmp_path / "rec"))
    assert [f.stamp_ns for f in frames] == [100 * 10**9, 101 * 10**9]
    assert "lacks /camera/camera_info, /dope/poses, cut off" in caplog.text


def test_images_recorded_under_another_topic_are_read_by_type(tmp_path):
    """launch/record.launch.py with image_topic:=/camera/color/image_raw records .../color/image_raw/compressed."""
    from dope_ros.bag_io import BagWriter, dope_typestore
    import cv2

    store = dope_typestore()
    with BagWriter(tmp_path / "rec", typestore=store) as writer:
        writer.add_topic("/camera/color/image_raw/compressed", "sensor_msgs/msg/CompressedImage")
        for i in range(2):
            msg = build_message(store, "sensor_msgs/msg/CompressedImage", {
                "header": {"stamp": {"sec": 5 + i, "nanosec": 0}, "frame_id": "cam"}, "format": "jpeg",
                "data": cv2.imencode(".jpg", _image(i))[1].reshape(-1)})
            writer.write("/camera/color/image_raw/compressed", (5 + i) * 10**9,
                         bytes(store.serialize_cdr(msg, "sensor_msgs/msg/CompressedImage")))
    assert [f.stamp_ns for f in read_recording(tmp_path / "rec")] == [5 * 10**9, 6 * 10**9]


@pytest.mark.parametrize("make, why", [
    (lambda p: p.mkdir(), "holds no .mcap file"),
    (lambda p: (p.mkdir(), (p / "x.mcap").write_bytes(b"random bytes, not a bag")), "is not an MCAP file"),
    (lambda p: p.write_text("a text file"), "not a readable bag"),
])
def test_what_is_not_a_recording_is_one_line(tmp_path, make, why):
    from dope_core.recording import RecordingError

    make(tmp_path / "rec")
    with pytest.raises(RecordingError, match=why) as e:
        list(read_recording(tmp_path / "rec"))
    assert "\n" not in str(e.value)


def _write_raw(path, messages):
    """A bag of ``(topic, msgtype, log time ns, field values)`` written in the given order (as received)."""
    from dope_ros.bag_io import BagWriter, dope_typestore

    store = dope_typestore()
    with BagWriter(path, typestore=store) as writer:
        for topic, msgtype in {(t, m) for t, m, _, _ in messages}:
            writer.add_topic(topic, msgtype)
        for topic, msgtype, log_ns, values in messages:
            writer.write(topic, log_ns, bytes(store.serialize_cdr(build_message(store, msgtype, values), msgtype)))


def test_frames_are_paired_by_stamp_whatever_order_the_messages_arrived_in(tmp_path):
    """``ros2 bag record`` logs messages as they arrive: the poses of a frame come after the next images,
    and the camera info's log times run ahead; frames still come out in stamp order, each with its own."""
    import cv2
    from dope_core.camera import CameraModel, camera_info_fields
    from dope_core.msg_fields import poses_fields

    camera = CameraModel.from_matrix(K, 320, 240)
    messages = []
    for i in range(5):
        header = {"stamp": {"sec": 10 + i, "nanosec": 0}, "frame_id": "cam"}
        messages += [
            (IMAGE_TOPIC, "sensor_msgs/msg/CompressedImage", (10 + i) * 10**9 + 5,
             {"header": header, "format": "jpeg", "data": cv2.imencode(".jpg", _image(i))[1].reshape(-1)}),
            (CAMERA_INFO_TOPIC, "sensor_msgs/msg/CameraInfo", (10 + i) * 10**9 + 1,
             {"header": header, **camera_info_fields(camera)}),
            (POSES_TOPIC, "dope_ros/msg/WholeBodyPoseArray", (12 + i) * 10**9,   # answered two frames later
             poses_fields(_poses(i), header, camera_info_valid=True))]
    _write_raw(tmp_path / "rec", messages)
    frames = list(read_recording(tmp_path / "rec"))
    assert [f.stamp_ns for f in frames] == [(10 + i) * 10**9 for i in range(5)]
    assert [f.poses for f in frames] == [_poses(i) for i in range(5)]
    assert all(f.intrinsics is not None for f in frames)


@pytest.mark.parametrize("cut", [False, True])
def test_a_long_recording_is_read_frame_by_frame_not_into_memory(tmp_path, cut):
    """Memory holds a few frames, not the recording (an hour at 30 frames/s is tens of GB of images),
    whether the bag is read through rosbags or, cut off, scanned itself."""
    import tracemalloc

    from dope_core.recording import frames_by_stamp

    rng = np.random.default_rng(0)
    n = 40
    with Recorder(tmp_path / "rec", image_format="png") as rec:   # noise: about 230 KB a frame, incompressible
        for i in range(n):
            rec.write(i * 10**8, rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), _poses(i), camera=K)
    if cut:
        (tmp_path / "rec" / "metadata.yaml").unlink()
    frame_bytes = 240 * 320 * 3
    tracemalloc.start()
    try:
        count = 0
        for stamp, got in frames_by_stamp(tmp_path / "rec", (IMAGE_TOPIC, CAMERA_INFO_TOPIC, POSES_TOPIC)):
            assert len(got[IMAGE_TOPIC][0]) > frame_bytes and stamp == count * 10**8
            count += 1
            del got
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n
    assert peak < 10 * frame_bytes, f"{peak / frame_bytes:.1f} frames held at once"

