"""Health checks (pure): frequency against a range, stale input, windowed counters, merging."""

from __future__ import annotations

import pytest

from dope_ros.health import Check, FrequencyStatus, Level, StaleInput, WindowedCounters, merge


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _run(status: FrequencyStatus, clock: FakeClock, hz: float, seconds: int) -> Check:
    """``seconds`` updates one second apart with ``hz`` events in each second; the last check."""
    for _ in range(seconds):
        for _ in range(int(hz)):
            status.tick()
        clock.t += 1.0
        check = status.update()
    return check


def test_frequency_levels_and_window():
    clock = FakeClock()
    f = FrequencyStatus(min_hz=4.0, max_hz=10.0, tolerance=0.1, window=3, clock=clock)
    for _ in range(3):  # no verdict before the window (3 updates) is whole
        clock.t += 1.0
        assert f.update().level == Level.OK
    clock.t += 1.0
    assert f.update().level == Level.ERROR  # nothing processed in a whole window
    check = _run(f, clock, 5, 4)
    assert check.level == Level.OK and check.values["rate_hz"] == "5.00" and check.values["rate_window_s"] == "3.0"
    assert _run(f, clock, 3, 3).level == Level.WARN  # 3 Hz < 4 Hz - 10 %
    assert _run(f, clock, 12, 3).message.startswith("rate too high")
    assert _run(f, clock, 11, 3).level == Level.OK  # within the 10 % tolerance
    # The camera stops: the rate falls over the window, then no event in the window is an ERROR.
    assert _run(f, clock, 0, 2).values["rate_hz"] == "3.67"
    check = _run(f, clock, 0, 1)
    assert check.level == Level.ERROR and "no frame processed in the last 3.0 s" in check.message
    assert f.total == 4 * 5 + 3 * 3 + 12 * 3 + 11 * 3
    f.clear()  # a new window from now: not an ERROR for the pause before
    assert _run(f, clock, 5, 1).level == Level.OK


def test_no_rate_verdict_until_the_window_is_whole_after_a_clear():
    """Re-subscribed (lazy mode) just before an update: a window of 0 s, or of the first frame's inference,
    says nothing about the rate; the verdict comes once the window has run its length (ERROR if still no frame)."""
    clock = FakeClock()
    f = FrequencyStatus(min_hz=1.0, window=3, clock=clock)
    _run(f, clock, 5, 5)
    f.clear()
    check = f.update()
    assert check.level == Level.OK and check.message == "" and check.values["rate_window_s"] == "0.0"
    clock.t += 0.5
    assert f.update().level == Level.OK
    clock.t += 1.0
    assert f.update().level == Level.OK   # 1.5 s: the window (3 updates) started at the clear, not whole yet
    clock.t += 1.0
    check = f.update()
    assert check.level == Level.ERROR and "no frame processed in the last 2.5 s" in check.message
    one = FrequencyStatus(min_hz=1.0, window=1, clock=clock)
    one.clear()
    assert one.update().level == Level.OK   # a window of 0 s even with window=1
    clock.t += 1.0
    assert one.update().level == Level.ERROR


def test_frequency_without_upper_limit():
    clock = FakeClock()
    f = FrequencyStatus(min_hz=0.0, window=2, clock=clock)
    check = _run(f, clock, 500, 2)
    assert check.level == Level.OK and check.values["max_rate_hz"] == "none"


def test_stale_input_warn_then_error():
    clock = FakeClock()
    s = StaleInput(warn_after_s=1.0, error_after_s=3.0, clock=clock)
    assert s.update().level == Level.OK
    clock.t += 1.5
    check = s.update()
    assert check.level == Level.WARN and "since subscribing" in check.message and check.values["image_age_s"] == "never"
    s.seen()
    clock.t += 0.5
    assert s.update().level == Level.OK
    clock.t += 0.6
    assert s.update().level == Level.WARN
    clock.t += 2.0
    check = s.update()
    assert check.level == Level.ERROR and check.message == "no image received for 3.1 s"
    s.seen()
    assert s.update().level == Level.OK
    clock.t += 10.0
    s.restart()  # e.g. resubscribed after a lazy pause: the age counts from now
    assert s.update().level == Level.OK
    clock.t += 1.5
    assert "since subscribing" in s.update().message
    with pytest.raises(ValueError):
        StaleInput(warn_after_s=2.0, error_after_s=1.0)


def test_windowed_counters_clear_after_the_window():
    c = WindowedCounters(["bad_image", "bad_camera_info"], window=2, describe=lambda k: k.replace("_", " "))
    assert c.update().level == Level.OK
    c.count("bad_image")
    c.count("bad_image")
    check = c.update()
    assert check.level == Level.WARN and check.message == "recent bad input: 2 bad image"
    assert check.values["bad_image"] == "2" and check.values["bad_image_recent"] == "2"
    assert c.update().level == Level.WARN  # still inside the 2-update window
    check = c.update()
    assert check.level == Level.OK and check.values["bad_image"] == "2" and check.values["bad_image_recent"] == "0"
    c.count("other")
    assert c.update().values["other"] == "1"


def test_merge_worst_level_and_messages():
    out = merge([Check(Level.OK, "", {"a": "1"}), Check(Level.WARN, "w", {"b": "2"}), Check(Level.ERROR, "e")])
    assert out.level == Level.ERROR and out.message == "w; e" and out.values == {"a": "1", "b": "2"}
    assert merge([Check(Level.OK, "")]).message == "ok"


def test_a_rate_within_the_tolerance_below_min_hz_is_ok() -> None:
    """WARN only *below* min_hz * (1 - tolerance): 9.5 Hz and exactly 9 Hz pass a 10 Hz minimum, 8 Hz does not."""
    for hz, level in ((9.5, Level.OK), (9.0, Level.OK), (8.0, Level.WARN)):
        clock = FakeClock()
        f = FrequencyStatus(min_hz=10.0, tolerance=0.1, window=1, clock=clock)
        f.update()   # the first window, from construction, gives no verdict
        for _ in range(int(2 * hz)):
            f.tick()
        clock.t += 2.0
        assert f.update().level == level, hz


def test_stale_input_levels_start_strictly_after_their_thresholds() -> None:
    """An age exactly at warn_after_s is OK and exactly at error_after_s is WARN (levels come *after* them)."""
    clock = FakeClock()
    s = StaleInput(warn_after_s=1.0, error_after_s=3.0, clock=clock)
    s.seen()
    clock.t += 1.0
    assert s.update().level == Level.OK
    clock.t += 2.0
    assert s.update().level == Level.WARN
    clock.t += 0.5
    assert s.update().level == Level.ERROR


def test_smallest_settings_are_accepted() -> None:
    """warn_after_s == error_after_s and a window of a single update are valid; 0 and warn > error are not."""
    StaleInput(warn_after_s=2.0, error_after_s=2.0, clock=FakeClock())
    FrequencyStatus(min_hz=1.0, window=1, clock=FakeClock())
    WindowedCounters(["a"], window=1)
    for bad in (dict(warn_after_s=0.0, error_after_s=1.0), dict(warn_after_s=2.0, error_after_s=1.0)):
        with pytest.raises(ValueError):
            StaleInput(clock=FakeClock(), **bad)
    with pytest.raises(ValueError):
        FrequencyStatus(min_hz=1.0, window=0, clock=FakeClock())
    with pytest.raises(ValueError):
        WindowedCounters(["a"], window=0)
