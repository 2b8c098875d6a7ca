"""MPJPE, Procrustes alignment and 3D AUC on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from dope_core.metrics.pose3d import auc, joint_errors_mm, mpjpe_mm, pck3d_curve, procrustes_align, root_align


def _rot_z(deg: float) -> np.ndarray:
    t = np.deg2rad(deg)
    return np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])


def test_root_align_subtracts_mean_of_roots():
    pose = np.array([[1.0, 0, 0], [3.0, 0, 0], [2.0, 5.0, 0]])
    np.testing.assert_allclose(root_align(pose, (0, 1)), [[-1, 0, 0], [1, 0, 0], [0, 5, 0]])


def test_mpjpe_ignores_translation_and_is_in_mm():
    gt = np.array([[0.0, 0, 0], [0.1, 0, 0], [0, 0.2, 0]])
    pred = gt + [5.0, -2.0, 3.0]          # translated: root-aligned error 0
    pred[2] += [0.0, 0.0, 0.03]           # 30 mm off at joint 2
    errs = joint_errors_mm(pred, gt, np.ones(3, bool), root=(0,))
    np.testing.assert_allclose(errs, [0.0, 0.0, 30.0], atol=1e-9)
    assert mpjpe_mm(pred[None], gt[None], np.ones((1, 3), bool), root=(0,)) == pytest.approx(10.0)


def test_mpjpe_only_valid_joints_and_root_required():
    gt = np.zeros((3, 3))
    pred = np.array([[0, 0, 0], [0.01, 0, 0], [1.0, 0, 0]])
    valid = np.array([True, True, False])
    assert mpjpe_mm(pred[None], gt[None], valid[None], root=(0,)) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="root"):
        joint_errors_mm(pred, gt, np.array([False, True, True]), root=(0,))


def test_procrustes_undoes_similarity_transform():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(13, 3))
    pred = 1.7 * gt @ _rot_z(40).T + [0.3, -0.2, 4.0]
    np.testing.assert_allclose(procrustes_align(pred, gt), gt, atol=1e-9)
    assert joint_errors_mm(pred, gt, np.ones(13, bool), root=(0,), procrustes=True).max() < 1e-6
    assert joint_errors_mm(pred, gt, np.ones(13, bool), root=(0,)).mean() > 100


def test_procrustes_does_not_reflect():
    gt = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.0]])
    mirrored = gt * [-1, 1, 1]
    aligned = procrustes_align(mirrored, gt)
    assert np.linalg.norm(aligned - gt, axis=1).mean() > 0.1


def test_pck3d_curve_and_auc():
    errors = np.array([0.0, 10.0, 25.0, 60.0])
    t, frac = pck3d_curve(errors, max_mm=50.0, steps=6)  # thresholds 0, 10, ..., 50
    np.testing.assert_allclose(t, [0, 10, 20, 30, 40, 50])
    np.testing.assert_allclose(frac, [0.25, 0.5, 0.5, 0.75, 0.75, 0.75])
    assert auc(errors, max_mm=50.0, steps=6) == pytest.approx(3.5 / 6)
    assert auc(np.zeros(5)) == 1.0
    assert auc(np.full(5, 51.0)) == 0.0
    assert np.isnan(auc(np.zeros(0)))


def test_procrustes_scale_is_least_squares_when_the_best_rotation_cannot_reflect() -> None:
    """For a mirrored pose the scale still minimises the squared error (d/ds of the residual is 0)."""
    rng = np.random.default_rng(3)
    gt = rng.normal(size=(10, 3))
    pred = gt * [-1.0, 1.0, 1.0]                  # a reflection: the proper rotation cannot undo it
    aligned = procrustes_align(pred, gt)
    a = aligned - aligned.mean(axis=0)            # = scale * R p, with R fixed by the alignment
    g = gt - gt.mean(axis=0)
    # least squares in the scale for a fixed rotation: sum a.(a - g) = 0, i.e. scale = <g, R p> / |p|^2
    assert float((a * (a - g)).sum()) == pytest.approx(0.0, abs=1e-9)
    best = np.linalg.norm(a - g)
    for f in (0.95, 1.05):
        assert np.linalg.norm(f * a - g) > best
