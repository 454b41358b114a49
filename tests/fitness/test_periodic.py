"""Training-free counting on synthetic squats: sinusoidal motion with pauses, noise, a late start and gaps."""

import warnings

import numpy as np
import pytest

from blazepose.fitness.periodic import CountingConfig, analyse_sequence, bouts, dominant_period
from blazepose.fitness.session import PoseSequence, analyse, rest_signal
from fitness_poses import squat_sequence, standing_pose

FPS = 30


def _reps(n: int, period_s: float) -> np.ndarray:
    """Depth of ``n`` squats, each 0 -> 1 -> 0 over ``period_s``."""
    t = np.arange(int(n * period_s * FPS)) / FPS
    return 0.5 - 0.5 * np.cos(2 * np.pi * t / period_s)


def _still(seconds: float, depth: float = 0.0) -> np.ndarray:
    return np.full(int(seconds * FPS), depth)


def _count(depths: np.ndarray, noise_px: float = 3.0, **config) -> list:
    poses = squat_sequence(depths, noise_px=noise_px)
    times = np.arange(len(depths)) / FPS
    return analyse_sequence(poses, times, config=CountingConfig(**config)).repetitions


def test_counts_sinusoidal_squats_with_pauses_and_noise():
    depths = np.concatenate([_still(2), _reps(4, 2.0), _still(3), _reps(3, 1.5), _still(1), _reps(5, 2.5), _still(1)])
    reps = _count(depths, noise_px=4.0)
    assert len(reps) == 12
    first = reps[0]
    assert first.start_s == pytest.approx(2.0, abs=0.3) and first.end_s == pytest.approx(4.0, abs=0.3)
    assert reps[4].start_s == pytest.approx(2 + 8 + 3, abs=0.3)  # after the 3 s pause
    assert all(r.finished for r in reps)


def test_late_start_and_unfinished_last_rep():
    depths = np.concatenate([_still(5), _reps(3, 2.0), _reps(1, 2.0)[:30]])  # the 4th stops at its bottom
    assert len(_count(depths)) == 3
    reps = _count(depths, count_unfinished=True)
    assert len(reps) == 4 and not reps[-1].finished


def test_leaving_the_frame_drops_the_rep_in_progress():
    depths = np.concatenate([_still(1), _reps(2, 2.0), _reps(1, 2.0)[:30], np.full(60, np.nan), _still(1),
                             _reps(2, 2.0), _still(1)])  # fmt: skip
    assert len(_count(depths)) == 4  # the third went down, the person left for 2 s, came back standing


def test_no_motion_counts_nothing():
    assert _count(_still(6), noise_px=3.0) == []
    assert _count(np.full(90, np.nan)) == []


def test_dominant_period():
    t = np.arange(300) / FPS
    assert dominant_period(np.sin(2 * np.pi * t / 1.6), 1 / FPS) == pytest.approx(1.6, abs=1 / FPS)
    assert dominant_period(np.zeros(50), 1 / FPS) is None


def test_a_long_set_with_uneven_reps_pauses_drift_and_zoom():
    """25 squats of random period (1.5-3.5 s) and depth, random pauses, the person drifting sideways
    by half a body height and growing 30% (walking towards the camera)."""
    rng = np.random.default_rng(7)
    parts = [_still(2)]
    for _ in range(25):
        parts.append(rng.uniform(0.6, 1.0) * _reps(1, rng.uniform(1.5, 3.5)))
        if rng.random() < 0.2:
            parts.append(_still(rng.uniform(1, 5)))
    depths = np.concatenate(parts)
    drift = np.linspace(0, 1, len(depths))
    poses = np.stack(
        [standing_pose(d, x0=300 + 150 * s, scale=1 + 0.3 * s) for d, s in zip(depths, drift, strict=True)]
    )
    poses[..., :2] += rng.normal(0, 4, poses[..., :2].shape)
    times = np.arange(len(depths)) / FPS
    reps = analyse_sequence(poses, times, rest_signal("squat", poses)).repetitions
    assert len(reps) == 25


def test_reps_growing_shallower_and_long_pauses_in_a_long_set():
    """Depth falling from 1 to 0.4 over 25 reps (fatigue): the range is measured over a sliding window,
    so the last reps still count; 40 s pauses at rest (longer than the window) add none."""
    rng = np.random.default_rng(3)
    shallower = np.concatenate([_still(2)] + [a * _reps(1, rng.uniform(1.5, 3.0)) for a in np.linspace(1, 0.4, 25)])
    assert len(_count(shallower, noise_px=3.0)) == 25
    paused = np.concatenate([_still(2), _reps(10, 2.0), _still(40), _reps(10, 2.5), _still(40), _reps(5, 1.8)])
    assert len(_count(paused, noise_px=8.0)) == 25


def _long_set_with_an_absence(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """25 squats: 12 at a 2 s tempo with depth drifting 1 -> 0.6, a 4 s pause, 13 at 1.3-2.8 s; between
    them the person leaves the frame for 5 s and comes back twice as far away and to the side."""
    first = [a * _reps(1, 2.0) for a in np.linspace(1.0, 0.6, 12)]
    second = [rng.uniform(0.7, 1.0) * _reps(1, rng.uniform(1.3, 2.8)) for _ in range(13)]
    depths = [_still(2), *first[:6], _still(4), *first[6:], _still(1), np.full(5 * FPS, np.nan), _still(1), *second]
    depth = np.concatenate([*depths, _still(1)])
    came_back = np.arange(len(depth)) > np.flatnonzero(np.isnan(depth))[-1]
    poses = np.full((len(depth), 33, 3), np.nan)
    for i, d in enumerate(depth):
        if np.isfinite(d):
            poses[i] = standing_pose(d, x0=700.0, scale=0.5) if came_back[i] else standing_pose(d)
    poses[..., :2] += rng.normal(0, 3, poses[..., :2].shape)
    return poses, np.arange(len(depth)) / FPS


def test_a_long_set_where_the_person_leaves_and_comes_back_elsewhere():
    """Each bout (frames with a pose between absences over max_gap_s) gets its own scale, direction and
    range: the 12 reps before the absence and the 13 after all count, none in the absence."""
    poses, times = _long_set_with_an_absence(np.random.default_rng(11))
    analysis = analyse_sequence(poses, times, rest_signal("squat", poses))
    assert len(analysis.repetitions) == 25
    absent = times[np.isnan(poses[:, 0, 0])]
    assert not any(absent[0] <= r.end_s and r.start_s <= absent[-1] for r in analysis.repetitions)
    assert np.all(np.isnan(analysis.phase[np.isnan(poses[:, 0, 0])]))


def test_bouts_split_at_gaps_longer_than_max_gap():
    valid = np.array([0, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0], bool)
    times = np.arange(12) / 2  # 0.5 s a frame: one missing frame is a 1 s step, three are 2 s
    assert bouts(valid, times, max_gap_s=1.0) == [(1, 6), (9, 11)]
    assert bouts(valid, times, max_gap_s=0.5) == [(1, 3), (4, 6), (9, 11)]
    assert bouts(np.zeros(4, bool), np.arange(4.0), 1.0) == []


@pytest.mark.parametrize("seed", [0, 2])
def test_tracking_glitches_in_a_long_set(seed):
    """25 squats where 5% of the frames hold a pose thrown about one torso length at random (whole-pose
    tracking errors): the 3-frame median removes them before smoothing (with none, seed 2 counts 26)."""
    rng = np.random.default_rng(seed)
    reps = [rng.uniform(0.6, 1) * _reps(1, rng.uniform(1.2, 3)) for _ in range(25)]
    depth = np.concatenate([_still(2), *reps, _still(1)])
    poses = squat_sequence(depth, noise_px=3, seed=seed)
    glitch = rng.random(len(poses)) < 0.05
    poses[glitch, :, :2] += rng.normal(0, 160, (glitch.sum(), 33, 2))
    times = np.arange(len(poses)) / FPS
    assert len(analyse_sequence(poses, times, rest_signal("squat", poses)).repetitions) == 25


def test_a_long_set_with_an_absence_through_analyse():
    """The same set as a PoseSequence with no pose while the person is away (what `blazepose reps
    --num-poses 1` builds, with RepTracker's one_person, whatever track ids the person gets), exercise
    recognised."""
    poses, times = _long_set_with_an_absence(np.random.default_rng(5))
    sequence = PoseSequence()
    for t, p in zip(times, poses, strict=True):
        seen = bool(np.all(np.isfinite(p)))
        world = (p - p[23:25].mean(axis=0)) / 300 if seen else None  # hips at the origin, about metres
        sequence.append(t, p if seen else None, world)
    report = analyse(sequence)
    assert (report.exercise, report.count) == ("squat", 25)


def test_walking_into_the_frame_before_a_long_set_and_out_after():
    """3 s walking 600 px (almost four torso lengths) in, 25 squats, 3 s walking out: the main direction
    is found around a running median, so the walk does not outweigh the squats (found along it, none)."""
    rng = np.random.default_rng(4)
    depth = np.concatenate([_still(4), *[rng.uniform(0.6, 1) * _reps(1, rng.uniform(1.2, 3)) for _ in range(25)],
                            _still(4)])  # fmt: skip
    walk = 3 * FPS
    x = np.full(len(depth), 300.0)
    x[:walk], x[-walk:] = np.linspace(-300, 300, walk), np.linspace(300, 900, walk)
    poses = np.stack([standing_pose(d, x0=x0) for d, x0 in zip(depth, x, strict=True)])
    poses[..., :2] += rng.normal(0, 3, poses[..., :2].shape)
    times = np.arange(len(depth)) / FPS
    assert len(analyse_sequence(poses, times, rest_signal("squat", poses)).repetitions) == 25


def test_the_period_with_frames_missing_inside_a_bout():
    """Every other frame without a pose (a flickering detection) is still a 30 fps clip: the period is
    measured on the bout's frames at their own times (it was halved, measured on the valid frames alone)."""
    depth = np.concatenate([_still(1), _reps(10, 2.0), _still(1)])
    poses = squat_sequence(depth, noise_px=3.0)
    poses[1::2] = np.nan
    analysis = analyse_sequence(poses, np.arange(len(depth)) / FPS, rest_signal("squat", poses))
    assert analysis.period_s == pytest.approx(2.0, abs=0.15) and len(analysis.repetitions) == 10


def test_a_pose_that_never_moves_counts_nothing_and_warns_nothing():
    poses = squat_sequence(np.zeros(300))  # exactly still: no direction of motion, no correlation with rest
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        analysis = analyse_sequence(poses, np.arange(300) / FPS, rest_signal("squat", poses))
    assert analysis.repetitions == [] and analysis.range_torso == 0.0


def test_repeated_container_times_nudged_apart_still_count():
    """A file that gives every other frame the previous frame's time: the times are nudged 1 microsecond
    apart (as `blazepose run` and `blazepose reps` feed them), so that half the frame steps are 1 us. The
    frame step is the bout's mean (with the median, 1 us, nothing was counted)."""
    depth = np.concatenate([_still(1), _reps(10, 2.0), _still(1)])
    poses = squat_sequence(depth, noise_px=3.0)
    times = (np.arange(len(depth)) // 2) * 2 / FPS
    times[1::2] += 1e-6
    analysis = analyse_sequence(poses, times, rest_signal("squat", poses))
    assert len(analysis.repetitions) == 10 and analysis.period_s == pytest.approx(2.0, abs=0.15)
