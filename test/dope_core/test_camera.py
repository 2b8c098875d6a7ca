"""Tests of dope_core.camera: intrinsics checks, distortion, rectification, binning/ROI, calibration YAML."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from dope_core.camera import (CameraFileError, CameraModel, InvalidIntrinsicsError, camera_from_info, load_camera_yaml,
                              validate_intrinsics)

K = [600.0, 0.0, 320.0, 0.0, 610.0, 240.0, 0.0, 0.0, 1.0]
RNG = np.random.default_rng(3)
POINTS = RNG.uniform([-1.0, -0.8, 2.0], [1.0, 0.8, 5.0], size=(40, 3))
RAYS = POINTS[:, :2] / POINTS[:, 2:]

YAML = """image_width: 640
image_height: 480
camera_name: narrow_stereo
camera_matrix:
  rows: 3
  cols: 3
  data: [600.0, 0.0, 320.0, 0.0, 610.0, 240.0, 0.0, 0.0, 1.0]
distortion_model: {model}
distortion_coefficients:
  rows: 1
  cols: {n}
  data: {d}
rectification_matrix:
  rows: 3
  cols: 3
  data: [1, 0, 0, 0, 1, 0, 0, 0, 1]
projection_matrix:
  rows: 3
  cols: 4
  data: [580.0, 0.0, 318.0, 0.0, 0.0, 590.0, 242.0, 0.0, 0.0, 0.0, 1.0, 0.0]
"""


@pytest.mark.parametrize("k,size,msg,reason", [
    (np.zeros(9), None, "all zero", "all_zero"),
    (np.full(9, np.nan), None, "NaN", "not_finite"),
    ([600, 0, 320, 0, 600, 240, 0, 0, np.inf], None, "NaN or infinite", "not_finite"),
    ([0, 0, 320, 0, 600, 240, 0, 0, 1], None, "focal", "focal"),
    ([600, 0, 320, 0, -600, 240, 0, 0, 1], None, "focal", "focal"),
    ([600, 0, 320, 0, 600, 240, 0, 0, 2], None, "last row", "last_row"),
    (np.eye(2), None, "9 values", "size"),
    ([1e-300, 0, 320, 0, 1e-300, 240, 0, 0, 1], None, "implausible", "focal"),
    ([1e-300, 0, 320, 0, 1e-300, 240, 0, 0, 1], (640, 480), "implausible", "focal"),
    ([600, 0, 1e308, 0, 600, 240, 0, 0, 1], None, "principal point", "principal_point"),
    ([600, 0, 1e308, 0, 600, 240, 0, 0, 1], (640, 480), "principal point", "principal_point"),
    ([600, 0, 320, 0, 60, 240, 0, 0, 1], None, "aspect", "focal"),
    ([1920, 0, 960, 0, 1920, 540, 0, 0, 1], (512, 600), "principal point", "principal_point"),
])
def test_invalid_intrinsics(k, size, msg, reason):
    with pytest.raises(InvalidIntrinsicsError, match=msg) as e:
        validate_intrinsics(k, size)
    assert e.value.reason == reason
    assert "\n" not in str(e.value)


def test_valid_intrinsics_in_camera_info_layout():
    np.testing.assert_array_equal(validate_intrinsics(K, (640, 480)), np.reshape(K, (3, 3)))


@pytest.mark.parametrize("model,d", [
    ("plumb_bob", [-0.3, 0.1, 0.001, -0.002, 0.0]),
    ("plumb_bob", [-0.3, 0.1, 0.001, -0.002]),
    ("rational_polynomial", [-0.3, 0.1, 0.001, -0.002, 0.01, 0.05, 0.01, 0.001]),
    ("equidistant", [0.1, -0.05, 0.01, -0.002]),
])
def test_distortion_round_trip(model, d):
    cam = CameraModel.from_calibration(width=640, height=480, k=K, distortion_model=model, d=d)
    uv = cam.project(POINTS)
    np.testing.assert_allclose(cam.normalize(uv), RAYS, atol=1e-9)
    # The distortion is real: a pinhole reading of the same pixels differs.
    assert np.abs(CameraModel.from_matrix(K, 640, 480).normalize(uv) - RAYS).max() > 1e-3


def test_nan_pixels_stay_nan():
    cam = CameraModel.from_calibration(width=640, height=480, k=K, distortion_model="plumb_bob", d=[-0.3, 0.1, 0, 0, 0])
    out = cam.normalize(np.array([[np.nan, 1.0], [320.0, 240.0]]))
    assert np.isnan(out[0]).all() and np.allclose(out[1], 0.0)


def test_rectified_images_use_p_and_r():
    a = 0.1
    r = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    p = [480.0, 0, 300, -30.0, 0, 480, 250, 0, 0, 0, 1, 0]  # Tx of a second stereo camera is ignored
    cam = CameraModel.from_calibration(width=640, height=480, k=K, distortion_model="plumb_bob",
                                       d=[-0.3, 0.1, 0, 0, 0], r=r.ravel(), p=p, rectified=True)
    uv = cam.project(POINTS)
    np.testing.assert_allclose(uv[0], (np.array(p).reshape(3, 4)[:, :3] @ r @ POINTS[0])[:2]
                               / (r @ POINTS[0])[2], rtol=1e-12)
    np.testing.assert_allclose(cam.normalize(uv), RAYS, atol=1e-12)
    with pytest.raises(InvalidIntrinsicsError, match="projection matrix P") as e:
        CameraModel.from_calibration(width=640, height=480, k=K, rectified=True)
    assert e.value.reason == "projection"


def test_binning_and_roi_map_back_to_the_sensor():
    cam = CameraModel.from_calibration(width=640, height=480, k=K, binning=(2, 2), roi=(100, 40, 400, 300))
    assert cam.image_size == (200, 150)
    uv = cam.project(POINTS)
    full = CameraModel.from_matrix(K, 640, 480).project(POINTS)
    np.testing.assert_allclose(uv, (full - [100, 40]) / 2, atol=1e-9)
    np.testing.assert_allclose(cam.normalize(uv), RAYS, atol=1e-12)
    cam.check_image_size(200, 150)
    with pytest.raises(InvalidIntrinsicsError, match="binning 2x2") as e:
        cam.check_image_size(640, 480)
    assert e.value.reason == "image_size"
    with pytest.raises(InvalidIntrinsicsError, match="does not fit"):
        CameraModel.from_calibration(width=640, height=480, k=K, roi=(600, 0, 100, 100))


def _camera_info(binning_x: int, binning_y: int, roi: tuple[int, int, int, int] = (0, 0, 0, 0)) -> SimpleNamespace:
    """The fields of a ``sensor_msgs/CameraInfo`` of a 640x480 camera (``camera_from_info`` reads no more)."""
    x_offset, y_offset, width, height = roi
    return SimpleNamespace(width=640, height=480, k=K, distortion_model="plumb_bob", d=[], r=[0.0] * 9, p=[0.0] * 12,
                           binning_x=binning_x, binning_y=binning_y,
                           roi=SimpleNamespace(x_offset=x_offset, y_offset=y_offset, width=width, height=height))


@pytest.mark.parametrize("binning,roi", [
    ((2**32 - 1, 2**32 - 1), (0, 0, 0, 0)),   # uint32 max binning: a 0x0 image
    ((641, 1), (0, 0, 0, 0)),                  # one pixel more than the width
    ((1, 101), (0, 0, 100, 100)),              # more than the region of interest's height
])
def test_a_binning_that_leaves_no_pixel_is_refused(binning, roi):
    with pytest.raises(InvalidIntrinsicsError, match=r"leaves an image of (0x\d+|\d+x0) pixels") as e:
        camera_from_info(_camera_info(*binning, roi=roi), rectified=False)
    assert e.value.reason == "image_size" and "\n" not in str(e.value)
    # the largest binning that still leaves a pixel is a (1-pixel) image
    assert camera_from_info(_camera_info(640, 480), rectified=False).image_size == (1, 1)


def test_resized_keeps_rays_and_refuses_another_aspect():
    cam = CameraModel.from_calibration(width=640, height=480, k=K, distortion_model="plumb_bob", d=[-0.3, 0.1, 0, 0, 0])
    small = cam.resized(320, 240)
    np.testing.assert_allclose(small.project(POINTS), cam.project(POINTS) / 2, atol=1e-9)
    np.testing.assert_allclose(small.normalize(small.project(POINTS)), RAYS, atol=1e-9)
    with pytest.raises(InvalidIntrinsicsError, match="aspect"):
        cam.resized(512, 600)


def test_from_hfov():
    cam = CameraModel.from_hfov(640, 480, 90.0)
    assert cam.k[0, 0] == pytest.approx(320.0) and cam.k[1, 1] == pytest.approx(320.0)
    assert (cam.k[0, 2], cam.k[1, 2]) == (320.0, 240.0)
    np.testing.assert_allclose(cam.normalize(np.array([[640.0, 240.0]])), [[1.0, 0.0]])
    for bad in (0.0, 180.0, float("nan")):
        with pytest.raises(InvalidIntrinsicsError):
            CameraModel.from_hfov(640, 480, bad)


@pytest.mark.parametrize("model,d,msg", [
    ("fisheye62", [0.1] * 4, "unknown distortion model"),
    ("plumb_bob", [0.1] * 3, "needs 4 or 5"),
    ("equidistant", [0.1] * 5, "needs 4"),
    ("", [0.1] * 5, "no distortion model"),
    ("plumb_bob", [np.nan] * 5, "NaN"),
    ("plumb_bob", [1e30, 0, 0, 0, 0], "cannot be inverted over the 640x480 image"),
    ("plumb_bob", [-1.0, 0, 0, 0, 0], "cannot be inverted"),   # folds a third of the way out
    ("equidistant", [1e6, -1e6, 1e6, -1e6], "implausible: it bends the rays off the optical axis by 0.0"),
])
def test_bad_distortion(model, d, msg):
    with pytest.raises(InvalidIntrinsicsError, match=msg) as e:
        CameraModel.from_calibration(width=640, height=480, k=K, distortion_model=model, d=d)
    assert e.value.reason == ("distortion_model" if "model" in msg else "distortion")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("width,height,k,model,d", [
    (640, 480, K, "plumb_bob", [-0.6, 0.5, 0.0, 0.0, -0.2]),    # strong barrel: only its corners fold
    (640, 480, K, "plumb_bob", [2.0, 0.0, 0.0, 0.0, 0.0]),      # strong pincushion
    (848, 800, [286.2, 0, 416.5, 0, 286.4, 403.6, 0, 0, 1], "equidistant", [-0.0116, 0.0509, -0.0484, 0.0092]),
    (640, 480, [150, 0, 320, 0, 150, 240, 0, 0, 1], "equidistant", [0.0, 0.0, 0.0, 1e-4]),   # a 185-degree fisheye
])
def test_strong_real_lenses_are_accepted(width, height, k, model, d):
    """A tracking camera's fisheye (T265-like), circular fisheyes whose corners look behind the camera and
    strong polynomial lenses pass the plausibility check."""
    cam = CameraModel.from_calibration(width=width, height=height, k=k, distortion_model=model, d=d)
    assert cam.distortion_model == model


def test_zero_distortion_is_none():
    cam = CameraModel.from_calibration(width=640, height=480, k=K, distortion_model="plumb_bob", d=[0.0] * 5)
    assert cam.distortion_model == "none"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "camera.yaml"
    path.write_text(text)
    return path


def test_load_camera_calibration_yaml(tmp_path):
    d = [-0.28, 0.09, 0.001, -0.0015, 0.0]
    cam = load_camera_yaml(_write(tmp_path, YAML.format(model="plumb_bob", n=5, d=d)))
    assert cam.name == "narrow_stereo" and cam.image_size == (640, 480) and cam.distortion_model == "plumb_bob"
    np.testing.assert_array_equal(cam.d, d)
    np.testing.assert_array_equal(cam.k, np.reshape(K, (3, 3)))
    assert "640x480" in cam.describe() and "K + D" in cam.describe()
    rect = load_camera_yaml(_write(tmp_path, YAML.format(model="plumb_bob", n=5, d=d)), rectified=True)
    assert rect.focal_px == pytest.approx(585.0)


@pytest.mark.parametrize("text,msg", [
    ("image_width: [1, 2\n", "not valid YAML"),
    ("- a list\n", "not a camera calibration"),
    (YAML.format(model="plumb_bob", n=5, d=[0.0] * 5).replace("image_height: 480\n", ""), "missing key 'image_height'"),
    (YAML.format(model="plumb_bob", n=4, d=[0.0] * 5), "declares 1x4 but holds 5 values"),
    (YAML.format(model="plumb_bob", n=5, d=[0.0] * 5).replace("data: [600.0, 0.0, 320.0,", "data: [600.0, 0.0, x,"),
     "not numbers"),
    (YAML.format(model="kannala", n=4, d=[0.1] * 4), "unknown distortion model 'kannala'"),
    (YAML.format(model="plumb_bob", n=5, d=[0.0] * 5).replace("image_width: 640", "image_width: 100"),
     "principal point"),
    (YAML.format(model="plumb_bob", n=5, d=[0.0] * 5).replace("rows: 3\n  cols: 4", "rows: 4\n  cols: 3"),
     "projection_matrix must be 3x4"),
])
def test_bad_camera_yaml_gives_one_line(tmp_path, text, msg):
    with pytest.raises(CameraFileError, match=msg) as e:
        load_camera_yaml(_write(tmp_path, text))
    assert "\n" not in str(e.value) and "camera.yaml" in str(e.value)


def test_missing_camera_file(tmp_path):
    with pytest.raises(CameraFileError, match="cannot read"):
        load_camera_yaml(tmp_path / "nope.yaml")


def test_normalize_inverts_anisotropic_focals_and_skew() -> None:
    """normalize undoes u = fx x + s y + cx, v = fy y + cy, for K (no distortion) and for P (rectified)."""
    fx, fy, s, cx, cy = 500.0, 560.0, 4.0, 330.0, 250.0
    x, y = RAYS[:, 0], RAYS[:, 1]
    uv = np.stack([fx * x + s * y + cx, fy * y + cy], axis=1)
    k = [fx, s, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
    raw = CameraModel.from_calibration(width=640, height=480, k=k)
    np.testing.assert_allclose(raw.normalize(uv), RAYS, atol=1e-12)
    np.testing.assert_allclose(raw.project(POINTS), uv, atol=1e-9)
    rect = CameraModel.from_calibration(width=640, height=480, k=K, p=[fx, s, cx, 0.0, 0.0, fy, cy, 0.0, 0, 0, 1, 0],
                                        rectified=True)
    np.testing.assert_allclose(rect.normalize(uv), RAYS, atol=1e-12)


def test_a_skew_larger_than_the_focal_length_is_refused() -> None:
    """validate_intrinsics refuses |skew| > fx and accepts a small skew."""
    validate_intrinsics([600.0, 30.0, 320.0, 0.0, 610.0, 240.0, 0.0, 0.0, 1.0], (640, 480))
    with pytest.raises(InvalidIntrinsicsError):
        validate_intrinsics([600.0, 700.0, 320.0, 0.0, 610.0, 240.0, 0.0, 0.0, 1.0], (640, 480))


def test_a_projection_matrix_with_p23_not_zero_is_refused() -> None:
    """P's last column must have P[2,3] = 0 (sensor_msgs/CameraInfo: a monocular or stereo P)."""
    with pytest.raises(InvalidIntrinsicsError, match="P\\[2,3\\]") as e:
        CameraModel.from_calibration(width=640, height=480, k=K, p=[600, 0, 320, 0, 0, 610, 240, 0, 0, 0, 1, 0.5],
                                     rectified=True)
    assert e.value.reason == "projection"


def test_a_roi_one_pixel_too_wide_does_not_fit() -> None:
    """The region of interest must lie inside the calibrated image, to the last pixel."""
    assert CameraModel.from_calibration(width=640, height=480, k=K, roi=(40, 30, 600, 450)).image_size == (600, 450)
    for roi in ((41, 0, 600, 100), (0, 31, 100, 450)):
        with pytest.raises(InvalidIntrinsicsError, match="does not fit"):
            CameraModel.from_calibration(width=640, height=480, k=K, roi=roi)


def test_focal_px_divides_each_focal_by_its_own_binning() -> None:
    """focal_px is the mean of fx / binning_x and fy / binning_y (the processed image's pixels)."""
    cam = CameraModel.from_calibration(width=640, height=480, k=K, binning=(2, 1))
    assert cam.focal_px == pytest.approx((600.0 / 2 + 610.0 / 1) / 2)


def test_resized_refuses_an_aspect_more_than_one_percent_off() -> None:
    """resized accepts an aspect within 1 % and refuses one 1.7 % off."""
    cam = CameraModel.from_matrix(K, 640, 480)
    assert cam.resized(320, 241).image_size == (320, 241)   # 0.4 % off
    with pytest.raises(InvalidIntrinsicsError, match="aspect"):
        cam.resized(320, 236)


def test_camera_info_fields_of_a_full_image_have_an_all_zero_roi() -> None:
    """sensor_msgs/RegionOfInterest: width = height = 0 means the full image."""
    from dope_core.camera import camera_info_fields

    roi = camera_info_fields(CameraModel.from_matrix(K, 640, 480))["roi"]
    assert (roi["x_offset"], roi["y_offset"], roi["width"], roi["height"]) == (0, 0, 0, 0)
