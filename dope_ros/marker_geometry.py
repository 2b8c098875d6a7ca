"""Pose -> 3D skeleton geometry for RViz markers (pure numpy, no ROS).

Everything is in metres in the camera optical frame: only parts placed in it
(``PartPose.root_camera`` known) have geometry. Each part gives the segments of its
skeleton edges and the positions of its joints, keeping keypoints whose confidence
reaches ``min_confidence``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dope_core.draw import UNASSIGNED_COLOUR, person_colour
from dope_core.keypoints import SKELETON_EDGES, Part
from dope_core.structures import PartPose, WholeBodyPoses

LINE_WIDTH_M = {Part.BODY: 0.02, Part.HAND: 0.004, Part.FACE: 0.002}
"""Bone line width per part, metres."""
JOINT_DIAMETER_M = {Part.BODY: 0.04, Part.HAND: 0.008, Part.FACE: 0.004}
"""Joint sphere diameter per part, metres."""


@dataclass
class PartGeometry:
    """The skeleton of one placed part.

    Attributes:
        namespace: marker namespace (``body``, ``left_hand``, ``right_hand``, ``face``,
            ``unassigned_hand``...): one per part slot, so RViz can toggle each.
        person: person index (``-1`` for a part that belongs to nobody).
        index: index of this part within its namespace for the image (a stable marker id).
        part: which part.
        segments: ``(E, 2, 3)`` bone end points, metres, camera optical frame.
        joints: ``(K, 3)`` joint positions, metres, camera optical frame.
        colour: RGB in [0, 1].
    """

    namespace: str
    person: int
    index: int
    part: Part
    segments: np.ndarray
    joints: np.ndarray
    colour: tuple[float, float, float]


def part_geometry(pose: PartPose, *, min_confidence: float) -> tuple[np.ndarray, np.ndarray] | None:
    """``(segments (E, 2, 3), joints (K, 3))`` of a placed part, or ``None`` when unplaced."""
    points = pose.keypoints_3d_camera
    if points is None:
        return None
    ok = (pose.confidence >= min_confidence) & np.all(np.isfinite(points), axis=1)
    edges = [(a, b) for a, b in SKELETON_EDGES[pose.part] if ok[a] and ok[b]]
    segments = points[np.array(edges, dtype=np.int64)] if edges else np.zeros((0, 2, 3))
    return segments, points[ok]


def skeleton_geometry(poses: WholeBodyPoses, *, min_confidence: float = 0.3) -> list[PartGeometry]:
    """Geometry of every placed part of every person, then of the unassigned parts."""
    out: list[PartGeometry] = []
    for person in poses.people:
        colour = tuple(c / 255.0 for c in person_colour(person.display_id))
        for slot, pose in person.parts():
            geo = part_geometry(pose, min_confidence=min_confidence)
            if geo is not None:
                out.append(PartGeometry(slot, person.id, person.id, pose.part, geo[0], geo[1], colour))
    grey = tuple(c / 255.0 for c in UNASSIGNED_COLOUR)
    counters: dict[str, int] = {}
    for pose in poses.unassigned:
        geo = part_geometry(pose, min_confidence=min_confidence)
        if geo is not None:
            ns = f"unassigned_{pose.part.value}"
            counters[ns] = counters.get(ns, -1) + 1
            out.append(PartGeometry(ns, -1, counters[ns], pose.part, geo[0], geo[1], grey))
    return out
