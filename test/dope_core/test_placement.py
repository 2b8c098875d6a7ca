"""Tests of dope_core.placement: the translation solve, the scale priors and per-person placement.

Synthetic people with known answers: a body whose bones have the priors' lengths, a hand
whose wrist is the body's wrist, a face whose ear-level point is the body's; projected
through pinhole and distorted cameras, then placed again.
"""

from __future__ import annotations

import numpy as np
import pytest

from dope_core.camera import CameraModel
from dope_core.keypoints import BODY_HEAD, BODY_JOINTS, BODY_LEFT_WRIST, BODY_RIGHT_WRIST, HAND_WRIST, Part
from dope_core.placement import (AnthropometricPriors, InvalidIntrinsicsError, PlacementSettings, body_depth_stretch,
                                 body_face_anchor, face_anchor, measure_part, place_person, place_poses,
                                 solve_translation, validate_intrinsics)
from dope_core.structures import Handedness, PartPose, Person, PlacementSource, WholeBodyPoses

K = np.array([[600.0, 0.0, 320.0], [0.0, 610.0, 240.0], [0.0, 0.0, 1.0]])
RNG = np.random.default_rng(1)
PRIORS = AnthropometricPriors()
B = BODY_JOINTS.index


def _project(points_cam: np.ndarray, k: np.ndarray = K) -> np.ndarray:
    uvw = points_cam @ k.T
    return uvw[:, :2] / uvw[:, 2:]


def _pose(part: Part, rel: np.ndarray, uv: np.ndarray, handedness=None) -> PartPose:
    return PartPose(part=part, score=0.9, box=np.concatenate([uv.min(0), uv.max(0)]), keypoints_2d=uv,
                    keypoints_3d=rel, confidence=np.full(len(rel), 0.9), handedness=handedness)


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def _body_rel(yaw: float) -> np.ndarray:
    """A standing body (mid-hips origin, y down) whose limb and trunk bones have the priors' lengths."""
    h = PRIORS.stature_m
    p = np.zeros((13, 3))
    trunk = PRIORS.trunk * h
    for side, sx in (("right", -1.0), ("left", 1.0)):
        hip = np.array([0.1 * sx, 0.0, 0.0])
        shoulder = hip + _unit([0.08 * sx, -np.sqrt(trunk ** 2 - 0.08 ** 2), 0.0]) * trunk
        elbow = shoulder + _unit([0.2 * sx, 0.8, -0.5]) * PRIORS.upper_arm * h
        wrist = elbow + _unit([0.1 * sx, -0.3, -0.9]) * PRIORS.forearm * h
        knee = hip + _unit([0.05 * sx, 1.0, -0.2]) * PRIORS.thigh * h
        ankle = knee + _unit([0.0, 1.0, 0.15]) * PRIORS.shank * h
        for name, v in (("hip", hip), ("shoulder", shoulder), ("elbow", elbow), ("wrist", wrist), ("knee", knee),
                        ("ankle", ankle)):
            p[B(f"{side}_{name}")] = v
    p[BODY_HEAD] = (p[B("right_shoulder")] + p[B("left_shoulder")]) / 2 + np.array([0.0, -0.3, 0.02])
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    p = p @ rot.T
    return p - p[[B("right_hip"), B("left_hip")]].mean(axis=0)


def _hand_rel() -> np.ndarray:
    """21 hand joints (wrist origin) with a wrist-to-middle-fingertip chain of the prior's length."""
    rel = RNG.normal(scale=0.03, size=(21, 3))
    rel[HAND_WRIST] = 0.0
    d = _unit([0.3, 0.8, -0.4])
    for j, dist in zip((9, 10, 11, 12), np.cumsum([0.09, 0.045, 0.025, 0.02])):
        rel[j] = d * dist
    return rel


def _face_rel() -> np.ndarray:
    """84 landmarks (mean origin) with outer eye corners at the prior's distance."""
    rel = RNG.normal(scale=0.04, size=(84, 3))
    rel[52], rel[61] = (-0.045, -0.02, -0.06), (0.045, -0.02, -0.06)
    rel[0], rel[32] = (-0.07, 0.0, 0.02), (0.075, 0.01, 0.03)
    return rel - rel.mean(axis=0)


def _person(camera: CameraModel, t_body=(0.2, 0.1, 3.5), yaw: float = 0.4) -> tuple[Person, dict[str, np.ndarray]]:
    """A consistent person seen by ``camera`` and the true root of each part (camera frame, metres)."""
    body = _body_rel(yaw)
    tb = np.asarray(t_body, dtype=np.float64)
    roots = {"body": tb}
    hands = {}
    for slot, j, side in (("left_hand", BODY_LEFT_WRIST, Handedness.LEFT), ("right_hand", BODY_RIGHT_WRIST, Handedness.RIGHT)):
        rel = _hand_rel()
        roots[slot] = tb + body[j] - rel[HAND_WRIST]
        hands[slot] = _pose(Part.HAND, rel, camera.project(rel + roots[slot]), side)
    face_rel = _face_rel()
    body_pose = _pose(Part.BODY, body, camera.project(body + tb))
    face_pose = _pose(Part.FACE, face_rel, np.zeros((84, 2)))
    roots["face"] = tb + body_face_anchor(body_pose, PRIORS.head_top_to_ears_m) - face_anchor(face_pose)
    face_pose.keypoints_2d = camera.project(face_rel + roots["face"])
    return Person(id=0, score=0.9, body=body_pose, face=face_pose, **hands), roots


CAMERAS = {
    "pinhole": CameraModel.from_matrix(K, 640, 480),
    "plumb_bob": CameraModel.from_calibration(width=640, height=480, k=K, distortion_model="plumb_bob",
                                              d=[-0.28, 0.09, 0.001, -0.0015, -0.01]),
    "rational_polynomial": CameraModel.from_calibration(width=640, height=480, k=K, distortion_model="rational_polynomial",
                                                        d=[-0.3, 0.1, 0.001, -0.002, 0.01, 0.05, 0.01, 0.001]),
    "equidistant": CameraModel.from_calibration(width=640, height=480, k=K, distortion_model="equidistant",
                                                d=[0.08, -0.03, 0.01, -0.002]),
}


# ----------------------------------------------------------------------------- the translation solve
@pytest.mark.parametrize("t", [(0.1, -0.2, 3.0), (-1.0, 0.5, 6.0), (0.0, 0.0, 1.2)])
def test_exact_translation_recovered(t):
    t = np.array(t)
    rel = RNG.normal(scale=0.4, size=(13, 3))
    np.testing.assert_allclose(solve_translation(rel, _project(rel + t), K), t, atol=1e-9)


def test_skewed_intrinsics():
    k = K.copy()
    k[0, 1] = 3.0
    t = np.array([0.3, 0.1, 4.0])
    rel = RNG.normal(scale=0.4, size=(13, 3))
    np.testing.assert_allclose(solve_translation(rel, _project(rel + t, k), k), t, atol=1e-9)


@pytest.mark.parametrize("name", ["plumb_bob", "rational_polynomial", "equidistant"])
def test_distortion_is_removed_before_the_fit(name):
    camera = CAMERAS[name]
    t = np.array([0.8, -0.5, 3.0])
    rel = RNG.normal(scale=0.4, size=(13, 3))
    uv = camera.project(rel + t)
    np.testing.assert_allclose(solve_translation(rel, uv, camera), t, atol=1e-7)
    # The same pixels read as a pinhole camera land elsewhere.
    assert np.linalg.norm(solve_translation(rel, uv, K) - t) > 0.05


def test_weights_ignore_outliers():
    t = np.array([0.2, 0.1, 3.0])
    rel = RNG.normal(scale=0.4, size=(13, 3))
    uv = _project(rel + t)
    uv[0] += 200.0
    w = np.ones(13)
    assert np.linalg.norm(solve_translation(rel, uv, K, w) - t) > 1e-3
    w[0] = 0.0
    np.testing.assert_allclose(solve_translation(rel, uv, K, w), t, atol=1e-9)


def test_noisy_pixels_give_close_translation():
    t = np.array([0.2, 0.1, 3.0])
    rel = RNG.normal(scale=0.4, size=(13, 3))
    uv = _project(rel + t) + RNG.normal(scale=1.0, size=(13, 2))
    assert np.linalg.norm(solve_translation(rel, uv, K) - t) < 0.05


def test_too_few_points_or_behind_camera_gives_none():
    rel = RNG.normal(scale=0.4, size=(13, 3))
    uv = _project(rel + np.array([0.0, 0.0, 3.0]))
    w = np.zeros(13)
    w[:2] = 1
    assert solve_translation(rel, uv, K, w) is None
    assert solve_translation(np.zeros((13, 3)), uv, K) is None  # no depth information
    bad = rel.copy()
    bad[3:] = np.nan
    assert solve_translation(bad, uv, K) is not None
    bad[:] = np.nan
    assert solve_translation(bad, uv, K) is None


def test_validate_intrinsics_is_reexported():
    np.testing.assert_array_equal(validate_intrinsics(K.reshape(-1).tolist()), K)
    with pytest.raises(InvalidIntrinsicsError, match="all zero"):
        place_poses(WholeBodyPoses(image_size=(4, 4)), np.zeros((3, 3)))


# ----------------------------------------------------------------------------- scale priors
def test_priors_are_validated():
    with pytest.raises(ValueError, match="stature_m"):
        AnthropometricPriors(stature_m=0.0)
    with pytest.raises(ValueError, match="scale_sd"):
        AnthropometricPriors(scale_sd=float("nan"))


def test_body_depth_stretch_restores_compressed_depth():
    rel = _body_rel(0.6)
    body = _pose(Part.BODY, rel * np.array([1.0, 1.0, 1 / 1.7]), np.zeros((13, 2)))
    assert body_depth_stretch(body, PRIORS) == pytest.approx(1.7, rel=1e-6)
    assert body_depth_stretch(_pose(Part.BODY, rel, np.zeros((13, 2))), PRIORS) == pytest.approx(1.0, rel=1e-6)
    flat = _pose(Part.BODY, rel * np.array([1.0, 1.0, 0.0]), np.zeros((13, 2)))
    assert body_depth_stretch(flat, PRIORS) is None


@pytest.mark.parametrize("stretch", [False, True], ids=["default", "stretch_body_depth"])
@pytest.mark.parametrize("name", ["pinhole", "plumb_bob", "equidistant"])
def test_person_placed_exactly_with_priors(name, stretch):
    camera = CAMERAS[name]
    person, roots = _person(camera)
    # Each expert got the size wrong: hand 0.8x, face 1.25x (and, for the stretch, body depth 1/1.7).
    person.left_hand.keypoints_3d = person.left_hand.keypoints_3d * 0.8
    person.right_hand.keypoints_3d = person.right_hand.keypoints_3d * 0.8
    person.face.keypoints_3d = person.face.keypoints_3d * 1.25
    if stretch:
        person.body.keypoints_3d = person.body.keypoints_3d * np.array([1.0, 1.0, 1 / 1.7])
    placed = place_person(person, camera, PlacementSettings(stretch_body_depth=stretch))
    for slot, root in roots.items():
        np.testing.assert_allclose(getattr(placed, slot).root_camera, root, atol=1e-6, err_msg=slot)
    assert placed.body.placement is PlacementSource.MONOCULAR
    for slot in ("left_hand", "right_hand", "face"):
        assert getattr(placed, slot).placement is PlacementSource.BODY_ANCHORED
    assert measure_part(placed.left_hand)["hand_length"] == pytest.approx(PRIORS.hand_length_m)
    assert measure_part(placed.face)["eye_corner_distance"] == pytest.approx(PRIORS.eye_corner_distance_m)
    forearm = np.linalg.norm(placed.body.keypoints_3d[B("left_elbow")] - placed.body.keypoints_3d[BODY_LEFT_WRIST])
    assert forearm == pytest.approx(PRIORS.forearm * PRIORS.stature_m, rel=1e-6)
    # Uncertainty: the prior's relative spread times the distance dominates.
    sd = placed.body.placement_uncertainty
    assert PRIORS.scale_sd * 3.5 <= sd < PRIORS.scale_sd * 3.5 * 1.1
    assert person.body.root_camera is None  # the input is not modified


def test_body_keeps_its_own_shape_unless_stretch_is_asked():
    camera = CAMERAS["pinhole"]
    person, roots = _person(camera)
    person.body.keypoints_3d = person.body.keypoints_3d * np.array([1.0, 1.0, 0.8])  # bones 0-20 % short
    kept = place_person(person, camera)
    np.testing.assert_array_equal(kept.body.keypoints_3d, person.body.keypoints_3d)
    stretched = place_person(person, camera, PlacementSettings(stretch_body_depth=True))
    np.testing.assert_allclose(stretched.body.keypoints_3d[:, 2], person.body.keypoints_3d[:, 2] / 0.8, rtol=1e-6)
    np.testing.assert_allclose(stretched.body.keypoints_3d[:, :2], person.body.keypoints_3d[:, :2])
    for placed in (kept, stretched):  # the hands are brought to the priors either way
        assert measure_part(placed.right_hand)["hand_length"] == pytest.approx(PRIORS.hand_length_m)


def test_wrong_hand_size_without_attachment_lands_far_from_the_wrist():
    camera = CAMERAS["pinhole"]
    person, roots = _person(camera)
    person.right_hand.keypoints_3d = person.right_hand.keypoints_3d * 0.7
    alone = place_person(person, camera, PlacementSettings(priors=None, attach=False))
    attached = place_person(person, camera, PlacementSettings(priors=None))

    def gap(p: Person) -> float:
        return float(np.linalg.norm(p.right_hand.keypoints_3d_camera[HAND_WRIST]
                                    - p.body.keypoints_3d_camera[BODY_RIGHT_WRIST]))

    assert gap(alone) > 0.5  # 30 % too small: placed 30 % too close, about 1 m
    assert gap(attached) < 0.01
    np.testing.assert_allclose(attached.body.root_camera, roots["body"], atol=0.05)  # the body barely follows
    assert alone.right_hand.placement is PlacementSource.MONOCULAR


def test_parts_placed_alone_when_they_cannot_be_attached():
    camera = CAMERAS["pinhole"]
    person, roots = _person(camera)
    person.body.confidence[BODY_LEFT_WRIST] = 0.0  # the left wrist is not seen
    unassigned_hand = person.right_hand
    poses = WholeBodyPoses(image_size=(640, 480), people=[person], unassigned=[unassigned_hand], backend="test")
    placed = place_poses(poses, camera)
    p = placed.people[0]
    assert p.left_hand.placement is PlacementSource.MONOCULAR
    assert p.right_hand.placement is PlacementSource.BODY_ANCHORED
    assert placed.unassigned[0].placement is PlacementSource.MONOCULAR
    np.testing.assert_allclose(placed.unassigned[0].root_camera, roots["right_hand"], atol=1e-6)
    np.testing.assert_allclose(p.left_hand.root_camera, roots["left_hand"], atol=1e-6)  # exact data: alone is exact too



@pytest.mark.parametrize("slot, joint", [("body", BODY_HEAD), ("body", B("right_shoulder")), ("body", B("left_shoulder")),
                                         ("face", 0), ("face", 32)],
                         ids=["head_top", "right_shoulder", "left_shoulder", "face_ear_0", "face_ear_32"])
def test_a_face_is_not_tied_to_a_body_through_an_unsure_landmark(slot: str, joint: int) -> None:
    """The face is tied to the body's ear level only when the body's head top and shoulders and the face's
    ear points are all confident; one unsure landmark of these leaves the face placed alone (monocular)."""
    camera = CAMERAS["pinhole"]
    person, roots = _person(camera)
    assert place_person(person, camera).face.placement is PlacementSource.BODY_ANCHORED
    getattr(person, slot).confidence[joint] = 0.0
    placed = place_person(person, camera)
    assert placed.face.placement is PlacementSource.MONOCULAR
    np.testing.assert_allclose(placed.face.root_camera, roots["face"], atol=1e-6)   # exact data: alone is exact
    assert placed.body.placement is PlacementSource.MONOCULAR
    assert placed.left_hand.placement is PlacementSource.BODY_ANCHORED

def test_unplaceable_body_leaves_parts_alone_or_unplaced():
    camera = CAMERAS["pinhole"]
    person, _ = _person(camera)
    person.body.confidence[:] = 0.05
    placed = place_person(person, camera)
    assert placed.body.root_camera is None and placed.body.placement is PlacementSource.NONE
    assert placed.body.placement_uncertainty is None
    assert placed.face.placement is PlacementSource.MONOCULAR


def test_placement_fields_round_trip_through_json():
    camera = CAMERAS["pinhole"]
    person, _ = _person(camera)
    placed = place_poses(WholeBodyPoses(image_size=(640, 480), people=[person]), camera)
    back = WholeBodyPoses.from_json(placed.to_json())
    assert back == placed
    d = placed.to_dict()["people"][0]
    assert d["left_hand"]["placement"] == "body_anchored" and d["body"]["placement"] == "monocular"
    assert d["body"]["placement_uncertainty"] > 0
    with pytest.raises(ValueError):
        WholeBodyPoses.from_dict({"image_size": [4, 4], "unassigned": [{**d["face"], "placement": "guess"}]})


# ----------------------------------------------------------------------------- real photos
@pytest.fixture(scope="module")
def group_photos(shared_data) -> list[WholeBodyPoses]:
    """The experts' detections on two real group photos (three golfers, five seated children)."""
    from dope_core.experts.ensemble import ExpertsEstimator
    from dope_core.image_io import read_image

    estimator = ExpertsEstimator()
    return [estimator(read_image(shared_data / "images" / name))
            for name in ("multihmr/3692623581_aca6eb02d4_e.jpg", "alphapose/2.jpg")]


def _gaps(poses: WholeBodyPoses, camera: CameraModel) -> tuple[list[float], list[float]]:
    wrist, face = [], []
    for p in poses.people:
        for slot, j in (("left_hand", BODY_LEFT_WRIST), ("right_hand", BODY_RIGHT_WRIST)):
            hand = getattr(p, slot)
            if hand is not None and hand.root_camera is not None and p.body.confidence[j] >= 0.1:
                wrist.append(float(np.linalg.norm(hand.keypoints_3d_camera[HAND_WRIST] - p.body.keypoints_3d_camera[j])))
        if p.face is not None and p.face.root_camera is not None:
            anchor = body_face_anchor(p.body, PRIORS.head_top_to_ears_m) + p.body.root_camera
            face.append(float(np.linalg.norm(face_anchor(p.face) + p.face.root_camera - anchor)))
    return wrist, face


def test_real_photos_hands_and_faces_attached_to_their_body(group_photos):
    wrist, face, wrist_before, forearms = [], [], [], []
    for poses in group_photos:
        w, h = poses.image_size
        camera = CameraModel.from_matrix([w, 0, w / 2, 0, w, h / 2, 0, 0, 1], w, h)  # focal = image width
        placed = place_poses(poses, camera)
        for p in placed.people:
            assert p.body.placement is PlacementSource.MONOCULAR and p.body.placement_uncertainty > 0
            for slot in ("left_hand", "right_hand", "face"):
                part = getattr(p, slot)
                if part is not None:
                    assert part.placement in (PlacementSource.BODY_ANCHORED, PlacementSource.MONOCULAR)
            forearms += [v for k, v in measure_part(p.body).items() if k.endswith("forearm")]
        gw, gf = _gaps(placed, camera)
        wrist += gw
        face += gf
        wrist_before += _gaps(place_poses(poses, camera, PlacementSettings(priors=None, attach=False)), camera)[0]
    assert len(wrist) >= 4 and len(face) >= 4
    assert np.median(wrist) <= 0.03 and max(wrist) <= 0.10
    assert np.median(face) <= 0.03 and max(face) <= 0.10
    assert np.median(wrist_before) > 0.2  # each part alone: hands far from their arms
    # The bodies keep the expert's scale: forearms short of the prior's 0.25 m, one foreshortened to 9 cm.
    assert all(0.05 < v < 0.45 for v in forearms) and 0.15 < np.median(forearms) < 0.3


def test_body_ear_level_is_head_top_to_ears_metres_towards_the_shoulders() -> None:
    """Head top 0.30 m above the shoulders' middle: the ear level is 0.13 m below the head top, not 0.13 of the way."""
    rel = np.zeros((13, 3))
    rel[BODY_HEAD] = (0.1, -0.6, 0.05)
    rel[B("right_shoulder")], rel[B("left_shoulder")] = (-0.1, -0.3, 0.05), (0.3, -0.3, 0.05)
    body = _pose(Part.BODY, rel, np.zeros((13, 2)))
    np.testing.assert_allclose(body_face_anchor(body, 0.13), [0.1, -0.47, 0.05], atol=1e-12)


def test_face_ear_level_is_the_middle_of_the_two_jaw_ends() -> None:
    """The face's ear-level point is the mean of contour_0 and contour_32 (landmarks 0 and 32)."""
    rel = np.zeros((84, 3))
    rel[0], rel[32] = (-0.07, 0.0, 0.02), (0.075, 0.01, 0.03)
    face = _pose(Part.FACE, rel, np.zeros((84, 2)))
    np.testing.assert_allclose(face_anchor(face), [0.0025, 0.005, 0.025], atol=1e-12)


def test_a_hand_whose_own_wrist_is_unsure_is_placed_alone() -> None:
    """The wrist tie needs the hand's wrist too: without it the hand is placed by its own keypoints (monocular)."""
    camera = CAMERAS["pinhole"]
    person, roots = _person(camera)
    person.left_hand.confidence[HAND_WRIST] = 0.0
    placed = place_person(person, camera)
    assert placed.left_hand.placement is PlacementSource.MONOCULAR
    np.testing.assert_allclose(placed.left_hand.root_camera, roots["left_hand"], atol=1e-6)
    assert placed.right_hand.placement is PlacementSource.BODY_ANCHORED


def _lone_hand(root: tuple[float, float, float]) -> Person:
    rel = _hand_rel()
    return Person(id=0, score=0.9, left_hand=_pose(Part.HAND, rel, _project(rel + np.asarray(root)), Handedness.LEFT))


def test_a_part_with_exactly_min_points_confident_keypoints_is_placed() -> None:
    """``min_points`` is the fewest keypoints needed: three confident ones (of 21) still place a hand."""
    person = _lone_hand((0.1, 0.2, 0.8))
    keep = np.zeros(21, bool)
    keep[[0, 4, 20]] = True
    person.left_hand.confidence[~keep] = 0.0
    placed = place_person(person, K, PlacementSettings(min_points=3)).left_hand
    assert placed.placement is PlacementSource.MONOCULAR
    np.testing.assert_allclose(placed.root_camera, (0.1, 0.2, 0.8), atol=1e-6)
    person.left_hand.confidence[4] = 0.0
    assert place_person(person, K, PlacementSettings(min_points=3)).left_hand.placement is PlacementSource.NONE


def test_the_scale_uncertainty_grows_with_the_distance_not_the_depth() -> None:
    """The scale term is ``scale_sd`` times the distance |t|: 0.5 x 5 m at t = (3, 0, 4), not 0.5 x 4 m."""
    settings = PlacementSettings(priors=AnthropometricPriors(scale_sd=0.5))
    placed = place_person(_lone_hand((3.0, 0.0, 4.0)), K, settings).left_hand
    np.testing.assert_allclose(placed.root_camera, (3.0, 0.0, 4.0), atol=1e-6)
    assert placed.placement_uncertainty == pytest.approx(2.5, rel=0.01)


def test_a_hand_of_zero_length_gives_no_scale() -> None:
    """A degenerate hand (every 3D keypoint at the wrist) measures nothing, so it is not scaled (no division by 0)."""
    from dope_core.placement import part_scale, scale_to_priors

    hand = _pose(Part.HAND, np.zeros((21, 3)), np.zeros((21, 2)), Handedness.LEFT)
    assert measure_part(hand) == {} and part_scale(hand, PRIORS) is None
    assert scale_to_priors(hand, PRIORS) is hand
