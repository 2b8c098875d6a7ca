"""Tests of the student-teacher agreement metric."""

from __future__ import annotations

import math

import numpy as np

from dope_core.keypoints import Part
from dope_core.structures import PartPose
from dope_core.train.agreement import Agreement, match_teachers


def _hand(x: float, score: float = 0.9, dz: float = 0.0) -> PartPose:
    xy = np.stack([np.linspace(x, x + 100, 21), np.linspace(0, 100, 21)], 1)
    return PartPose(part=Part.HAND, score=score, box=[x, 0, x + 100, 100], keypoints_2d=xy,
                    keypoints_3d=np.full((21, 3), dz), confidence=np.ones(21))


def test_identical_shifted_and_missing() -> None:
    a = Agreement(alpha=0.1)
    a.add(Part.HAND, [_hand(0, dz=0.01)], [_hand(0)])
    r = a.to_dict()["hand"]
    assert r["pck"] == 1.0 and r["recall"] == 1.0 and r["precision"] == 1.0
    assert math.isclose(r["mpjpe_3d_mm"], 1000 * 0.01 * math.sqrt(3))
    b = Agreement(alpha=0.1)
    b.add(Part.HAND, [_hand(15)], [_hand(0)])  # IoU 0.74, every keypoint 15 px > 10 px off
    assert b.to_dict()["hand"]["pck"] == 0.0 and b.to_dict()["hand"]["recall"] == 1.0
    c = Agreement()
    c.add(Part.HAND, [_hand(500, score=0.3)], [_hand(0), _hand(200)])  # no overlap: nothing matched
    r = c.to_dict()["hand"]
    assert r["pck"] == 0.0 and r["recall"] == 0.0 and r["precision"] == 0.0 and r["teachers"] == 2
    assert math.isnan(c.to_dict()["face"]["pck"])


def test_each_student_matches_one_teacher() -> None:
    a = Agreement(alpha=0.1)
    a.add(Part.HAND, [_hand(0)], [_hand(0, score=0.5), _hand(1, score=0.9)])
    r = a.to_dict()["hand"]
    assert r["recall"] == 0.5 and r["pck"] == 0.5


def test_match_teachers_one_to_one_by_teacher_score() -> None:
    students = [_hand(0), _hand(300)]
    # the surer teacher takes the student both overlap; the other overlaps no free student
    assert match_teachers(students, [_hand(0, score=0.5), _hand(1, score=0.9)]) == [None, 0]
    assert match_teachers(students, [_hand(290), _hand(600)]) == [1, None]
    assert match_teachers([], [_hand(0)]) == [None] and match_teachers(students, []) == []
    # IoU 0.29: under the default 0.3, over a lower bound
    assert match_teachers([_hand(55)], [_hand(0)]) == [None]
    assert match_teachers([_hand(55)], [_hand(0)], min_iou=0.2) == [0]
