"""Small helpers the benchmarks share: the machine's load average as printed, and the
clock of a streaming estimator that counts only its own processing time."""

from __future__ import annotations

import os


def load_avg() -> str:
    """The 1, 5 and 15 minute load averages, e.g. ``"1.02 0.80 0.75"``."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class OwnClock:
    """Seconds spent inside the timed estimator only (a streaming schedule's clock): the
    benchmark adds each call's wall time to ``t``, so the schedule runs as if the
    estimator ran alone, whatever else the benchmark does between its calls."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t
