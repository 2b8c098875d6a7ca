"""Camera models: pinhole intrinsics, lens distortion, rectification, checked once.

A :class:`CameraModel` turns pixels of the processed image into rays of the camera
optical frame (x right, y down, z forward; :meth:`CameraModel.normalize` gives the
ray's point on the plane ``z = 1``) and back (:meth:`CameraModel.project`). It
follows ROS's ``sensor_msgs/CameraInfo`` conventions:

* ``K`` (3x3) holds the intrinsics of the **raw** (distorted) image, ``D`` the
  distortion coefficients of ``distortion_model`` (``plumb_bob``: k1 k2 p1 p2 k3;
  ``rational_polynomial``: k1 k2 p1 p2 k3 k4 k5 k6; ``equidistant``: the fisheye
  k1 k2 k3 k4; an empty ``D`` means no distortion);
* ``R`` (3x3) rotates the camera frame into the rectified frame (identity for a
  monocular camera) and ``P`` (3x4) projects the rectified frame into the
  **rectified** image;
* images taken raw are undistorted with ``K`` and ``D`` (OpenCV's
  ``undistortPointsIter`` / ``fisheye.undistortPoints``); images already rectified
  (``rectified=True``) use ``P`` and are rotated back by ``R``; both give rays in
  the camera optical frame. ``P``'s ``Tx``/``Ty`` (the baseline of a stereo pair's
  second camera) are not used: rays start at this camera's own centre;
* binning and a region of interest (``binning_x``, ``binning_y``, ``roi``) shrink
  the image that arrives; pixels are mapped back to the full sensor
  (``u_full = u * binning_x + roi.x_offset``) before ``K``/``P`` apply, as
  ``image_geometry`` does.

Pixel coordinates put the origin at the top-left corner of the top-left pixel
(:mod:`dope_core.structures`), so the image centre is ``(w/2, h/2)``.

Every constructor checks its input (:func:`validate_intrinsics` and the shapes of
``D``, ``R``, ``P``) and raises :class:`InvalidIntrinsicsError` with a one-line reason.
:func:`load_camera_yaml` reads the YAML that ROS's ``camera_calibration`` writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional, Sequence

import cv2
import numpy as np

DISTORTION_COEFFICIENTS: dict[str, tuple[int, ...]] = {
    "plumb_bob": (4, 5),
    "rational_polynomial": (8,),
    "equidistant": (4,),
}
"""Accepted number of distortion coefficients per ROS distortion model (an empty ``D`` means none)."""

MIN_FOCAL_FRACTION = 0.05
"""Smallest plausible focal length, as a fraction of the image's larger side (a 180+ degree fisheye is about 0.3)."""
MAX_FOCAL_FRACTION = 100.0
"""Largest plausible focal length, as a multiple of the image's larger side (a 0.6 degree telephoto)."""
MAX_PIXELS = 1e5
"""Largest plausible focal length or principal point when the image size is unknown, pixels."""


class InvalidIntrinsicsError(ValueError):
    """Camera parameters that cannot describe this camera (the message says why, in one line).

    Attributes:
        reason: short code: ``size``, ``not_finite``, ``all_zero``, ``focal``, ``last_row``,
            ``principal_point``, ``distortion_model``, ``distortion``, ``rectification``,
            ``projection`` or ``image_size``.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason



def validate_intrinsics(k: np.ndarray | Sequence[float], image_size: Optional[tuple[int, int]] = None) -> np.ndarray:
    """Return ``K`` as a ``(3, 3)`` float array after checking that it is a plausible pinhole matrix.

    Accepts a ``(3, 3)`` matrix or the 9 row-major values of ``sensor_msgs/CameraInfo.k``.

    Args:
        k: the intrinsics, pixels.
        image_size: ``(width, height)`` of the images it describes, pixels; when given, the
            focal lengths must lie within [:data:`MIN_FOCAL_FRACTION`, :data:`MAX_FOCAL_FRACTION`]
            times the larger side and the principal point within the image widened by half its
            size on each side; without it, both must be under :data:`MAX_PIXELS`.

    Raises:
        InvalidIntrinsicsError: wrong size, NaN/inf values, all zero, non-positive or implausible
            focal lengths (``fx = 1e-300``), a principal point far outside the image
            (``cx = 1e308``), a skew larger than the focal length, or a last row other than ``(0, 0, 1)``.
    """
    arr = np.asarray(k, dtype=np.float64)
    if arr.size != 9:
        raise InvalidIntrinsicsError(f"intrinsics must have 9 values (3x3), got {arr.size}", "size")
    arr = arr.reshape(3, 3)
    if not np.all(np.isfinite(arr)):
        raise InvalidIntrinsicsError("intrinsics contain NaN or infinite values", "not_finite")
    if not np.any(arr):
        raise InvalidIntrinsicsError("intrinsics are all zero (camera not calibrated)", "all_zero")
    if not np.allclose(arr[2], (0.0, 0.0, 1.0)):
        raise InvalidIntrinsicsError(f"last row of K must be (0, 0, 1), got {tuple(arr[2])}", "last_row")
    fx, fy, cx, cy, skew = arr[0, 0], arr[1, 1], arr[0, 2], arr[1, 2], arr[0, 1]
    if fx <= 0 or fy <= 0:
        raise InvalidIntrinsicsError(f"focal lengths must be positive, got fx={fx:g}, fy={fy:g}", "focal")
    if image_size is not None:
        w, h = (float(v) for v in image_size)
        side = max(w, h)
        lo, hi = MIN_FOCAL_FRACTION * side, MAX_FOCAL_FRACTION * side
        if not (lo <= fx <= hi and lo <= fy <= hi):
            raise InvalidIntrinsicsError(f"focal lengths fx={fx:g}, fy={fy:g} are implausible for a {w:g}x{h:g} image "
                                         f"(expected {lo:g} to {hi:g} pixels)", "focal")
        if not (-w / 2 <= cx <= 1.5 * w and -h / 2 <= cy <= 1.5 * h):
            raise InvalidIntrinsicsError(f"principal point ({cx:g}, {cy:g}) lies far outside the {w:g}x{h:g} image",
                                         "principal_point")
    else:
        if not (1.0 <= fx <= MAX_PIXELS and 1.0 <= fy <= MAX_PIXELS):
            raise InvalidIntrinsicsError(f"focal lengths fx={fx:g}, fy={fy:g} are implausible (expected 1 to "
                                         f"{MAX_PIXELS:g} pixels)", "focal")
        if abs(cx) > MAX_PIXELS or abs(cy) > MAX_PIXELS:
            raise InvalidIntrinsicsError(f"principal point ({cx:g}, {cy:g}) is implausible", "principal_point")
    if not 0.2 <= fx / fy <= 5.0:
        raise InvalidIntrinsicsError(f"pixel aspect fx/fy = {fx / fy:g} is implausible", "focal")
    if abs(skew) > fx:
        raise InvalidIntrinsicsError(f"skew {skew:g} is larger than the focal length", "focal")
    return arr


@dataclass(frozen=True)
class CameraModel:
    """A calibrated camera for images of one size (see the module docstring for conventions).

    Build it with :meth:`from_calibration`, :meth:`from_matrix`, :meth:`from_hfov` or
    :func:`load_camera_yaml`; they check everything.

    Attributes:
        width, height: size of the images it describes (after binning and ROI), pixels.
        k: ``(3, 3)`` intrinsics of the raw full-resolution image, pixels.
        distortion_model: ``plumb_bob``, ``rational_polynomial``, ``equidistant`` or ``none``.
        d: distortion coefficients (empty for ``none``).
        r: ``(3, 3)`` rectification rotation.
        p: ``(3, 4)`` projection of the rectified full-resolution image, pixels.
        rectified: the images are already rectified: use ``P`` (and ``R``), not ``K`` and ``D``.
        binning: ``(binning_x, binning_y)``, at least 1.
        roi_offset: ``(x_offset, y_offset)`` of the region of interest on the full sensor, pixels.
        name: ``camera_name`` of a calibration file, or empty.
    """

    width: int
    height: int
    k: np.ndarray
    distortion_model: str = "none"
    d: np.ndarray = field(default_factory=lambda: np.zeros(0))
    r: np.ndarray = field(default_factory=lambda: np.eye(3))
    p: Optional[np.ndarray] = None
    rectified: bool = False
    binning: tuple[int, int] = (1, 1)
    roi_offset: tuple[int, int] = (0, 0)
    name: str = ""

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_calibration(
        cls,
        *,
        width: int,
        height: int,
        k: Sequence[float] | np.ndarray,
        distortion_model: str = "",
        d: Sequence[float] | np.ndarray = (),
        r: Sequence[float] | np.ndarray | None = None,
        p: Sequence[float] | np.ndarray | None = None,
        rectified: bool = False,
        binning: tuple[int, int] = (0, 0),
        roi: Optional[tuple[int, int, int, int]] = None,
        name: str = "",
    ) -> "CameraModel":
        """A checked model from the fields of a ``CameraInfo`` or a calibration file.

        Args:
            width, height: the calibrated (full-resolution) image size, pixels.
            k: 9 row-major values of ``K``. d: the distortion coefficients.
            distortion_model: a ROS model name; empty or ``none`` with no coefficients means no distortion.
            r: 9 values of ``R`` (identity when ``None`` or all zero). p: 12 values of ``P``
                (``[K | 0]`` when ``None`` or all zero).
            rectified: the images it describes are rectified (use ``P``).
            binning: ``(binning_x, binning_y)``; 0 means 1, as in ``CameraInfo``.
            roi: ``(x_offset, y_offset, width, height)`` on the full sensor; ``None`` or a zero
                width/height means the full image.

        Raises:
            InvalidIntrinsicsError: any inconsistent or implausible value (one-line message).
        """
        if not (isinstance(width, (int, np.integer)) and isinstance(height, (int, np.integer))) or width <= 0 or height <= 0:
            raise InvalidIntrinsicsError(f"image size must be positive integers, got {width}x{height}", "image_size")
        kk = validate_intrinsics(k, (int(width), int(height)))
        model = (distortion_model or "").strip()
        dd = np.asarray(d, dtype=np.float64).reshape(-1)
        if model in ("", "none"):
            if dd.size and np.any(dd):
                raise InvalidIntrinsicsError(f"{dd.size} distortion coefficients but no distortion model", "distortion_model")
            model, dd = "none", np.zeros(0)
        elif model not in DISTORTION_COEFFICIENTS:
            raise InvalidIntrinsicsError(f"unknown distortion model {model!r} (known: "
                                         f"{', '.join(DISTORTION_COEFFICIENTS)})", "distortion_model")
        elif dd.size == 0 or not np.any(dd):
            model, dd = "none", np.zeros(0)
        elif dd.size not in DISTORTION_COEFFICIENTS[model]:
            raise InvalidIntrinsicsError(f"{model} needs {' or '.join(map(str, DISTORTION_COEFFICIENTS[model]))} "
                                         f"distortion coefficients, got {dd.size}", "distortion")
        if dd.size and not np.all(np.isfinite(dd)):
            raise InvalidIntrinsicsError("distortion coefficients contain NaN or infinite values", "distortion")
        rr = np.eye(3) if r is None else np.asarray(r, dtype=np.float64).reshape(-1)
        if r is not None:
            if rr.size != 9:
                raise InvalidIntrinsicsError(f"rectification matrix must have 9 values, got {rr.size}", "rectification")
            rr = np.eye(3) if not np.any(rr) else rr.reshape(3, 3)
            if not np.all(np.isfinite(rr)) or not np.allclose(rr @ rr.T, np.eye(3), atol=1e-4) or np.linalg.det(rr) <= 0:
                raise InvalidIntrinsicsError("rectification matrix is not a rotation", "rectification")
        if p is None or not np.any(np.asarray(p, dtype=np.float64)):
            pp = None
        else:
            pp = np.asarray(p, dtype=np.float64).reshape(-1)
            if pp.size != 12:
                raise InvalidIntrinsicsError(f"projection matrix must have 12 values (3x4), got {pp.size}", "projection")
            pp = pp.reshape(3, 4)
            try:
                validate_intrinsics(pp[:, :3], (int(width), int(height)))
            except InvalidIntrinsicsError as e:
                raise InvalidIntrinsicsError(f"projection matrix: {e}", "projection") from None
            if not np.all(np.isfinite(pp[:, 3])) or pp[2, 3] != 0.0:
                raise InvalidIntrinsicsError("projection matrix: last column must be finite with P[2,3] = 0", "projection")
        if rectified and pp is None:
            raise InvalidIntrinsicsError("rectified images need a projection matrix P", "projection")
        bx, by = (max(int(b), 1) for b in binning)
        x_off, y_off, roi_w, roi_h = roi if roi is not None else (0, 0, 0, 0)
        if roi_w == 0 or roi_h == 0:
            x_off, y_off, roi_w, roi_h = 0, 0, int(width), int(height)
        if x_off < 0 or y_off < 0 or x_off + roi_w > width or y_off + roi_h > height:
            raise InvalidIntrinsicsError(f"region of interest {roi} does not fit in the {width}x{height} image", "image_size")
        if roi_w // bx < 1 or roi_h // by < 1:
            raise InvalidIntrinsicsError(f"binning {bx}x{by} of the {roi_w}x{roi_h} region leaves an image of "
                                         f"{roi_w // bx}x{roi_h // by} pixels (at least 1x1 needed)", "image_size")
        camera = cls(width=int(roi_w) // bx, height=int(roi_h) // by, k=kk, distortion_model=model, d=dd, r=rr,
                     p=pp, rectified=rectified, binning=(bx, by), roi_offset=(int(x_off), int(y_off)), name=name)
        if not rectified and model != "none":
            camera._check_distortion()
        return camera

    def _check_distortion(self) -> None:
        """Raise :class:`InvalidIntrinsicsError` when ``D`` cannot describe a lens over this image: on a 9x9
        grid of pixels spanning it, the rays must come back to their pixels (most of them within 1 px: a
        real calibration may fold at its extreme corners, coefficients of 1e6 fold everywhere), and their
        angles from the optical axis must stay within a factor of 3 of the distortion-free angles (a fisheye
        lens bends them by up to about 1.6 at its edges; coefficients of 1e6 shrink every angle a
        thousandfold, which would place people tens of metres away)."""
        w, h = self.image_size
        xs, ys = np.meshgrid(np.linspace(0.0, w - 1.0, 9), np.linspace(0.0, h - 1.0, 9))
        px = np.stack([xs.ravel(), ys.ravel()], axis=1)
        full = self._to_full(px)
        free = np.hypot((full[:, 0] - self.k[0, 2]) / self.k[0, 0], (full[:, 1] - self.k[1, 2]) / self.k[1, 1])
        if self.distortion_model == "equidistant":   # pixels of a fisheye seen 85 degrees or more off axis:
            px, free = px[free < np.radians(85.0)], free[free < np.radians(85.0)]   # no ray in front of the camera
        if not len(px):
            return
        with np.errstate(all="ignore"):
            rays = self.normalize(px)
            back = self.project(np.concatenate([rays, np.ones((len(rays), 1))], axis=1))
            error = np.linalg.norm(back - px, axis=1)
            off_axis = np.arctan(free) > np.radians(5.0)
            ratio = np.arctan(np.hypot(rays[:, 0], rays[:, 1]))[off_axis] / np.arctan(free[off_axis])
        coefficients = "[" + ", ".join(f"{v:.3g}" for v in self.d) + "]"
        if not np.all(np.isfinite(rays)) or not np.nanmedian(error) <= 1.0:
            raise InvalidIntrinsicsError(f"{self.distortion_model} distortion {coefficients} cannot be inverted over "
                                         f"the {w}x{h} image (rays do not come back to their pixels)", "distortion")
        if off_axis.any() and not 1.0 / 3.0 <= float(np.median(ratio)) <= 3.0:
            raise InvalidIntrinsicsError(f"{self.distortion_model} distortion {coefficients} is implausible: it "
                                         f"bends the rays off the optical axis by {float(np.median(ratio)):.3g} times "
                                         "the distortion-free angle", "distortion")

    @classmethod
    def from_matrix(cls, k: Sequence[float] | np.ndarray, width: int, height: int) -> "CameraModel":
        """A distortion-free pinhole camera with intrinsics ``k`` for ``width`` x ``height`` images."""
        return cls.from_calibration(width=width, height=height, k=k)

    @classmethod
    def from_hfov(cls, width: int, height: int, hfov_deg: float) -> "CameraModel":
        """A distortion-free pinhole camera with square pixels, the given horizontal field of view
        (degrees, in (0, 180)) and the principal point at the image centre."""
        if not (math.isfinite(hfov_deg) and 0.0 < hfov_deg < 180.0):
            raise InvalidIntrinsicsError(f"horizontal field of view must be in (0, 180) degrees, got {hfov_deg}", "focal")
        f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        return cls.from_matrix([f, 0.0, width / 2.0, 0.0, f, height / 2.0, 0.0, 0.0, 1.0], width, height)

    # ------------------------------------------------------------------ use
    @property
    def image_size(self) -> tuple[int, int]:
        """``(width, height)`` of the images it describes, pixels."""
        return self.width, self.height

    @property
    def focal_px(self) -> float:
        """Mean focal length in pixels of the processed image (after binning)."""
        m = self.p[:, :3] if self.rectified else self.k
        return float((m[0, 0] / self.binning[0] + m[1, 1] / self.binning[1]) / 2)

    def check_image_size(self, width: int, height: int) -> None:
        """Raise :class:`InvalidIntrinsicsError` (``image_size``) unless images of this size fit the model."""
        if (int(width), int(height)) != (self.width, self.height):
            how = ""
            if self.binning != (1, 1) or self.roi_offset != (0, 0):
                how = f" (after binning {self.binning[0]}x{self.binning[1]} and the region of interest)"
            raise InvalidIntrinsicsError(f"camera model is for {self.width}x{self.height} images{how}, "
                                         f"the image is {width}x{height}", "image_size")

    def resized(self, width: int, height: int) -> "CameraModel":
        """The model of the same camera for images resized to ``width`` x ``height``.

        Raises:
            InvalidIntrinsicsError: the aspect ratio differs by more than 1 %.
        """
        if (width, height) == (self.width, self.height):
            return self
        sx, sy = width / self.width, height / self.height
        if abs(sx / sy - 1.0) > 0.01:
            raise InvalidIntrinsicsError(f"camera model is for {self.width}x{self.height} images, the image is "
                                         f"{width}x{height} (another aspect ratio)", "image_size")
        flat = self._folded()
        m = np.diag([sx, sy, 1.0])
        return replace(flat, width=int(width), height=int(height), k=m @ flat.k, p=None if flat.p is None else m @ flat.p)

    def _folded(self) -> "CameraModel":
        """The same camera with binning and ROI folded into ``K`` and ``P`` (binning 1, no offset)."""
        m = np.diag([1.0 / self.binning[0], 1.0 / self.binning[1], 1.0]) @ np.array(
            [[1.0, 0.0, -self.roi_offset[0]], [0.0, 1.0, -self.roi_offset[1]], [0.0, 0.0, 1.0]])
        return replace(self, k=m @ self.k, p=None if self.p is None else m @ self.p, binning=(1, 1), roi_offset=(0, 0))

    def _to_full(self, points_px: np.ndarray) -> np.ndarray:
        return points_px * np.array(self.binning, dtype=np.float64) + np.array(self.roi_offset, dtype=np.float64)

    def _from_full(self, points_px: np.ndarray) -> np.ndarray:
        return (points_px - np.array(self.roi_offset, dtype=np.float64)) / np.array(self.binning, dtype=np.float64)

    def normalize(self, points_px: np.ndarray) -> np.ndarray:
        """``(N, 2)`` pixels of the processed image to ``(N, 2)`` points ``(x, y)`` of rays ``(x, y, 1)``
        in the camera optical frame (distortion removed; NaN stays NaN)."""
        pts = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
        out = np.full_like(pts, np.nan)
        ok = np.all(np.isfinite(pts), axis=1)
        if not ok.any():
            return out
        full = self._to_full(pts[ok])
        if self.rectified:
            m = self.p[:, :3]
            y = (full[:, 1] - m[1, 2]) / m[1, 1]
            x = (full[:, 0] - m[0, 2] - m[0, 1] * y) / m[0, 0]
            rays = np.stack([x, y, np.ones_like(x)], axis=1) @ self.r  # R^T applied to each ray
            out[ok] = rays[:, :2] / rays[:, 2:]
            return out
        src = full.reshape(-1, 1, 2)
        if self.distortion_model == "equidistant":
            und = cv2.fisheye.undistortPoints(src, self.k, self.d,
                                              criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12))
        elif self.distortion_model == "none":
            y = (full[:, 1] - self.k[1, 2]) / self.k[1, 1]
            x = (full[:, 0] - self.k[0, 2] - self.k[0, 1] * y) / self.k[0, 0]
            out[ok] = np.stack([x, y], axis=1)
            return out
        else:
            und = cv2.undistortPointsIter(src, self.k, self.d, None, None,
                                          (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12))
        out[ok] = und.reshape(-1, 2)
        return out

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """``(N, 3)`` points in the camera optical frame (metres, ``z > 0``) to ``(N, 2)`` pixels of
        the processed image (with distortion for raw images)."""
        pts = np.asarray(points_cam, dtype=np.float64).reshape(-1, 3)
        if self.rectified:
            q = pts @ self.r.T @ self.p[:, :3].T
            full = q[:, :2] / q[:, 2:]
        elif self.distortion_model == "none":
            q = pts @ self.k.T
            full = q[:, :2] / q[:, 2:]
        elif self.distortion_model == "equidistant":
            full = cv2.fisheye.projectPoints(pts.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), self.k, self.d)[0].reshape(-1, 2)
        else:
            full = cv2.projectPoints(pts.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), self.k, self.d)[0].reshape(-1, 2)
        return self._from_full(full)

    def describe(self) -> str:
        """One line: size, focal length, distortion, which matrix is used."""
        src = "P (rectified images)" if self.rectified else "K" + ("" if self.distortion_model == "none" else " + D")
        return (f"{self.name + ': ' if self.name else ''}{self.width}x{self.height}, f = {self.focal_px:.1f} px, "
                f"distortion {self.distortion_model}, using {src}")


def camera_from_info(msg: Any, *, rectified: bool) -> CameraModel:
    """A checked :class:`CameraModel` from a ``sensor_msgs/CameraInfo`` (any object with its fields).

    Args:
        rectified: the images it goes with are rectified (use ``P``), else raw (``K`` and ``D``).

    Raises:
        InvalidIntrinsicsError: anything the model refuses (one-line message, ``reason`` set).
    """
    roi = msg.roi
    return CameraModel.from_calibration(
        width=int(msg.width), height=int(msg.height), k=np.asarray(msg.k, dtype=np.float64),
        distortion_model=msg.distortion_model, d=np.asarray(msg.d, dtype=np.float64),
        r=np.asarray(msg.r, dtype=np.float64), p=np.asarray(msg.p, dtype=np.float64), rectified=rectified,
        binning=(int(msg.binning_x), int(msg.binning_y)),
        roi=(int(roi.x_offset), int(roi.y_offset), int(roi.width), int(roi.height)),
    )


def camera_info_fields(camera: CameraModel) -> dict:
    """The ``sensor_msgs/CameraInfo`` fields (without header) that :func:`camera_from_info` turns back
    into ``camera``: ``K``, ``D`` and its model, ``R``, ``P``, binning and region of interest.

    The calibrated size is the smallest that holds the region of interest (the model does not keep
    the sensor's full size, and nothing it computes depends on it).
    """
    bx, by = camera.binning
    x_off, y_off = camera.roi_offset
    roi_w, roi_h = camera.width * bx, camera.height * by
    full = (x_off, y_off) == (0, 0)
    p = camera.p if camera.p is not None else np.hstack([camera.k, np.zeros((3, 1))])
    return {"height": y_off + roi_h, "width": x_off + roi_w,
            "distortion_model": "plumb_bob" if camera.distortion_model == "none" else camera.distortion_model,
            "d": np.zeros(5) if camera.distortion_model == "none" else np.asarray(camera.d, dtype=np.float64),
            "k": camera.k.reshape(-1), "r": camera.r.reshape(-1), "p": p.reshape(-1),
            "binning_x": bx, "binning_y": by,
            "roi": {"x_offset": x_off, "y_offset": y_off, "height": 0 if full else roi_h, "width": 0 if full else roi_w,
                    "do_rectify": False}}


class CameraFileError(ValueError):
    """A camera calibration file that cannot be read or is inconsistent (the message is one line)."""


def load_camera_yaml(path: str | Path, *, rectified: bool = False) -> CameraModel:
    """Read a camera calibration in the YAML format of ROS's ``camera_calibration``.

    Keys: ``image_width``, ``image_height``, ``camera_name`` (optional), ``camera_matrix``,
    ``distortion_model``, ``distortion_coefficients``, ``rectification_matrix`` (optional),
    ``projection_matrix`` (optional; required with ``rectified``); each matrix is a mapping
    with ``rows``, ``cols`` and ``data`` (row-major).

    Raises:
        CameraFileError: unreadable file, YAML syntax error, missing keys, sizes that do not
            match ``rows x cols``, or values :class:`CameraModel` refuses (one-line message
            naming the file).
    """
    import yaml

    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as e:
        raise CameraFileError(f"{path}: cannot read the camera file: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise CameraFileError(f"{path}: not valid YAML{where}: {getattr(e, 'problem', None) or e}") from None
    if not isinstance(doc, dict):
        raise CameraFileError(f"{path}: not a camera calibration (expected a YAML mapping with camera_matrix ...)")

    def need(key: str) -> Any:
        if key not in doc:
            raise CameraFileError(f"{path}: missing key {key!r}")
        return doc[key]

    def matrix(key: str, shape: Optional[tuple[int, int]], required: bool = True) -> Optional[np.ndarray]:
        if key not in doc and not required:
            return None
        m = need(key)
        if not isinstance(m, dict) or "data" not in m:
            raise CameraFileError(f"{path}: {key} must be a mapping with rows, cols and data")
        try:
            data = np.asarray(m["data"], dtype=np.float64).reshape(-1)
            rows, cols = int(m.get("rows", 0)), int(m.get("cols", 0))
        except (TypeError, ValueError):
            raise CameraFileError(f"{path}: {key} holds values that are not numbers") from None
        if rows * cols != data.size:
            raise CameraFileError(f"{path}: {key} declares {rows}x{cols} but holds {data.size} values")
        if shape is not None and (rows, cols) != shape:
            raise CameraFileError(f"{path}: {key} must be {shape[0]}x{shape[1]}, got {rows}x{cols}")
        return data

    width, height = need("image_width"), need("image_height")
    try:
        width, height = int(width), int(height)
    except (TypeError, ValueError):
        raise CameraFileError(f"{path}: image_width and image_height must be integers") from None
    k = matrix("camera_matrix", (3, 3))
    d = matrix("distortion_coefficients", None, required=False)
    r = matrix("rectification_matrix", (3, 3), required=False)
    p = matrix("projection_matrix", (3, 4), required=False)
    model = doc.get("distortion_model", "") or ""
    if not isinstance(model, str):
        raise CameraFileError(f"{path}: distortion_model must be a string, got {model!r}")
    try:
        return CameraModel.from_calibration(width=width, height=height, k=k, distortion_model=model,
                                            d=() if d is None else d, r=r, p=p, rectified=rectified,
                                            name=str(doc.get("camera_name", "") or ""))
    except InvalidIntrinsicsError as e:
        raise CameraFileError(f"{path}: {e}") from None
