"""Pose-proposal integration on constructed proposal sets: overlapping, separate, modes, empty."""

import numpy as np
import pytest

from dope_core.postprocess.ppi import pose_proposal_integration
from proposals import proposal_set, square_pose


def test_overlapping_proposals_are_averaged_by_score():
    poses2d = [square_pose(0, 0), square_pose(2, 0)]
    poses3d = [np.zeros((2, 3)), np.full((2, 3), 0.1)]
    fg = [[0.6, 0.0], [0.0, 0.2]]
    dets = pose_proposal_integration(*proposal_set(poses2d, poses3d, fg), score_threshold=0.05, iou_threshold=0.2,
                                     pose3d_threshold=0.3, min_mode_score=0.05)
    assert len(dets) == 1
    # weights 0.6 / 0.8 and 0.2 / 0.8
    np.testing.assert_allclose(dets.pose2d[0], np.array(square_pose(0, 0)) + [0.5, 0.0])
    np.testing.assert_allclose(dets.pose3d[0], np.full((2, 3), 0.025))
    assert dets.scores[0] == pytest.approx(0.6)  # the largest mass one proposal puts on the mode
    assert dets.classes[0] == 0


def test_separate_groups_give_separate_detections():
    poses2d = [square_pose(0, 0), square_pose(1, 0), square_pose(100, 100)]
    fg = [[0.5, 0.0], [0.4, 0.0], [0.0, 0.9]]
    dets = pose_proposal_integration(*proposal_set(poses2d, np.zeros((3, 2, 3)), fg))
    assert len(dets) == 2
    assert dets.scores.tolist() == pytest.approx([0.9, 0.5])
    np.testing.assert_allclose(dets.pose2d[0], square_pose(100, 100))
    np.testing.assert_allclose(dets.pose2d[1], np.array(square_pose(0, 0)) + [0.4 / 0.9, 0.0])


def test_a_group_is_split_into_3d_modes_and_the_best_mode_wins():
    poses2d = [square_pose(0, 0)] * 4
    poses3d = [np.zeros((2, 3)), np.full((2, 3), 0.02), np.full((2, 3), 1.0), np.full((2, 3), 1.0)]
    # seed (0.4) is in mode A with 0.1 -> 0.5; mode B has 0.35 + 0.3 = 0.65 and wins
    fg = [[0.4, 0.0], [0.1, 0.0], [0.35, 0.0], [0.3, 0.0]]
    dets = pose_proposal_integration(*proposal_set(poses2d, poses3d, fg), pose3d_threshold=0.3)
    assert len(dets) == 1
    np.testing.assert_allclose(dets.pose3d[0], np.full((2, 3), 1.0))
    assert dets.scores[0] == pytest.approx(0.35)


def test_weak_groups_and_empty_inputs_give_nothing():
    fg = [[0.03, 0.0]]
    sets = proposal_set([square_pose(0, 0)], np.zeros((1, 2, 3)), fg)
    assert len(pose_proposal_integration(*sets, score_threshold=0.02, min_mode_score=0.05)) == 0
    empty = pose_proposal_integration(np.zeros((0, 3)), np.zeros((0, 2, 2, 2)), np.zeros((0, 2, 2, 3)))
    assert len(empty) == 0 and empty.boxes.shape == (0, 4)
