"""One Euro filtering of tracked poses, timed by the image stamps.

The One Euro filter (Casiez, Roussel and Vogel, CHI 2012) is a low-pass filter whose
cutoff frequency rises with speed: ``cutoff = min_cutoff + beta * |speed|``, where the
speed is itself low-passed at ``d_cutoff``. At rest it removes jitter (low cutoff); in
motion it follows with little lag (high cutoff). Each step uses the real time between
two frames (``dt`` from the image stamps), so a dropped frame or a variable rate
does not change its behaviour.

* :class:`OneEuroFilter` filters ``(N, D)`` arrays (N points, D coordinates): the speed
  of each point is the norm of its filtered derivative. Its ``velocity`` (units/s) is
  the derivative of the filtered signal, low-passed at ``d_cutoff``: unbiased on a
  steady motion, unlike the filter's internal speed (measured from the lagging estimate).
* :class:`RotationOneEuroFilter` filters unit quaternions as rotations: the derivative
  is the angular velocity from the log map of the relative rotation between the last
  estimate and the new measurement, and the update is a slerp by the filter's
  ``alpha`` (never component-wise, never leaves the unit sphere).
* :class:`RayDepthOneEuroFilter` filters a point of the camera frame as its viewing ray
  and its log-depth, each with its own cutoffs (monocular depth jitters far more than
  the image position).
* :class:`PoseSmoother` keeps one set of filters per tracked person and part slot and
  filters 2D keypoints (pixels), part-relative 3D keypoints, the root in the camera
  frame (metres; ray and log-depth), the frame origin and orientation, all with one
  cutoff per part driven by the part's image speed (:class:`SmoothingConfig`), the
  root's depth with a lower one at rest; it sets ``velocity`` (m/s, camera optical
  frame) and ``velocity_2d`` (pixels/s) of each part root. A stamp earlier than
  the previous one (a bag that loops) resets every filter; a part unseen for more than
  ``max_gap_s`` restarts its filters; untracked people and unassigned parts pass
  through unfiltered.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from dope_core.keypoints import BODY_LEFT_HIP, BODY_RIGHT_HIP, HAND_WRIST, Part
from dope_core.rotations import canonical, exp_map, multiply, relative_rotation_vector, slerp
from dope_core.structures import PartFrame, PartPose, Person, TrackState, WholeBodyPoses


def smoothing_factor(cutoff_hz: np.ndarray | float, dt: float) -> np.ndarray | float:
    """Exponential smoothing factor ``alpha`` of a first-order low-pass at ``cutoff_hz`` for a step ``dt`` (s)."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz))
    return 1.0 / (1.0 + tau / dt)


@dataclass(frozen=True)
class OneEuroParams:
    """Parameters of one One Euro filter.

    Attributes:
        min_cutoff_hz: cutoff at rest, Hz (lower: less jitter, more lag at low speed).
        beta: cutoff increase per unit of speed (Hz per unit/s: per pixel/s, m/s or rad/s).
        d_cutoff_hz: cutoff of the speed estimate, Hz.
    """

    min_cutoff_hz: float = 1.0
    beta: float = 0.0
    d_cutoff_hz: float = 1.0

    def __post_init__(self) -> None:
        if not (self.min_cutoff_hz > 0 and self.d_cutoff_hz > 0 and self.beta >= 0):
            raise ValueError(f"need min_cutoff_hz > 0, d_cutoff_hz > 0, beta >= 0, got {self}")


class OneEuroFilter:
    """One Euro filter of ``(N, D)`` arrays (module docstring).

    A point with a non-finite measurement keeps its estimate; a point whose estimate is
    not finite yet (never measured) starts at its first finite measurement.
    """

    def __init__(self, params: OneEuroParams) -> None:
        self.params = params
        self.reset()

    def reset(self) -> None:
        self.value: Optional[np.ndarray] = None
        self.velocity: Optional[np.ndarray] = None
        self.t: Optional[float] = None
        self._dx: Optional[np.ndarray] = None

    def __call__(self, x: np.ndarray, t: float, speed: Optional[float] = None) -> np.ndarray:
        """The filtered value of measurement ``x`` taken at time ``t`` (seconds).

        ``speed``, when given, replaces the filter's own speed estimate in the cutoff
        (``min_cutoff + beta * speed``; a shared speed, in the unit ``beta`` expects).
        """
        x = np.asarray(x, dtype=np.float64)
        if self.value is None or self.value.shape != x.shape:
            self.value, self.velocity, self._dx, self.t = x.copy(), np.zeros_like(x), np.zeros_like(x), t
            return self.value.copy()
        dt = t - self.t
        if dt <= 0.0:
            return self.value.copy()
        seen = np.all(np.isfinite(x), axis=-1, keepdims=True)
        fresh = seen & ~np.all(np.isfinite(self.value), axis=-1, keepdims=True)
        if fresh.any():  # first finite measurement of a point: it starts there, at rest
            self.value = np.where(fresh, x, self.value)
            self._dx, self.velocity = np.where(fresh, 0.0, self._dx), np.where(fresh, 0.0, self.velocity)
        x = np.where(seen, x, self.value)
        p = self.params
        a_d = smoothing_factor(p.d_cutoff_hz, dt)
        self._dx = self._dx + a_d * ((x - self.value) / dt - self._dx)
        if speed is None:
            speed = np.linalg.norm(self._dx, axis=-1, keepdims=True)
        alpha = smoothing_factor(p.min_cutoff_hz + p.beta * speed, dt)
        previous = self.value
        self.value = self.value + alpha * (x - self.value)
        self.velocity = self.velocity + a_d * ((self.value - previous) / dt - self.velocity)
        self.t = t
        return self.value.copy()

    def predict(self, t: float) -> np.ndarray:
        """The estimate extrapolated at constant velocity to time ``t`` (state unchanged)."""
        return self.value + self.velocity * max(0.0, t - self.t)


class RotationOneEuroFilter:
    """One Euro filter of unit quaternions ``x, y, z, w`` as rotations (module docstring)."""

    def __init__(self, params: OneEuroParams) -> None:
        self.params = params
        self.reset()

    def reset(self) -> None:
        self.value: Optional[np.ndarray] = None
        self.angular_velocity = np.zeros(3)
        self.t: Optional[float] = None
        self._w = np.zeros(3)

    def __call__(self, q: np.ndarray, t: float, speed: Optional[float] = None) -> np.ndarray:
        """The filtered orientation of measurement ``q`` at time ``t`` (seconds); ``speed`` as for
        :meth:`OneEuroFilter.__call__` (default: the filtered angular speed, rad/s)."""
        q = canonical(q)
        if self.value is None:
            self.value, self.angular_velocity, self._w, self.t = q, np.zeros(3), np.zeros(3), t
            return q.copy()
        dt = t - self.t
        if dt <= 0.0:
            return self.value.copy()
        p = self.params
        a_d = float(smoothing_factor(p.d_cutoff_hz, dt))
        self._w = self._w + a_d * (relative_rotation_vector(self.value, q) / dt - self._w)
        if speed is None:
            speed = float(np.linalg.norm(self._w))
        alpha = float(smoothing_factor(p.min_cutoff_hz + p.beta * speed, dt))
        previous = self.value
        self.value = slerp(self.value, q, alpha)
        w = relative_rotation_vector(previous, self.value) / dt
        self.angular_velocity = self.angular_velocity + a_d * (w - self.angular_velocity)
        self.t = t
        return self.value.copy()

    def predict(self, t: float) -> np.ndarray:
        """The estimate rotated on at its angular velocity to time ``t`` (state unchanged)."""
        return canonical(multiply(self.value, exp_map(self.angular_velocity * max(0.0, t - self.t))))


class RayDepthOneEuroFilter:
    """One Euro filter of a point in the camera optical frame (metres) as its ray and its log-depth.

    A monocular placement fixes a point's viewing ray (its pixel) far better than its
    distance along the ray: the distance comes from the person's size in the image and
    jitters several times more. Filtering ``x, y, z`` alike mixes that depth noise into
    ``x`` and ``y`` (the ray is not the optical axis) and forces one cutoff on both.
    Here the point is split into its ray ``(x / z, y / z)`` (filtered with ``ray``, the
    image-plane parameters) and ``ln z`` (filtered with ``depth``, its own cutoffs: a
    relative depth error is the same at every distance). ``velocity`` (m/s) is the
    derivative of the filtered point, low-passed at ``depth.d_cutoff_hz``.

    A non-finite measurement keeps the estimate; one at ``z <= 0`` (which has no ray)
    restarts the filter and passes through unfiltered.
    """

    def __init__(self, ray: OneEuroParams, depth: OneEuroParams) -> None:
        self.ray = OneEuroFilter(ray)
        self.depth = OneEuroFilter(depth)
        self.reset()

    def reset(self) -> None:
        self.ray.reset()
        self.depth.reset()
        self.value: Optional[np.ndarray] = None
        self.velocity: Optional[np.ndarray] = None
        self.t: Optional[float] = None

    def __call__(self, p: np.ndarray, t: float, speed: Optional[float] = None) -> np.ndarray:
        """The filtered ``(3,)`` point of measurement ``p`` (metres) at time ``t`` (seconds); ``speed`` as for
        :meth:`OneEuroFilter.__call__` (both filters' cutoffs rise with it)."""
        p = np.asarray(p, dtype=np.float64)
        if not np.all(np.isfinite(p)):
            return p.copy() if self.value is None else self.value.copy()
        if p[2] <= 0.0:
            self.reset()
            return p.copy()
        if self.value is not None and t <= self.t:
            return self.value.copy()
        ray = self.ray((p[:2] / p[2])[None], t, speed)[0]
        z = math.exp(float(self.depth(np.array([[math.log(p[2])]]), t, speed)[0, 0]))
        value = np.array([ray[0] * z, ray[1] * z, z])
        if self.value is None:
            self.velocity = np.zeros(3)
        else:
            dt = t - self.t
            a_d = smoothing_factor(self.depth.params.d_cutoff_hz, dt)
            self.velocity = self.velocity + a_d * ((value - self.value) / dt - self.velocity)
        self.value, self.t = value, t
        return value.copy()

    def predict(self, t: float) -> np.ndarray:
        """The estimate extrapolated at constant velocity to time ``t`` (state unchanged)."""
        return self.value + self.velocity * max(0.0, t - self.t)


@dataclass(frozen=True)
class SmoothingConfig:
    """Parameters of :class:`PoseSmoother` (the node's ``smoothing.*``).

    Every filter of a part (2D and 3D keypoints, root, frame origin, orientation) uses
    one cutoff, ``min_cutoff_hz + beta * speed``, where ``speed`` is the part root's
    image speed in part sizes per second (the derivative of the 2D root's median over
    its last three frames, low-passed at ``d_cutoff_hz``, divided by the larger side of
    the part's box). The image position is the part's least noisy measurement
    (monocular depth jitters far more), a speed relative to the part's size does not
    depend on the distance, the resolution nor the unit of each quantity, and the median
    keeps a keypoint that jumps away for a single frame from opening the filter.
    The placed root's depth is the exception: it is filtered as ``ln z`` along its ray
    (:class:`RayDepthOneEuroFilter`) with a lower cutoff at rest, ``depth_min_cutoff_hz
    + beta * speed``, because its noise is several times the image plane's.

    Attributes:
        min_cutoff_hz: cutoff at rest, Hz.
        beta: cutoff increase per part size per second of image speed, Hz.
        d_cutoff_hz: cutoff of the speed estimate (and of the velocities), Hz.
        max_gap_s: a part unseen for longer restarts its filters, seconds.
        depth_min_cutoff_hz: cutoff at rest of a placed root's log-depth, Hz.
    """

    min_cutoff_hz: float = 0.5
    beta: float = 5.0
    d_cutoff_hz: float = 0.5
    max_gap_s: float = 0.5
    depth_min_cutoff_hz: float = 0.2

    def __post_init__(self) -> None:
        OneEuroParams(min_cutoff_hz=self.min_cutoff_hz, beta=self.beta, d_cutoff_hz=self.d_cutoff_hz)
        OneEuroParams(min_cutoff_hz=self.depth_min_cutoff_hz, beta=self.beta, d_cutoff_hz=self.d_cutoff_hz)
        if not self.max_gap_s >= 0.0:
            raise ValueError(f"max_gap_s must be >= 0, got {self.max_gap_s}")

    @property
    def params(self) -> OneEuroParams:
        return OneEuroParams(min_cutoff_hz=self.min_cutoff_hz, beta=self.beta, d_cutoff_hz=self.d_cutoff_hz)

    @property
    def depth_params(self) -> OneEuroParams:
        """The parameters of a placed root's log-depth filter."""
        return OneEuroParams(min_cutoff_hz=self.depth_min_cutoff_hz, beta=self.beta, d_cutoff_hz=self.d_cutoff_hz)


def root_rows(part: Part) -> list[int] | slice:
    """Keypoints whose mean is the part root (hand: wrist, body: hips, face: all)."""
    if part is Part.HAND:
        return [HAND_WRIST]
    if part is Part.BODY:
        return [BODY_RIGHT_HIP, BODY_LEFT_HIP]
    return slice(None)


class _PartSpeed:
    """Image speed of a part root in part sizes per second (see :class:`SmoothingConfig`).

    The speed is the low-passed derivative of the root's median over its last three
    finite positions (per image axis): a single-frame jump of a keypoint does not move
    the median, a steady motion moves it at its own speed one frame later.
    """

    def __init__(self, d_cutoff_hz: float) -> None:
        self.d_cutoff_hz = d_cutoff_hz
        self._recent: list[np.ndarray] = []
        self._last: Optional[tuple[np.ndarray, float]] = None
        self._v = np.zeros(2)

    def __call__(self, root_2d: np.ndarray, size_px: float, t: float) -> float:
        if not np.all(np.isfinite(root_2d)):
            return float(np.linalg.norm(self._v)) / size_px
        if self._last is not None and t <= self._last[1]:
            return float(np.linalg.norm(self._v)) / size_px
        self._recent = (self._recent + [np.asarray(root_2d, dtype=np.float64)])[-3:]
        median = np.median(self._recent, axis=0)
        if self._last is not None:
            dt = t - self._last[1]
            self._v = self._v + smoothing_factor(self.d_cutoff_hz, dt) * ((median - self._last[0]) / dt - self._v)
        self._last = (median, t)
        return float(np.linalg.norm(self._v)) / size_px


class _PartFilters:
    def __init__(self, cfg: SmoothingConfig) -> None:
        self.speed = _PartSpeed(cfg.d_cutoff_hz)
        self.kp2d = OneEuroFilter(cfg.params)
        self.kp3d = OneEuroFilter(cfg.params)
        self.root = RayDepthOneEuroFilter(cfg.params, cfg.depth_params)
        self.origin = OneEuroFilter(cfg.params)
        self.rotation = RotationOneEuroFilter(cfg.params)
        self.last_t: Optional[float] = None

    def update(self, pose: PartPose, t: float) -> PartPose:
        size = max(1.0, float(max(pose.box[2] - pose.box[0], pose.box[3] - pose.box[1])))
        speed = self.speed(pose.keypoints_2d[root_rows(pose.part)].mean(axis=0), size, t)
        kp2d = self.kp2d(pose.keypoints_2d, t, speed)
        changes: dict = {"keypoints_2d": kp2d, "keypoints_3d": self.kp3d(pose.keypoints_3d, t, speed)}
        moving = self.last_t is not None and t > self.last_t
        changes["velocity_2d"] = self.kp2d.velocity[root_rows(pose.part)].mean(axis=0) if moving else None
        if pose.root_camera is None:
            self.root.reset()
            changes["velocity"] = None
        else:
            had_root = self.root.value is not None
            changes["root_camera"] = self.root(pose.root_camera, t, speed)
            changes["velocity"] = self.root.velocity.copy() if had_root and self.root.value is not None else None
        if pose.frame is not None:
            origin = self.origin(pose.frame.origin[None], t, speed)[0]
            if pose.frame.quaternion is not None:
                q = self.rotation(pose.frame.quaternion, t, speed)
                changes["frame"] = PartFrame(origin=origin, quaternion=q, confidence=pose.frame.confidence)
            else:
                changes["frame"] = PartFrame(origin=origin)
        self.last_t = t
        return dataclasses.replace(pose, **changes)

    def predict(self, pose: PartPose, t: float) -> PartPose:
        """The last estimate carried to ``t`` at constant velocity (for a predicted person)."""
        if self.last_t is None:
            return pose
        changes: dict = {"keypoints_2d": self.kp2d.predict(t), "keypoints_3d": self.kp3d.value.copy()}
        if pose.root_camera is not None and self.root.value is not None:
            changes["root_camera"] = self.root.predict(t)
        if pose.frame is not None and self.origin.value is not None:
            q = self.rotation.predict(t) if pose.frame.quaternion is not None and self.rotation.value is not None else None
            changes["frame"] = PartFrame(origin=self.origin.value[0].copy(), quaternion=q,
                                         confidence=pose.frame.confidence if q is not None else 0.0)
        return dataclasses.replace(pose, **changes)


class PoseSmoother:
    """Per-track One Euro filtering of a stream of poses (module docstring).

    Args:
        config: filter parameters.
    """

    def __init__(self, config: SmoothingConfig = SmoothingConfig()) -> None:
        self.config = config
        self._filters: dict[tuple[int, str], _PartFilters] = {}
        self._t: Optional[float] = None
        self.resets = 0

    def reset(self) -> None:
        """Forget every filter (a new stream)."""
        self._filters.clear()
        self._t = None

    def update(self, poses: WholeBodyPoses, stamp: float) -> WholeBodyPoses:
        """Filtered copy of ``poses`` taken at ``stamp`` (seconds, the image stamp).

        Raises:
            ValueError: ``stamp`` is not finite (the filters are left as they were).
        """
        if not math.isfinite(stamp):
            raise ValueError(f"stamp must be finite seconds, got {stamp}")
        if self._t is not None and stamp < self._t:
            self.reset()
            self.resets += 1
        self._t = stamp
        lost = set(poses.lost_track_ids)
        for key in [k for k, f in self._filters.items()
                    if k[0] in lost or (f.last_t is not None and stamp - f.last_t > self.config.max_gap_s)]:
            del self._filters[key]
        people = [self._person(p, stamp) for p in poses.people]
        return dataclasses.replace(poses, people=people)

    def _person(self, person: Person, stamp: float) -> Person:
        if person.track_id is None:
            return person
        changes = {}
        for slot, pose in person.parts():
            key = (person.track_id, slot)
            if person.track_state is TrackState.PREDICTED:
                f = self._filters.get(key)
                changes[slot] = f.predict(pose, stamp) if f is not None else pose
                continue
            f = self._filters.get(key)
            if f is None:
                f = self._filters[key] = _PartFilters(self.config)
            changes[slot] = f.update(pose, stamp)
        return dataclasses.replace(person, **changes)
