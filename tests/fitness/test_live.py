"""Live counting over a bounded window (RepTracker(horizon_s=...)) against the whole-sequence analysis."""

from __future__ import annotations

import numpy as np
import pytest

import blazepose.fitness.live as live_module
from blazepose.core.results import PoseResult
from blazepose.fitness import PoseClassifier
from blazepose.fitness.live import MARGIN_S, LiveWindow
from blazepose.fitness.session import PoseSequence, RepTracker
from fitness_poses import pose_result, squat_sequence, standing_pose

FPS = 10
PERIOD_S = 2.5
HORIZON_S = 20.0
SIZE = (720, 600)


def _stream() -> tuple[list[tuple[float, PoseResult]], int]:
    """5 minutes at 10 fps: squats, a 15 s pause standing, squats, 7.5 s out of the frame (no pose), squats;
    and the true count (whole 2.5 s cycles)."""
    t = np.arange(300 * FPS) / FPS
    depth = 0.5 - 0.5 * np.cos(2 * np.pi * t / PERIOD_S)
    depth[(t >= 100) & (t < 115)] = 0.0
    depth[(t >= 180) & (t < 187.5)] = np.nan
    truth = round(100 / PERIOD_S) + round((180 - 115) / PERIOD_S) + round((300 - 187.5) / PERIOD_S)
    poses = squat_sequence(depth, 2.0, seed=3)
    return [(float(ti), pose_result(p, SIZE)) for ti, p in zip(t, poses, strict=True)], truth


@pytest.fixture(scope="module")
def stream():
    return _stream()


def _only(reports: dict):
    assert len(reports) == 1
    return next(iter(reports.values()))


def _whole_and_live(frames, whole: RepTracker, live: RepTracker):
    """Both trackers fed every frame, the live one reporting every 15 frames (as `blazepose reps` does)."""
    for n, (time_s, result) in enumerate(frames):
        whole.update(result, time_s)
        live.update(result, time_s)
        if n % 15 == 0:
            live.reports()
    return _only(whole.reports()), _only(live.reports())


def test_live_count_equals_the_whole_sequence_and_the_truth_in_a_bounded_window(stream, monkeypatch):
    frames, truth = stream
    analysed: list[int] = []
    analyse = live_module.analyse

    def recording(sequence, *args):
        analysed.append(len(sequence))
        return analyse(sequence, *args)

    monkeypatch.setattr(live_module, "analyse", recording)
    whole, live = RepTracker(id_memory=10**9, one_person=True), RepTracker(one_person=True, horizon_s=HORIZON_S)
    expected, counted = _whole_and_live(frames, whole, live)
    assert expected.count == truth == 111
    assert counted.count == expected.count and counted.exercise == expected.exercise == "squat"
    starts = np.array([r.start_s for r in counted.reps])
    ends = np.array([r.end_s for r in counted.reps])
    np.testing.assert_allclose(starts, [r.start_s for r in expected.reps], atol=0.5)
    np.testing.assert_allclose(ends, [r.end_s for r in expected.reps], atol=0.5)
    assert np.all(np.diff(starts) > 0)  # in time order, none counted twice across a cut
    sequence = _only(live.sequences)
    assert sequence.dropped_frames > 200 * FPS  # cut again and again, frames dropped
    assert sequence.seen_frames() == sum(len(r) for _, r in frames)
    assert len(analysed) == 201 and max(analysed) <= (MARGIN_S + HORIZON_S + 2 * PERIOD_S) * FPS
    # the last frame's phase and times in the global timeline
    assert counted.times_s[-1] == frames[-1][0] and abs(counted.phase[-1] - expected.phase[-1]) < 0.1


def test_knn_counting_live_equals_the_whole_sequence_in_a_bounded_window(stream):
    """MediaPipe's method (k-NN votes, EMA, 6/4 counter) through the same live window."""
    frames, truth = stream
    poses = np.stack([standing_pose(d) for d in np.linspace(0, 1, 21)])
    classifier = PoseClassifier(poses, ["squats_up"] * 10 + ["squats_down"] * 11)  # down from depth 0.5
    knn = {"exercise": "squat", "classifier": classifier, "one_person": True}
    whole, live = RepTracker(id_memory=10**9, **knn), RepTracker(horizon_s=HORIZON_S, **knn)
    expected, counted = _whole_and_live(frames, whole, live)
    assert expected.count == counted.count == truth
    np.testing.assert_allclose([r.start_s for r in counted.reps], [r.start_s for r in expected.reps], atol=0.5)
    assert _only(live.sequences).dropped_frames > 200 * FPS


def test_a_long_stillness_or_absence_is_cut_too():
    """No rest point (phase 0 when nothing moves): cut once the window spans twice the horizon (and the
    margin)."""
    window = LiveWindow(horizon_s=5.0)
    sequence = PoseSequence()
    lengths = []
    standing = squat_sequence(np.zeros(1))[0]
    for k in range(600):  # 60 s at 10 fps: 30 s still, 30 s away
        sequence.append(k / 10, standing if k < 300 else None, standing if k < 300 else None)
        if k % 10 == 0:
            report = window.report(sequence)
            lengths.append(window.analysed_frames)
            assert report.count == 0
    # at most twice the horizon plus the frames between two reports
    assert max(lengths) <= (MARGIN_S + 2 * 5.0) * 10 + 10 + 1 and sequence.dropped_frames > 400


def test_horizon_must_be_positive():
    with pytest.raises(ValueError, match="horizon_s"):
        RepTracker(horizon_s=0)
    with pytest.raises(ValueError, match="horizon_s"):
        LiveWindow(horizon_s=float("nan"))
