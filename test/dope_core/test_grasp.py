"""Grasp aperture and pinch hysteresis with known distances."""

import numpy as np
import pytest

from dope_core.grasp import INDEX_TIP, MIDDLE_MCP, THUMB_TIP, PinchThresholds, PinchTracker, aperture
from dope_core.keypoints import Part
from dope_core.structures import PartPose


def _hand(gap_m: float, *, size_m: float = 0.1, conf: float = 0.9) -> PartPose:
    kp = np.zeros((21, 3))
    kp[MIDDLE_MCP] = (size_m, 0, 0)
    kp[THUMB_TIP] = (0.1, 0.0, 0.02)
    kp[INDEX_TIP] = (0.1, gap_m, 0.02)
    c = np.full(21, 0.9)
    c[THUMB_TIP] = conf
    return PartPose(part=Part.HAND, score=1, box=[0, 0, 1, 1], keypoints_2d=np.zeros((21, 2)), keypoints_3d=kp,
                    confidence=c, handedness="right", root_camera=[0, 0, 5.0])


def test_aperture_in_metres_and_normalised_by_hand_size():
    gap, norm, conf = aperture(_hand(0.05, size_m=0.08, conf=0.7))
    assert gap == pytest.approx(0.05) and norm == pytest.approx(0.625) and conf == pytest.approx(0.7)
    assert aperture(_hand(0.05, size_m=0.001)) is None   # degenerate hand
    with pytest.raises(ValueError):
        aperture(PartPose(part=Part.FACE, score=1, box=[0, 0, 1, 1], keypoints_2d=np.zeros((84, 2)),
                          keypoints_3d=np.zeros((84, 3)), confidence=np.ones(84)))


def test_pinch_hysteresis_does_not_flicker():
    tracker = PinchTracker(PinchThresholds(close_below=0.3, open_above=0.45))
    gaps = [0.08, 0.035, 0.029, 0.035, 0.044, 0.04, 0.046, 0.035, 0.029]   # hand size 0.1 m
    pinch = [tracker.measure(_hand(g), key=(7, "right_hand")).pinch for g in gaps]
    assert pinch == [False, False, True, True, True, True, False, False, True]
    # a different key has its own state; without a key, a plain threshold
    assert tracker.measure(_hand(0.035), key=(8, "right_hand")).pinch is False
    assert tracker.measure(_hand(0.029)).pinch is True


def test_unconfident_tips_keep_the_previous_state():
    tracker = PinchTracker(PinchThresholds(min_confidence=0.5))
    assert tracker.measure(_hand(0.01), key=1).pinch is True
    assert tracker.measure(_hand(0.09, conf=0.1), key=1).pinch is True
    assert tracker.measure(_hand(0.09), key=1).pinch is False
    with pytest.raises(ValueError):
        PinchThresholds(close_below=0.5, open_above=0.4)


def test_tips_exactly_at_min_confidence_are_measured():
    """Only tips *less* confident than min_confidence keep the previous state; at the threshold they count."""
    tracker = PinchTracker(PinchThresholds(min_confidence=0.5))
    assert tracker.measure(_hand(0.01), key=1).pinch is True
    assert tracker.measure(_hand(0.09, conf=0.5), key=1).pinch is False
