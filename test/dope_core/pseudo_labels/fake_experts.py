"""A deterministic stand-in for the part experts, importable by spawned worker processes.

It "detects" one body, one right hand and one face in any image whose mean
brightness is above 20 (a black image has nobody), at positions derived from the
image size, plus a low-score hand that only the raw detections keep.
"""

from __future__ import annotations

import numpy as np

from dope_core.keypoints import Part
from dope_core.structures import Handedness, PartPose


def _pose(part: Part, box: tuple[float, float, float, float], score: float, handedness=None) -> PartPose:
    j = part.num_keypoints
    x1, y1, x2, y2 = box
    t = np.linspace(0, 1, j)
    xy = np.stack([x1 + (x2 - x1) * t, y1 + (y2 - y1) * (1 - t) ** 2], 1)
    return PartPose(part=part, score=score, box=box, keypoints_2d=xy,
                    keypoints_3d=np.stack([t - 0.5, t ** 2, 0.1 * t], 1) * (0.1 if part is not Part.BODY else 1.0),
                    confidence=np.ones(j), handedness=handedness)


class FakeExperts:
    def __init__(self, *, parts=tuple(Part), num_threads: int = 1, config=None) -> None:   # ExpertsEstimator's arguments
        self.parts = tuple(Part(p) for p in parts)

    def detect_parts(self, image: np.ndarray, *, min_score: float) -> dict[Part, list[PartPose]]:
        if image.mean() < 20:
            return {p: [] for p in self.parts}
        h, w = image.shape[:2]
        dets = {
            Part.BODY: [_pose(Part.BODY, (0.2 * w, 0.1 * h, 0.6 * w, 0.9 * h), 0.9)],
            Part.HAND: [_pose(Part.HAND, (0.1 * w, 0.4 * h, 0.2 * w, 0.5 * h), 0.8, Handedness.RIGHT),
                        _pose(Part.HAND, (0.7 * w, 0.4 * h, 0.8 * w, 0.5 * h), 0.2, Handedness.LEFT)],
            Part.FACE: [_pose(Part.FACE, (0.55 * w, 0.02 * h, 0.65 * w, 0.18 * h), 0.95)],
        }
        return {p: [d for d in dets[p] if d.score >= min_score] for p in self.parts}
