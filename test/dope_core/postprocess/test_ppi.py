"""Pose-proposal integration on hand-made proposal sets whose answers are worked out by hand."""

import numpy as np
import pytest

from dope_core.postprocess.ppi import pose_proposal_integration
from proposals import proposal_boxes, proposal_set, square_pose


def _ppi(poses2d, poses3d, fg, boxes=None, **kwargs):
    scores, p2d, p3d = proposal_set(poses2d, poses3d, fg, k=np.asarray(fg).shape[1])
    return pose_proposal_integration(scores, proposal_boxes(poses2d) if boxes is None else np.asarray(boxes, float),
                                     p2d, p3d, **kwargs)


def test_a_mode_scores_the_sum_of_its_proposals_and_averages_them_by_score():
    poses2d = [square_pose(0, 0), square_pose(2, 0)]
    poses3d = [np.zeros((2, 3)), np.full((2, 3), 0.1)]       # 3D distance 0.17 m < 0.3: one mode
    dets = _ppi(poses2d, poses3d, [[0.6, 0.0], [0.0, 0.2]])
    assert len(dets) == 1
    assert dets.scores[0] == pytest.approx(0.8)               # 0.6 + 0.2, not the best single proposal
    np.testing.assert_allclose(dets.pose2d[0], np.array(square_pose(0, 0)) + [0.5, 0.0])   # 2 * 0.2 / 0.8
    np.testing.assert_allclose(dets.pose3d[0], np.full((2, 3), 0.025))
    assert dets.classes[0] == 0                               # the seed's class
    np.testing.assert_allclose(dets.boxes[0], [-0.5, -1.0, 11.5, 11.0])   # pose extent + 10 % per side


def test_summed_scores_can_exceed_one():
    poses2d = [square_pose(0, 0)] * 3
    dets = _ppi(poses2d, np.zeros((3, 2, 3)), [[0.5, 0.3], [0.6, 0.2], [0.4, 0.0]])
    assert dets.scores.tolist() == pytest.approx([2.0])


def test_groups_are_formed_on_proposal_boxes_not_pose_boxes():
    # Same poses, far apart proposal boxes: two detections. Poses far apart, same proposal box: one.
    poses2d = [square_pose(0, 0), square_pose(0, 0)]
    far = [[0, 0, 10, 10], [100, 100, 110, 110]]
    assert len(_ppi(poses2d, np.zeros((2, 2, 3)), [[0.5], [0.4]], boxes=far)) == 2
    apart = [square_pose(0, 0), square_pose(300, 300)]
    same = [[0, 0, 10, 10], [0, 0, 10, 10]]
    dets = _ppi(apart, np.zeros((2, 2, 3)), [[0.5], [0.4]], boxes=same)
    assert len(dets) == 1 and dets.scores[0] == pytest.approx(0.9)


def test_box_overlap_uses_inclusive_pixels():
    # [0, 0, 9, 9] vs [8, 0, 17, 9]: inclusive pixels 2 x 10 / (100 + 100 - 20) = 0.111, exclusive
    # 9 / (81 + 81 - 9) = 0.059: a threshold of 0.1 tells the two conventions apart.
    poses2d = [square_pose(0, 0), square_pose(8, 0)]
    boxes = [[0, 0, 9, 9], [8, 0, 17, 9]]
    assert len(_ppi(poses2d, np.zeros((2, 2, 3)), [[0.5], [0.4]], boxes=boxes, iou_threshold=0.1)) == 1


def test_a_group_is_split_into_3d_modes_and_the_heaviest_mode_wins():
    poses2d = [square_pose(0, 0)] * 4
    poses3d = [np.zeros((2, 3)), np.full((2, 3), 0.02), np.full((2, 3), 1.0), np.full((2, 3), 1.0)]
    # seed 0.4 + 0.1 = 0.5 (mode A); 0.35 + 0.3 = 0.65 (mode B) wins
    dets = _ppi(poses2d, poses3d, [[0.4], [0.1], [0.35], [0.3]], pose3d_threshold=0.3)
    assert len(dets) == 1
    np.testing.assert_allclose(dets.pose3d[0], np.full((2, 3), 1.0))
    assert dets.scores[0] == pytest.approx(0.65)


def test_a_mode_takes_members_from_the_whole_group():
    # 3D along x: a = 0, b = 0.2, c = 0.4; threshold 0.3. Seed a: {a, b} = 0.5 + 0.2;
    # next seed c (b is already in a mode) gathers {b, c} = 0.2 + 0.45 = 0.65 < 0.7: a's mode wins.
    poses2d = [square_pose(0, 0)] * 3
    poses3d = [np.zeros((2, 3)), np.tile([0.2, 0, 0], (2, 1)), np.tile([0.4, 0, 0], (2, 1))]
    dets = _ppi(poses2d, poses3d, [[0.5], [0.2], [0.45]], pose3d_threshold=0.3)
    assert dets.scores[0] == pytest.approx(0.7)
    # Now c is heavier: {b, c} = 0.2 + 0.6 = 0.8 beats {a, b} = 0.7 -> b counts in both modes.
    dets = _ppi(poses2d, poses3d, [[0.5], [0.2], [0.6]], pose3d_threshold=0.3)
    assert dets.scores[0] == pytest.approx(0.8)
    np.testing.assert_allclose(dets.pose3d[0][:, 0], [(0.2 * 0.2 + 0.6 * 0.4) / 0.8] * 2)
    assert dets.classes[0] == 0


def test_upper_body_anchors_weigh_little_on_the_legs():
    # Two joints: joint 0 a "leg", joint 1 the rest. Class 0 full body, class 1 upper body (upper_body_from=1).
    poses2d = [[[0, 100], [0, 0]], [[20, 100], [10, 0]]]
    fg, boxes = [[0.5, 0.0], [0.0, 0.5]], [[0, 0, 20, 100]] * 2
    dets = _ppi(poses2d, np.zeros((2, 2, 3)), fg, boxes=boxes, upper_body_from=1, lower_joints=[0])
    # upper joint: (0 * 0.5 + 10 * 0.5) / 1.0 = 5; leg: (0 * 0.5 + 20 * 0.05) / 0.55
    np.testing.assert_allclose(dets.pose2d[0], [[20 * 0.05 / 0.55, 100], [5, 0]])
    assert dets.scores[0] == pytest.approx(1.0)               # the score is not down-weighted
    plain = _ppi(poses2d, np.zeros((2, 2, 3)), fg, boxes=boxes)
    np.testing.assert_allclose(plain.pose2d[0], [[10, 100], [5, 0]])


def test_thresholds_candidates_modes_and_detections():
    # Default candidate threshold 0.1 / C: with C = 2 classes, 0.04 is dropped, 0.06 kept.
    poses2d = [square_pose(0, 0), square_pose(100, 0)]
    dets = _ppi(poses2d, np.zeros((2, 2, 3)), [[0.04, 0.0], [0.06, 0.0]])
    assert dets.scores.tolist() == pytest.approx([0.06])
    # detection_threshold (the release's th_persondetect): the best mode must exceed it.
    assert len(_ppi(poses2d, np.zeros((2, 2, 3)), [[0.04, 0.0], [0.06, 0.0]], detection_threshold=0.06)) == 0
    # min_mode_score: a weak seed starts no second mode even when it would be heavier than the first.
    poses2d = [square_pose(0, 0)] * 4
    poses3d = [np.zeros((2, 3))] + [np.ones((2, 3))] * 3
    fg = [[0.1], [0.04], [0.04], [0.04]]
    assert _ppi(poses2d, poses3d, fg, score_threshold=0.01, min_mode_score=0.05).scores[0] == pytest.approx(0.1)
    assert _ppi(poses2d, poses3d, fg, score_threshold=0.01, min_mode_score=0.01).scores[0] == pytest.approx(0.12)


def test_empty_inputs_give_nothing():
    empty = pose_proposal_integration(np.zeros((0, 3)), np.zeros((0, 4)), np.zeros((0, 2, 2, 2)), np.zeros((0, 2, 2, 3)))
    assert len(empty) == 0 and empty.boxes.shape == (0, 4)
    assert len(_ppi([square_pose(0, 0)], np.zeros((1, 2, 3)), [[0.01, 0.01]])) == 0


def test_candidates_carry_the_poses_of_their_own_class() -> None:
    """A single candidate of class 1 comes out with class 1's 2D and 3D poses, not class 0's."""
    from proposals import per_class_proposal_set

    poses2d, poses3d = [square_pose(0, 0)], np.full((1, 2, 3), 0.1)
    scores, p2d, p3d = per_class_proposal_set(poses2d, poses3d, [[0.0, 0.9]])
    dets = pose_proposal_integration(scores, proposal_boxes(poses2d), p2d, p3d)
    assert len(dets) == 1 and dets.classes.tolist() == [1]
    np.testing.assert_allclose(dets.pose2d[0], np.array(square_pose(0, 0)) + [0.0, 500.0])
    np.testing.assert_allclose(dets.pose3d[0], poses3d[0] + [1.0, 0.0, 0.0])


def test_the_winning_mode_has_its_own_seed_class_not_the_group_seed_class() -> None:
    """In one group, a class-0 candidate (0.5) and two class-1 candidates (0.3 each) whose class-1 3D lies
    1 m away: the class-1 mode (0.6) outweighs the group's seed and gives the detection its class and poses."""
    from proposals import per_class_proposal_set

    poses2d = [square_pose(0, 0)] * 3
    poses3d = np.zeros((3, 2, 3))
    scores, p2d, p3d = per_class_proposal_set(poses2d, poses3d, [[0.5, 0.0], [0.0, 0.3], [0.0, 0.3]])
    dets = pose_proposal_integration(scores, proposal_boxes(poses2d), p2d, p3d)
    assert len(dets) == 1 and dets.classes.tolist() == [1]
    assert dets.scores[0] == pytest.approx(0.6)
    np.testing.assert_allclose(dets.pose3d[0], np.tile([1.0, 0.0, 0.0], (2, 1)))
    np.testing.assert_allclose(dets.pose2d[0], np.array(square_pose(0, 0)) + [0.0, 500.0])
