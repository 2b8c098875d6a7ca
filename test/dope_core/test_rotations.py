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


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_half_turns_about_each_axis(axis: int) -> None:
    """A half turn about axis e (trace -1, a zero diagonal entry of +1) is the quaternion (e, 0)."""
    r = -np.eye(3)
    r[axis, axis] = 1.0
    expected = np.zeros(4)
    expected[axis] = 1.0
    q = matrix_to_quaternion(r)
    np.testing.assert_allclose(q, expected, atol=1e-12)
    np.testing.assert_allclose(quaternion_to_matrix(q), r, atol=1e-12)


def test_hamilton_product_composes_rotation_matrices_and_conjugate_inverts() -> None:
    """R(a * b) = R(a) R(b); i j = k, j k = i, k i = j; q * conj(q) = identity, for general quaternions."""
    from dope_core.rotations import conjugate

    rng = np.random.default_rng(5)
    for _ in range(5):
        a, b = canonical(rng.normal(size=4)), canonical(rng.normal(size=4))
        np.testing.assert_allclose(quaternion_to_matrix(multiply(a, b)),
                                   quaternion_to_matrix(a) @ quaternion_to_matrix(b), atol=1e-12)
        np.testing.assert_allclose(multiply(a, conjugate(a)), [0, 0, 0, 1], atol=1e-12)
        np.testing.assert_allclose(quaternion_to_matrix(conjugate(a)), quaternion_to_matrix(a).T, atol=1e-12)
    i, j, k = np.eye(4)[:3]
    np.testing.assert_allclose(multiply(i, j), k)
    np.testing.assert_allclose(multiply(j, k), i)
    np.testing.assert_allclose(multiply(k, i), j)
