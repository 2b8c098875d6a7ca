"""Per image: network outputs -> per-part detections -> :class:`PartPose` -> people.

The hand/face-to-body assignment is :func:`dope_core.fusion.assemble` (shared with the
experts backend). Settings live in :class:`PostprocessConfig`, which checkpoints store.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Mapping, Optional, Sequence

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
