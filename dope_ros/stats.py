"""Counters and sliding-window latency of the node (pure Python, no ROS)."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Callable

from dope_ros.health import WindowedCounters

BAD_INPUT_CATEGORIES = ("bad_image", "bad_camera_info", "inference_error", "processing_error")
"""Bad-input counters always reported in ``/diagnostics`` (others appear once counted)."""


class NodeStats:
    """What the node reports in ``/diagnostics`` (thread-safe: the worker records, the timer reads).

    Attributes:
        received: images received (raw or compressed).
        processed: images that went through the estimator.
        dropped: images replaced by a newer one before the worker took them.
        bad: bad-input counters per category (``bad_image``, ``bad_camera_info``,
            ``inference_error``...), in total and over the last ``window`` diagnostics updates.
        notices: counts of inputs served but worth a look (``unstamped_image``, ``empty_frame_id``):
            reported, without raising the diagnostics level.
    """

    def __init__(self, *, window_s: float = 5.0, window: int = 5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self.received = 0
        self.processed = 0
        self.dropped = 0
        self.bad = WindowedCounters(BAD_INPUT_CATEGORIES, window=window, describe=lambda c: c.replace("_", " "))
        self.notices: Counter[str] = Counter()
        self._done: deque[tuple[float, float, float]] = deque()  # (time, latency_s, inference_s)
        self._lock = threading.Lock()

    @property
    def bad_input(self) -> Counter[str]:
        """Bad-input counts per category since start-up (a copy)."""
        return self.bad.snapshot()

    def count_bad(self, category: str) -> None:
        """Count one bad input of ``category``."""
        self.bad.count(category)

    def count_notice(self, category: str) -> None:
        """Count one input of ``category`` that was served but is worth a look."""
        with self._lock:
            self.notices[category] += 1

    def notice_counts(self) -> dict[str, int]:
        """The notices so far per category (a copy, sorted by name)."""
        with self._lock:
            return dict(sorted(self.notices.items()))

    def record_processed(self, latency_s: float, inference_s: float) -> None:
        """One image done: ``latency_s`` from reception to publication, ``inference_s`` in the estimator."""
        with self._lock:
            self.processed += 1
            self._done.append((self._clock(), latency_s, inference_s))
            self._trim()

    def _trim(self) -> None:
        limit = self._clock() - self.window_s
        while self._done and self._done[0][0] < limit:
            self._done.popleft()

    def mean_latency_ms(self) -> float:
        """Mean reception-to-publication latency over the last ``window_s``, ms (0 when idle)."""
        with self._lock:
            self._trim()
            return 1000.0 * sum(d[1] for d in self._done) / len(self._done) if self._done else 0.0

    def mean_inference_ms(self) -> float:
        """Mean estimator time over the last ``window_s``, ms (0 when idle)."""
        with self._lock:
            self._trim()
            return 1000.0 * sum(d[2] for d in self._done) / len(self._done) if self._done else 0.0
