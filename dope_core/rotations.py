"""Unit quaternions (``x, y, z, w``, the ROS order) and rotation matrices, in numpy.

Quaternions here are unit quaternions with ``w >= 0`` where a function makes one
(``q`` and ``-q`` are the same rotation). The log map takes a rotation to its rotation
vector (axis times angle, radians); the exponential map is its inverse; :func:`slerp`
interpolates along the shortest arc.
"""

from __future__ import annotations

import numpy as np


def matrix_to_quaternion(r: np.ndarray) -> np.ndarray:
    """``(4,)`` unit quaternion ``x, y, z, w`` (``w >= 0``) of a ``(3, 3)`` rotation matrix."""
    r = np.asarray(r, dtype=np.float64)
    m00, m11, m22 = r[0, 0], r[1, 1], r[2, 2]
    trace = m00 + m11 + m22
    if trace > 0.0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = np.array([(r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s, 0.25 * s])
    elif m00 >= m11 and m00 >= m22:
        s = 2.0 * np.sqrt(1.0 + m00 - m11 - m22)
        q = np.array([0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s, (r[2, 1] - r[1, 2]) / s])
    elif m11 >= m22:
        s = 2.0 * np.sqrt(1.0 + m11 - m00 - m22)
        q = np.array([(r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s, (r[0, 2] - r[2, 0]) / s])
    else:
        s = 2.0 * np.sqrt(1.0 + m22 - m00 - m11)
        q = np.array([(r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s, (r[1, 0] - r[0, 1]) / s])
    return canonical(q)


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """``(3, 3)`` rotation matrix of a unit quaternion ``x, y, z, w``."""
    x, y, z, w = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def canonical(q: np.ndarray) -> np.ndarray:
    """The unit quaternion of ``q`` with ``w >= 0``."""
    q = np.asarray(q, dtype=np.float64)
    q = q / np.linalg.norm(q)
    return -q if q[3] < 0.0 else q


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a * b`` (rotate by ``b``, then by ``a``)."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array([
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    ])


def conjugate(q: np.ndarray) -> np.ndarray:
    """The inverse rotation of a unit quaternion."""
    return np.array([-q[0], -q[1], -q[2], q[3]], dtype=np.float64)


def log_map(q: np.ndarray) -> np.ndarray:
    """``(3,)`` rotation vector (radians) of a unit quaternion, angle in [0, pi]."""
    q = canonical(q)
    v = q[:3]
    s = float(np.linalg.norm(v))
    if s < 1e-12:
        return 2.0 * v  # first order: angle ~ 2 s
    angle = 2.0 * np.arctan2(s, q[3])
    return v / s * angle


def exp_map(v: np.ndarray) -> np.ndarray:
    """Unit quaternion of a rotation vector (radians)."""
    v = np.asarray(v, dtype=np.float64)
    angle = float(np.linalg.norm(v))
    if angle < 1e-12:
        return canonical(np.array([0.5 * v[0], 0.5 * v[1], 0.5 * v[2], 1.0]))
    axis = v / angle
    return np.concatenate([axis * np.sin(angle / 2.0), [np.cos(angle / 2.0)]])


def relative_rotation_vector(q0: np.ndarray, q1: np.ndarray) -> np.ndarray:
    """Rotation vector (radians, in ``q0``'s axes) taking ``q0`` to ``q1`` along the shortest arc."""
    return log_map(multiply(conjugate(q0), q1))


def slerp(q0: np.ndarray, q1: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation from ``q0`` (``t = 0``) to ``q1`` (``t = 1``), shortest arc."""
    return canonical(multiply(q0, exp_map(t * relative_rotation_vector(q0, q1))))


def angle_between(q0: np.ndarray, q1: np.ndarray) -> float:
    """Angle in radians (in [0, pi]) of the rotation between two orientations."""
    return float(np.linalg.norm(relative_rotation_vector(q0, q1)))
