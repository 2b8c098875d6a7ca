import math

import numpy as np

from dope_core.experts.roi import RotatedRect, alignment_rotation, rotate_xy


def test_alignment_rotation():
    up = alignment_rotation(np.array([0, 10.0]), np.array([0, 0.0]), math.pi / 2)
    assert abs(up) < 1e-12
    down = alignment_rotation(np.array([0, 0.0]), np.array([0, 10.0]), math.pi / 2)
    assert abs(abs(down) - math.pi) < 1e-12
    right = alignment_rotation(np.array([0, 0.0]), np.array([5, 0.0]), 0.0)
    assert abs(right) < 1e-12


def test_rect_maps_corners_and_rotates():
    r = RotatedRect(100, 50, 20, 0.0)
    np.testing.assert_allclose(r.to_image(np.array([[0, 0], [1, 1], [0.5, 0.5]])), [[90, 40], [110, 60], [100, 50]])
    r90 = RotatedRect(100, 50, 20, math.pi / 2)
    # The region's x axis points down the image after a quarter turn.
    np.testing.assert_allclose(r90.to_image(np.array([[1.0, 0.5]])), [[100, 60]], atol=1e-9)


def test_scaled_shifts_along_the_rotated_y_axis():
    r = RotatedRect(0, 0, 10, math.pi / 2).scaled(2.0, shift_y=-0.5)
    np.testing.assert_allclose([r.cx, r.cy, r.side], [5, 0, 20], atol=1e-9)


def test_crop_samples_the_region():
    image = np.zeros((40, 40, 3), np.uint8)
    image[10:20, 20:30] = 255
    crop = RotatedRect(25, 15, 10, 0.0).crop(image, (10, 10), (0.0, 1.0))
    assert crop.shape == (10, 10, 3) and crop.dtype == np.float32
    assert crop[2:8, 2:8].min() > 0.99
    out = RotatedRect(-100, -100, 10).crop(image, (4, 4), (-1.0, 1.0))
    assert np.all(out == -1.0)


def test_rotate_xy_keeps_z():
    p = rotate_xy(np.array([[1.0, 0, 7]]), math.pi / 2)
    np.testing.assert_allclose(p, [[0, 1, 7]], atol=1e-12)


def test_crop_of_a_wide_output_maps_the_region_across_its_width() -> None:
    """crop: the region spans the output's full width ``w`` and height ``h`` when they differ, and pixel
    values map onto ``value_range``'s ends (0 to the low end, 255 to the high end)."""
    image = np.zeros((40, 40, 3), np.uint8)
    image[:, :20] = 255                                       # the left half white
    crop = RotatedRect(20, 20, 20, 0.0).crop(image, (20, 10), (-1.0, 1.0))
    assert crop.shape == (10, 20, 3)
    np.testing.assert_allclose(crop[:, 1:9], 1.0, atol=1e-6)       # the region's left half: white
    np.testing.assert_allclose(crop[:, 11:19], -1.0, atol=1e-6)    # its right half: black
