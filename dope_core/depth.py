"""A depth image aligned with the colour image fixes each person's distance.

A single image leaves a person's distance uncertain by the spread of body sizes (about
6 %, :class:`dope_core.placement.AnthropometricPriors`); a depth camera measures it.
:func:`decode_depth` reads a depth image (``16UC1``/``mono16`` in millimetres or
``32FC1`` in metres, as ROS depth drivers publish them; 0, NaN and infinities are
holes), and :func:`fix_distances` moves each placed person along the camera rays:

1. at each confident root keypoint of the body (both hips and both shoulders) the
   depth is the median of a small window (``window_px`` around the pixel), holes and
   values outside ``[min_m, max_m]`` ignored, plus ``surface_to_joint_m`` (a joint
   lies behind the skin the camera sees);
2. each keypoint gives the ratio of that measured depth to the placed one; ratios
   further than ``max_deviation`` from their median are rejected as outliers (an arm
   in front of the hip, the background through a gap);
3. the person (body and the parts attached to it) is scaled about the camera centre by
   the median ratio: every part keeps its image position and the person takes the
   measured distance (and, with it, its measured size).

The body's placement becomes ``depth``; its one-sigma uncertainty is the spread of the
kept ratios times the distance, plus ``surface_sigma_m`` (how far joints lie behind the
surface varies with pose and clothing). Depth must be registered to the colour image
(same size, same intrinsics), as drivers publish on ``aligned_depth_to_color``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from dope_core.keypoints import BODY_JOINTS
from dope_core.structures import PartPose, Person, PlacementSource, WholeBodyPoses

DEPTH_ENCODINGS: dict[str, tuple[str, float]] = {
    "16UC1": ("u2", 0.001),
    "mono16": ("u2", 0.001),
    "32FC1": ("f4", 1.0),
}
"""Depth encodings: numpy element type and metres per unit."""

ROOT_KEYPOINTS = tuple(BODY_JOINTS.index(n) for n in ("right_hip", "left_hip", "right_shoulder", "left_shoulder"))
"""Body joints whose depth fixes the person's distance."""


class DepthError(ValueError):
    """A depth image that cannot be used (the message says why, in one line).

    Attributes:
        reason: ``encoding``, ``size`` or ``data``.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def decode_depth(*, encoding: str, height: int, width: int, step: int, is_bigendian: bool, data: bytes) -> np.ndarray:
    """A depth image as ``(height, width)`` float32 metres, NaN where the sensor has no value.

    Raises:
        DepthError: an encoding other than ``16UC1``, ``mono16`` or ``32FC1``, a zero size, or a
            ``step``/data length that does not hold the rows.
    """
    if encoding not in DEPTH_ENCODINGS:
        raise DepthError(f"depth encoding {encoding!r} is not supported (16UC1 or mono16 in mm, 32FC1 in m)", "encoding")
    kind, unit = DEPTH_ENCODINGS[encoding]
    dtype = np.dtype(kind).newbyteorder(">" if is_bigendian else "<")
    if height <= 0 or width <= 0:
        raise DepthError(f"depth image has zero size ({width}x{height})", "size")
    row = width * dtype.itemsize
    if step < row or len(data) < step * (height - 1) + row:
        raise DepthError(f"depth image {width}x{height} {encoding}: step {step} and {len(data)} bytes do not hold "
                         f"the rows", "data")
    buf = np.frombuffer(data, dtype=np.uint8, count=step * (height - 1) + row)
    rows = np.lib.stride_tricks.as_strided(buf, shape=(height, row), strides=(step, 1))
    values = np.ascontiguousarray(rows).view(dtype).reshape(height, width).astype(np.float32) * np.float32(unit)
    values[~np.isfinite(values) | (values <= 0)] = np.nan
    return values


@dataclass(frozen=True)
class DepthSettings:
    """How depth fixes distances (see the module docstring).

    Attributes:
        window_px: half-side of the window sampled around each keypoint, pixels.
        min_m, max_m: depth values outside this range (metres) are ignored.
        min_samples: fewest valid values in a window for its keypoint to count.
        surface_to_joint_m: added to the measured surface depth to reach the joint centre.
        surface_sigma_m: one-sigma spread of that offset, metres (added to the uncertainty).
        max_deviation: keypoints whose ratio differs from the median by more than this
            fraction are outliers.
        root_keypoints: body joints sampled.
    """

    window_px: int = 2
    min_m: float = 0.1
    max_m: float = 20.0
    min_samples: int = 3
    surface_to_joint_m: float = 0.07
    surface_sigma_m: float = 0.04
    max_deviation: float = 0.1
    root_keypoints: tuple[int, ...] = field(default=ROOT_KEYPOINTS)


def window_depth(depth_m: np.ndarray, uv: np.ndarray, settings: DepthSettings = DepthSettings()) -> Optional[float]:
    """Median depth (metres) of the valid values in the window around pixel ``uv``, or ``None``."""
    h, w = depth_m.shape
    if not np.all(np.isfinite(uv)):
        return None
    c, r = int(math.floor(uv[0])), int(math.floor(uv[1]))
    k = settings.window_px
    patch = depth_m[max(r - k, 0):min(r + k + 1, h), max(c - k, 0):min(c + k + 1, w)]
    values = patch[np.isfinite(patch) & (patch >= settings.min_m) & (patch <= settings.max_m)]
    if values.size < settings.min_samples:
        return None
    return float(np.median(values))


def person_depth_ratio(body: PartPose, depth_m: np.ndarray, settings: DepthSettings = DepthSettings(),
                       *, min_confidence: float = 0.1) -> Optional[tuple[float, float]]:
    """``(ratio, relative spread)``: measured over placed depth of the body's root keypoints, or ``None``
    when no root keypoint has usable depth (holes, off the image, not confident, body not placed)."""
    placed = body.keypoints_3d_camera
    if placed is None:
        return None
    ratios = []
    for j in settings.root_keypoints:
        if body.confidence[j] < min_confidence or placed[j, 2] <= 0:
            continue
        z = window_depth(depth_m, body.keypoints_2d[j], settings)
        if z is not None:
            ratios.append((z + settings.surface_to_joint_m) / placed[j, 2])
    if not ratios:
        return None
    r = np.asarray(ratios)
    kept = r[np.abs(r / np.median(r) - 1.0) <= settings.max_deviation]
    if kept.size == 0:
        kept = r
    ratio = float(np.median(kept))
    spread = float(np.std(kept) / ratio / math.sqrt(kept.size)) if kept.size > 1 else 0.0
    return ratio, spread


def _scaled(pose: PartPose, s: float) -> PartPose:
    return replace(pose, keypoints_3d=pose.keypoints_3d * s, root_camera=pose.root_camera * s)


def fix_person(person: Person, depth_m: np.ndarray, settings: DepthSettings = DepthSettings(),
               *, min_confidence: float = 0.1) -> Optional[Person]:
    """``person`` moved to the depth image's distance, or ``None`` when its depth is unusable."""
    body = person.body
    if body is None or body.root_camera is None:
        return None
    found = person_depth_ratio(body, depth_m, settings, min_confidence=min_confidence)
    if found is None:
        return None
    s, spread = found
    z = float(body.root_camera[2]) * s
    sd_body = math.hypot(spread * z, settings.surface_sigma_m)
    out = {"body": replace(_scaled(body, s), placement=PlacementSource.DEPTH, placement_uncertainty=sd_body)}
    old_body_sd = body.placement_uncertainty or 0.0
    for slot, pose in person.parts():
        if slot != "body" and pose.placement is PlacementSource.BODY_ANCHORED and pose.root_camera is not None:
            own = max((pose.placement_uncertainty or 0.0) ** 2 - old_body_sd ** 2, 0.0)
            out[slot] = replace(_scaled(pose, s), placement_uncertainty=math.sqrt(sd_body ** 2 + own))
    return replace(person, **out)


@dataclass
class DepthReport:
    """What :func:`fix_distances` did: people moved to the measured distance, people left as they were."""

    fixed: int = 0
    without_depth: int = 0


def fix_distances(poses: WholeBodyPoses, depth_m: np.ndarray, settings: DepthSettings = DepthSettings(),
                  *, min_confidence: float = 0.1) -> tuple[WholeBodyPoses, DepthReport]:
    """A copy of ``poses`` with every placed person at the distance the depth image measures.

    Args:
        depth_m: ``(H, W)`` metres (NaN: no value), registered to the image of ``poses``.

    Raises:
        DepthError: ``depth_m`` is not the size of the image (``size``).
    """
    if depth_m.shape != (poses.image_size[1], poses.image_size[0]):
        raise DepthError(f"depth image is {depth_m.shape[1]}x{depth_m.shape[0]}, the colour image "
                         f"{poses.image_size[0]}x{poses.image_size[1]} (depth must be registered to it)", "size")
    report = DepthReport()
    people = []
    for person in poses.people:
        moved = fix_person(person, depth_m, settings, min_confidence=min_confidence)
        if moved is None:
            if person.body is not None and person.body.root_camera is not None:
                report.without_depth += 1
            people.append(person)
        else:
            report.fixed += 1
            people.append(moved)
    return replace(poses, people=people), report
