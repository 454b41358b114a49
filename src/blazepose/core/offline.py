"""Whole clips at once (offline): a backward pass and zero-lag smoothing.

A live tracker sees each frame once, in order: it cannot know a person
before the detector first finds them, and its filters must lag to smooth.
Over a whole clip, :func:`track_clip` does better:

1. Forward: the live tracker (``accuracy="high"`` by default), unsmoothed.
2. Backward: a second decode of the clip; from the first frame of every
   track (and every reappearance), the landmark model tracks the person
   backwards in time, from each frame's landmarks to the previous frame's
   region, filling frames where the forward tracker had not found them yet
   or had lost them, with the same track id. When that walk meets a track
   that ended there, the two are one person and take one id.
3. Smoothing: each track's landmarks are low-pass filtered forwards and
   backwards over the whole sequence (``scipy.signal.filtfilt``, a
   Butterworth filter), which has no delay, in place of the causal One Euro
   filter.

Memory: the landmarks of the whole clip (small) and, during the backward
pass, the last ``max_backfill`` decoded frames; never the whole clip's frames.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from blazepose.core.estimator import PoseEstimator
from blazepose.core.landmarker import RawPose
from blazepose.core.landmarks import NUM_LANDMARKS
from blazepose.core.recall import pose_region
from blazepose.core.results import PoseResult
from blazepose.core.roi import NormRect, rect_iou
from blazepose.core.timestamps import DEFAULT_FPS
from blazepose.core.tracking import SmoothedPose

# A frame is an RGB uint8 image, or (image, timestamp in milliseconds).
FrameItem = np.ndarray | tuple[np.ndarray, float]
Frames = Callable[[], Iterable[FrameItem]] | Sequence[FrameItem]


@dataclass(frozen=True)
class OfflineSettings:
    """How :func:`track_clip` goes beyond the live tracker.

    Attributes:
        backfill: Run the backward pass.
        max_backfill: Frames the backward pass may go back from where a track
            starts (and frames it keeps decoded at once).
        smooth: Smooth landmarks (see :func:`zero_lag_smooth`).
        still_cutoff_hz: Cutoff of the zero-lag low-pass filter for still
            landmarks.
        moving_cutoff_hz: Its cutoff for landmarks moving at ``full_speed``.
        full_speed: Speed, in body sizes (the landmark region's side) per
            second, from which the moving cutoff applies alone.
        smoothing_order: The filters' Butterworth order (each applied twice:
            forwards and backwards).
    """

    backfill: bool = True
    max_backfill: int = 60
    smooth: bool = True
    still_cutoff_hz: float = 1.0
    moving_cutoff_hz: float = 6.0
    full_speed: float = 1.0
    smoothing_order: int = 2


@dataclass
class Sample(SmoothedPose):
    """One pose on one frame, as the clip's tracks keep it: its landmarks (unfiltered), score and region."""

    score: float
    roi: NormRect


def _samples(result: PoseResult) -> dict[int, Sample]:
    return {
        int(tid): Sample(
            result.landmarks[k].copy(),
            result.visibility[k].copy(),
            result.presence[k].copy(),
            result.world_landmarks[k].copy(),
            float(result.pose_scores[k]),
            NormRect(*(float(v) for v in result.rois[k])),
        )
        for k, tid in enumerate(result.track_ids)
    }


def _sample_from_raw(raw: RawPose) -> Sample:
    lm = raw.landmarks[:NUM_LANDMARKS]
    world = raw.world[:NUM_LANDMARKS].copy()
    return Sample(lm[:, :3].copy(), lm[:, 3].copy(), lm[:, 4].copy(), world, raw.score, raw.roi)


def _open(frames: Frames, fps: float) -> Iterator[tuple[int, np.ndarray, float]]:
    """(index, image, timestamp ms) of each frame, decoding afresh."""
    items = frames() if callable(frames) else frames
    for i, item in enumerate(items):
        if isinstance(item, tuple):
            yield i, item[0], float(item[1])
        else:
            yield i, item, i * 1000.0 / fps


def track_clip(
    frames: Frames,
    *,
    model_complexity: int = 1,
    max_poses: int = 1,
    accuracy: str = "high",
    fps: float = DEFAULT_FPS,
    settings: OfflineSettings | None = None,
    **estimator_options: object,
) -> list[PoseResult]:
    """Finds and tracks the poses of a whole clip (see the module's description).

    Args:
        frames: A function that decodes the clip afresh on each call (it is
            called twice: forward and backward passes), or a sequence. Each
            frame is an RGB uint8 image, or ``(image, timestamp_ms)``.
        model_complexity: 0 (lite), 1 (full) or 2 (heavy).
        max_poses: Largest number of poses per frame.
        accuracy: The forward tracker's mode (``"fast"`` or ``"high"``).
        fps: Frame rate of frames given without a timestamp.
        settings: Backward pass and smoothing (None: defaults).
        **estimator_options: Other :class:`PoseEstimator` options
            (thresholds, ``num_threads``...).

    Returns:
        One result per frame, in order, with track ids.

    Raises:
        TypeError: ``frames`` is a one-shot iterator (it must be decodable twice).
        ValueError: ``enable_segmentation=True`` (no masks are made).
        ImportError: smoothing without scipy (the ``offline`` extra).
    """
    if not callable(frames) and iter(frames) is frames:  # type: ignore[arg-type]
        raise TypeError("frames must be a function that decodes the clip afresh, or a sequence; got an iterator")
    if estimator_options.get("enable_segmentation"):  # (computed on every frame, then dropped)
        raise ValueError("track_clip makes no segmentation masks; enable_segmentation=True is not accepted")
    settings = settings or OfflineSettings()
    if settings.smooth:
        scipy_filters()  # fail before the work, not after
    with PoseEstimator(
        static_image_mode=False,
        smooth_landmarks=False,
        model_complexity=model_complexity,
        max_poses=max_poses,
        accuracy=accuracy,
        fps=fps,
        **estimator_options,  # type: ignore[arg-type]
    ) as estimator:
        tracks: list[dict[int, Sample]] = []
        times: list[float] = []
        size = (0, 0)
        for _, image, ms in _open(frames, fps):
            result = estimator.process(image, ms)
            tracks.append(_samples(result))
            times.append(ms)
            size = result.image_size
        if settings.backfill and tracks:
            backfill(estimator, _open(frames, fps), tracks, settings.max_backfill, max_poses)
    if settings.smooth and len(times) > 1:
        smooth_tracks(tracks, times, size, settings)
    return [_result(frame, size, ms) for frame, ms in zip(tracks, times, strict=True)]


def _starts(tracks: list[dict[int, Sample]]) -> dict[int, list[int]]:
    """Frame -> track ids that appear on it but not on the frame before."""
    starts: dict[int, list[int]] = {}
    for f in range(1, len(tracks)):
        new = [tid for tid in tracks[f] if tid not in tracks[f - 1]]
        if new:
            starts[f] = new
    return starts


def backfill(
    estimator: PoseEstimator,
    decoded: Iterator[tuple[int, np.ndarray, float]],
    tracks: list[dict[int, Sample]],
    max_backfill: int,
    max_poses: int,
) -> None:
    """The backward pass: fills ``tracks`` in place (see the module's description)."""
    starts = _starts(tracks)
    recent: deque[np.ndarray] = deque(maxlen=max_backfill + 1)
    for f, image, _ in decoded:
        recent.append(image)
        if f >= len(tracks):
            break
        for tid in starts.get(f, []):
            frames = list(recent)  # frames[-1] is frame f
            _track_backwards(estimator, frames, f, tid, tracks, max_poses)


def _track_backwards(
    estimator: PoseEstimator,
    frames: list[np.ndarray],
    start: int,
    tid: int,
    tracks: list[dict[int, Sample]],
    max_poses: int,
) -> None:
    h, w = frames[-1].shape[:2]
    seed = tracks[start].get(tid)
    if seed is None:
        return  # merged away by an earlier walk
    previous = estimator.pose_in_region(frames[-1], seed.roi)
    if previous is None:
        return
    for back in range(1, len(frames)):
        t = start - back
        if t < 0 or tid in tracks[t]:
            return  # the clip's start, or where this track was before a gap
        region = pose_region(previous, w, h)
        raw = estimator.pose_in_region(frames[-1 - back], region, estimator.min_tracking_confidence)
        if raw is None:
            return
        own = pose_region(raw, w, h)
        other = next((o for o, s in tracks[t].items() if rect_iou(own, s.roi, w, h) >= estimator.overlap_iou), None)
        if other is not None:
            _merge_if_one_person(tracks, other, tid, t)
            return
        if len(tracks[t]) >= max_poses:
            return
        tracks[t][tid] = _sample_from_raw(raw)
        previous = raw


def _merge_if_one_person(tracks: list[dict[int, Sample]], earlier: int, later: int, meeting: int) -> None:
    """Gives the ``later`` track the ``earlier`` one's id when the earlier one
    ended on the frame where the later one's backward walk met it, and the two
    never share a frame."""
    if meeting + 1 < len(tracks) and earlier in tracks[meeting + 1]:
        return
    if any(earlier in frame and later in frame for frame in tracks):
        return
    for frame in tracks:
        if later in frame:
            frame[earlier] = frame.pop(later)


def scipy_filters() -> tuple:
    """scipy's ``butter`` and ``filtfilt`` (ImportError naming the extra without scipy)."""
    try:
        from scipy.signal import butter, filtfilt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("offline smoothing needs scipy: pip install 'blazepose[offline]'") from e
    return butter, filtfilt


def zero_lag_smooth(series: np.ndarray, fps: float, scale: np.ndarray, settings: OfflineSettings) -> np.ndarray:
    """Speed-adaptive zero-lag smoothing of (T, K, D) positions.

    Two forward-backward Butterworth filters (no delay, and exact on motion
    at constant speed, the ends included thanks to odd extension) are blended
    per frame and landmark by speed (itself smoothed, so that the blend does
    not flicker), as the One Euro filter adapts its cutoff: the low cutoff
    where the landmark is still, the high one where it moves at
    ``settings.full_speed`` or more.

    Args:
        series: (T, K, D) positions.
        fps: Frame rate.
        scale: (T,) the body's size in the positions' units, per frame.
        settings: Cutoffs, order and full speed.
    """
    butter, filtfilt = scipy_filters()
    nyquist = fps / 2
    padlen = len(series) - 1

    def low_pass(values: np.ndarray, cutoff: float) -> np.ndarray:
        if cutoff >= nyquist:
            return values
        b, a = butter(settings.smoothing_order, cutoff / nyquist)
        return filtfilt(b, a, values, axis=0, padtype="odd", padlen=padlen)

    still = low_pass(series, settings.still_cutoff_hz)
    moving = low_pass(series, settings.moving_cutoff_hz)
    # Speed from the moving estimate, itself smoothed so that the blend does not flicker.
    speed = np.linalg.norm(np.gradient(moving, axis=0), axis=-1) * fps / scale[:, None]  # (T, K)
    weight = np.clip(low_pass(speed, settings.still_cutoff_hz) / settings.full_speed, 0.0, 1.0)[:, :, None]
    return weight * moving + (1 - weight) * still


def smooth_tracks(
    tracks: list[dict[int, Sample]], times_ms: list[float], image_size: tuple[int, int], settings: OfflineSettings
) -> None:
    """Zero-lag smoothing (:func:`zero_lag_smooth`) of every track's continuous stretches, in place."""
    fps = 1000.0 / float(np.median(np.diff(times_ms)))
    h, w = image_size
    pixels = np.array([w, h, w], np.float64)
    ids = sorted({tid for frame in tracks for tid in frame})
    for tid in ids:
        present = np.array([tid in frame for frame in tracks])
        edges = np.flatnonzero(np.diff(np.concatenate([[0], present.astype(int), [0]])))
        for begin, end in zip(edges[::2], edges[1::2], strict=True):
            if end - begin < 4:
                continue  # too short to filter
            stretch = [tracks[f][tid] for f in range(begin, end)]
            body_px = np.array([s.roi.width * w for s in stretch])
            image = np.stack([s.landmarks for s in stretch]).astype(np.float64) * pixels
            smoothed = zero_lag_smooth(image, fps, body_px, settings) / pixels
            # World landmarks are metres: the body is about 2 m.
            world = zero_lag_smooth(np.stack([s.world for s in stretch]).astype(np.float64), fps,
                                    np.full(len(stretch), 2.0), settings)  # fmt: skip
            for s, lm, wl in zip(stretch, smoothed, world, strict=True):
                s.landmarks, s.world = lm.astype(np.float32), wl.astype(np.float32)


def _result(frame: dict[int, Sample], size: tuple[int, int], ms: float) -> PoseResult:
    if not frame:
        return replace(PoseResult.empty(size, False), timestamp_us=round(ms * 1000))
    ids = sorted(frame)
    samples = [frame[t] for t in ids]
    return PoseResult(
        landmarks=np.stack([s.landmarks for s in samples]).astype(np.float32),
        world_landmarks=np.stack([s.world for s in samples]).astype(np.float32),
        visibility=np.stack([s.visibility for s in samples]).astype(np.float32),
        presence=np.stack([s.presence for s in samples]).astype(np.float32),
        pose_scores=np.array([s.score for s in samples], np.float32),
        rois=np.array([tuple(s.roi) for s in samples], np.float32),
        image_size=size,
        track_ids=np.array(ids, np.int64),
        timestamp_us=round(ms * 1000),
    )
