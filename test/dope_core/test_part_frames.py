"""Part frames on synthetic hands, bodies and faces posed by known rotations."""

import numpy as np
import pytest

from dope_core.keypoints import BODY_JOINTS, FACE_LANDMARKS, HAND_JOINTS, Part
from dope_core.part_frames import body_frame, hand_frame, part_frame, with_frames
from dope_core.rotations import quaternion_to_matrix
from dope_core.structures import PartPose, Person, WholeBodyPoses

# A right hand in its own frame (metres): x to the middle-finger base, z out of the palm,
# y = z x x, so the index side is -y and the little finger +y; tips curl towards +z.
_BASES = {"thumb": (0.03, -0.03), "index": (0.085, -0.025), "middle": (0.09, 0.0), "ring": (0.085, 0.018),
          "little": (0.075, 0.035)}


def _hand_local(left: bool) -> np.ndarray:
    pts = np.zeros((21, 3))
    for f, (name, (x, y)) in enumerate(_BASES.items()):
        for j in range(4):
            pts[1 + 4 * f + j] = (x + 0.025 * j, y, 0.01 * j)
    if left:
        pts[:, 1] *= -1.0   # a mirror image: the index is now on +y
    return pts


def _random_rotation(seed: int) -> np.ndarray:
    q = np.random.default_rng(seed).normal(size=4)
    return quaternion_to_matrix(q / np.linalg.norm(q))


def _hand(r: np.ndarray, *, left: bool, conf: float = 0.9, handedness="auto") -> PartPose:
    kp3d = _hand_local(left) @ r.T
    return PartPose(part=Part.HAND, score=0.9, box=[0, 0, 10, 10], keypoints_2d=np.zeros((21, 2)),
                    keypoints_3d=kp3d, confidence=np.full(21, conf),
                    handedness=("left" if left else "right") if handedness == "auto" else handedness)


@pytest.mark.parametrize("left", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hand_frame_recovers_the_rotation_for_both_hands(left, seed):
    r = _random_rotation(seed)
    frame = hand_frame(_hand(r, left=left))
    assert np.allclose(quaternion_to_matrix(frame.quaternion), r, atol=1e-9)
    assert np.allclose(frame.origin, 0.0) and 0.5 < frame.confidence <= 0.9


def test_right_hand_palm_to_the_camera_fingers_up():
    # camera optical frame: x right, y down, z forward. Fingers up: x_hand = -y_cam; palm towards the
    # camera: z_hand = -z_cam; y_hand = z x x = -x_cam.
    r = np.stack([[0, -1, 0], [-1, 0, 0], [0, 0, -1]], axis=1).astype(float)
    frame = hand_frame(_hand(r, left=False))
    assert np.allclose(quaternion_to_matrix(frame.quaternion), r)
    kp = _hand(r, left=False).keypoints_3d
    assert kp[HAND_JOINTS.index("index_mcp"), 0] > 0   # seen from the camera the index is on the image right


def test_too_few_confident_keypoints_or_no_handedness_gives_no_orientation():
    r = np.eye(3)
    low = _hand(r, left=False)
    low.confidence[HAND_JOINTS.index("little_mcp")] = 0.1
    for pose in (low, _hand(r, left=False, handedness=None)):
        frame = hand_frame(pose, min_confidence=0.2)
        assert frame.quaternion is None and frame.confidence == 0.0 and np.all(np.isfinite(frame.origin))
    nan = _hand(r, left=False)
    nan.keypoints_3d[HAND_JOINTS.index("middle_mcp")] = np.nan
    assert hand_frame(nan).quaternion is None
    flat = _hand(r, left=False)
    flat.keypoints_3d[:] = 0.0   # every keypoint at the wrist: degenerate, no NaN
    assert hand_frame(flat).quaternion is None


def _body_local() -> np.ndarray:
    """Standing person in its REP-155 frame: x forward, y left, z up."""
    pts = np.zeros((13, 3))
    named = {"right_hip": (0, -0.1, 0), "left_hip": (0, 0.1, 0), "right_shoulder": (0, -0.18, 0.5),
             "left_shoulder": (0, 0.18, 0.5), "head_top": (0, 0, 0.8), "right_knee": (0.02, -0.1, -0.45),
             "left_knee": (0.02, 0.1, -0.45), "right_ankle": (0, -0.1, -0.9), "left_ankle": (0, 0.1, -0.9),
             "right_elbow": (0, -0.25, 0.25), "left_elbow": (0, 0.25, 0.25), "right_wrist": (0.1, -0.25, 0.0),
             "left_wrist": (0.1, 0.25, 0.0)}
    for name, p in named.items():
        pts[BODY_JOINTS.index(name)] = p
    return pts


def test_body_facing_the_camera_has_x_towards_it_and_z_up():
    # facing the camera: forward = -z_cam, left = +x_cam (the person's left is the image right), up = -y_cam
    r = np.stack([[0, 0, -1], [1, 0, 0], [0, -1, 0]], axis=1).astype(float)
    pose = PartPose(part=Part.BODY, score=1, box=[0, 0, 1, 1], keypoints_2d=np.zeros((13, 2)),
                    keypoints_3d=_body_local() @ r.T, confidence=np.ones(13))
    frame = body_frame(pose)
    assert np.allclose(quaternion_to_matrix(frame.quaternion), r) and np.allclose(frame.origin, 0)
    assert frame.confidence == pytest.approx(1.0)


def test_face_frame_origin_between_the_eyes_x_out_of_the_face():
    pts = np.zeros((84, 3))
    for i, n in enumerate(FACE_LANDMARKS):
        if n.startswith("right_eye_"):
            pts[i] = (0.0, -0.032, 0.03)
        elif n.startswith("left_eye_"):
            pts[i] = (0.0, 0.032, 0.03)
        elif n.startswith("outer_lip_"):
            pts[i] = (0.01, 0.0, -0.05)
    r = _random_rotation(5)
    centre = np.array([0.0, 0.0, -0.01])   # face root (landmark mean) somewhere; keypoints are relative to it
    pose = PartPose(part=Part.FACE, score=1, box=[0, 0, 1, 1], keypoints_2d=np.zeros((84, 2)),
                    keypoints_3d=(pts - centre) @ r.T, confidence=np.ones(84), root_camera=[0.1, 0.0, 1.0])
    frame = part_frame(pose)
    # the mouth slightly forward of the eyes (x = 0.01) tilts z, which is then made orthogonal to y: only y and
    # the frame's handedness are exact here (test_face_facing_the_camera_has_z_up_and_x_towards_the_camera
    # checks z, with the mouth below the eyes)
    x, y, z = quaternion_to_matrix(frame.quaternion).T
    assert np.allclose(y, r[:, 1]) and np.isclose(np.dot(x, np.cross(y, z)), 1.0)
    assert np.allclose(frame.origin, (np.array([0, 0, 0.03]) - centre) @ r.T)
    posed = pose.__class__(**{**pose.__dict__, "frame": frame})
    assert np.allclose(posed.frame_position, frame.origin + [0.1, 0.0, 1.0])   # camera frame when placed


def test_with_frames_sets_every_part():
    r = np.eye(3)
    poses = WholeBodyPoses(image_size=(10, 10), people=[Person(id=0, score=1, right_hand=_hand(r, left=False))],
                           unassigned=[_hand(r, left=True)])
    out = with_frames(poses)
    assert out.people[0].right_hand.frame.quaternion is not None and out.unassigned[0].frame.quaternion is not None
    assert poses.people[0].right_hand.frame is None


# Facing the camera, upright: forward = -z_cam, the person's left = +x_cam (image right), up = -y_cam.
_FACING = np.stack([[0, 0, -1], [1, 0, 0], [0, -1, 0]], axis=1).astype(float)


def _face(r: np.ndarray, conf: tuple[float, float, float] = (0.9, 0.9, 0.9)) -> PartPose:
    """Face in its own frame (x forward, y left, z up) rotated by ``r``; confidences of (right eye, left eye, mouth)."""
    pts, c = np.zeros((84, 3)), np.full(84, 0.9)
    for i, n in enumerate(FACE_LANDMARKS):
        for prefix, p, ci in (("right_eye_", (0.0, -0.032, 0.03), conf[0]), ("left_eye_", (0.0, 0.032, 0.03), conf[1]),
                              ("outer_lip_", (0.0, 0.0, -0.05), conf[2])):
            if n.startswith(prefix):
                pts[i], c[i] = p, ci
    return PartPose(part=Part.FACE, score=1, box=[0, 0, 1, 1], keypoints_2d=np.zeros((84, 2)),
                    keypoints_3d=pts @ r.T, confidence=c)


def test_face_facing_the_camera_has_z_up_and_x_towards_the_camera() -> None:
    """Face frame: z from the mouth up to the eyes (-y_cam when upright), x = y x z out of the face (-z_cam)."""
    frame = part_frame(_face(_FACING))
    assert np.allclose(quaternion_to_matrix(frame.quaternion), _FACING, atol=1e-9)
    assert frame.confidence == pytest.approx(0.9)


def test_face_confidence_is_the_least_confident_group() -> None:
    """Orientation confidence is the lowest of the eye/mouth confidences; one under min_confidence: no orientation."""
    assert part_frame(_face(_FACING, (0.9, 0.5, 0.8))).confidence == pytest.approx(0.5)
    frame = part_frame(_face(_FACING, (0.9, 0.9, 0.1)), min_confidence=0.2)
    assert frame.quaternion is None and frame.confidence == 0.0


def test_unfindable_roots_give_a_finite_origin() -> None:
    """A NaN wrist (hand) or eye (face) gives no orientation and a finite origin: never a frame of NaNs."""
    hand = _hand(np.eye(3), left=False)
    hand.keypoints_3d[HAND_JOINTS.index("wrist")] = np.nan
    face = _face(_FACING)
    face.keypoints_3d[FACE_LANDMARKS.index(next(n for n in FACE_LANDMARKS if n.startswith("left_eye_")))] = np.nan
    for frame in (hand_frame(hand), part_frame(face)):
        assert frame.quaternion is None and np.all(np.isfinite(frame.origin))


def _flat_palm_hand(palm_sine: float, conf: float = 0.8) -> PartPose:
    """A right hand in the camera axes (identity rotation) whose index and little bases span ``palm_sine``."""
    a = 0.5 * np.arcsin(palm_sine)
    k = np.zeros((21, 3))
    k[HAND_JOINTS.index("middle_mcp")] = (0.09, 0.0, 0.0)
    k[HAND_JOINTS.index("index_mcp")] = 0.08 * np.array([np.cos(a), -np.sin(a), 0.0])
    k[HAND_JOINTS.index("little_mcp")] = 0.075 * np.array([np.cos(a), np.sin(a), 0.0])
    return PartPose(part=Part.HAND, score=0.9, box=[0, 0, 10, 10], keypoints_2d=np.zeros((21, 2)), keypoints_3d=k,
                    confidence=np.full(21, conf), handedness="right")


def test_a_narrow_palm_lowers_or_removes_the_hand_orientation() -> None:
    """Confidence = lowest confidence x min(1, palm sine / REFERENCE_SINE); under MIN_SINE no orientation."""
    from dope_core.part_frames import MIN_SINE, REFERENCE_SINE

    half = hand_frame(_flat_palm_hand(REFERENCE_SINE / 2))
    assert np.allclose(quaternion_to_matrix(half.quaternion), np.eye(3), atol=1e-9)
    assert half.confidence == pytest.approx(0.8 * 0.5)
    assert hand_frame(_flat_palm_hand(2 * REFERENCE_SINE)).confidence == pytest.approx(0.8)
    assert hand_frame(_flat_palm_hand(MIN_SINE / 2)).quaternion is None


def test_keypoints_exactly_at_min_confidence_orient_the_part() -> None:
    """Only confidences *under* min_confidence remove the orientation."""
    frame = hand_frame(_hand(np.eye(3), left=True, conf=0.25), min_confidence=0.25)
    assert frame.quaternion is not None and frame.confidence == pytest.approx(0.25)
