"""Tests of dope_core.depth: depth decoding and distances fixed by an aligned depth image."""

from __future__ import annotations

import numpy as np
import pytest

from dope_core.camera import CameraModel
from dope_core.depth import DepthError, DepthSettings, decode_depth, fix_distances, window_depth
from dope_core.placement import PlacementSettings, place_poses
from dope_core.structures import PlacementSource, WholeBodyPoses

from test_placement import CAMERAS, _person

SETTINGS = DepthSettings()


def test_decode_16uc1_mm_and_32fc1_m():
    mm = np.array([[1000, 0], [2500, 65535]], dtype="<u2")
    out = decode_depth(encoding="16UC1", height=2, width=2, step=4, is_bigendian=False, data=mm.tobytes())
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[1.0, np.nan], [2.5, 65.535]])
    be = mm.astype(">u2")
    padded = np.zeros((2, 6), np.uint8)
    padded[:, :4] = be.view(np.uint8).reshape(2, 4)
    np.testing.assert_allclose(decode_depth(encoding="mono16", height=2, width=2, step=6, is_bigendian=True,
                                            data=padded.tobytes()), out)
    m = np.array([[1.5, np.nan], [np.inf, -1.0]], dtype="<f4")
    out = decode_depth(encoding="32FC1", height=2, width=2, step=8, is_bigendian=False, data=m.tobytes())
    assert out[0, 0] == 1.5 and np.isnan(out[0, 1]) and np.isnan(out[1]).all()


@pytest.mark.parametrize("kwargs,reason", [
    (dict(encoding="rgb8", height=2, width=2, step=6, data=bytes(12)), "encoding"),
    (dict(encoding="16UC1", height=0, width=2, step=4, data=b""), "size"),
    (dict(encoding="16UC1", height=2, width=2, step=4, data=bytes(7)), "data"),
    (dict(encoding="32FC1", height=2, width=2, step=4, data=bytes(16)), "data"),
])
def test_bad_depth_images(kwargs, reason):
    with pytest.raises(DepthError) as e:
        decode_depth(is_bigendian=False, **kwargs)
    assert e.value.reason == reason


def test_window_median_ignores_holes_and_range():
    d = np.full((10, 10), np.nan, np.float32)
    d[4:7, 4:7] = [[2.0, 2.1, 30.0], [2.05, np.nan, 1.95], [0.05, 2.0, 2.02]]
    assert window_depth(d, np.array([5.5, 5.5])) == pytest.approx(2.0, abs=0.03)
    assert window_depth(d, np.array([0.5, 0.5])) is None  # all holes
    assert window_depth(d, np.array([np.nan, 1.0])) is None


def _depth_image(body, camera: CameraModel, scale: float) -> np.ndarray:
    """Depth of a person ``scale`` times the size and distance of ``body`` (same image): the surface
    ``surface_to_joint_m`` in front of each root joint, holes elsewhere."""
    depth = np.full((camera.height, camera.width), np.nan, np.float32)
    for j in SETTINGS.root_keypoints:
        u, v = (int(x) for x in body.keypoints_2d[j])
        depth[v - 3:v + 4, u - 3:u + 4] = scale * body.keypoints_3d_camera[j, 2] - SETTINGS.surface_to_joint_m
    return depth


def test_depth_fixes_the_distance_of_a_smaller_person():
    camera = CAMERAS["pinhole"]
    person, roots = _person(camera)
    mono = place_poses(WholeBodyPoses(image_size=(640, 480), people=[person]), camera)
    np.testing.assert_allclose(mono.people[0].body.root_camera, roots["body"], atol=1e-6)
    # The same image is a child of 0.75 the size at 0.75 the distance: only depth tells.
    depth = _depth_image(mono.people[0].body, camera, 0.75)
    depth[::7, :] = np.nan  # holes
    u, v = (int(x) for x in person.body.keypoints_2d[SETTINGS.root_keypoints[0]])
    depth[v - 3:v + 4, u - 3:u + 4] = 0.8  # an outlier keypoint (an arm in front of the hip)
    fixed, report = fix_distances(mono, depth)
    assert (report.fixed, report.without_depth) == (1, 0)
    p = fixed.people[0]
    np.testing.assert_allclose(p.body.root_camera, 0.75 * roots["body"], atol=1e-3)
    assert p.body.placement is PlacementSource.DEPTH
    assert SETTINGS.surface_sigma_m <= p.body.placement_uncertainty < 0.05
    assert p.left_hand.placement is PlacementSource.BODY_ANCHORED
    np.testing.assert_allclose(p.left_hand.root_camera, 0.75 * roots["left_hand"], atol=1e-3)
    # Everything of the person moved together: the image is unchanged, the hand still at the wrist.
    np.testing.assert_allclose(camera.project(p.left_hand.keypoints_3d_camera), person.left_hand.keypoints_2d,
                               atol=1e-6)
    assert np.linalg.norm(p.left_hand.keypoints_3d_camera[0] - p.body.keypoints_3d_camera[7]) < 1e-3


def test_people_without_depth_are_left_and_counted():
    camera = CAMERAS["pinhole"]
    person, _ = _person(camera)
    placed = place_poses(WholeBodyPoses(image_size=(640, 480), people=[person]), camera)
    holes = np.full((480, 640), np.nan, np.float32)
    out, report = fix_distances(placed, holes)
    assert (report.fixed, report.without_depth) == (0, 1)
    assert out.people[0].body.placement is PlacementSource.MONOCULAR
    unplaced = place_poses(WholeBodyPoses(image_size=(640, 480), people=[person]), camera,
                           PlacementSettings(min_confidence=1.0))
    assert fix_distances(unplaced, holes)[1].without_depth == 0
    with pytest.raises(DepthError, match="registered") as e:
        fix_distances(placed, np.zeros((240, 320), np.float32))
    assert e.value.reason == "size"


def test_only_parts_anchored_to_the_body_move_with_it():
    """A part placed on its own (not body-anchored) keeps its place; an anchored one moves and carries its
    own uncertainty (its old sigma less the old body's, in quadrature) on top of the body's new one."""
    import dataclasses

    camera = CAMERAS["pinhole"]
    person, _ = _person(camera)
    mono = place_poses(WholeBodyPoses(image_size=(640, 480), people=[person]), camera)
    p = mono.people[0]
    assert p.left_hand.placement is PlacementSource.BODY_ANCHORED
    own_hand = dataclasses.replace(p.right_hand, placement=PlacementSource.MONOCULAR)
    p = dataclasses.replace(p, body=dataclasses.replace(p.body, placement_uncertainty=0.3),
                            left_hand=dataclasses.replace(p.left_hand, placement_uncertainty=0.5),
                            right_hand=own_hand)
    depth = _depth_image(p.body, camera, 0.75)
    fixed, report = fix_distances(dataclasses.replace(mono, people=[p]), depth)
    assert report.fixed == 1
    out = fixed.people[0]
    np.testing.assert_array_equal(out.right_hand.root_camera, own_hand.root_camera)        # not moved
    assert out.right_hand.placement_uncertainty == own_hand.placement_uncertainty
    np.testing.assert_allclose(out.left_hand.root_camera, 0.75 * p.left_hand.root_camera, atol=1e-3)
    sd_body = out.body.placement_uncertainty
    assert out.left_hand.placement_uncertainty == pytest.approx(np.hypot(sd_body, 0.4))   # sqrt(0.5^2 - 0.3^2)


def test_unconfident_root_keypoints_do_not_measure_the_distance():
    """Root keypoints less confident than min_confidence are not sampled, even when most of them."""
    import dataclasses

    camera = CAMERAS["pinhole"]
    person, roots = _person(camera)
    mono = place_poses(WholeBodyPoses(image_size=(640, 480), people=[person]), camera)
    body = mono.people[0].body
    depth = _depth_image(body, camera, 0.5)              # three roots say half the distance...
    j0 = SETTINGS.root_keypoints[0]
    u, v = (int(x) for x in body.keypoints_2d[j0])
    depth[v - 3:v + 4, u - 3:u + 4] = 0.75 * body.keypoints_3d_camera[j0, 2] - SETTINGS.surface_to_joint_m
    confidence = np.array(body.confidence, float)
    confidence[list(SETTINGS.root_keypoints[1:])] = 0.05   # ...but only the one saying 0.75 is confident
    person = dataclasses.replace(mono.people[0], body=dataclasses.replace(body, confidence=confidence))
    fixed, _ = fix_distances(dataclasses.replace(mono, people=[person]), depth, min_confidence=0.1)
    np.testing.assert_allclose(fixed.people[0].body.root_camera, 0.75 * roots["body"], atol=1e-3)
