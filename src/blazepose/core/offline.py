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
        smoothing_cutoff_hz: Cutoff of the zero-lag low-pass filter on image
            and world landmarks (0: no smoothing).
        smoothing_order: Its Butterworth order (applied twice: forwards and
            backwards).
    """

    backfill: bool = True
    max_backfill: int = 60
    smoothing_cutoff_hz: float = 4.0
    smoothing_order: int = 2


@dataclass
class Sample:
    """One pose on one frame, as the clip's tracks keep it."""

    landmarks: np.ndarray  # (33, 3) normalized
    visibility: np.ndarray  # (33,)
    presence: np.ndarray  # (33,)
    world: np.ndarray  # (33, 3) metres
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
    return Sample(lm[:, :3].copy(), lm[:, 3].copy(), lm[:, 4].copy(), raw.world[:NUM_LANDMARKS].copy(), raw.score, raw.roi)


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
    """
    if not callable(frames) and iter(frames) is frames:  # type: ignore[arg-type]
        raise TypeError("frames must be a function that decodes the clip afresh, or a sequence; got an iterator")
    settings = settings or OfflineSettings()
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
    if settings.smoothing_cutoff_hz > 0 and len(times) > 1:
        smooth_tracks(tracks, times, settings.smoothing_cutoff_hz, settings.smoothing_order)
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
        raw = estimator.pose_in_region(frames[-1 - back], pose_region(previous, w, h), estimator.min_tracking_confidence)
        if raw is None:
            return
        own = pose_region(raw, w, h)
        other = next(
            (o for o, s in tracks[t].items() if rect_iou(own, s.roi, w, h) >= estimator.overlap_iou), None
        )
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


def smooth_tracks(tracks: list[dict[int, Sample]], times_ms: list[float], cutoff_hz: float, order: int) -> None:
    """Zero-lag low-pass filtering of every track's continuous stretches, in place."""
    from scipy.signal import butter, filtfilt

    fps = 1000.0 / float(np.median(np.diff(times_ms)))
    nyquist = fps / 2
    if cutoff_hz >= nyquist:
        return
    b, a = butter(order, cutoff_hz / nyquist)
    ids = sorted({tid for frame in tracks for tid in frame})
    for tid in ids:
        present = np.array([tid in frame for frame in tracks])
        edges = np.flatnonzero(np.diff(np.concatenate([[0], present.astype(int), [0]])))
        for begin, end in zip(edges[::2], edges[1::2], strict=True):
            if end - begin < 4:
                continue  # too short to filter
            stretch = [tracks[f][tid] for f in range(begin, end)]
            padlen = min(3 * max(len(a), len(b)), end - begin - 1)
            for name in ("landmarks", "world"):
                series = np.stack([getattr(s, name) for s in stretch]).astype(np.float64)
                smoothed = filtfilt(b, a, series, axis=0, padtype="odd", padlen=padlen).astype(np.float32)
                for s, value in zip(stretch, smoothed, strict=True):
                    setattr(s, name, value)


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
