"""Metric placement of each person in the camera optical frame: one skeleton per person.

DOPE predicts each part's 3D keypoints relative to the part's root (metres, axes of
the camera optical frame: x right, y down, z forward). Placing a part means finding
its root's position ``t`` in the camera frame (:attr:`PartPose.root_camera`).

**Common scale.** The experts' metric scales disagree (their forearms and hands are
shorter than adults'). Before placement hands and faces are brought to anthropometric
priors (:class:`AnthropometricPriors`): a hand is scaled about its wrist to the adult hand
length, a face about its centre to the adult outer eye corner distance. A body keeps
its expert's own scale: its extent across the view fixes its distance, and on the
Human3.6M and MPI-INF-3DHP samples that extent is about right (x and y spreads 0.91 and
0.96 of the ground truth's, median of 8 bodies), its depth spread too (0.88). Its bones
still come out shorter than the priors' (the body expert's shoulder point sits above the
joint centre, among others); stretching its depth until they fit (:func:`body_depth_stretch`,
``PlacementSettings(stretch_body_depth=True)``) makes its 3D shape worse against that ground
truth (root-relative MPJPE 146 -> 171 mm), so it is off by default.

**The fit.** For a keypoint with part-relative position ``(X, Y, Z)`` and ray
``(x, y, 1)`` (its pixel, undistorted and normalised by :class:`~dope_core.camera.CameraModel`),
``(X + tx) = x (Z + tz)`` and ``(Y + ty) = y (Z + tz)``: linear in ``t``, and each
residual is the point's lateral distance from its ray in metres. All parts of one
person are solved in **one** weighted least-squares problem with one translation per
part: the reprojection rows of every part (weight: confidence / ``keypoint_sigma_m``
of the part squared) plus strong prior rows tying the shared joints (3 rows each,
weight ``1 / tie_sigma_m^2``):

* each assigned hand's wrist to its body's wrist (same joint);
* the face's ear-level point (the middle of its two outermost contour points, which
  the face mesh puts at the ears) to the body's ear level: ``head_top_to_ears_m``
  below the head top along the line to the middle of the shoulders (the body's head
  top is built from the ears along that line, :mod:`dope_core.experts.mapping`).

So the body is placed by its own 2D keypoints and the hands and face it carries, and
each hand and face hangs where its body's wrist and head are, while its own 2D
keypoints set its orientation-free offset. A hand whose body wrist is not confident,
a face whose body head is not, and parts of no body are placed alone and say so.

**What each part records** (:class:`PlacementSource`): ``monocular`` (its own fit at
the prior scale), ``body_anchored`` (tied to its body), ``depth`` (the person's
distance fixed by a depth image, :mod:`dope_core.depth`), and a one-sigma
uncertainty in metres: the fit's covariance plus the scale prior's relative spread
times the distance (the dominant term for a single camera).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Optional, Sequence

import numpy as np

from dope_core.camera import CameraModel, InvalidIntrinsicsError, validate_intrinsics
from dope_core.keypoints import BODY_HEAD, BODY_JOINTS, BODY_LEFT_WRIST, BODY_RIGHT_WRIST, HAND_JOINTS, HAND_WRIST, Part
from dope_core.structures import PartPose, Person, PlacementSource, WholeBodyPoses

__all__ = ["AnthropometricPriors", "PlacementSettings", "InvalidIntrinsicsError", "validate_intrinsics",
           "solve_translation", "part_scale", "body_depth_stretch", "scale_to_priors", "measure_part", "face_anchor", "body_face_anchor",
           "place_person", "place_poses"]

_B = BODY_JOINTS.index
_SHOULDERS = (_B("right_shoulder"), _B("left_shoulder"))
_HAND_CHAIN = (HAND_WRIST,) + tuple(HAND_JOINTS.index(f"middle_{j}") for j in ("mcp", "pip", "dip", "tip"))
FACE_EYE_CORNERS = (52, 61)
"""Face landmarks of the right and left outer eye corners (iBUG-68 points 36 and 45)."""
FACE_EAR_POINTS = (0, 32)
"""Face landmarks at the two ends of the jaw contour, next to the ears."""


@dataclass(frozen=True)
class AnthropometricPriors:
    """Adult body dimensions that bring every part to one metric scale (metres).

    Sources:

    * segment lengths as fractions of stature, joint centre to joint centre: Drillis
      and Contini (1966), "Body segment parameters", as tabulated in D. A. Winter,
      *Biomechanics and Motor Control of Human Movement* (4th ed., 2009, fig. 4.1):
      upper arm 0.186, forearm 0.146, thigh 0.245, shank 0.246, shoulder to hip
      (0.818 - 0.530) 0.288;
    * stature 1.70 m: about the mean of adult men (about 1.76 m) and women (about
      1.63 m) in Europe and North America (NCD Risk Factor Collaboration, "A century
      of trends in adult human height", eLife 2016); adult stature varies by about
      4 % (one sigma) within each sex;
    * hand length (wrist crease to the middle fingertip) 0.18 m: between the adult
      male (about 0.19 m) and female (about 0.175 m) means of S. Pheasant,
      *Bodyspace* (3rd ed., 2006), also 0.108 x 1.70 m in Drillis and Contini;
    * outer eye corner distance (biocular breadth, ex-ex) 0.09 m: about the adult
      mean of L. G. Farkas, *Anthropometry of the Head and Face* (1994), men about
      0.091 m, women about 0.088 m;
    * head top to ear level 0.13 m: about 0.85 of the bitragion breadth (about
      0.145 m, Farkas), the factor with which the body expert builds its head top from
      the ears (:data:`dope_core.experts.mapping.HEAD_TOP_FACTOR`).

    Attributes:
        stature_m: assumed standing height.
        upper_arm, forearm, thigh, shank, trunk: segment lengths as fractions of stature.
        hand_length_m: wrist to middle fingertip along the finger.
        eye_corner_distance_m: between the outer eye corners.
        head_top_to_ears_m: from the head top down to the level of the ears.
        scale_sd: relative one-sigma spread of a person's true scale around these priors
            (stature spread plus the experts' own size errors); used for the uncertainty.
    """

    stature_m: float = 1.70
    upper_arm: float = 0.186
    forearm: float = 0.146
    thigh: float = 0.245
    shank: float = 0.246
    trunk: float = 0.288
    hand_length_m: float = 0.18
    eye_corner_distance_m: float = 0.09
    head_top_to_ears_m: float = 0.13
    scale_sd: float = 0.06

    def __post_init__(self) -> None:
        for name in ("stature_m", "upper_arm", "forearm", "thigh", "shank", "trunk", "hand_length_m",
                     "eye_corner_distance_m", "head_top_to_ears_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"anthropometric prior {name} must be positive, got {value}")
        if not (math.isfinite(self.scale_sd) and self.scale_sd >= 0):
            raise ValueError(f"scale_sd must be non-negative, got {self.scale_sd}")

    def body_bones(self) -> dict[str, tuple[int, int, float]]:
        """Body bones used for the scale: ``name -> (joint a, joint b, prior length in metres)``."""
        h = self.stature_m
        out = {}
        for side in ("right", "left"):
            out[f"{side}_upper_arm"] = (_B(f"{side}_shoulder"), _B(f"{side}_elbow"), self.upper_arm * h)
            out[f"{side}_forearm"] = (_B(f"{side}_elbow"), _B(f"{side}_wrist"), self.forearm * h)
            out[f"{side}_thigh"] = (_B(f"{side}_hip"), _B(f"{side}_knee"), self.thigh * h)
            out[f"{side}_shank"] = (_B(f"{side}_knee"), _B(f"{side}_ankle"), self.shank * h)
            out[f"{side}_trunk"] = (_B(f"{side}_shoulder"), _B(f"{side}_hip"), self.trunk * h)
        return out


@dataclass(frozen=True)
class PlacementSettings:
    """How people are placed (see the module docstring).

    Attributes:
        priors: the scale priors; ``None`` keeps each part at the scale its estimator gave.
        attach: fit each person's parts together (hands at the wrists, face at the head);
            ``False`` places every part alone (the behaviour before per-person placement).
        min_confidence: keypoints below this confidence take no part in the fit or the scale.
        keypoint_sigma_m: typical lateral error of one keypoint per part, metres (3D shape error
            plus 2D error at the part's distance): weighs the parts against each other.
        wrist_tie_sigma_m: how far a hand's wrist may stay from its body's wrist, metres (one sigma).
        face_tie_sigma_m: the same for the face's ear level and the body's.
        min_points: fewest confident keypoints needed to place a part.
        stretch_body_depth: with ``priors``, also stretch each body's depth axis until its bones
            come closest to the priors' (:func:`body_depth_stretch`): consistent bone lengths, at
            the cost of a worse 3D shape on the annotated 3D samples (module docstring).
    """

    priors: Optional[AnthropometricPriors] = field(default_factory=AnthropometricPriors)
    attach: bool = True
    min_confidence: float = 0.1
    keypoint_sigma_m: dict[Part, float] = field(default_factory=lambda: {Part.BODY: 0.03, Part.HAND: 0.01,
                                                                         Part.FACE: 0.01})
    wrist_tie_sigma_m: float = 0.002
    face_tie_sigma_m: float = 0.002
    min_points: int = 3
    stretch_body_depth: bool = False


# ----------------------------------------------------------------------------- sizes
def measure_part(pose: PartPose, *, min_confidence: float = 0.1,
                 priors: Optional[AnthropometricPriors] = None) -> dict[str, float]:
    """Sizes of a part's 3D keypoints in metres, from confident keypoints only.

    Bodies: each bone of :meth:`AnthropometricPriors.body_bones`; hands: ``hand_length``
    (the wrist-to-middle-fingertip chain, unaffected by bent fingers); faces:
    ``eye_corner_distance``. Bones with an unconfident or non-finite end are left out.
    """
    kp, ok = pose.keypoints_3d, (pose.confidence >= min_confidence) & np.all(np.isfinite(pose.keypoints_3d), axis=1)
    out: dict[str, float] = {}
    if pose.part is Part.BODY:
        for name, (a, b, _) in (priors or AnthropometricPriors()).body_bones().items():
            if ok[a] and ok[b]:
                out[name] = float(np.linalg.norm(kp[a] - kp[b]))
    elif pose.part is Part.HAND:
        if ok[list(_HAND_CHAIN)].all():
            out["hand_length"] = float(np.linalg.norm(np.diff(kp[list(_HAND_CHAIN)], axis=0), axis=1).sum())
    else:
        a, b = FACE_EYE_CORNERS
        if ok[a] and ok[b]:
            out["eye_corner_distance"] = float(np.linalg.norm(kp[a] - kp[b]))
    return {k: v for k, v in out.items() if v > 1e-6}


def part_scale(pose: PartPose, priors: AnthropometricPriors, *, min_confidence: float = 0.1) -> Optional[float]:
    """Uniform factor that brings a hand or a face to the priors' size, or ``None`` when nothing can be
    measured (hands: hand length; faces: outer eye corner distance; bodies: ``None``, see
    :func:`body_depth_stretch`)."""
    sizes = measure_part(pose, min_confidence=min_confidence, priors=priors)
    if pose.part is Part.HAND and sizes:
        return priors.hand_length_m / sizes["hand_length"]
    if pose.part is Part.FACE and sizes:
        return priors.eye_corner_distance_m / sizes["eye_corner_distance"]
    return None


def body_depth_stretch(pose: PartPose, priors: AnthropometricPriors, *, min_confidence: float = 0.1) -> Optional[float]:
    """Factor for the depth (z) of a body's part-relative keypoints that brings its bones closest to the priors.

    For consistent bone lengths (``PlacementSettings(stretch_body_depth=True)``), on the
    assumption that a single image fixes a body's extent across the view better than along
    it. That held for BlazePose's full model (a z spread about 1.7 times too small on the
    Human3.6M and MPI-INF-3DHP samples); with the heavy model's refining pass of the default
    experts the z spread is 0.88 of the ground truth's (median of 8 bodies), and the stretch
    makes the shape worse (module docstring). The lateral
    geometry is kept and z is stretched by ``a`` minimising
    ``sum_i (|xy_i|^2 + a^2 z_i^2 - L_i^2)^2 / L_i^4`` over the confident bones (``L_i``
    their prior lengths), clamped to [1, :data:`MAX_DEPTH_STRETCH`]. ``None`` when no bone
    has a depth component.
    """
    bones = priors.body_bones()
    kp = pose.keypoints_3d
    num = den = 0.0
    for name in measure_part(pose, min_confidence=min_confidence, priors=priors):
        a, b, length = bones[name]
        d = kp[a] - kp[b]
        w = 1.0 / length ** 4
        num += w * d[2] ** 2 * (length ** 2 - d[0] ** 2 - d[1] ** 2)
        den += w * d[2] ** 4
    if den <= 1e-12:
        return None
    return float(np.clip(math.sqrt(max(num / den, 0.0)), 1.0, MAX_DEPTH_STRETCH))


MAX_DEPTH_STRETCH = 3.0
"""Largest depth stretch :func:`body_depth_stretch` applies."""


def face_anchor(face: PartPose) -> np.ndarray:
    """The face's ear-level point, part-relative metres: the middle of its two outermost contour points."""
    return face.keypoints_3d[list(FACE_EAR_POINTS)].mean(axis=0)


def body_face_anchor(body: PartPose, head_top_to_ears_m: float) -> Optional[np.ndarray]:
    """The body's ear-level point, part-relative metres: ``head_top_to_ears_m`` below the head top
    towards the middle of the shoulders (``None`` when head top and shoulders coincide)."""
    top = body.keypoints_3d[BODY_HEAD]
    down = body.keypoints_3d[list(_SHOULDERS)].mean(axis=0) - top
    n = float(np.linalg.norm(down))
    if not math.isfinite(n) or n < 1e-6:
        return None
    return top + down / n * head_top_to_ears_m


# ----------------------------------------------------------------------------- the fit
def _rays(points_2d: np.ndarray, camera: CameraModel | np.ndarray) -> np.ndarray:
    if isinstance(camera, CameraModel):
        return camera.normalize(points_2d)
    k = validate_intrinsics(camera)
    p = np.asarray(points_2d, dtype=np.float64)
    y = (p[:, 1] - k[1, 2]) / k[1, 1]
    x = (p[:, 0] - k[0, 2] - k[0, 1] * y) / k[0, 0]
    return np.stack([x, y], axis=1)


@dataclass
class _Block:
    """One part in the fit: relative 3D (metres), rays, row weights (1 / metres^2)."""

    rel: np.ndarray
    xy: np.ndarray
    w: np.ndarray


def _fit(blocks: Sequence[_Block], ties: Sequence[tuple[int, Optional[int], np.ndarray, float]] = ()
         ) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """Solve ``(P, 3)`` translations and their ``(3P, 3P)`` covariance (metres).

    ``ties``: ``(i, j, offset, weight)`` meaning ``t_i - t_j = offset`` (``t_i = offset`` when ``j`` is ``None``),
    each a prior of three rows with the given weight (1 / metres^2).
    """
    n_par = 3 * len(blocks)
    rows_a, rows_b, rows_w = [], [], []
    for i, blk in enumerate(blocks):
        n = len(blk.rel)
        a = np.zeros((2 * n, n_par))
        a[:n, 3 * i] = 1.0
        a[:n, 3 * i + 2] = -blk.xy[:, 0]
        a[n:, 3 * i + 1] = 1.0
        a[n:, 3 * i + 2] = -blk.xy[:, 1]
        rows_a.append(a)
        rows_b.append(np.concatenate([blk.xy[:, 0] * blk.rel[:, 2] - blk.rel[:, 0],
                                      blk.xy[:, 1] * blk.rel[:, 2] - blk.rel[:, 1]]))
        rows_w.append(np.concatenate([blk.w, blk.w]))
    for i, j, offset, weight in ties:
        a = np.zeros((3, n_par))
        a[:, 3 * i:3 * i + 3] = np.eye(3)
        if j is not None:
            a[:, 3 * j:3 * j + 3] = -np.eye(3)
        rows_a.append(a)
        rows_b.append(np.asarray(offset, dtype=np.float64))
        rows_w.append(np.full(3, weight))
    a, b, w = np.concatenate(rows_a), np.concatenate(rows_b), np.concatenate(rows_w)
    sw = np.sqrt(w)
    aw, bw = a * sw[:, None], b * sw
    t, _, rank, _ = np.linalg.lstsq(aw, bw, rcond=None)
    if rank < n_par or not np.all(np.isfinite(t)):
        return None
    t = t.reshape(-1, 3)
    for i, blk in enumerate(blocks):
        if np.any(blk.rel[:, 2] + t[i, 2] <= 0):
            return None
    dof = max(len(b) - n_par, 1)
    chi2 = float(np.sum((aw @ t.reshape(-1) - bw) ** 2))
    cov = np.linalg.pinv(aw.T @ aw) * max(1.0, chi2 / dof)
    return t, cov


def _block(pose: PartPose, camera: CameraModel | np.ndarray, settings: PlacementSettings) -> Optional[_Block]:
    xy = _rays(pose.keypoints_2d, camera)
    ok = ((pose.confidence >= settings.min_confidence) & np.all(np.isfinite(xy), axis=1)
          & np.all(np.isfinite(pose.keypoints_3d), axis=1))
    if ok.sum() < settings.min_points:
        return None
    sigma = settings.keypoint_sigma_m[pose.part]
    return _Block(pose.keypoints_3d[ok], xy[ok], pose.confidence[ok] / sigma ** 2)


def solve_translation(
    points_3d: np.ndarray,
    points_2d: np.ndarray,
    camera: CameraModel | np.ndarray,
    weights: Optional[np.ndarray] = None,
    *,
    min_points: int = 3,
) -> Optional[np.ndarray]:
    """Translation (metres, camera optical frame) that best reprojects ``points_3d + t`` on ``points_2d``.

    Args:
        points_3d: ``(J, 3)`` part-relative keypoints in metres.
        points_2d: ``(J, 2)`` keypoints in pixels.
        camera: a :class:`~dope_core.camera.CameraModel` (distortion removed before the fit) or a
            ``(3, 3)`` pinhole matrix (see :func:`~dope_core.camera.validate_intrinsics`).
        weights: ``(J,)`` non-negative weights (confidences); all ones when ``None``.
        min_points: fewest keypoints with positive weight needed.

    Returns:
        ``(3,)`` translation, or ``None`` when there are too few usable keypoints, the
        system is degenerate, or the solution puts a keypoint behind the camera.
    """
    p3 = np.asarray(points_3d, dtype=np.float64)
    xy = _rays(points_2d, camera)
    w = np.ones(len(p3)) if weights is None else np.asarray(weights, dtype=np.float64)
    usable = (w > 0) & np.all(np.isfinite(p3), axis=1) & np.all(np.isfinite(xy), axis=1)
    if usable.sum() < min_points:
        return None
    solved = _fit([_Block(p3[usable], xy[usable], w[usable])], [])
    return None if solved is None else solved[0][0]


def scale_to_priors(pose: PartPose, priors: Optional[AnthropometricPriors], *, min_confidence: float = 0.1,
                    stretch_body_depth: bool = False) -> PartPose:
    """A copy of ``pose`` at the priors' scale: hands and faces scaled about their root
    (:func:`part_scale`), bodies kept at their own scale or, with ``stretch_body_depth``, stretched in
    depth (:func:`body_depth_stretch`); unchanged when ``priors`` is ``None`` or nothing can be
    measured."""
    if priors is None:
        return pose
    if pose.part is Part.BODY:
        a = body_depth_stretch(pose, priors, min_confidence=min_confidence) if stretch_body_depth else None
        return pose if a is None else replace(pose, keypoints_3d=pose.keypoints_3d * np.array([1.0, 1.0, a]))
    s = part_scale(pose, priors, min_confidence=min_confidence)
    return pose if s is None else replace(pose, keypoints_3d=pose.keypoints_3d * s)


def _uncertainty(cov: np.ndarray, i: int, t: np.ndarray, priors: Optional[AnthropometricPriors]) -> float:
    var = float(np.trace(cov[3 * i:3 * i + 3, 3 * i:3 * i + 3]))
    scale_sd = priors.scale_sd if priors is not None else AnthropometricPriors().scale_sd
    return math.sqrt(max(var, 0.0) + (scale_sd * float(np.linalg.norm(t))) ** 2)


def _unplaced(pose: PartPose) -> PartPose:
    return replace(pose, root_camera=None, placement=PlacementSource.NONE, placement_uncertainty=None)


def _place_alone(pose: PartPose, camera: CameraModel | np.ndarray, settings: PlacementSettings) -> PartPose:
    blk = _block(pose, camera, settings)
    solved = _fit([blk], []) if blk is not None else None
    if solved is None:
        return _unplaced(pose)
    t, cov = solved
    return replace(pose, root_camera=t[0], placement=PlacementSource.MONOCULAR,
                   placement_uncertainty=_uncertainty(cov, 0, t[0], settings.priors))


def place_person(person: Person, camera: CameraModel | np.ndarray, settings: PlacementSettings = PlacementSettings()
                 ) -> Person:
    """A copy of ``person`` with its parts at the priors' scale and placed in the camera frame, in one fit.

    Parts that cannot be placed keep ``root_camera = None`` and ``placement = none``.
    """
    mc = settings.min_confidence
    parts = {slot: scale_to_priors(pose, settings.priors, min_confidence=mc, stretch_body_depth=settings.stretch_body_depth)
             for slot, pose in person.parts()}
    body = parts.get("body")
    body_block = _block(body, camera, settings) if body is not None and settings.attach else None
    if body_block is None:
        return replace(person, **{slot: _place_alone(p, camera, settings) for slot, p in parts.items()})
    blocks, slots, ties = [body_block], ["body"], []
    for slot, pose in parts.items():
        if slot == "body":
            continue
        shared = None  # (point of the part, point of the body), part-relative metres
        if slot in ("left_hand", "right_hand"):
            j = BODY_LEFT_WRIST if slot == "left_hand" else BODY_RIGHT_WRIST
            if body.confidence[j] >= mc and pose.confidence[HAND_WRIST] >= mc:
                shared, sigma = (pose.keypoints_3d[HAND_WRIST], body.keypoints_3d[j]), settings.wrist_tie_sigma_m
        else:
            head_ok = body.confidence[BODY_HEAD] >= mc and all(body.confidence[s] >= mc for s in _SHOULDERS)
            ears_ok = all(pose.confidence[e] >= mc for e in FACE_EAR_POINTS)
            anchor = body_face_anchor(body, (settings.priors or AnthropometricPriors()).head_top_to_ears_m) if head_ok else None
            if anchor is not None and ears_ok:
                shared, sigma = (face_anchor(pose), anchor), settings.face_tie_sigma_m
        blk = _block(pose, camera, settings) if shared is not None else None
        if blk is None:
            continue  # placed alone
        ties.append((len(blocks), 0, shared[1] - shared[0], 1.0 / sigma ** 2))
        blocks.append(blk)
        slots.append(slot)
    solved = _fit(blocks, ties)
    if solved is None:  # degenerate together: every part alone
        return replace(person, **{slot: _place_alone(p, camera, settings) for slot, p in parts.items()})
    t, cov = solved
    out = {slot: _place_alone(p, camera, settings) for slot, p in parts.items() if slot not in slots}
    for i, slot in enumerate(slots):
        source = PlacementSource.MONOCULAR if slot == "body" else PlacementSource.BODY_ANCHORED
        out[slot] = replace(parts[slot], root_camera=t[i], placement=source,
                            placement_uncertainty=_uncertainty(cov, i, t[i], settings.priors))
    return replace(person, **out)


def place_poses(poses: WholeBodyPoses, camera: CameraModel | np.ndarray,
                settings: PlacementSettings = PlacementSettings()) -> WholeBodyPoses:
    """A copy of ``poses`` with every person placed (:func:`place_person`) and every unassigned part
    placed alone (``monocular``).

    Args:
        camera: the camera of the image (:class:`~dope_core.camera.CameraModel`, distortion
            handled), or a ``(3, 3)`` pinhole matrix.

    Raises:
        InvalidIntrinsicsError: ``camera`` is not a valid pinhole matrix.
    """
    if not isinstance(camera, CameraModel):
        camera = validate_intrinsics(camera)
    people = [place_person(p, camera, settings) for p in poses.people]
    unassigned = [_place_alone(scale_to_priors(p, settings.priors, min_confidence=settings.min_confidence,
                                               stretch_body_depth=settings.stretch_body_depth), camera, settings)
                  for p in poses.unassigned]
    return replace(poses, people=people, unassigned=unassigned)
