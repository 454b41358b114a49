"""Counting repetitions with no training: the repeated motion found in the pose sequence itself.

The sequence is cut into bouts: runs of frames with a pose, split where none was seen for longer than
``max_gap_s`` (the person left the frame, or the camera lost them). Each bout is analysed on its own,
since a person who comes back may stand elsewhere, nearer or farther: the pose of every frame becomes a
scale-free vector (body landmarks relative to the hip centre, and the hip centre relative to its median,
in the bout's torso lengths). The bout's vectors are smoothed (a 3-frame median, then a Gaussian); their
main principal direction of motion around a running median (the direction in which the body moves most,
not counting slow moves such as walking into the frame) gives a 1-D phase signal. The signal is oriented
so that its high side is the rest position (given by a signal that is high at rest, or where the bout
starts) and scaled to [0, 1] between robust extremes over a sliding window of several periods (so that
reps growing shallower in a long set still count). A repetition is a trip from rest to the far side
(below ``away`` of the range) and back (above ``back``), followed across the bouts of one stretch. A
stretch is the bouts between two absences longer than ``max_gap_s`` (or two shot changes): bouts split
only by a change of track id, with poses at most ``max_gap_s`` apart, are one person lost for a moment,
and a trip under the first id ends under the next. Bouts shorter than ``min_bout_s``, or with too little
motion, are left out of the count (their frames are not looked at; they do not break the stretch). An
unfinished trip (the stretch ends on the far side) counts only if ``count_unfinished``, one whose start
was not seen only if ``count_unstarted``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from blazepose.core.topology import PoseLandmark as L

BODY_LANDMARKS = (
    L.NOSE, L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_ELBOW, L.RIGHT_ELBOW, L.LEFT_WRIST, L.RIGHT_WRIST,
    L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE,
)  # fmt: skip


@dataclass(frozen=True)
class CountingConfig:
    """Parameters of the training-free counter (all in seconds or fractions of the motion's range).

    Attributes:
        smoothing_s: Standard deviation of the Gaussian smoothing of the pose signal.
        median_frames: Before it, a running median over this many frames (odd; 1: none), so that a pose
            wrong in one isolated frame (a tracking glitch) moves nothing.
        away: A trip starts counting once the phase falls below this (0 = far side, 1 = rest).
        back: ... and ends when it comes back above this.
        robust_percentile: The range of the phase is taken between this percentile and its complement.
        min_range_torso: Smallest motion (torso lengths along the main component) that counts at all.
        max_gap_s: A gap without pose longer than this interrupts the trip in progress.
        min_bout_s: A bout (poses between two absences, track id changes or shot changes) shorter than
            this is left out of the count: scaled to its own range, a fragment of a trip would look like a
            whole one.
        count_unfinished: Also count a trip that reached the far side but did not come back before the
            sequence ended, the person was lost for longer than ``max_gap_s``, or the shot changed.
        count_unstarted: Also count a trip whose start was not seen (the sequence, or the person's
            return after a gap, begins on the far side).
        window_periods: The range is measured over a sliding window of this many periods...
        min_window_s: ... and at least this long (seconds); the main direction of motion is found
            around a running median over this long.
        min_local_range: Smallest local range, as a share of the whole sequence's.
    """

    smoothing_s: float = 0.1
    median_frames: int = 3
    away: float = 0.4
    back: float = 2 / 3
    robust_percentile: float = 5.0
    min_range_torso: float = 0.3
    max_gap_s: float = 1.0
    min_bout_s: float = 0.5
    count_unfinished: bool = False
    count_unstarted: bool = False
    window_periods: float = 6.0
    min_window_s: float = 10.0
    min_local_range: float = 0.5

    def __post_init__(self) -> None:
        if not 0 <= self.away < self.back <= 1:
            raise ValueError(f"expected 0 <= away < back <= 1, got away={self.away}, back={self.back}")
        if not (isinstance(self.median_frames, int) and self.median_frames >= 1 and self.median_frames % 2):
            raise ValueError(f"expected an odd median_frames >= 1, got {self.median_frames!r}")
        if not 0 <= self.robust_percentile < 50:
            raise ValueError(f"expected 0 <= robust_percentile < 50, got {self.robust_percentile}")
        lengths = {"smoothing_s": self.smoothing_s, "min_range_torso": self.min_range_torso,
                   "max_gap_s": self.max_gap_s, "min_bout_s": self.min_bout_s, "window_periods": self.window_periods,
                   "min_window_s": self.min_window_s, "min_local_range": self.min_local_range}  # fmt: skip
        bad = {k: v for k, v in lengths.items() if not (np.isfinite(v) and v >= 0)}
        if bad:
            raise ValueError(f"expected finite values >= 0, got {bad}")


@dataclass(frozen=True)
class Repetition:
    """One repetition: when it started and ended (seconds), and the frames between."""

    start_s: float
    end_s: float
    start_frame: int
    end_frame: int
    finished: bool = True

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class PhaseAnalysis:
    """The phase signal of a sequence and the repetitions found in it.

    Attributes:
        phase: (T,) in [0, 1], 1 at rest; NaN where there was no pose (and in bouts of fewer than 3 poses).
        repetitions: The repetitions, in time order.
        range_torso: The motion's range along the main direction, in torso lengths (of the longest bout).
        period_s: The dominant period from the signal's autocorrelation (the longest bout's that has one, or None).
    """

    phase: np.ndarray
    repetitions: list[Repetition]
    range_torso: float
    period_s: float | None


MAX_MEAN_FRAME_STEP_S = 2.0
"""Frames further apart than this on average (under half a frame per second) cannot show repetitions:
such times are taken for a unit error (milliseconds given where seconds are expected)."""


def check_times(times_s, frames: int) -> np.ndarray:
    """``times_s`` as a float array, checked to hold one finite, strictly increasing time per frame, in
    seconds (three frames or more at most :data:`MAX_MEAN_FRAME_STEP_S` apart on average).

    Raises:
        ValueError: it does not.
    """
    times = np.asarray(times_s, np.float64)
    if times.shape != (frames,):
        raise ValueError(f"expected one time per frame, shape ({frames},), got {times.shape}")
    if not np.all(np.isfinite(times)):
        raise ValueError("expected finite frame times, got NaN or infinity")
    steps = np.diff(times)
    if np.any(steps <= 0):
        k = int(np.argmax(steps <= 0))
        raise ValueError(
            f"expected strictly increasing frame times, got {times[k + 1]} after {times[k]} at frame {k + 1}"
        )
    step = float(times[-1] - times[0]) / (len(times) - 1) if len(times) >= 3 else 0.0
    if step > MAX_MEAN_FRAME_STEP_S:
        raise ValueError(
            f"expected frame times in seconds, got frames {step:.4g} s apart on average ({1 / step:.3g} per second "
            f"over {len(times)} frames, {times[0]:.6g} to {times[-1]:.6g}): were milliseconds given?"
        )
    return times


def pose_features(landmarks_px: np.ndarray) -> np.ndarray:
    """(T, 33, >=2) pixel landmarks (NaN where no pose) -> (T, 28) features in torso lengths."""
    p = np.asarray(landmarks_px, np.float64)[..., :2]
    if p.ndim != 3 or p.shape[1] != 33:
        raise ValueError(f"expected landmarks of shape (T, 33, 2 or 3), got {np.shape(landmarks_px)}")
    if not len(p):
        return np.zeros((0, 2 * len(BODY_LANDMARKS) + 2))
    hips = (p[:, L.LEFT_HIP] + p[:, L.RIGHT_HIP]) / 2
    shoulders = (p[:, L.LEFT_SHOULDER] + p[:, L.RIGHT_SHOULDER]) / 2
    lengths = np.linalg.norm(shoulders - hips, axis=1)
    torso = np.nanmedian(lengths) if np.any(np.isfinite(lengths)) else np.nan
    if not torso > 0:
        torso = 1.0
    relative = (p[:, list(BODY_LANDMARKS)] - hips[:, None]) / torso
    hip_track = (hips - np.nanmedian(hips, axis=0)) / torso if np.any(np.isfinite(hips)) else hips
    return np.concatenate([relative.reshape(len(p), -1), hip_track], axis=1)


def _fill_and_smooth(x: np.ndarray, valid: np.ndarray, sigma_frames: float, median_frames: int = 1) -> np.ndarray:
    try:
        from scipy.ndimage import gaussian_filter1d, median_filter
    except ImportError as e:
        raise ImportError("repetition counting needs scipy: pip install 'blazepose[fitness]'") from e

    index = np.flatnonzero(valid)
    frames = np.arange(len(x))
    filled = np.stack([np.interp(frames, index, x[index, j]) for j in range(x.shape[1])], axis=1)
    if median_frames > 1:
        filled = median_filter(filled, size=(median_frames, 1), mode="nearest")
    return gaussian_filter1d(filled, sigma_frames, axis=0, mode="nearest") if sigma_frames > 0 else filled


def dominant_period(signal: np.ndarray, frame_s: float, min_s: float = 0.5) -> float | None:
    """The lag (seconds) of the highest autocorrelation peak after the first zero crossing, or None."""
    x = np.asarray(signal, np.float64) - np.mean(signal)
    if len(x) < 4 or not np.any(x):
        return None
    n = len(x)
    spectrum = np.fft.rfft(x, 2 * n)
    auto = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    auto = auto / auto[0] * n / np.maximum(n - np.arange(n), 1)  # unbiased
    negative = np.flatnonzero(auto < 0)
    if not len(negative):
        return None
    lo = max(int(negative[0]), int(min_s / frame_s))
    hi = max(lo + 1, int(n * 0.75))
    if lo >= hi or lo >= n:
        return None
    lag = lo + int(np.argmax(auto[lo:hi]))
    return lag * frame_s if auto[lag] > 0 else None


def analyse_sequence(
    landmarks_px: np.ndarray,
    times_s: np.ndarray,
    rest_signal: np.ndarray | None = None,
    config: CountingConfig | None = None,
    segments: np.ndarray | None = None,
    shots: np.ndarray | None = None,
) -> PhaseAnalysis:
    """Counts the repetitions of a pose sequence.

    Args:
        landmarks_px: (T, 33, 2 or 3) landmarks in pixels, NaN in frames without a pose.
        times_s: (T,) strictly increasing frame times in seconds.
        rest_signal: (T,) a signal that is high at rest (e.g. the main joint's angle); it orients
            the phase. None: the rest position is where the sequence starts.
        config: Counting parameters (defaults: :class:`CountingConfig`).
        segments: (T,) ints; a bout also ends where this changes (the pose tracker's track id: one person
            followed under several ids is analysed bout by bout, so that the jump from one id's pose to
            the next, which may be someone else's, is no motion). A trip in progress goes on across
            such a change when the poses on either side are at most ``max_gap_s`` apart.
        shots: (T,) ints; the video's shot of each frame (:class:`~blazepose.fitness.shots.ShotCuts`):
            where it changes, a bout ends and the trip in progress with it, as after a long absence.

    Returns:
        The phase and the repetitions found.
    """
    config = config or CountingConfig()
    landmarks = np.asarray(landmarks_px, np.float64)
    features = pose_features(landmarks)
    times = check_times(times_s, len(features))
    if rest_signal is not None and np.shape(rest_signal) != times.shape:
        raise ValueError(f"expected a rest signal of shape {times.shape}, got {np.shape(rest_signal)}")
    segments, shots = _labels("segments", segments, times.shape), _labels("shots", shots, times.shape)
    rest = None if rest_signal is None else np.asarray(rest_signal, np.float64)
    phase = np.full(len(times), np.nan)
    counted = np.zeros(len(times), bool)  # frames of the bouts whose phase is counted
    bout_start = np.zeros(len(times), bool)
    stretch_start = np.zeros(len(times), bool)  # the trip in progress is over: a long absence or a new shot
    ranges, periods = [], []
    last_stop = None
    for lo, hi in bouts(np.all(np.isfinite(features), axis=1), times, config.max_gap_s, _changes(segments, shots)):
        part = _analyse_bout(landmarks[lo:hi], times[lo:hi], None if rest is None else rest[lo:hi], config)
        phase[lo:hi] = part.phase
        ranges.append((hi - lo, part.range_torso))
        periods.append((hi - lo, part.period_s))
        if part.range_torso >= config.min_range_torso and times[hi - 1] - times[lo] >= config.min_bout_s:
            counted[lo:hi] = np.isfinite(part.phase)
        bout_start[lo] = True
        if last_stop is not None:
            shot_cut = shots is not None and shots[lo] != shots[last_stop - 1]
            stretch_start[lo] = shot_cut or times[lo] - times[last_stop - 1] > config.max_gap_s
        last_stop = hi
    reps = _trips(phase, times, counted, stretch_start, bout_start, config)
    longest = max(ranges, default=(0, 0.0))[1]
    period = max(periods, key=lambda p: p[0] if p[1] is not None else -1, default=(0, None))[1]
    return PhaseAnalysis(phase, reps, longest, period)


def _labels(name: str, values, shape: tuple[int, ...]) -> np.ndarray | None:
    """Per-frame integer labels (track ids, shots) as int64, checked (None stays None).

    Raises:
        ValueError: not one whole number per frame.
    """
    if values is None:
        return None
    array = np.asarray(values)
    if array.shape != shape:
        raise ValueError(f"expected {name} of shape {shape}, got {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        whole = np.issubdtype(array.dtype, np.number) and bool(np.all(np.isfinite(array) & (array == np.round(array))))
        if not whole:
            raise ValueError(f"expected {name} to hold whole numbers (one per frame), got {array.dtype} values")
    return array.astype(np.int64)


def _changes(*labels: np.ndarray | None) -> np.ndarray | None:
    """(T,) one number per combination of the given per-frame labels (None if none is given)."""
    given = [x for x in labels if x is not None]
    if not given or not len(given[0]):
        return None
    return np.unique(np.stack(given, axis=1), axis=0, return_inverse=True)[1].reshape(-1)


def bouts(
    valid: np.ndarray, times: np.ndarray, max_gap_s: float, segments: np.ndarray | None = None
) -> list[tuple[int, int]]:
    """``[start, stop)`` frame ranges of the bouts of a sequence: runs of frames with a pose, split where
    none was seen for longer than ``max_gap_s`` (the person left, or the camera lost them), and where
    ``segments`` (T,), if given, changes from one pose to the next."""
    index = np.flatnonzero(valid)
    if not len(index):
        return []
    cut = np.diff(times[index]) > max_gap_s
    if segments is not None:
        cut |= np.diff(np.asarray(segments)[index]) != 0
    gaps = np.flatnonzero(cut)
    starts = np.concatenate([[index[0]], index[gaps + 1]])
    stops = np.concatenate([index[gaps] + 1, [index[-1] + 1]])
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


def _analyse_bout(
    landmarks_px: np.ndarray, times: np.ndarray, rest: np.ndarray | None, config: CountingConfig
) -> PhaseAnalysis:
    """The phase of one bout (its own scale, main direction, orientation and range), with no repetitions:
    :func:`analyse_sequence` follows the trips across the bouts of a stretch."""
    features = pose_features(landmarks_px)
    valid = np.all(np.isfinite(features), axis=1)
    empty = PhaseAnalysis(np.full(len(times), np.nan), [], 0.0, None)
    if valid.sum() < 3:
        return empty
    # The mean step, not the median: files that repeat container times get them nudged 1 microsecond
    # apart (core.timestamps.after_previous_ms), and where half the frames are, the median step is 1 us.
    frame_s = float(times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else 1 / 30
    smooth = _fill_and_smooth(features, valid, config.smoothing_s / max(frame_s, 1e-6), config.median_frames)
    centred = smooth - np.median(smooth[valid], axis=0)
    signal = centred @ _main_direction(smooth, valid, round(config.min_window_s / frame_s))
    if rest is not None:
        both = valid & np.isfinite(rest)
        moving = both.sum() > 2 and np.ptp(signal[both]) > 0 and np.ptp(rest[both]) > 0  # else no correlation
        if moving and np.corrcoef(signal[both], rest[both])[0, 1] < 0:
            signal = -signal
    else:
        first = signal[valid][: max(3, int(0.5 / frame_s))]
        if np.median(first) < np.median(signal[valid]):
            signal = -signal
    lo, hi = np.percentile(signal[valid], [config.robust_percentile, 100 - config.robust_percentile])
    span = float(hi - lo)
    period = dominant_period(signal, frame_s)  # every frame (gaps filled): frame_s apart
    phase = _local_phase(signal, span, period, frame_s, config) if span > 0 else np.zeros_like(signal)
    phase[~valid] = np.nan
    return PhaseAnalysis(phase, [], span, period)


def _main_direction(smooth: np.ndarray, valid: np.ndarray, window_frames: int) -> np.ndarray:
    """The main principal direction of the pose vectors' motion around their running median over
    ``window_frames`` (the bout's median if the bout is shorter): slow moves such as walking into the
    frame, or drifting along a long set, do not outweigh the repeated one.

    The running median is taken on every ``window_frames // 31``-th frame and interpolated between
    (a slow curve either way), which keeps its cost per frame small on long sequences.
    """
    from scipy.ndimage import median_filter

    size = max(3, window_frames | 1)
    if size < len(smooth):
        step = max(1, size // 31)
        frames = np.arange(len(smooth))
        coarse = median_filter(smooth[::step], size=(max(3, (size // step) | 1), 1), mode="nearest")
        level = np.stack([np.interp(frames, frames[::step], c) for c in coarse.T], axis=1)
        around = smooth - level
    else:
        around = smooth - np.median(smooth[valid], axis=0)
    x = around[valid]
    _, vectors = np.linalg.eigh(x.T @ x)  # eigenvalues ascending: the last vector is the main direction
    return vectors[:, -1]


def _local_phase(signal: np.ndarray, span: float, period: float | None, frame_s: float, config) -> np.ndarray:
    """The signal scaled to [0, 1] between its robust extremes over a sliding window.

    The window spans ``window_periods`` periods (at least ``min_window_s``), so that reps that grow
    shallower in a long set, or a rest level that drifts, still cross the thresholds. Where the
    local range is under ``min_local_range`` of the whole range (a long pause) it is widened to
    that around its middle, so that noise cannot cross them.
    """
    from scipy.ndimage import percentile_filter

    window = max(config.min_window_s, config.window_periods * (period or 0.0))
    size = max(3, round(window / frame_s) | 1)
    if size >= len(signal):
        lo = np.full_like(signal, np.percentile(signal, config.robust_percentile))
        hi = np.full_like(signal, np.percentile(signal, 100 - config.robust_percentile))
    else:
        lo = percentile_filter(signal, config.robust_percentile, size=size, mode="nearest")
        hi = percentile_filter(signal, 100 - config.robust_percentile, size=size, mode="nearest")
    local = np.maximum(hi - lo, config.min_local_range * span)
    return np.clip(0.5 + (signal - (hi + lo) / 2) / local, 0.0, 1.0)


def _trips(
    phase: np.ndarray,
    times: np.ndarray,
    counted: np.ndarray,
    stretch_start: np.ndarray,
    bout_start: np.ndarray,
    config: CountingConfig,
) -> list[Repetition]:
    """Rest -> far side -> rest trips of the phase over its ``counted`` frames, with their start and end
    frames; a trip in progress is over where a stretch starts (the frames of the bouts left out between
    counted ones do not end it)."""
    reps: list[Repetition] = []
    state = "unknown"  # "rest" once seen above `back`, "away" once fallen below `away` from rest
    away_at = rest_since = last = -1
    index = np.flatnonzero(counted)
    passed = np.cumsum(stretch_start)[index]  # stretch starts up to each counted frame
    new_stretch = np.zeros(len(index), bool)
    new_stretch[1:] = np.diff(passed) > 0
    for i, new in zip(index.tolist(), new_stretch.tolist(), strict=True):
        if new:
            if state == "away" and config.count_unfinished:
                reps.append(_bounds(phase, times, counted, bout_start, rest_since, away_at, last, False, config.away))
            state = "unknown"
        last = i
        u = phase[i]
        if state != "away" and u >= config.back:
            if state != "rest":
                rest_since = i
            state = "rest"
        elif state == "unknown" and u <= config.away and config.count_unstarted:
            state, away_at, rest_since = "away", i, i
        elif state == "rest" and u <= config.away:
            state, away_at = "away", i
        elif state == "away" and u >= config.back:
            reps.append(_bounds(phase, times, counted, bout_start, rest_since, away_at, i, True, config.away))
            state, rest_since = "rest", i
    if state == "away" and config.count_unfinished:
        reps.append(_bounds(phase, times, counted, bout_start, rest_since, away_at, last, False, config.away))
    return reps


def _bounds(
    phase, times, counted, bout_start, rest_from: int, away_at: int, back_at: int, finished: bool, away: float
) -> Repetition:
    """Start: the last frame near the rest level before leaving; end: the first near it after returning,
    looked for until the phase next falls to 1/3 or to ``away`` (where the next trip starts: so that no
    frame is looked at for two repetitions, and a long sequence costs its length, not length x reps) or
    the bout of the return ends."""
    before = [i for i in range(rest_from, away_at + 1) if counted[i]]
    level = max(phase[i] for i in before)
    start = max(i for i in before if phase[i] >= level - 0.1)
    end = back_at
    if finished:
        after = []
        for i in range(back_at, len(phase)):
            if i > back_at and bout_start[i]:
                break
            if counted[i]:
                if phase[i] <= max(1 / 3, away):
                    break
                after.append(i)
        after = after or [back_at]
        top = max(phase[i] for i in after)
        end = min(i for i in after if phase[i] >= top - 0.1)
    return Repetition(float(times[start]), float(times[end]), int(start), int(end), finished)
