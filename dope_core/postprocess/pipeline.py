"""Per image: network outputs -> per-part detections -> :class:`PartPose` -> people.

The hand/face-to-body assignment is :func:`dope_core.fusion.assemble` (shared with the
experts backend). Settings live in :class:`PostprocessConfig`, which checkpoints store.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
from torch import Tensor

from dope_core.fusion import assemble
from dope_core.keypoints import Part
from dope_core.postprocess.detections import PartDetections
from dope_core.postprocess.nms import pose_nms
from dope_core.postprocess.ppi import pose_proposal_integration
from dope_core.structures import Handedness, PartPose, WholeBodyPoses

METHODS = ("ppi", "nms")
AXES_3D = ("camera", "y_up")
"""Axes of the network's 3D output: ``camera`` (x right, y down, z forward, our data
model) or ``y_up`` (x right, y up, z backward; converted to camera axes by a 180 degree
rotation about x, i.e. negating y and z)."""

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
        min_score: detections below this final score are dropped (all parts).
        axes_3d: axes of the network's 3D output (see :data:`AXES_3D`).
        right_hand_first: hand anchor classes ``[0, K/2)`` are right hands, the rest left
            (the release's convention), when True; no handedness is set when False.
    """

    method: str = "ppi"
    ppi: dict[str, dict[str, float]] = field(default_factory=lambda: {p: dict(v) for p, v in DEFAULT_PPI.items()})
    nms: dict[str, dict[str, float]] = field(default_factory=lambda: {p.value: {} for p in Part})
    min_score: float = 0.3
    axes_3d: str = "camera"
    right_hand_first: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"post-processing method must be one of {METHODS}, got {self.method!r}")
        if self.axes_3d not in AXES_3D:
            raise ValueError(f"axes_3d must be one of {AXES_3D}, got {self.axes_3d!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PostprocessConfig":
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown post-processing settings {sorted(unknown)}")
        return cls(**d)


def part_detections(part: str, det: Mapping[str, Tensor], config: PostprocessConfig) -> PartDetections:
    """Detections of ``part`` from one image's network output (:mod:`dope_core.model.roi_heads`)."""
    scores = det[f"{part}_scores"].float().cpu().numpy()
    pose2d = det[f"{part}_pose2d"].float().cpu().numpy()
    pose3d = det[f"{part}_pose3d"].float().cpu().numpy()
    if config.method == "nms":
        dets = pose_nms(scores, pose2d, pose3d, **config.nms.get(part, {}))
    else:
        dets = pose_proposal_integration(scores, pose2d, pose3d, **config.ppi.get(part, {}))
    keep = dets.scores >= config.min_score
    return PartDetections(dets.scores[keep], dets.boxes[keep], dets.pose2d[keep], dets.pose3d[keep], dets.classes[keep])


def to_part_poses(part: Part | str, dets: PartDetections, *, num_anchor_poses: int,
                  config: PostprocessConfig) -> list[PartPose]:
    """:class:`PartPose` objects (per-keypoint confidence = detection score).

    Hands get their handedness from the anchor class (``class < K/2`` is a right hand
    when ``config.right_hand_first``); 3D poses are converted to camera axes.
    """
    part = Part(part)
    pose3d = dets.pose3d.copy()
    if config.axes_3d == "y_up":
        pose3d[..., 1:3] *= -1.0
    out = []
    for i in range(len(dets)):
        handedness = None
        if part is Part.HAND and config.right_hand_first:
            handedness = Handedness.RIGHT if dets.classes[i] < num_anchor_poses / 2 else Handedness.LEFT
        out.append(PartPose(part=part, score=float(dets.scores[i]), box=dets.boxes[i], keypoints_2d=dets.pose2d[i],
                            keypoints_3d=pose3d[i], confidence=np.full(part.num_keypoints, float(dets.scores[i])),
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
    return assemble(poses[Part.BODY], poses[Part.HAND], poses[Part.FACE], image_size=image_size, backend=backend)
