"""Quaternion helpers against rotations with known answers."""

import numpy as np
import pytest

from dope_core.rotations import (angle_between, canonical, exp_map, log_map, matrix_to_quaternion, multiply,
                                 quaternion_to_matrix, slerp)


def _rot_z(a: float) -> np.ndarray:
    return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])


def test_known_quaternions():
    assert np.allclose(matrix_to_quaternion(np.eye(3)), [0, 0, 0, 1])
    assert np.allclose(matrix_to_quaternion(_rot_z(np.pi / 2)), [0, 0, np.sin(np.pi / 4), np.cos(np.pi / 4)])
    # 180 degrees about x: the w >= 0 branch where the trace is -1
    assert np.allclose(matrix_to_quaternion(np.diag([1.0, -1.0, -1.0])), [1, 0, 0, 0])


def test_round_trips_on_random_rotations():
    rng = np.random.default_rng(0)
    for _ in range(200):
        q = canonical(rng.normal(size=4))
        r = quaternion_to_matrix(q)
        assert np.allclose(r @ r.T, np.eye(3)) and np.isclose(np.linalg.det(r), 1.0)
        assert np.allclose(matrix_to_quaternion(r), q)
        assert np.allclose(canonical(exp_map(log_map(q))), q)


def test_slerp_follows_the_shortest_arc_at_constant_speed():
    q0, q1 = matrix_to_quaternion(np.eye(3)), matrix_to_quaternion(_rot_z(np.radians(100)))
    for t in (0.0, 0.25, 0.5, 1.0):
        assert angle_between(slerp(q0, q1, t), q0) == pytest.approx(np.radians(100) * t)
    # -q1 is the same rotation: still the short way
    assert angle_between(slerp(q0, -q1, 0.5), q0) == pytest.approx(np.radians(50))
    assert np.allclose(quaternion_to_matrix(multiply(q1, q1)), _rot_z(np.radians(200)))
