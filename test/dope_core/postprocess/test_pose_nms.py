"""NMS post-processing on constructed proposal sets: overlapping, separate, empty."""

import numpy as np
import pytest

from dope_core.postprocess.nms import pose_nms
from proposals import proposal_set, square_pose


def test_overlapping_proposals_keep_the_best_one():
    poses2d = [square_pose(0, 0), square_pose(1, 1), square_pose(0.5, 0)]
    poses3d = np.zeros((3, 2, 3))
    fg = [[0.6, 0.1], [0.2, 0.7], [0.35, 0.0]]
    dets = pose_nms(*proposal_set(poses2d, poses3d, fg), min_score=0.3, iou_threshold=0.1)
    assert len(dets) == 1
    assert dets.scores[0] == pytest.approx(0.7) and dets.classes[0] == 1
    np.testing.assert_allclose(dets.pose2d[0], square_pose(1, 1))
    # box = pose extent pushed out by 10 % per side
    np.testing.assert_allclose(dets.boxes[0], [0.0, 0.0, 12.0, 12.0])


def test_separate_proposals_are_all_kept_and_low_scores_dropped():
    poses2d = [square_pose(0, 0), square_pose(100, 0), square_pose(200, 0)]
    fg = [[0.5, 0.0], [0.0, 0.9], [0.29, 0.0]]
    dets = pose_nms(*proposal_set(poses2d, np.zeros((3, 2, 3)), fg), min_score=0.3)
    assert dets.scores.tolist() == pytest.approx([0.9, 0.5])
    assert dets.classes.tolist() == [1, 0]


def test_empty_inputs_give_empty_detections():
    scores, p2d, p3d = np.zeros((0, 3)), np.zeros((0, 2, 2, 2)), np.zeros((0, 2, 2, 3))
    dets = pose_nms(scores, p2d, p3d)
    assert len(dets) == 0 and dets.pose2d.shape == (0, 2, 2) and dets.pose3d.shape == (0, 2, 3)
    fg = [[0.1, 0.1]]
    assert len(pose_nms(*proposal_set([square_pose(0, 0)], np.zeros((1, 2, 3)), fg))) == 0


def test_each_detection_takes_the_poses_of_its_best_class() -> None:
    """The 2D and 3D poses of a detection are those its best class predicts, not another class's."""
    from proposals import per_class_proposal_set

    poses2d = [square_pose(0, 0), square_pose(100, 0)]
    poses3d = np.stack([np.zeros((2, 3)), np.full((2, 3), 0.2)])
    fg = [[0.05, 0.8, 0.1], [0.1, 0.0, 0.6]]      # best classes 1 and 2
    dets = pose_nms(*per_class_proposal_set(poses2d, poses3d, fg), min_score=0.3)
    assert dets.classes.tolist() == [1, 2] and dets.scores.tolist() == pytest.approx([0.8, 0.6])
    np.testing.assert_allclose(dets.pose2d[0], np.array(square_pose(0, 0)) + [0.0, 500.0])
    np.testing.assert_allclose(dets.pose2d[1], np.array(square_pose(100, 0)) + [0.0, 1000.0])
    np.testing.assert_allclose(dets.pose3d[0], poses3d[0] + [1.0, 0.0, 0.0])
    np.testing.assert_allclose(dets.pose3d[1], poses3d[1] + [2.0, 0.0, 0.0])
    np.testing.assert_allclose(dets.boxes[1], [99.0, 999.0, 111.0, 1011.0])   # around the class-2 pose
