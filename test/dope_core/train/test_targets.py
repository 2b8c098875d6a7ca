"""Training targets: the three modes differ exactly where they should; degenerate boxes go."""

from __future__ import annotations

import numpy as np
import pytest

from dope_core.fusion import assemble
from dope_core.keypoints import Part
from dope_core.pseudo_labels.cache import LabelRecord
from dope_core.structures import PartPose
from dope_core.train.targets import record_targets, stack_poses


def _pose(part: Part, x: float, score: float, w: float = 20.0) -> PartPose:
    j = part.num_keypoints
    kp = np.stack([np.linspace(x, x + w, j), np.linspace(10, 30, j)], axis=1)
    return PartPose(part=part, score=score, box=[x, 10, x + w, 30], keypoints_2d=kp,
                    keypoints_3d=np.full((j, 3), score), confidence=np.ones(j))


@pytest.fixture
def record() -> LabelRecord:
    bodies = [_pose(Part.BODY, 0, 0.9), _pose(Part.BODY, 50, 0.3), _pose(Part.BODY, 100, 0.02),
              _pose(Part.BODY, 150, 0.8, w=1.0)]                    # the last one is degenerate (1 px wide)
    faces = [_pose(Part.FACE, 0, 0.6)]
    return LabelRecord(key="k", image="k.png", image_size=(200, 100), status="ok",
                       detections={Part.BODY: bodies, Part.FACE: faces},
                       pseudo_gt=assemble([bodies[0], bodies[1]], [], [], image_size=(200, 100), backend="experts"))


def test_distillation_keeps_every_detection_above_min_score_with_its_score(record):
    t = record_targets(record, mode="distillation", min_score=0.05)
    np.testing.assert_allclose(t[Part.BODY]["scores"], [0.9, 0.3])
    np.testing.assert_allclose(t[Part.BODY]["boxes"][:, 0], [0, 50])
    assert t[Part.BODY]["pose2d"].shape == (2, 13, 2) and t[Part.BODY]["pose3d"].dtype == np.float32
    assert t[Part.HAND]["boxes"].shape == (0, 4) and t[Part.HAND]["pose2d"].shape == (0, 21, 2)


def test_hard_scores_changes_only_the_scores(record):
    soft = record_targets(record, mode="distillation", min_score=0.05)
    hard = record_targets(record, mode="hard_scores", min_score=0.05)
    for part in Part:
        for key in ("boxes", "pose2d", "pose3d"):
            np.testing.assert_array_equal(hard[part][key], soft[part][key])
        assert (hard[part]["scores"] == 1.0).all() and len(hard[part]["scores"]) == len(soft[part]["scores"])


def test_hard_takes_the_thresholded_pseudo_ground_truth(record):
    t = record_targets(record, mode="hard", hard_threshold=0.5)
    np.testing.assert_allclose(t[Part.BODY]["boxes"][:, 0], [0])       # the 0.3 body is under the threshold
    assert t[Part.BODY]["scores"].tolist() == [1.0]
    assert len(t[Part.FACE]["boxes"]) == 0                               # not in the pseudo ground truth
    with pytest.raises(ValueError, match="mode"):
        record_targets(record, mode="soft")


def test_stack_poses_clips_scores():
    t = stack_poses(Part.FACE, [_pose(Part.FACE, 0, 0.5)], np.array([1.5]))
    assert t["scores"].tolist() == [1.0] and t["pose2d"].shape == (1, 84, 2)


def test_score_thresholds_are_inclusive(record: LabelRecord) -> None:
    """A detection at exactly ``min_score`` and a pseudo ground truth at exactly ``hard_threshold`` are kept."""
    t = record_targets(record, mode="distillation", min_score=0.3)
    np.testing.assert_allclose(t[Part.BODY]["scores"], [0.9, 0.3])
    hard_scores = [p.score for p in record.pseudo_gt.parts(Part.BODY)]
    at = max(hard_scores)
    hard = record_targets(record, mode="hard", hard_threshold=at)
    assert len(hard[Part.BODY]["boxes"]) == 1 and hard[Part.BODY]["scores"].tolist() == [1.0]


def _flat_pose(part: Part, box: list[float]) -> PartPose:
    j = part.num_keypoints
    kp = np.stack([np.linspace(box[0], box[2], j), np.linspace(box[1], box[3], j)], axis=1)
    return PartPose(part=part, score=0.9, box=box, keypoints_2d=kp, keypoints_3d=np.zeros((j, 3)),
                    confidence=np.ones(j))


def test_boxes_too_low_and_non_finite_poses_are_dropped() -> None:
    """A box under ``min_box_size`` high is degenerate like one too narrow; non-finite 2D or 3D poses go too."""
    wide_flat = _flat_pose(Part.BODY, [0.0, 10.0, 40.0, 11.0])          # 40 px wide, 1 px high
    ok = _flat_pose(Part.BODY, [50.0, 10.0, 90.0, 40.0])
    nan2d = _flat_pose(Part.BODY, [0.0, 0.0, 30.0, 30.0])
    nan2d.keypoints_2d[3, 0] = np.nan
    nan3d = _flat_pose(Part.BODY, [0.0, 0.0, 30.0, 30.0])
    nan3d.keypoints_3d[5, 2] = np.inf
    record = LabelRecord(key="k", image="k.png", image_size=(200, 100), status="ok",
                         detections={Part.BODY: [wide_flat, ok, nan2d, nan3d]}, pseudo_gt=None)
    t = record_targets(record, mode="distillation", min_box_size=2.0)
    np.testing.assert_allclose(t[Part.BODY]["boxes"], [[50.0, 10.0, 90.0, 40.0]])
    assert np.isfinite(t[Part.BODY]["pose2d"]).all() and np.isfinite(t[Part.BODY]["pose3d"]).all()
