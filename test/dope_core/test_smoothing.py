"""One Euro filters (vectors and rotations) and the per-track pose smoother."""

import json
from pathlib import Path

import numpy as np
import pytest

from dope_core.keypoints import Part
from dope_core.rotations import angle_between, exp_map, multiply
from dope_core.smoothing import (OneEuroFilter, OneEuroParams, PoseSmoother, RayDepthOneEuroFilter,
                                 RotationOneEuroFilter, SmoothingConfig, smoothing_factor)
from dope_core.structures import PartFrame, PartPose, Person, TrackState, WholeBodyPoses


def test_smoothing_factor_known_values():
    # tau = 1 / (2 pi) s at 1 Hz; dt = tau gives alpha 1/2
    assert smoothing_factor(1.0, 1.0 / (2 * np.pi)) == pytest.approx(0.5)


def test_first_sample_passes_then_an_exponential_at_rest():
    f = OneEuroFilter(OneEuroParams(min_cutoff_hz=1.0, beta=0.0))
    assert f(np.array([[1.0, 2.0]]), 0.0).tolist() == [[1.0, 2.0]]
    dt = 1.0 / (2 * np.pi)   # alpha = 0.5 at 1 Hz
    assert f(np.array([[3.0, 2.0]]), dt).tolist() == [[2.0, 2.0]]
    assert f(np.array([[3.0, 2.0]]), dt).tolist() == [[2.0, 2.0]]   # same stamp: no update
    assert f(np.array([[np.nan, 4.0]]), 2 * dt).tolist() == [[2.0, 2.0]]   # a non-finite point keeps its estimate


def test_a_point_missing_in_the_first_frame_starts_at_its_first_measurement():
    f = OneEuroFilter(OneEuroParams(min_cutoff_hz=1.0, beta=0.0))
    assert np.isnan(f(np.array([[np.nan, np.nan], [1.0, 1.0]]), 0.0)[0]).all()
    out = f(np.array([[5.0, 6.0], [1.0, 1.0]]), 0.1)
    assert out.tolist() == [[5.0, 6.0], [1.0, 1.0]]          # not NaN for ever
    assert f.velocity.tolist() == [[0.0, 0.0], [0.0, 0.0]]   # starts at rest, no jump from NaN
    out = f(np.array([[7.0, 6.0], [1.0, 1.0]]), 0.2)
    assert 5.0 < out[0, 0] < 7.0 and np.isfinite(f.velocity).all()


def test_noise_is_reduced_and_a_moving_point_followed():
    rng = np.random.default_rng(0)
    t = np.arange(300) / 30.0
    still = rng.normal(0.0, 0.003, (3000, 1, 3))
    f = OneEuroFilter(OneEuroParams(min_cutoff_hz=0.5, beta=0.0))
    out = np.array([f(x, s) for x, s in zip(still, np.arange(3000) / 30.0)])
    # white noise through an exponential filter: std ratio sqrt(alpha / (2 - alpha)), alpha = 0.0948
    alpha = smoothing_factor(0.5, 1 / 30)
    assert out[30:].std() / still.std() == pytest.approx(np.sqrt(alpha / (2 - alpha)), rel=0.15)
    # a ramp at 0.5 m/s: the estimate settles within a frame's worth of distance
    f = OneEuroFilter(OneEuroParams(min_cutoff_hz=0.5, beta=20.0))
    ramp = 0.5 * t[:, None, None] * np.ones((1, 1, 3))
    out = np.array([f(x, s) for x, s in zip(ramp, t)])
    assert np.abs(out[60:] - ramp[60:]).max() < 0.5 / 30
    assert np.allclose(f.velocity, 0.5, atol=0.01) and np.allclose(f.predict(t[-1] + 0.1) - f.value, 0.05, atol=1e-3)


def test_the_filter_uses_stamps_not_frame_counts():
    a, b = (OneEuroFilter(OneEuroParams(min_cutoff_hz=1.0, beta=0.0)) for _ in range(2))
    xs = np.linspace(0, 1, 31)[:, None, None]
    for i, x in enumerate(xs):
        ya = a(x, i / 30.0)
        if i % 2 == 0:
            yb = b(x, i / 30.0)   # half the frames dropped
    assert abs(ya - yb).max() < 0.02


def _rot(axis, angle):
    return exp_map(np.asarray(axis, float) / np.linalg.norm(axis) * angle)


def test_rotation_filter_stays_on_the_sphere_and_removes_jitter():
    rng = np.random.default_rng(1)
    base = _rot([1, 2, 3], 2.5)
    f = RotationOneEuroFilter(OneEuroParams(min_cutoff_hz=0.5, beta=0.3))
    raw, out = [], []
    for i in range(200):
        q = multiply(base, _rot(rng.normal(size=3), np.radians(3.0)))
        raw.append(angle_between(q, base))
        out.append(f(q, i / 30.0))
    err = [angle_between(q, base) for q in out[30:]]
    assert all(abs(np.linalg.norm(q) - 1.0) < 1e-9 for q in out)
    assert np.mean(err) < np.mean(raw) / 3


def test_rotation_filter_follows_a_turn_across_the_sign_flip():
    f = RotationOneEuroFilter(OneEuroParams(min_cutoff_hz=0.5, beta=2.0))
    for i in range(91):   # 0 to 270 degrees about z at 90 deg/s: q crosses w = 0
        q = _rot([0, 0, 1], np.radians(3.0 * i))
        out = f(q, i / 30.0)
    assert angle_between(out, q) < np.radians(3.0) and np.linalg.norm(f.angular_velocity) == pytest.approx(np.pi / 2, rel=0.05)


def _hand(x: float, q=None, root=True) -> PartPose:
    kp2d = np.full((21, 2), 100.0)
    kp2d[:, 0] += x * 100
    return PartPose(part=Part.HAND, score=1, box=[0, 0, 1, 1], keypoints_2d=kp2d, keypoints_3d=np.zeros((21, 3)),
                    confidence=np.ones(21), handedness="right", root_camera=[x, 0.0, 1.0] if root else None,
                    frame=PartFrame(origin=np.zeros(3), quaternion=q, confidence=0.9 if q is not None else 0.0))


def _frame(x, track_id=5, state=TrackState.TRACKED, q=(0, 0, 0, 1.0), lost=()):
    person = Person(id=0, score=1, right_hand=_hand(x, None if q is None else np.array(q)), track_id=track_id,
                    track_state=state)
    return WholeBodyPoses(image_size=(640, 480), people=[person], lost_track_ids=list(lost))


def test_pose_smoother_filters_per_track_and_gives_velocities():
    s = PoseSmoother(SmoothingConfig())
    out = s.update(_frame(0.0), 0.0)
    assert out.people[0].right_hand.velocity is None
    for i in range(1, 60):   # moving right at 0.3 m/s (30 px/s in 2D)
        out = s.update(_frame(0.3 * i / 30), i / 30)
    hand = out.people[0].right_hand
    assert np.allclose(hand.velocity, [0.3, 0, 0], atol=0.02) and np.allclose(hand.velocity_2d, [30, 0], atol=2)
    assert hand.root_camera[0] == pytest.approx(0.3 * 59 / 30, abs=0.01)
    # a predicted frame carries the hand on at its velocity
    pred = s.update(_frame(0.0, state=TrackState.PREDICTED), 60 / 30).people[0].right_hand
    assert pred.root_camera[0] == pytest.approx(0.3 * 60 / 30, abs=0.015)
    # untracked people pass unchanged
    raw = _frame(0.7, track_id=None, state=None)
    assert s.update(raw, 61 / 30) == raw


def test_backwards_stamp_resets_and_no_orientation_stays_none():
    s = PoseSmoother()
    s.update(_frame(0.0), 10.0)
    s.update(_frame(0.1), 10.1)
    out = s.update(_frame(1.0), 1.0)   # bag loop
    assert s.resets == 1 and out.people[0].right_hand.root_camera[0] == 1.0
    assert out.people[0].right_hand.velocity is None
    none = s.update(_frame(1.0, q=None), 1.1).people[0].right_hand.frame
    assert none.quaternion is None and none.confidence == 0.0


def test_lost_tracks_and_long_gaps_restart_the_filters():
    s = PoseSmoother(SmoothingConfig(max_gap_s=0.5))
    s.update(_frame(0.0), 0.0)
    assert s.update(_frame(1.0), 1.0).people[0].right_hand.root_camera[0] == 1.0   # 1 s gap: restarted
    s.update(_frame(1.0, track_id=9), 1.1)
    out = s.update(_frame(2.0, track_id=9, lost=[9]), 1.2)
    assert out.people[0].right_hand.root_camera[0] == 2.0


def test_the_cutoff_follows_the_image_speed_not_the_depth_noise():
    rng = np.random.default_rng(2)
    cfg = SmoothingConfig(min_cutoff_hz=0.5, beta=4.0, d_cutoff_hz=0.5, depth_min_cutoff_hz=0.2)
    s = PoseSmoother(cfg)
    depth_noise = rng.normal(0.0, 0.05, 300)   # 5 cm of depth jitter, the image position still
    out = []
    for i, dz in enumerate(depth_noise):
        hand = _hand(0.0)
        hand.root_camera = np.array([0.0, 0.0, 1.0 + dz])
        frame = WholeBodyPoses(image_size=(640, 480), people=[
            Person(id=0, score=1, right_hand=hand, track_id=1, track_state=TrackState.TRACKED)])
        out.append(s.update(frame, i / 30).people[0].right_hand.root_camera[2])
    # at rest the depth's cutoff is depth_min_cutoff: white noise std shrinks by sqrt(alpha / (2 - alpha))
    alpha = smoothing_factor(cfg.depth_min_cutoff_hz, 1 / 30)
    assert np.std(out[60:]) == pytest.approx(0.05 * np.sqrt(alpha / (2 - alpha)), rel=0.3)


# ----------------------------------------------------------------------------- placed roots: ray and log-depth
def test_ray_depth_filter_keeps_depth_noise_on_its_ray_and_restarts_behind_the_camera():
    f = RayDepthOneEuroFilter(OneEuroParams(min_cutoff_hz=0.5), OneEuroParams(min_cutoff_hz=0.2))
    ray = np.array([0.3, -0.2, 1.0])
    rng = np.random.default_rng(3)
    depths = 1.5 * np.exp(rng.normal(0.0, 0.03, 200))
    out = np.array([f(ray * z, i / 30) for i, z in enumerate(depths)])
    # noise along the ray only: every estimate stays on the ray, the depth is smoothed
    assert np.allclose(out[:, :2] / out[:, 2:], ray[:2], atol=1e-12)
    assert np.std(np.log(out[60:, 2])) < np.std(np.log(depths)) / 4
    assert f(np.array([np.nan, 0.0, 1.0]), 200 / 30).tolist() == out[-1].tolist()   # non-finite: kept
    assert f(np.array([0.1, 0.0, -1.0]), 201 / 30).tolist() == [0.1, 0.0, -1.0]     # no ray: passes, restarts
    assert f.value is None
    assert f(ray * 2.0, 202 / 30).tolist() == (ray * 2.0).tolist() and f.velocity.tolist() == [0.0, 0.0, 0.0]


def test_ray_depth_filter_velocity_and_prediction_in_the_camera_frame():
    f = RayDepthOneEuroFilter(OneEuroParams(min_cutoff_hz=0.5, beta=20.0), OneEuroParams(min_cutoff_hz=0.2, beta=20.0))
    t = np.arange(90) / 30
    path = np.stack([0.2 + 0.3 * t, 0.1 * np.ones_like(t), 1.5 + 0.2 * t], axis=1)   # (0.3, 0, 0.2) m/s
    for p, s in zip(path, t):
        f(p, s, speed=1.0)
    assert np.allclose(f.velocity, [0.3, 0.0, 0.2], atol=0.01)
    assert np.allclose(f.predict(t[-1] + 0.1), f.value + f.velocity * 0.1)


def _still_hand(root, wrist_px, box) -> WholeBodyPoses:
    kp2d = np.tile(np.asarray(wrist_px, float), (21, 1))
    hand = PartPose(part=Part.HAND, score=1, box=np.asarray(box, float), keypoints_2d=kp2d,
                    keypoints_3d=np.zeros((21, 3)), confidence=np.ones(21), handedness="right",
                    root_camera=np.asarray(root, float))
    return WholeBodyPoses(image_size=(1280, 720), people=[
        Person(id=0, score=1, right_hand=hand, track_id=1, track_state=TrackState.TRACKED)])


def test_a_keypoint_that_jumps_for_one_frame_does_not_open_the_filter():
    rng = np.random.default_rng(4)
    depths = 1.3 * np.exp(rng.normal(0.0, 0.03, 300))
    runs = {}
    for jumps in (False, True):
        s, out = PoseSmoother(), []
        for i, z in enumerate(depths):
            px = np.array([1000.0, 450.0]) + (50.0 if jumps and i % 12 == 6 else 0.0)   # 50 px, one frame in 12
            out.append(s.update(_still_hand([0.3 * z, 0.1 * z, z], px, [950, 400, 1090, 540]), i / 30)
                       .people[0].right_hand.root_camera[2])
        runs[jumps] = np.std(out[60:])
    assert runs[True] < 1.1 * runs[False]


def _real_still_sequence(data_dir):
    """The right hand of a person holding still, as the experts saw it in 150 noisy copies of a real photo
    (benchmarks/bench_smoothing.py --save-still): one dict per frame it was placed in."""
    return json.loads((data_dir / "still_wrist_zidane.json").read_text())["frames"]


@pytest.fixture(scope="module")
def still_frames():
    return _real_still_sequence(Path(__file__).parent / "data")


def test_wrist_jitter_of_a_person_holding_still_is_3x_lower_filtered(still_frames):
    s = PoseSmoother(SmoothingConfig())
    raw = np.array([f["root_m"] for f in still_frames])
    out = np.array([s.update(_still_hand(f["root_m"], f["wrist_px"], f["box"]), f["stamp"])
                    .people[0].right_hand.root_camera for f in still_frames])
    ratio = np.sqrt(raw.var(axis=0).sum()) / np.sqrt(out.var(axis=0).sum())
    assert ratio >= 3.0, f"wrist 3D std only {ratio:.2f}x lower filtered"


def test_lag_on_a_waving_hand_with_the_real_noise_is_under_one_frame(still_frames):
    """A hand waving in front of a 1280x720, 60 degree camera, with the still sequence's own per-frame
    deviations (ray, log-depth, pixels) resampled on top: the filtered track lags the truth by at most
    one frame at 30 fps more than the raw one."""
    f_px, c = 1108.5, np.array([640.0, 360.0])
    root = np.array([f["root_m"] for f in still_frames])
    px = np.array([f["wrist_px"] for f in still_frames])
    ray, log_z = root[:, :2] / root[:, 2:], np.log(root[:, 2])
    d_ray, d_log_z, d_px = ray - np.median(ray, axis=0), log_z - np.median(log_z), px - np.median(px, axis=0)
    t = np.arange(600) / 30
    truth = np.stack([0.15 * np.sin(np.pi * t), 0.10 * np.sin(0.6 * np.pi * t + 1.0),
                      1.5 + 0.10 * np.sin(0.8 * np.pi * t + 2.0)], axis=1)
    i = np.random.default_rng(5).integers(0, len(still_frames), len(t))
    z = truth[:, 2] * np.exp(d_log_z[i])
    measured = np.concatenate([(truth[:, :2] / truth[:, 2:] + d_ray[i]) * z[:, None], z[:, None]], axis=1)
    uv = f_px * truth[:, :2] / truth[:, 2:] + c + d_px[i]
    half = f_px * 0.18 / truth[:, 2] / 2
    s = PoseSmoother(SmoothingConfig())
    out = np.array([s.update(_still_hand(m, p, [*(p - h), *(p + h)]), ti).people[0].right_hand.root_camera
                    for m, p, h, ti in zip(measured, uv, half, t)])
    keep, shifts = t >= 1.0, np.arange(0.0, 0.2, 0.002)

    def best_shift(x):
        return shifts[int(np.argmin([np.sum((x[keep] - np.stack([np.interp(t[keep] - d, t, truth[:, k])
                                                                 for k in range(3)], axis=1)) ** 2) for d in shifts]))]
    lag_frames = (best_shift(out) - best_shift(measured)) * 30
    assert 0.0 < lag_frames <= 1.0, lag_frames


def test_a_body_root_velocity_is_that_of_the_middle_of_its_hips() -> None:
    """A body whose hips spread apart at 20 px/s each side about a still middle (a person turning to the
    camera) has a root (mid-hips) image velocity near zero; moved as a whole at 30 px/s, 30 px/s."""
    from dope_core.keypoints import BODY_JOINTS

    def frame(t: float, spread_px_s: float, shift_px_s: float) -> WholeBodyPoses:
        kp = np.tile([300.0, 200.0], (13, 1))
        kp[:, 0] += shift_px_s * t
        kp[BODY_JOINTS.index("right_hip"), 0] -= 20 + spread_px_s * t   # image left: the person's right
        kp[BODY_JOINTS.index("left_hip"), 0] += 20 + spread_px_s * t
        body = PartPose(part=Part.BODY, score=0.9, box=[200, 50, 400, 450], keypoints_2d=kp,
                        keypoints_3d=np.zeros((13, 3)), confidence=np.ones(13))
        person = Person(id=0, score=0.9, body=body, track_id=5, track_state=TrackState.TRACKED)
        return WholeBodyPoses(image_size=(640, 480), people=[person])

    for spread, shift, want in ((20.0, 0.0, [0.0, 0.0]), (0.0, 30.0, [30.0, 0.0])):
        s = PoseSmoother(SmoothingConfig())
        for i in range(60):
            out = s.update(frame(i / 30, spread, shift), i / 30)
        np.testing.assert_allclose(out.people[0].body.velocity_2d, want, atol=2)


_P = OneEuroParams(min_cutoff_hz=1.0, beta=0.0, d_cutoff_hz=1.0)


def test_predict_never_extrapolates_backwards_in_time() -> None:
    """predict(t) before the last update gives the last estimate (no negative extrapolation)."""
    f = OneEuroFilter(_P)
    for i in range(5):
        f(np.array([[0.1 * i, 0.0]]), 0.1 * i)
    assert np.any(f.velocity != 0.0)
    np.testing.assert_array_equal(f.predict(0.0), f.value)
    r = RotationOneEuroFilter(_P)
    for i in range(5):
        r(exp_map(np.array([0.0, 0.0, 0.2 * i])), 0.1 * i)
    np.testing.assert_allclose(r.predict(0.0), r.value, atol=1e-12)


def test_ray_depth_filter_passes_a_point_at_zero_depth_through_and_restarts() -> None:
    """A measurement at z <= 0 (no viewing ray) passes through unfiltered and restarts the filter."""
    f = RayDepthOneEuroFilter(_P, _P)
    f(np.array([0.1, 0.2, 2.0]), 0.0)
    f(np.array([0.1, 0.2, 2.1]), 0.1)
    for z in (0.0, -1.0):
        out = f(np.array([0.3, 0.4, z]), 0.2 + abs(z))
        np.testing.assert_array_equal(out, [0.3, 0.4, z])
        assert f.value is None
    np.testing.assert_allclose(f(np.array([0.5, 0.5, 3.0]), 2.0), [0.5, 0.5, 3.0], rtol=1e-12)   # starts afresh


def test_ray_depth_filter_ignores_a_repeated_stamp() -> None:
    """A second measurement at the same stamp keeps the estimate and a finite velocity."""
    f = RayDepthOneEuroFilter(_P, _P)
    f(np.array([0.1, 0.2, 2.0]), 0.0)
    before = f(np.array([0.2, 0.2, 2.2]), 0.1)
    velocity = f.velocity.copy()
    np.testing.assert_array_equal(f(np.array([0.9, 0.9, 4.0]), 0.1), before)
    np.testing.assert_array_equal(f.velocity, velocity)


def test_part_speed_is_in_part_sizes_per_second_also_for_a_lost_root() -> None:
    """The part's image speed is normalised by its size, also when the root is not finite this frame."""
    from dope_core.smoothing import _PartSpeed

    speed = _PartSpeed(d_cutoff_hz=1.0)
    for i in range(6):
        moving = speed(np.array([100.0 * 0.1 * i, 0.0]), 50.0, 0.1 * i)
    assert moving > 0.0
    assert speed(np.array([np.nan, np.nan]), 50.0, 0.6) == pytest.approx(moving)
    assert speed(np.array([np.nan, np.nan]), 100.0, 0.6) == pytest.approx(moving / 2)


def test_max_gap_zero_is_allowed_negative_is_not() -> None:
    """SmoothingConfig: max_gap_s must be >= 0 (0: every gap restarts the filters)."""
    assert SmoothingConfig(max_gap_s=0.0).max_gap_s == 0.0
    with pytest.raises(ValueError):
        SmoothingConfig(max_gap_s=-0.1)
