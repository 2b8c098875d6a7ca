"""Mirrored (selfie) images: 2D back on the received image, labels and 3D of the true view."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from dope_core.keypoints import BODY_JOINTS, Part
from dope_core.mirror import mirror_poses_2d, unmirror_camera, unmirror_image
from dope_core.structures import Handedness, PartPose, Person, WholeBodyPoses


def _hand(x: float) -> PartPose:
    j = Part.HAND.num_keypoints
    return PartPose(part=Part.HAND, score=0.9, box=[x, 10, x + 20, 40], keypoints_2d=np.full((j, 2), [x + 5, 20.0]),
                    keypoints_3d=np.ones((j, 3)), confidence=np.ones(j), handedness=Handedness.LEFT,
                    root_camera=np.array([0.1, 0.0, 1.0]), velocity_2d=np.array([3.0, -1.0]))


def test_mirror_poses_2d_flips_2d_only():
    poses = WholeBodyPoses(image_size=(100, 50), people=[Person(id=0, score=1.0, track_id=3, left_hand=_hand(10.0))],
                           unassigned=[_hand(60.0)])
    out = mirror_poses_2d(poses, 100)
    hand = out.people[0].left_hand
    np.testing.assert_allclose(hand.box, [70, 10, 90, 40])
    np.testing.assert_allclose(hand.keypoints_2d[0], [85, 20])
    np.testing.assert_allclose(hand.velocity_2d, [-3.0, -1.0])
    assert hand.handedness is Handedness.LEFT and out.people[0].track_id == 3
    np.testing.assert_array_equal(hand.root_camera, [0.1, 0.0, 1.0])
    np.testing.assert_allclose(out.unassigned[0].box, [20, 10, 40, 40])
    np.testing.assert_allclose(mirror_poses_2d(out, 100).people[0].left_hand.box, poses.people[0].left_hand.box)
    assert poses.people[0].left_hand.box[0] == 10  # input untouched


def test_unmirror_matrix_and_image():
    k = np.array([[500.0, 0, 300.0], [0, 500.0, 240.0], [0, 0, 1]])
    np.testing.assert_allclose(unmirror_camera(k, 640), [[500.0, 0, 340.0], [0, 500.0, 240.0], [0, 0, 1]])
    image = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    np.testing.assert_array_equal(unmirror_image(image)[:, 0], image[:, 3])


@pytest.mark.parametrize("kind", ["plumb_bob", "rational_polynomial", "equidistant", "rectified", "binned_roi"])
def test_unmirrored_camera_projects_the_true_view(kind):
    """What the mirrored camera shows at u, the flipped-back camera shows at width - u (distortion included)."""
    from dope_core.camera import CameraModel

    k = np.array([[520.0, 0.0, 300.0], [0.0, 515.0, 250.0], [0.0, 0.0, 1.0]])
    d = {"plumb_bob": [0.1, -0.05, 0.002, -0.003, 0.01], "rational_polynomial": [0.1, -0.05, 0.002, -0.003, 0.01,
         0.001, 0.0, 0.0], "equidistant": [0.05, 0.01, 0.0, 0.0]}.get(kind, [0.1, -0.05, 0.002, -0.003, 0.0])
    rot = cv2.Rodrigues(np.array([0.02, -0.03, 0.01]))[0]
    p = np.hstack([k, [[-30.0], [0.0], [0.0]]])
    model = {"plumb_bob": "plumb_bob", "rational_polynomial": "rational_polynomial", "equidistant": "equidistant"}
    camera = CameraModel(width=640, height=480, k=k, distortion_model=model.get(kind, "plumb_bob"), d=np.array(d),
                         r=rot, p=p, rectified=kind == "rectified")
    if kind == "binned_roi":
        camera = CameraModel(width=300, height=200, k=k, distortion_model="plumb_bob", d=np.array(d), binning=(2, 2),
                             roi_offset=(20, 40))
    points = np.random.default_rng(1).uniform([-0.5, -0.4, 1.5], [0.5, 0.4, 4.0], (20, 3))
    true_view = unmirror_camera(camera, camera.width)
    mirrored_px = camera.project(points * [-1.0, 1.0, 1.0])
    np.testing.assert_allclose(true_view.project(points), np.c_[camera.width - mirrored_px[:, 0], mirrored_px[:, 1]],
                               atol=1e-6)


@pytest.fixture(scope="module")
def portrait_and_body_estimator():
    from matplotlib import cbook

    from dope_core.estimator import build_estimator

    rgb = cv2.cvtColor(cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)), cv2.COLOR_BGR2RGB)
    return rgb, build_estimator("experts", parts=["body"])


def test_real_selfie_keeps_the_persons_left_and_right(portrait_and_body_estimator):
    """A mirrored photo: run naively, the left/right joints swap; in mirrored mode they are the person's own."""
    photo, estimate = portrait_and_body_estimator
    selfie = np.ascontiguousarray(photo[:, ::-1])
    w = selfie.shape[1]
    naive = estimate(selfie).people[0].body
    ours = mirror_poses_2d(estimate(unmirror_image(selfie)), w).people[0].body
    r, l = BODY_JOINTS.index("right_shoulder"), BODY_JOINTS.index("left_shoulder")
    shoulder_width = abs(ours.keypoints_2d[r, 0] - ours.keypoints_2d[l, 0])
    assert shoulder_width > 40
    # Same place on the selfie, opposite labels: the naive run called the true right shoulder "left".
    assert np.linalg.norm(ours.keypoints_2d[r] - naive.keypoints_2d[l]) < 0.25 * shoulder_width
    assert np.linalg.norm(ours.keypoints_2d[r] - naive.keypoints_2d[r]) > 0.6 * shoulder_width
    # The person faces the camera: their right shoulder is on the left of the true photo, so on the
    # right of the selfie.
    assert ours.keypoints_2d[r, 0] > ours.keypoints_2d[l, 0]
