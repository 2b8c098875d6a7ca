"""PCK on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from dope_core.keypoints import BODY_JOINTS
from dope_core.metrics.pck import bbox_size, head_size, keypoint_errors, pck, pck_correct, torso_size


def test_keypoint_errors_3_4_5():
    assert keypoint_errors(np.array([[3.0, 4.0]]), np.zeros((1, 2))).tolist() == [5.0]


def test_pck_correct_threshold_is_inclusive_and_skips_invisible():
    gt = np.zeros((4, 2))
    pred = np.array([[3.0, 4.0], [6.0, 8.0], [0.0, 10.1], [100.0, 0.0]])
    visible = np.array([True, True, True, False])
    # normaliser 100, threshold 0.1 -> 10 px: 5 ok, 10 ok (inclusive), 10.1 wrong; 4th not counted.
    assert pck_correct(pred, gt, visible, 100.0, 0.1).tolist() == [True, True, False]


def test_pck_missing_prediction_counts_wrong():
    pred = np.array([[np.nan, np.nan], [0.0, 0.0]])
    assert pck_correct(pred, np.zeros((2, 2)), np.ones(2, bool), 10.0, 0.5).tolist() == [False, True]


def test_pck_batch_pools_keypoints():
    gt = np.zeros((2, 2, 2))
    pred = np.array([[[1.0, 0.0], [5.0, 0.0]], [[1.0, 0.0], [0.0, 0.0]]])
    visible = np.array([[True, True], [True, False]])
    # instance 0: size 20, thr 0.2 -> 4 px: 1 ok, 5 wrong; instance 1: size 100 -> 20 px: 1 ok.
    assert pck(pred, gt, visible, np.array([20.0, 100.0]), 0.2) == pytest.approx(2 / 3)


def test_pck_nan_when_nothing_visible_and_rejects_bad_normaliser():
    assert np.isnan(pck(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)), np.zeros((1, 2), bool), np.ones(1), 0.1))
    with pytest.raises(ValueError, match="positive"):
        pck_correct(np.zeros((1, 2)), np.zeros((1, 2)), np.ones(1, bool), 0.0, 0.1)


def test_normalisers():
    assert bbox_size(np.array([10.0, 20.0, 40.0, 100.0])) == 80.0
    body = np.zeros((13, 2))
    j = {n: i for i, n in enumerate(BODY_JOINTS)}
    body[j["right_shoulder"]] = [0, 0]
    body[j["left_hip"]] = [30, 40]     # 50
    body[j["left_shoulder"]] = [30, 0]
    body[j["right_hip"]] = [0, 30]     # sqrt(900 + 900) = 42.4
    assert torso_size(body, np.ones(13, bool)) == pytest.approx(50.0)
    vis = np.ones(13, bool)
    vis[j["left_hip"]] = False
    assert torso_size(body, vis) == pytest.approx(np.sqrt(1800))
    assert head_size([0.0, 0.0], [0.0, 12.0]) == 12.0
