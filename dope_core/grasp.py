"""Grasp state of a hand: thumb-index aperture and a pinch with hysteresis.

The aperture is the distance in metres between the thumb tip and the index tip in the
hand's **own** 3D keypoints (part-relative), so it does not depend on how well the
hand is placed in depth. It is normalised by the hand's size, the distance from the
wrist to the middle-finger base (an adult's is about 9-10 cm), to compare hands.

``pinch`` is true when the normalised aperture drops under ``close_below``; it is
released only when the aperture rises above ``open_above`` (> ``close_below``), so
noise around one threshold does not make it flicker. A frame whose finger tips are
less confident than ``min_confidence`` keeps the previous pinch state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable, Optional

import numpy as np

from dope_core.keypoints import HAND_JOINTS, Part
from dope_core.structures import Grasp, PartPose

THUMB_TIP = HAND_JOINTS.index("thumb_tip")
INDEX_TIP = HAND_JOINTS.index("index_tip")
WRIST = HAND_JOINTS.index("wrist")
MIDDLE_MCP = HAND_JOINTS.index("middle_mcp")
MIN_HAND_SIZE_M = 0.01
"""Smaller hands (wrist to middle-finger base, metres) are degenerate: no grasp."""


@dataclass(frozen=True)
class PinchThresholds:
    """Hysteresis of the pinch on the normalised aperture (aperture / hand size).

    Attributes:
        close_below: pinch starts under this normalised aperture.
        open_above: pinch ends above this one (must be >= ``close_below``).
        min_confidence: finger tips less confident keep the previous state.
    """

    close_below: float = 0.3
    open_above: float = 0.45
    min_confidence: float = 0.2

    def __post_init__(self) -> None:
        if not 0.0 <= self.close_below <= self.open_above:
            raise ValueError(f"need 0 <= close_below <= open_above, got {self.close_below}, {self.open_above}")


def aperture(hand: PartPose) -> Optional[tuple[float, float, float]]:
    """``(aperture_m, normalised, confidence)`` of a hand, ``None`` when not measurable."""
    if hand.part is not Part.HAND:
        raise ValueError(f"a grasp needs a hand, got a {hand.part.value}")
    k = hand.keypoints_3d
    gap = float(np.linalg.norm(k[THUMB_TIP] - k[INDEX_TIP]))
    size = float(np.linalg.norm(k[MIDDLE_MCP] - k[WRIST]))
    if not (np.isfinite(gap) and np.isfinite(size)) or size < MIN_HAND_SIZE_M:
        return None
    conf = float(min(hand.confidence[THUMB_TIP], hand.confidence[INDEX_TIP]))
    return gap, gap / size, conf if np.isfinite(conf) else 0.0


@dataclass
class PinchTracker:
    """Pinch states with hysteresis, one per key (e.g. ``(track_id, "right_hand")``)."""

    thresholds: PinchThresholds = field(default_factory=PinchThresholds)

    def __post_init__(self) -> None:
        self._state: dict[Hashable, bool] = {}

    def measure(self, hand: PartPose, key: Hashable = None) -> Optional[Grasp]:
        """The hand's grasp, updating the pinch state of ``key`` (``None``: no memory)."""
        m = aperture(hand)
        if m is None:
            return None
        gap, norm, conf = m
        t = self.thresholds
        was = self._state.get(key, False) if key is not None else False
        if conf < t.min_confidence:
            pinch = was
        elif was:
            pinch = norm <= t.open_above
        else:
            pinch = norm < t.close_below
        if key is not None:
            self._state[key] = pinch
        return Grasp(aperture_m=gap, aperture_normalised=norm, confidence=conf, pinch=pinch)

    def forget(self, keep: set[Hashable]) -> None:
        """Drop the states of keys not in ``keep`` (ended tracks)."""
        for key in [k for k in self._state if k not in keep]:
            del self._state[key]
