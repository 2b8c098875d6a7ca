"""Health checks of the node in the shape of ``diagnostic_updater``'s tasks (pure Python, no ROS).

``diagnostic_updater`` (C++/Python, not installable from a registry here) runs a set of
tasks at every diagnostics period; each fills a status (level, message, key/values) and
a composite task merges them: the worst level wins and the messages of the non-OK tasks
are joined. The tasks here follow it:

* :class:`FrequencyStatus` (``diagnostic_updater.FrequencyStatus``): events counted
  between updates in a ring of the last ``window`` updates; ERROR with no event in the
  window, WARN below ``min_hz * (1 - tolerance)`` or above ``max_hz * (1 + tolerance)``;
  no verdict (OK, the rate still reported) until the window has run its whole length
  (``window`` updates) after construction or :meth:`~FrequencyStatus.clear`, as
  :class:`StaleInput` gives a new input time: a window of a fraction of a second after
  a re-subscription says nothing about the rate.
* :class:`StaleInput`: age of the newest input; WARN past ``warn_after_s``, ERROR past
  ``error_after_s`` (also before the first input, counted from construction or the last restart).
* :class:`WindowedCounters`: problem counters over the same sliding window of updates,
  so a WARN caused by bad input clears once the bad input stops; totals are kept too.

All times are seconds of a monotonic clock (injectable for tests); every class is
thread-safe (the worker thread counts, the diagnostics timer updates).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Callable, Iterable, Optional


class Level(IntEnum):
    """``diagnostic_msgs/DiagnosticStatus`` levels (same byte values)."""

    OK = 0
    WARN = 1
    ERROR = 2
    STALE = 3


@dataclass
class Check:
    """The result of one task: level, a short message and key/values (strings, as in the message)."""

    level: Level
    message: str
    values: dict[str, str] = field(default_factory=dict)


def merge(checks: Iterable[Check]) -> Check:
    """One summary of several checks: the worst level, the messages of the non-OK checks, all values."""
    checks = list(checks)
    level = max((c.level for c in checks), default=Level.OK)
    problems = [c.message for c in checks if c.level != Level.OK and c.message]
    values: dict[str, str] = {}
    for c in checks:
        values.update(c.values)
    return Check(level, "; ".join(problems) or "ok", values)


class FrequencyStatus:
    """Rate of events (processed frames) over the last ``window`` updates, against a range.

    Args:
        min_hz: lowest acceptable rate, Hz (0: any rate above zero).
        max_hz: highest acceptable rate, Hz (0: no upper limit).
        tolerance: relative slack on both bounds (0.1: 10 %).
        window: number of updates (diagnostics periods) the rate is measured over, >= 1.
        clock: monotonic clock, seconds.
    """

    def __init__(self, *, min_hz: float, max_hz: float = 0.0, tolerance: float = 0.1, window: int = 5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1 update, got {window}")
        self.min_hz, self.max_hz, self.tolerance = min_hz, max_hz, tolerance
        self._clock = clock
        self._lock = threading.Lock()
        self._count = 0
        self._ring: deque[tuple[float, int]] = deque([(clock(), 0)], maxlen=window)
        self._updates = 0   # since construction or clear(): the window is whole once there were `window`

    def tick(self) -> None:
        """Count one event."""
        with self._lock:
            self._count += 1

    def clear(self) -> None:
        """Start a new window now (after a pause in which no event was expected); no verdict until it is whole."""
        with self._lock:
            self._ring.clear()
            self._ring.append((self._clock(), self._count))
            self._updates = 0

    @property
    def total(self) -> int:
        """Events since start-up."""
        with self._lock:
            return self._count

    def update(self) -> Check:
        """Rate over the window (oldest ring entry to now), then push now into the ring.

        OK whatever the rate while the window is not whole yet (fewer than ``window`` updates since
        construction or :meth:`clear`: it started at a start, not at an update).
        """
        now = self._clock()
        with self._lock:
            t0, c0 = self._ring[0]
            events, count = self._count - c0, self._count
            whole = self._updates >= self._ring.maxlen
            self._ring.append((now, count))
            self._updates += 1
        duration = now - t0
        rate = events / duration if duration > 0 else 0.0
        values = {"rate_hz": f"{rate:.2f}", "rate_window_s": f"{duration:.1f}", "min_rate_hz": f"{self.min_hz:g}",
                  "max_rate_hz": f"{self.max_hz:g}" if self.max_hz > 0 else "none"}
        if not whole:
            return Check(Level.OK, "", values)
        if events == 0:
            return Check(Level.ERROR, f"no frame processed in the last {duration:.1f} s", values)
        if rate < self.min_hz * (1.0 - self.tolerance):
            return Check(Level.WARN, f"rate too low: {rate:.2f} Hz < {self.min_hz:g} Hz", values)
        if self.max_hz > 0 and rate > self.max_hz * (1.0 + self.tolerance):
            return Check(Level.WARN, f"rate too high: {rate:.2f} Hz > {self.max_hz:g} Hz", values)
        return Check(Level.OK, "", values)


class StaleInput:
    """Age of the newest input (image): WARN after ``warn_after_s``, ERROR after ``error_after_s``.

    Before the first input the age counts from construction (a camera that never starts
    turns stale too).
    """

    def __init__(self, *, warn_after_s: float, error_after_s: float, what: str = "image",
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 < warn_after_s <= error_after_s:
            raise ValueError(f"need 0 < warn_after_s <= error_after_s, got {warn_after_s}, {error_after_s}")
        self.warn_after_s, self.error_after_s, self.what = warn_after_s, error_after_s, what
        self._clock = clock
        self._start = clock()
        self._last: Optional[float] = None
        self._lock = threading.Lock()

    def restart(self) -> None:
        """Count the age from now, as if just constructed (after a pause in which no input was expected)."""
        with self._lock:
            self._start, self._last = self._clock(), None

    def seen(self) -> None:
        """An input arrived now."""
        with self._lock:
            self._last = self._clock()

    def update(self) -> Check:
        with self._lock:
            last = self._last
        age = self._clock() - (self._start if last is None else last)
        values = {f"{self.what}_age_s": f"{age:.2f}" if last is not None else "never"}
        since = f"no {self.what} received for {age:.1f} s" if last is not None else \
            f"no {self.what} received since subscribing ({age:.1f} s)"
        if age > self.error_after_s:
            return Check(Level.ERROR, since, values)
        if age > self.warn_after_s:
            return Check(Level.WARN, since, values)
        return Check(Level.OK, "", values)


class WindowedCounters:
    """Counters of problems, in total and over the last ``window`` updates (WARN while any is in the window).

    Args:
        categories: the counters always reported (others appear once counted).
        window: number of updates the recent counts cover, >= 1.
        describe: category -> words for the message (default: the category name).
    """

    def __init__(self, categories: Iterable[str], *, window: int = 5,
                 describe: Optional[Callable[[str], str]] = None) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1 update, got {window}")
        self._categories = list(categories)
        self._describe = describe or (lambda c: c)
        self._lock = threading.Lock()
        self.totals: Counter[str] = Counter()
        self._ring: deque[Counter[str]] = deque([Counter()], maxlen=window)

    def count(self, category: str) -> None:
        """One problem of ``category`` now."""
        with self._lock:
            self.totals[category] += 1

    def snapshot(self) -> Counter[str]:
        """A copy of the totals (safe to read while other threads count)."""
        with self._lock:
            return Counter(self.totals)

    def recent(self) -> Counter[str]:
        """Counts since the oldest snapshot of the window."""
        with self._lock:
            return self.totals - self._ring[0]

    def update(self) -> Check:
        with self._lock:  # one snapshot: the worker thread may count a new category meanwhile
            totals = Counter(self.totals)
            recent = totals - self._ring[0]
            self._ring.append(totals)
        categories = self._categories + sorted(set(totals) - set(self._categories))
        values = {}
        for c in categories:
            values[c] = str(totals[c])
            values[f"{c}_recent"] = str(recent[c])
        if not recent:
            return Check(Level.OK, "", values)
        text = ", ".join(f"{n} {self._describe(c)}" for c, n in sorted(recent.items()))
        return Check(Level.WARN, f"recent bad input: {text}", values)
