"""Face NME on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from dope_core.metrics.mappings import FACE84_OUTER_EYE_CORNERS
from dope_core.metrics.nme import inter_ocular, nme


def _face() -> np.ndarray:
    gt = np.zeros((84, 2))
    gt[FACE84_OUTER_EYE_CORNERS[0]] = [100.0, 100.0]
    gt[FACE84_OUTER_EYE_CORNERS[1]] = [180.0, 160.0]  # 100 px apart
    return gt


def test_inter_ocular():
    assert inter_ocular(_face()) == pytest.approx(100.0)


def test_nme_hand_computed():
    gt = _face()
    pred = gt.copy()
    valid = np.zeros(84, bool)
    valid[list(FACE84_OUTER_EYE_CORNERS)] = True
    valid[0] = valid[10] = True
    pred[0] += [3.0, 4.0]        # 5 px
    pred[10] += [0.0, 15.0]      # 15 px
    pred[20] += [1000.0, 0.0]    # not annotated: ignored
    # (5 + 15 + 0 + 0) / 4 / 100
    assert nme(pred, gt, valid) == pytest.approx(0.05)


def test_nme_needs_eye_corners():
    valid = np.ones(84, bool)
    valid[FACE84_OUTER_EYE_CORNERS[1]] = False
    with pytest.raises(ValueError, match="eye corners"):
        nme(_face(), _face(), valid)
    with pytest.raises(ValueError, match="zero"):
        nme(np.zeros((84, 2)), np.zeros((84, 2)), np.ones(84, bool))
