"""Agreement of the student with the teachers: PCK of student poses against expert poses.

Per part, teacher instances (the experts' pseudo ground truth) are matched greedily,
highest teacher score first, to the unmatched student detection of highest box IoU
(at least ``min_iou``). A teacher keypoint is correct when the matched student
keypoint lies within ``alpha`` times the teacher box's longer side (pixels);
keypoints of unmatched teacher instances count as wrong, so PCK measures detection
and localisation together. Matched pairs also give the mean 3D distance between
student and teacher part-relative poses (millimetres).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from dope_core.boxes import box_iou
from dope_core.keypoints import Part
from dope_core.structures import PartPose


def match_teachers(students: Sequence[PartPose], teachers: Sequence[PartPose], *,
                   min_iou: float = 0.3) -> list[Optional[int]]:
    """One-to-one matches: for each teacher, the index of its student or ``None``.

    Teachers are taken by decreasing score, each to the unmatched student of highest box
    IoU, when that IoU is at least ``min_iou``.
    """
    out: list[Optional[int]] = [None] * len(teachers)
    if not teachers or not students:
        return out
    iou = box_iou(np.stack([t.box for t in teachers]), np.stack([s.box for s in students]))
    free = np.ones(len(students), dtype=bool)
    for ti in sorted(range(len(teachers)), key=lambda i: -teachers[i].score):
        cand = np.where(free, iou[ti], -1.0)
        si = int(cand.argmax())
        if cand[si] >= min_iou:
            free[si] = False
            out[ti] = si
    return out


@dataclass
class PartAgreement:
    """Running sums for one part."""

    keypoints: int = 0
    correct: int = 0
    teachers: int = 0
    students: int = 0
    matched: int = 0
    err3d_mm_sum: float = 0.0

    @property
    def pck(self) -> float:
        return self.correct / self.keypoints if self.keypoints else float("nan")

    @property
    def recall(self) -> float:
        return self.matched / self.teachers if self.teachers else float("nan")

    @property
    def precision(self) -> float:
        return self.matched / self.students if self.students else float("nan")

    @property
    def mpjpe_3d_mm(self) -> float:
        return self.err3d_mm_sum / self.matched if self.matched else float("nan")


@dataclass
class Agreement:
    """Agreement over many images, per part."""

    alpha: float = 0.1
    min_iou: float = 0.3
    parts: dict[Part, PartAgreement] = field(default_factory=lambda: {p: PartAgreement() for p in Part})

    def add(self, part: Part, students: Sequence[PartPose], teachers: Sequence[PartPose]) -> None:
        """Accumulate one image's detections of ``part``."""
        acc = self.parts[part]
        acc.teachers += len(teachers)
        acc.students += len(students)
        acc.keypoints += len(teachers) * part.num_keypoints
        for ti, si in enumerate(match_teachers(students, teachers, min_iou=self.min_iou)):
            if si is None:
                continue
            t, s = teachers[ti], students[si]
            size = max(t.box[2] - t.box[0], t.box[3] - t.box[1])
            dist = np.linalg.norm(s.keypoints_2d - t.keypoints_2d, axis=1)
            acc.correct += int((dist <= self.alpha * size).sum())
            acc.matched += 1
            acc.err3d_mm_sum += 1000.0 * float(np.linalg.norm(s.keypoints_3d - t.keypoints_3d, axis=1).mean())

    def to_dict(self) -> dict[str, dict[str, float]]:
        return {p.value: {"pck": a.pck, "recall": a.recall, "precision": a.precision,
                          "mpjpe_3d_mm": a.mpjpe_3d_mm, "teachers": a.teachers, "students": a.students}
                for p, a in self.parts.items()}
