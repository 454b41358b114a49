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


def _squat_records(times_ms: list[float]) -> list:
    """The synthetic squats as landmark file records, with these frame times."""
    from blazepose.core.results import PoseResult
    from blazepose.io.landmark_files import FrameRecord

    px, _ = _squats()
    ones = np.ones((1, 33), np.float32)
    records = []
    for i, time_ms in enumerate(times_ms):
        lm = (px[i] / (600, 720, 600)).astype(np.float32)[None]
        world = ((px[i] - px[i, 23:25].mean(axis=0)) / 300).astype(np.float32)[None]
        result = PoseResult(lm, world, ones, ones, np.ones(1, np.float32), np.zeros((1, 5), np.float32), (720, 600))
        records.append(FrameRecord(i, time_ms, result))
    return records


def test_landmark_file_records_with_repeated_times_are_nudged_apart():
    """`blazepose run` writes the container's times, which some files repeat; they still make a sequence."""
    from blazepose.fitness import sequences_from_records

    _, t = _squats()
    # every 50th frame repeats the time before
    records = _squat_records([1000 * t[i - 1] if i % 50 == 1 else 1000 * t[i] for i in range(len(t))])
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


def _sequence() -> PoseSequence:
    px, t = _squats()
    sequence = PoseSequence()
    for time_s, pose in zip(t, px, strict=True):
        sequence.append(time_s, pose, pose / 300)
    return sequence


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"exercise": None}, TypeError, "exercise name"),
        ({"exercise": " "}, ValueError, "exercise name"),
        ({"config": "x"}, TypeError, "CountingConfig"),
        ({"classifier": "default"}, TypeError, r"PoseClassifier or None \(blazepose.fitness.default_classifier"),
        ({"count_class": "squats_down"}, ValueError, "needs a classifier"),
    ],
)
def test_analyse_and_the_tracker_name_the_wrong_option(options, error, message):
    with pytest.raises(error, match=message):
        analyse(_sequence(), **options)
    with pytest.raises(error, match=message):
        RepTracker(**options)


def test_a_classifier_without_the_given_exercise_is_refused_before_any_frame():
    from blazepose.fitness import default_classifier

    with pytest.raises(ValueError, match="no \\*_down class for 'dip'"):
        RepTracker(exercise="dip", classifier=default_classifier())


def test_the_tracker_takes_pose_results_only():
    from types import SimpleNamespace

    legacy = SimpleNamespace(pose_landmarks=None)  # what solutions.pose.Pose.process returns
    with pytest.raises(TypeError, match=r"expected a PoseResult .* got SimpleNamespace; the legacy"):
        RepTracker().update(legacy, 0.0)
    with pytest.raises(TypeError, match="got NoneType"):
        RepTracker().update(None, 0.0)


def test_result_angles_refuses_a_pose_index_that_is_not_an_int():
    from blazepose.core.results import PoseResult
    from blazepose.fitness import result_angles

    px, _ = _squats()
    ones = np.ones((1, 33), np.float32)
    lm = (px[0] / (600, 720, 600)).astype(np.float32)[None]
    result = PoseResult(lm, lm, ones, ones, np.ones(1, np.float32), np.zeros((1, 5), np.float32), (720, 600))
    assert set(result_angles(result, 0)) >= {"left_knee", "right_elbow"}
    with pytest.raises(TypeError, match="expected a pose index"):
        result_angles(result, 0.5)  # type: ignore[arg-type]


def test_an_angle_not_measured_is_null_in_the_report_dict():
    import json

    from blazepose.fitness.session import RepReport, RepRow

    report = RepReport("squat", "knee", [RepRow(1.0, 2.0, 1.0, float("nan"), float("nan"), float("nan"))],
                       np.zeros(0), np.zeros(0), np.zeros(0))  # fmt: skip
    (row,) = report.as_dict()["reps"]
    assert row["angle_min"] is None and row["angle_range"] is None and row["start_s"] == 1.0
    json.dumps(report.as_dict(), allow_nan=False)


def test_landmark_file_times_that_go_back_are_warned_of():
    from blazepose.fitness import sequences_from_records

    _, t = _squats()
    records = _squat_records([5000.0 if i == 70 else 1000 * t[i] for i in range(len(t))])  # one frame far ahead
    with pytest.warns(UserWarning, match=r"\d+ frame time\(s\) went back \(by up to 2.633 s\)"):
        sequences_from_records(records)
