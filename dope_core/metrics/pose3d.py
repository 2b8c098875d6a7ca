"""3D pose errors: MPJPE after root alignment, Procrustes-aligned MPJPE, and the
3D PCK curve with its area under the curve (AUC).

Inputs are ``(J, 3)`` keypoints in **metres** (any frame, as long as prediction and
ground truth share axes; DOPE's part-relative 3D has camera-optical-frame axes).
Errors are returned in **millimetres**.

* Root alignment subtracts, from each pose separately, the mean of its root joints
  (body: the two hips, i.e. the pelvis; hand: the wrist), so only the articulated
  pose is compared, not the placement in the camera.
* Procrustes alignment (``pa_mpjpe``) further applies to the prediction the
  similarity transform (rotation, uniform scale, translation) that best fits the
  ground truth in the least-squares sense (Umeyama), before measuring.
* The 3D PCK curve counts joints with error <= t for thresholds ``t`` in
  ``[0, max_mm]``; the AUC is its mean over evenly spaced thresholds (so in [0, 1]).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

M_TO_MM = 1000.0


def root_align(pose: np.ndarray, root: Sequence[int]) -> np.ndarray:
    """``pose`` minus the mean of its ``root`` joints (same unit as ``pose``)."""
    pose = np.asarray(pose, dtype=np.float64)
    return pose - pose[list(root)].mean(axis=0)


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """``pred`` mapped by the least-squares similarity transform onto ``gt`` (``(K, 3)`` each).

    Rotation is proper (no reflection); the scale is uniform.
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    mu_p, mu_g = pred.mean(axis=0), gt.mean(axis=0)
    p, g = pred - mu_p, gt - mu_g
    var_p = (p ** 2).sum()
    if var_p == 0:
        return np.broadcast_to(mu_g, pred.shape).copy()
    u, s, vt = np.linalg.svd(g.T @ p)
    d = np.ones(3)
    d[2] = np.sign(np.linalg.det(u @ vt)) or 1.0
    rot = u @ np.diag(d) @ vt
    scale = (s * d).sum() / var_p
    return scale * p @ rot.T + mu_g


def joint_errors_mm(
    pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, *, root: Sequence[int], procrustes: bool = False
) -> np.ndarray:
    """Per-joint 3D errors in mm of one instance over its ``valid`` joints.

    Args:
        pred, gt: ``(J, 3)`` metres. valid: ``(J,)`` bool (joints annotated in the ground truth).
        root: joint indices whose mean is the root (must be valid).
        procrustes: also apply a similarity alignment (over the valid joints).

    Returns:
        ``(K,)`` errors in mm of the K valid joints, in order.
    """
    valid = np.asarray(valid, dtype=bool)
    if not valid[list(root)].all():
        raise ValueError("the root joints must be annotated for a root-aligned 3D error")
    p = root_align(pred, root)[valid]
    g = root_align(gt, root)[valid]
    if procrustes:
        p = procrustes_align(p, g)
    return np.linalg.norm(p - g, axis=-1) * M_TO_MM


def mpjpe_mm(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, *, root: Sequence[int], procrustes: bool = False) -> float:
    """Mean per-joint position error in mm over a batch ``(N, J, 3)`` (metres in)."""
    errors = np.concatenate([
        joint_errors_mm(p, g, v, root=root, procrustes=procrustes) for p, g, v in zip(pred, gt, valid)
    ]) if len(pred) else np.zeros(0)
    return float(errors.mean()) if errors.size else float("nan")


def pck3d_curve(errors_mm: np.ndarray, *, max_mm: float = 50.0, steps: int = 51) -> tuple[np.ndarray, np.ndarray]:
    """3D PCK at ``steps`` evenly spaced thresholds from 0 to ``max_mm``.

    Returns:
        ``(thresholds_mm, fraction)``, both ``(steps,)``.
    """
    errors_mm = np.asarray(errors_mm, dtype=np.float64).reshape(-1)
    thresholds = np.linspace(0.0, max_mm, steps)
    if errors_mm.size == 0:
        return thresholds, np.full(steps, np.nan)
    return thresholds, (errors_mm[None, :] <= thresholds[:, None]).mean(axis=1)


def auc(errors_mm: np.ndarray, *, max_mm: float = 50.0, steps: int = 51) -> float:
    """Area under the 3D PCK curve over ``[0, max_mm]``, normalised to [0, 1].

    Computed as the mean of the curve at ``steps`` evenly spaced thresholds (a
    Riemann sum; ``steps=51`` means 1 mm steps over 0-50 mm).
    """
    _, fraction = pck3d_curve(errors_mm, max_mm=max_mm, steps=steps)
    return float(fraction.mean())
