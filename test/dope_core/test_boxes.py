"""Box areas, IoU and points inside, hand-computed."""

import numpy as np

from dope_core.boxes import box_area, box_iou, fraction_inside, fraction_within


def test_box_iou():
    a = np.array([[0, 0, 2, 2.0]])
    b = np.array([[1, 1, 3, 3.0], [5, 5, 6, 6.0], [0, 0, 2, 2.0]])
    np.testing.assert_allclose(box_iou(a, b), [[1 / 7, 0.0, 1.0]])
    assert box_iou(a, np.zeros((0, 4))).shape == (1, 0)


def test_empty_and_inverted_boxes_have_no_area_nor_overlap():
    boxes = np.array([[0, 0, 3, 2.0], [5, 5, 5, 9.0], [4, 4, 1, 1.0]])
    np.testing.assert_allclose(box_area(boxes), [6, 0, 0])
    np.testing.assert_allclose(box_iou(boxes[1:], boxes[1:]), [[0, 0], [0, 0]])


def test_box_contains_includes_the_edges():
    from dope_core.boxes import box_contains

    box = np.array([10.0, 20.0, 30.0, 40.0])
    assert box_contains(box, np.array([10.0, 40.0])) and box_contains(box, (20, 30))
    assert not box_contains(box, (9.9, 30.0)) and not box_contains(box, (20.0, 40.1))


def test_box_centre_is_the_middle_of_its_corners():
    from dope_core.boxes import box_centre

    np.testing.assert_allclose(box_centre(np.array([10.0, 20.0, 30.0, 60.0])), [20.0, 40.0])
    np.testing.assert_allclose(box_centre([1, 2, 2, 2]), [1.5, 2.0])        # integers, a flat box


def test_fraction_inside_the_image():
    assert fraction_inside(np.array([10.0, 10.0, 20.0, 20.0]), 100, 50) == 1.0
    assert fraction_inside(np.array([-10.0, 0.0, 10.0, 10.0]), 100, 50) == 0.5         # half past the left edge
    assert fraction_inside(np.array([90.0, 40.0, 110.0, 60.0]), 100, 50) == 0.25       # past a corner
    assert fraction_inside(np.array([200.0, 0.0, 210.0, 10.0]), 100, 50) == 0.0
    assert fraction_inside(np.array([5.0, 5.0, 5.0, 9.0]), 100, 50) == 0.0             # empty


def test_fraction_within_another_box():
    big = np.array([0.0, 0.0, 100.0, 100.0])
    assert fraction_within(np.array([10.0, 10.0, 20.0, 30.0]), big) == 1.0
    assert fraction_within(np.array([90.0, 0.0, 110.0, 10.0]), big) == 0.5
    assert fraction_within(big, np.array([10.0, 10.0, 20.0, 30.0])) == 0.02             # not symmetric
    assert fraction_within(np.array([5.0, 5.0, 5.0, 9.0]), big) == 0.0                  # empty


def test_box_side_is_the_longer_side():
    from dope_core.boxes import box_side

    assert box_side(np.array([10.0, 20.0, 30.0, 60.0])) == 40.0
    assert box_side(np.array([0.0, 0.0, 50.0, 5.0])) == 50.0     # lying


def test_scaled_box_grows_about_the_centre():
    from dope_core.boxes import scaled_box

    assert np.allclose(scaled_box(np.array([10, 20, 30, 60]), 1.5), [5, 10, 35, 70])
    assert np.allclose(scaled_box(np.array([10, 20, 30, 60, 0.9]), 1.0), [10, 20, 30, 60])   # extra columns ignored


def test_box_contains_includes_the_right_and_bottom_edges() -> None:
    """Points on the right (x2) and bottom (y2) edges and the far corner are inside."""
    from dope_core.boxes import box_contains

    box = np.array([10.0, 20.0, 30.0, 40.0])
    assert box_contains(box, (30.0, 25.0)) and box_contains(box, (15.0, 40.0)) and box_contains(box, (30.0, 40.0))
    assert not box_contains(box, (30.1, 25.0))
