"""Per image: network outputs -> per-part detections -> :class:`PartPose` -> people.

The hand/face-to-body assignment is :func:`dope_core.fusion.assemble` (shared with the
experts backend). Settings live in :class:`PostprocessConfig`, which checkpoints store.
"""

from __future__ import annotations

import inspect
import math
import numbers
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
from torch import Tensor

from dope_core.anchors import LOWER_BODY_JOINTS
from dope_core.codecs.release import release_to_public
from dope_core.fusion import assemble
from dope_core.keypoints import BODY_LEFT_WRIST, BODY_RIGHT_WRIST, HAND_WRIST, Part
from dope_core.postprocess.detections import PartDetections
from dope_core.postprocess.nms import pose_nms
from dope_core.postprocess.ppi import pose_proposal_integration
from dope_core.structures import Handedness, PartPose, Person, WholeBodyPoses

METHODS = ("ppi", "nms")
CONVENTIONS = ("project", "release")
"""Conventions of the network's raw poses: ``project`` (camera optical axes, bodies
centred on the mid-hips, public hand order: what the project's trainer produces) or
``release`` (the DOPE release's; mapped by :func:`dope_core.codecs.release.release_to_public`)."""

DEFAULT_MIN_SCORE: dict[str, float] = {"body": 2.0, "hand": 0.3, "face": 0.5}
"""Final thresholds of the project's students on summed PPI scores (the shipped student's
ghost groups score up to about 1.9 for bodies, its people 2.7 to 15; chosen on 8 photos,
docs/network.md)."""

DEFAULT_PPI: dict[str, dict[str, float]] = {
    "body": {"pose3d_threshold": 0.3},
    "hand": {"pose3d_threshold": 0.05},
    "face": {"pose3d_threshold": 0.05},
}

_INF = math.inf
PPI_RANGES: dict[str, tuple[type, float, float]] = {
    "score_threshold": (float, 0.0, 1.0), "iou_threshold": (float, 0.0, 1.0), "pose3d_threshold": (float, 0.0, 100.0),
    "min_mode_score": (float, 0.0, _INF), "detection_threshold": (float, 0.0, _INF),
    "upper_body_from": (int, 0, 100_000), "lower_weight": (float, 0.0, 1.0), "max_candidates": (int, 1, 10_000_000),
}
"""Numeric settings of :func:`pose_proposal_integration`: type and inclusive range (finite numbers only);
``score_threshold`` and ``upper_body_from`` may also be ``None``; ``lower_joints`` is a list of joint indices."""
NMS_RANGES: dict[str, tuple[type, float, float]] = {
    "min_score": (float, 0.0, 1.0), "iou_threshold": (float, 0.0, 1.0), "box_margin": (float, 0.0, 100.0)}
"""Settings of :func:`pose_nms`: type and inclusive range."""


@dataclass
class PostprocessConfig:
    """Post-processing settings of a network.

    Attributes:
        method: ``"ppi"`` (pose-proposal integration) or ``"nms"``.
        ppi: ``{part: keyword arguments of pose_proposal_integration}``.
        nms: ``{part: keyword arguments of pose_nms}``.
        min_score: PPI detections below this summed score are dropped: one number for
            all parts or ``{part: number}`` (NMS has its own ``min_score`` in ``nms``,
            0.3 by default).
        conventions: conventions of the network's raw poses (see :data:`CONVENTIONS`).
        right_hand_first: hand anchor classes below ``right_hand_classes`` are right
            hands, the others left, when True; no handedness is set when False.
        right_hand_classes: number of right-hand anchor classes (the release's hand
            ``K``); ``None``: half of the hand classes.
        wrist_from_hand: after a hand is assigned to a body, the body's wrist 2D becomes
            the hand's wrist (what the release's inference does).
    """

    method: str = "ppi"
    ppi: dict[str, dict[str, Any]] = field(default_factory=lambda: {p: dict(v) for p, v in DEFAULT_PPI.items()})
    nms: dict[str, dict[str, float]] = field(default_factory=lambda: {p.value: {} for p in Part})
    min_score: float | dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIN_SCORE))
    conventions: str = "project"
    right_hand_first: bool = True
    right_hand_classes: Optional[int] = None
    wrist_from_hand: bool = False

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"post-processing method must be one of {METHODS}, got {self.method!r}")
        if self.conventions not in CONVENTIONS:
            raise ValueError(f"conventions must be one of {CONVENTIONS}, got {self.conventions!r}")
        _check_part_settings("ppi", self.ppi, pose_proposal_integration, PPI_RANGES)
        _check_part_settings("nms", self.nms, pose_nms, NMS_RANGES)
        _check_min_score(self.min_score)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PostprocessConfig":
        """Settings from :meth:`to_dict`'s output; files written before ``conventions``
        existed hold ``axes_3d: "camera"``, which means the project's conventions; their
        ``min_score`` applied to another PPI score (the largest mass of one proposal, at
        most 1), so it is replaced by :data:`DEFAULT_MIN_SCORE` for summed scores."""
        d = dict(d)
        if "axes_3d" in d:
            legacy_axes = d.pop("axes_3d")
            if legacy_axes != "camera":
                raise ValueError(f"axes_3d {legacy_axes!r} is not supported (only 'camera', the project's conventions)")
            d.pop("min_score", None)
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown post-processing settings {sorted(unknown)}")
        return cls(**d)


def _check_part_settings(name: str, settings: Any, func: Callable[..., Any],
                         ranges: Mapping[str, tuple[type, float, float]]) -> None:
    """Check ``{part: keyword arguments of func}`` as the pipeline will call ``func`` with them.

    Raises:
        ValueError: not a dict of dicts, an unknown part or keyword, a value of the wrong type or out of range.
    """
    if not isinstance(settings, Mapping) or not all(isinstance(v, Mapping) for v in settings.values()):
        raise ValueError(f"{name} must be {{part: {{setting: value}}}}, got {_short(settings)}")
    unknown = set(settings) - {p.value for p in Part}
    if unknown:
        raise ValueError(f"{name} has unknown parts {sorted(map(str, unknown))}")
    known = [k for k, p in inspect.signature(func).parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    for part, kwargs in settings.items():
        for key, value in kwargs.items():
            where = f"{name}[{part!r}][{key!r}]"
            if key not in known:
                raise ValueError(f"{name}[{part!r}] has an unknown setting {key!r} (known: {', '.join(known)})")
            if key == "lower_joints":
                if not isinstance(value, (list, tuple)) or not all(_is_number(j, int, 0, 1000) for j in value):
                    raise ValueError(f"{where} = {_short(value)} must be a list of joint indices")
                continue
            kind, lo, hi = ranges[key]
            if not (value is None and func.__kwdefaults__[key] is None) and not _is_number(value, kind, lo, hi):
                raise ValueError(f"{where} = {_short(value)} is not a{'n' if kind is int else ''} "
                                 f"{kind.__name__} in [{lo:g}, {hi:g}]")


def _check_min_score(min_score: Any) -> None:
    """``min_score`` is one number or a number for each part, each finite and at least 0."""
    values = min_score if isinstance(min_score, Mapping) else {None: min_score}
    parts = {p.value for p in Part}
    if isinstance(min_score, Mapping) and set(min_score) != parts:
        wrong = sorted(map(str, set(min_score) - parts))
        raise ValueError(f"min_score must give a number for each of {sorted(parts)}: "
                         + (f"unknown parts {wrong}" if wrong else f"missing {sorted(parts - set(min_score))}"))
    for part, value in values.items():
        if not _is_number(value, float, 0.0, _INF):
            where = "min_score" if part is None else f"min_score[{part!r}]"
            raise ValueError(f"{where} = {_short(value)} is not a number of at least 0")


def _is_number(value: Any, kind: type, lo: float, hi: float) -> bool:
    """A finite real number (an integer where ``kind`` is int; never a bool) within ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral if kind is int else numbers.Real):
        return False
    return math.isfinite(float(value)) and lo <= value <= hi


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def part_detections(part: str, det: Mapping[str, Tensor], config: PostprocessConfig) -> PartDetections:
    """Detections of ``part`` from one image's network output (:mod:`dope_core.model.roi_heads`),
    in the network's raw conventions."""
    scores = det[f"{part}_scores"].float().cpu().numpy()
    pose2d = det[f"{part}_pose2d"].float().cpu().numpy()
    pose3d = det[f"{part}_pose3d"].float().cpu().numpy()
    if config.method == "nms":
        return pose_nms(scores, pose2d, pose3d, **config.nms.get(part, {}))
    kwargs = dict(config.ppi.get(part, {}))
    if part == Part.BODY.value:
        kwargs.setdefault("lower_joints", LOWER_BODY_JOINTS)
    dets = pose_proposal_integration(scores, det["boxes"].float().cpu().numpy(), pose2d, pose3d, **kwargs)
    threshold = config.min_score[part] if isinstance(config.min_score, Mapping) else config.min_score
    keep = dets.scores >= threshold
    return PartDetections(dets.scores[keep], dets.boxes[keep], dets.pose2d[keep], dets.pose3d[keep], dets.classes[keep])


def to_part_poses(part: Part | str, dets: PartDetections, *, num_anchor_poses: int,
                  config: PostprocessConfig) -> list[PartPose]:
    """:class:`PartPose` objects in the public conventions.

    Poses in the release's conventions are mapped (:func:`release_to_public`). A
    detection's score (PPI: a sum of proposal scores, which can exceed 1) is clipped to
    1 and is also each keypoint's confidence; the order of ``dets`` is kept. Hands get
    their handedness from the anchor class (see :class:`PostprocessConfig`).
    """
    part = Part(part)
    pose2d, pose3d = dets.pose2d, dets.pose3d
    if config.conventions == "release":
        pose2d, pose3d = release_to_public(part, pose2d, pose3d)
    right_classes = config.right_hand_classes if config.right_hand_classes is not None else num_anchor_poses / 2
    out = []
    for i in range(len(dets)):
        handedness = None
        if part is Part.HAND and config.right_hand_first:
            handedness = Handedness.RIGHT if dets.classes[i] < right_classes else Handedness.LEFT
        score = min(1.0, float(dets.scores[i]))
        out.append(PartPose(part=part, score=score, box=dets.boxes[i], keypoints_2d=pose2d[i],
                            keypoints_3d=pose3d[i], confidence=np.full(part.num_keypoints, score),
                            handedness=handedness))
    return out


def detections_to_poses(det: Mapping[str, Tensor], *, image_size: tuple[int, int], parts: Sequence[Part | str],
                        num_anchor_poses: Mapping[str, int], config: PostprocessConfig,
                        backend: str = "network") -> WholeBodyPoses:
    """People in one image from its network output.

    Args:
        det: the network's detections of the image.
        image_size: ``(width, height)`` pixels.
        parts: the parts to report (others are left out).
        num_anchor_poses: ``{part: K}``.
        config: post-processing settings.
    """
    wanted = {Part(p) for p in parts}
    poses = {p: to_part_poses(p, part_detections(p.value, det, config), num_anchor_poses=num_anchor_poses[p.value],
                              config=config) if p in wanted else [] for p in Part}
    result = assemble(poses[Part.BODY], poses[Part.HAND], poses[Part.FACE], image_size=image_size, backend=backend)
    if config.wrist_from_hand:
        for person in result.people:
            _wrists_from_hands(person)
    return result


def _wrists_from_hands(person: Person) -> None:
    """Set the body's wrist 2D of each assigned hand to that hand's wrist (pixels)."""
    if person.body is None:
        return
    kp = person.body.keypoints_2d.copy()
    for hand, joint in ((person.right_hand, BODY_RIGHT_WRIST), (person.left_hand, BODY_LEFT_WRIST)):
        if hand is not None:
            kp[joint] = hand.keypoints_2d[HAND_WRIST]
    person.body = replace(person.body, keypoints_2d=kp)
