"""The fitness API given bad sequences and settings: a clear ValueError, never a crash or a silent count."""

import numpy as np
import pytest

from blazepose.fitness import CountingConfig, PoseSequence, RepetitionCounter, RepTracker, analyse, analyse_sequence
from fitness_poses import squat_sequence

FPS = 30


def _squats() -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(240) / FPS
    depths = np.where(t < 1, 0.0, 0.5 - 0.5 * np.cos(2 * np.pi * (t - 1) / 2.0))
    return np.stack(squat_sequence(depths, noise_px=2.0)), t


@pytest.mark.parametrize(
    "times",
    [lambda t: t[::-1], lambda t: np.zeros_like(t), lambda t: np.full_like(t, np.nan), lambda t: t[:-1]],
    ids=["decreasing", "constant", "nan", "one short"],
)
def test_times_must_be_one_per_frame_finite_and_increasing(times):
    px, t = _squats()
    assert len(analyse_sequence(px, t).repetitions) == 3
    with pytest.raises(ValueError, match="time"):
        analyse_sequence(px, times(t))


def test_empty_and_single_frame_sequences_count_nothing():
    assert analyse_sequence(np.zeros((0, 33, 3)), np.zeros(0)).repetitions == []
    px, t = _squats()
    one = analyse_sequence(px[:1], t[:1])
    assert one.repetitions == [] and np.isnan(one.phase).all()


def test_a_rest_signal_of_the_wrong_length_is_refused():
    px, t = _squats()
    with pytest.raises(ValueError, match="rest signal of shape"):
        analyse_sequence(px, t, rest_signal=np.zeros(5))


@pytest.mark.parametrize(
    "settings",
    [{"away": 0.9, "back": 0.1}, {"back": 1.5}, {"smoothing_s": -1.0}, {"max_gap_s": float("nan")},
     {"robust_percentile": 60.0}, {"median_frames": 2}, {"median_frames": 0}, {"median_frames": 3.0}],
)  # fmt: skip
def test_counting_config_refuses_values_that_cannot_count(settings):
    with pytest.raises(ValueError, match="expected"):
        CountingConfig(**settings)


def test_sequences_and_trackers_refuse_times_that_do_not_increase():
    sequence = PoseSequence()
    sequence.append(1.0, None, None)
    for bad in (1.0, 0.5, float("nan")):
        with pytest.raises(ValueError, match="strictly increasing"):
            sequence.append(bad, None, None)
    with pytest.raises(ValueError, match=r"shape \(33, 3\)"):
        sequence.append(2.0, np.zeros((33, 2)), None)
    assert len(sequence) == 1 and analyse(sequence).count == 0
    with pytest.raises(ValueError, match="id_memory"):
        RepTracker(id_memory=-1)


def test_tracker_refuses_a_time_going_back_and_stays_usable():
    from blazepose.core.results import PoseResult

    px, t = _squats()
    tracker = RepTracker()
    ones = np.ones((1, 33), np.float32)
    for i in range(len(t)):
        lm = (px[i] / (600, 720, 600)).astype(np.float32)[None]
        world = ((px[i] - px[i, 23:25].mean(axis=0)) / 300).astype(np.float32)[None]
        result = PoseResult(lm, world, ones, ones, np.ones(1, np.float32), np.zeros((1, 5), np.float32), (720, 600))
        tracker.update(result, t[i])
        if i == 100:
            with pytest.raises(ValueError, match="strictly increasing"):
                tracker.update(result, t[i])
    assert {track: r.count for track, r in tracker.reports().items()} == {0: 3}


def test_counter_refuses_nan_thresholds():
    with pytest.raises(ValueError, match="exit_threshold < enter_threshold"):
        RepetitionCounter("down", float("nan"), 4)


def test_landmark_file_records_with_repeated_times_are_nudged_apart():
    """`blazepose run` writes the container's times, which some files repeat; they still make a sequence."""
    from blazepose.core.results import PoseResult
    from blazepose.fitness import sequences_from_records
    from blazepose.io.landmark_files import FrameRecord

    px, t = _squats()
    ones = np.ones((1, 33), np.float32)
    records = []
    for i in range(len(t)):
        lm = (px[i] / (600, 720, 600)).astype(np.float32)[None]
        world = ((px[i] - px[i, 23:25].mean(axis=0)) / 300).astype(np.float32)[None]
        result = PoseResult(lm, world, ones, ones, np.ones(1, np.float32), np.zeros((1, 5), np.float32), (720, 600))
        time_ms = 1000 * t[i - 1] if i % 50 == 1 else 1000 * t[i]  # every 50th frame repeats the time before
        records.append(FrameRecord(i, time_ms, result))
    sequence = sequences_from_records(records)[0]
    assert len(sequence) == len(t) and np.all(np.diff(sequence.times_s) > 0)
    assert analyse(sequence, "squat").count == 3


def test_times_in_milliseconds_are_a_clear_error_not_a_count_of_zero():
    px, t = _squats()
    with pytest.raises(ValueError, match="were milliseconds given"):
        analyse_sequence(px, t * 1000)
    sequence = PoseSequence()
    for time_s, pose in zip(t * 1000, px, strict=True):
        sequence.append(time_s, pose, pose / 100)
    with pytest.raises(ValueError, match="were milliseconds given"):
        analyse(sequence, "squat")
    slow = analyse_sequence(px[::45], t[::45])  # 1.5 s apart: still seconds (nothing to count at that rate)
    assert slow.repetitions == []
