"""Face NME: mean landmark error normalised by the inter-ocular distance.

``NME = mean_k ||pred_k - gt_k|| / ||gt[outer right eye corner] - gt[outer left eye corner]||``
over the annotated landmarks of one face (pixels cancel out). The outer eye
corners are iBUG-68 points 36 and 45 (landmarks 52 and 61 of DOPE's 84-point face):
the "inter-ocular" normalisation of 300-W and WFLW (not the inter-pupil one).
"""

from __future__ import annotations

import numpy as np

from dope_core.metrics.mappings import FACE84_OUTER_EYE_CORNERS


def inter_ocular(gt: np.ndarray, eye_corners: tuple[int, int] = FACE84_OUTER_EYE_CORNERS) -> float:
    """Distance in pixels between the two outer eye corners of ``gt`` (``(J, 2)``)."""
    gt = np.asarray(gt, dtype=np.float64)
    return float(np.linalg.norm(gt[eye_corners[0]] - gt[eye_corners[1]]))


def nme(
    pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, *, eye_corners: tuple[int, int] = FACE84_OUTER_EYE_CORNERS
) -> float:
    """Inter-ocular NME of one face.

    Args:
        pred, gt: ``(J, 2)`` landmarks in pixels. valid: ``(J,)`` bool, annotated landmarks
            (both eye corners must be annotated).
        eye_corners: indices of the two outer eye corners in the landmark set.

    Returns:
        The NME (a fraction; multiply by 100 for %).
    """
    valid = np.asarray(valid, dtype=bool)
    if not valid[list(eye_corners)].all():
        raise ValueError("the outer eye corners must be annotated for the inter-ocular NME")
    norm = inter_ocular(gt, eye_corners)
    if not norm > 0:
        raise ValueError("the outer eye corners coincide: inter-ocular distance is zero")
    err = np.linalg.norm(np.asarray(pred, dtype=np.float64)[valid] - np.asarray(gt, dtype=np.float64)[valid], axis=-1)
    return float(err.mean() / norm)
