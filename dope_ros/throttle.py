"""Rate limiting of repeated warnings, per category (pure Python, no ROS)."""

from __future__ import annotations

import time
from typing import Callable


class WarningThrottle:
    """Lets through at most one warning per category every ``period_s`` seconds.

    ``suppressed`` counts, per category, the warnings held back since the last one let
    through, so the next message can say how many were skipped.
    """

    def __init__(self, *, period_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.period_s = period_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self.suppressed: dict[str, int] = {}

    def allow(self, category: str) -> bool:
        """True when a warning of ``category`` may be logged now."""
        now = self._clock()
        last = self._last.get(category)
        if last is not None and now - last < self.period_s:
            self.suppressed[category] = self.suppressed.get(category, 0) + 1
            return False
        self._last[category] = now
        return True

    def take_suppressed(self, category: str) -> int:
        """Number of warnings of ``category`` held back since the last one let through (then reset)."""
        return self.suppressed.pop(category, 0)
