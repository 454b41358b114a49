"""EMA smoothing of votes and the two-threshold repetition counter, with known values."""

import pytest

from blazepose.fitness.counter import RepetitionCounter
from blazepose.fitness.smoothing import EMAVoteSmoothing


def test_ema_values():
    ema = EMAVoteSmoothing(window=10, alpha=0.2)
    assert ema({"down": 10}) == {"down": 10}
    # newest first: (0 * 1 + 10 * 0.8) / (1 + 0.8)
    assert ema({"up": 10}) == pytest.approx({"down": 8 / 1.8, "up": 10 / 1.8})
    assert ema({"up": 10})["up"] == pytest.approx((10 + 8) / (1 + 0.8 + 0.64))


def test_ema_window_forgets():
    ema = EMAVoteSmoothing(window=2, alpha=0.5)
    ema({"a": 4})
    ema({"b": 4})
    assert ema({"b": 4}) == pytest.approx({"b": 4})  # "a" left the window
    with pytest.raises(ValueError, match="0 < alpha <= 1"):
        EMAVoteSmoothing(alpha=0)


def test_counter_hysteresis():
    counter = RepetitionCounter("down", enter_threshold=6, exit_threshold=4)
    trace = [0, 5, 6, 7, 5, 4.5, 7, 4, 3.9, 5, 6.1, 3, 8, 9]
    counts = [counter({"down": v}) for v in trace]
    # enters at 7 (> 6), stays through 5 / 4.5 / 4 (not < 4), leaves at 3.9: one; enters at 6.1, leaves at 3: two
    assert counts == [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert counter.in_pose
    with pytest.raises(ValueError, match="exit_threshold < enter_threshold"):
        RepetitionCounter("down", 4, 6)
