"""CameraInfo and depth checked and paired with images by stamp (dope_ros.placement_inputs, no running graph)."""

from __future__ import annotations

import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from dope_core.camera import camera_from_info
from dope_ros.placement_inputs import PlacementInputs, StampedBuffer, stamp_is_valid

K = [500.0, 0.0, 320.0, 0.0, 500.0, 240.0, 0.0, 0.0, 1.0]


def _header(sec: int, nanosec: int = 0, frame: str = "cam") -> Header:
    h = Header(frame_id=frame)
    h.stamp.sec, h.stamp.nanosec = sec, nanosec
    return h


def _info(sec: int = 10, nanosec: int = 0, **fields) -> CameraInfo:
    info = CameraInfo(width=640, height=480, distortion_model="plumb_bob", header=_header(sec, nanosec))
    info.k = K
    for name, value in fields.items():
        setattr(info, name, value)
    return info


def test_buffer_pairs_the_nearest_within_tolerance():
    buf: StampedBuffer[str] = StampedBuffer(3)
    for s, item in ((1.0, "a"), (2.0, "b"), (2.04, "c"), (3.0, "d")):
        buf.add(s, item)
    assert len(buf) == 3  # "a" fell out
    assert buf.nearest(2.03, 0.05) == (2.04, "c")
    assert buf.nearest(1.0, 0.05) is None
    assert buf.nearest(10.0, 0.05) is None
    buf.add(0.0, "static")
    assert buf.nearest(10.0, 0.05, zero_matches_any=True) == (0.0, "static")
    assert buf.nearest(3.01, 0.05, zero_matches_any=True) == (3.0, "d")


def test_a_stamp_is_valid_only_with_nanosec_below_1e9():
    """builtin_interfaces/Time.nanosec is a uint32: 4e9 fits in it, but is no time (it would move the stamp 4 s)."""
    assert stamp_is_valid(_header(5, 999_999_999)) and stamp_is_valid(_header(0))
    assert not stamp_is_valid(_header(5, 1_000_000_000)) and not stamp_is_valid(_header(5, 4_000_000_000))


def test_camera_info_as_ros_defines_it():
    info = _info(d=[-0.2, 0.05, 0.0, 0.0, 0.0], binning_x=2, binning_y=2)
    info.roi.x_offset, info.roi.y_offset, info.roi.width, info.roi.height = 64, 32, 512, 384
    model = camera_from_info(info, rectified=False)
    assert model.image_size == (256, 192) and model.distortion_model == "plumb_bob"
    info = _info(p=[480.0, 0, 330, 0, 0, 480, 250, 0, 0, 0, 1, 0])
    assert camera_from_info(info, rectified=True).focal_px == 480.0
    assert camera_from_info(info, rectified=False).focal_px == 500.0


def test_camera_for_checks_stamp_size_and_frame():
    inputs = PlacementInputs(camera_tolerance_s=0.05)
    assert inputs.camera_for(_header(10), 640, 480) == (None, [])  # nothing received yet: not a problem
    assert inputs.camera_status == "missing"
    assert inputs.add_camera_info(_info(10)) is None and inputs.camera_status == "valid"
    camera, problems = inputs.camera_for(_header(10, 20_000_000), 640, 480)
    assert camera is not None and problems == []
    camera, problems = inputs.camera_for(_header(11), 640, 480)
    assert camera is None and problems[0][0] == "camera_info_unsynced" and inputs.camera_status == "unsynced"
    camera, problems = inputs.camera_for(_header(10), 512, 600)
    assert camera is None and problems[0][0] == "camera_info_mismatch" and "640x480" in problems[0][1]
    camera, problems = inputs.camera_for(_header(10, frame="other"), 640, 480)
    assert camera is not None and problems[0][0] == "camera_info_frame_mismatch"
    # A static publisher's CameraInfo (stamp 0) matches any image.
    inputs.add_camera_info(_info(0))
    assert inputs.camera_for(_header(99), 640, 480)[0] is not None


@pytest.mark.parametrize("fields,reason", [
    (dict(k=[0.0] * 9), "all_zero"),
    (dict(k=[float("nan")] * 9), "not_finite"),
    (dict(distortion_model="fisheye_x", d=[0.1] * 4), "distortion_model"),
    (dict(width=0), "image_size"),
])
def test_invalid_camera_info_discards_the_earlier_ones(fields, reason):
    inputs = PlacementInputs()
    inputs.add_camera_info(_info(0))
    category, text = inputs.add_camera_info(_info(0, **fields))
    assert category == f"bad_camera_info/{reason}" and "part-relative" in text
    assert inputs.camera_status == "invalid"
    assert inputs.camera_for(_header(5), 640, 480)[0] is None


def test_depth_for_pairs_decodes_and_checks_size():
    inputs = PlacementInputs(depth_tolerance_s=0.05)
    assert inputs.depth_for(_header(10), 4, 2)[1][0][0] == "depth_unsynced"
    mm = np.full((2, 4), 1500, np.uint16)
    inputs.add_depth(Image(header=_header(10), height=2, width=4, encoding="16UC1", step=8, data=mm.tobytes()))
    depth, problems = inputs.depth_for(_header(10), 4, 2)
    assert problems == [] and np.allclose(depth, 1.5)
    assert inputs.depth_for(_header(10), 8, 4)[1][0][0] == "bad_depth/size"
    inputs.add_depth(Image(header=_header(20), height=2, width=4, encoding="bgr8", step=12, data=bytes(24)))
    assert inputs.depth_for(_header(20), 4, 2)[1][0][0] == "bad_depth/encoding"
