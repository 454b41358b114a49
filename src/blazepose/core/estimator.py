"""The two-stage pose pipeline behind every API: detect, crop, landmark, track, smooth."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from blazepose.backends import DEFAULT_BACKEND, DEFAULT_PRECISION, check_precision
from blazepose.core.assembly import assemble_result
from blazepose.core.engines import PoseEngines
from blazepose.core.high_accuracy import HighAccuracy, HighAccuracySettings
from blazepose.core.landmarker import RawPose
from blazepose.core.landmarks import AUX_SLICE
from blazepose.core.recall import same_pose
from blazepose.core.results import PoseResult
from blazepose.core.roi import NormRect, rect_iou, roi_from_box, roi_from_points
from blazepose.core.single_caller import SingleCaller
from blazepose.core.timestamps import DEFAULT_FPS, frame_step_us, next_timestamp_us
from blazepose.core.tracking import PoseTrack, SmoothedPose, unsmoothed
from blazepose.core.tracks import TrackBook
from blazepose.core.validation import (
    check_accuracy,
    check_boxes,
    check_confidence,
    check_model_complexity,
    check_positive_int,
    check_rgb_image,
)


class PoseEstimator:
    """Finds body poses in images or video frames and returns numpy arrays.

    In image mode (``static_image_mode=True``) every call runs the person
    detector (or takes the caller's boxes) and nothing carries over between
    calls. In video mode each
    tracked pose's next region comes from its smoothed landmarks, and
    landmarks and masks are smoothed over time using the frames'
    timestamps. The detector runs when fewer than ``max_poses`` poses are
    tracked: on every frame while none is, else at most every
    ``detection_interval`` frames. A detection that overlaps a tracked pose
    (region IoU >= ``overlap_iou``) is not a new person, and when two tracks
    come to overlap, or their landmarks to coincide, the younger one is
    dropped, so no person is returned twice. A track keeps its id while its pose stays found.

    An instance holds tracking state and its own inference engines: use one
    instance per thread or process (separate instances share nothing); a
    call made while another thread is inside a call of the same instance
    raises ``RuntimeError``.

    Args:
        static_image_mode: Treat every image as unrelated (no tracking, no
            smoothing).
        model_complexity: 0 (lite), 1 (full) or 2 (heavy).
        smooth_landmarks: Filter landmarks over time (video mode).
        enable_segmentation: Return segmentation masks.
        smooth_segmentation: Blend each mask with the previous one (video mode).
        min_detection_confidence: Minimum person detector score.
        min_tracking_confidence: Minimum pose presence score for a tracked
            pose to be returned and stay tracked.
        max_poses: Largest number of poses returned per image.
        min_presence_confidence: Minimum pose presence score for a newly
            detected pose (None: the same as ``min_tracking_confidence``, as
            in the legacy API).
        detection_interval: In video mode, frames between detector runs while
            some but fewer than ``max_poses`` poses are tracked.
        overlap_iou: Region IoU from which two poses count as the same person.
        id_memory: A pose found again within this many frames of being lost,
            where it was lost (region IoU >= ``overlap_iou``), gets its old
            track id back (0: never).
        num_threads: Inference threads (None: the available cores, at most 4;
            every count gives the same answers).
        backend: Inference engine name.
        fps: Frame rate assumed for video frames given without a timestamp.
        carry_filters_over_loss: Reproduce MediaPipe's legacy graph, which
            keeps the visibility and world landmark filters' state when the
            pose is lost and applies it to the next detected pose (see
            :meth:`PoseTrack.inherit_filters`). Off by default: a new
            detection starts with fresh filters.
        engines: Loaded models to share with other estimators used from the
            same thread (see :class:`PoseEngines`); None loads this
            instance's own (``num_threads``, ``backend`` and ``precision``
            then apply). Given engines must hold ``model_complexity`` and
            ``precision``'s models.
        accuracy: ``"fast"``: MediaPipe's pipeline and answers. ``"high"``:
            photos get recall passes when fewer than ``max_poses`` people are
            found (detector on turned, mirrored and tiled copies, candidates
            verified by pose presence) and test-time augmentation of the
            landmark model; video frames get the detector on tiles where it
            runs anyway (see :mod:`blazepose.core.high_accuracy`; several
            times slower, measured in docs/accuracy.md).
        high_accuracy: The settings of ``accuracy="high"`` (None: defaults).
        precision: ``"float32"``: the official models (MediaPipe's answers).
            ``"int8"``: int8 versions of both models (LiteRT only; faster,
            slightly less accurate: see docs/throughput.md). ``"bfloat16"``:
            the official models computed in bfloat16 (``backend="openvino"``
            on a CPU with Intel AMX or AVX-512 BF16; faster there, slightly
            less accurate).
    """

    def __init__(
        self,
        *,
        static_image_mode: bool = False,
        model_complexity: int = 1,
        smooth_landmarks: bool = True,
        enable_segmentation: bool = False,
        smooth_segmentation: bool = True,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        max_poses: int = 1,
        min_presence_confidence: float | None = None,
        detection_interval: int = 5,
        overlap_iou: float = 0.5,
        id_memory: int = 15,
        num_threads: int | None = None,
        backend: str = DEFAULT_BACKEND,
        fps: float = DEFAULT_FPS,
        carry_filters_over_loss: bool = False,
        engines: PoseEngines | None = None,
        accuracy: str = "fast",
        high_accuracy: HighAccuracySettings | None = None,
        precision: str = DEFAULT_PRECISION,
    ) -> None:
        self.accuracy = check_accuracy(accuracy)
        self.static_image_mode = bool(static_image_mode)
        self.model_complexity = check_model_complexity(model_complexity)
        self.smooth_landmarks = bool(smooth_landmarks) and not self.static_image_mode
        self.enable_segmentation = bool(enable_segmentation)
        self.smooth_segmentation = bool(smooth_segmentation) and not self.static_image_mode
        self.min_detection_confidence = check_confidence("min_detection_confidence", min_detection_confidence)
        self.min_tracking_confidence = check_confidence("min_tracking_confidence", min_tracking_confidence)
        self.max_poses = check_positive_int("max_poses", max_poses)
        self.min_presence_confidence = (
            self.min_tracking_confidence
            if min_presence_confidence is None
            else check_confidence("min_presence_confidence", min_presence_confidence)
        )
        self.detection_interval = check_positive_int("detection_interval", detection_interval)
        self.overlap_iou = check_confidence("overlap_iou", overlap_iou)
        if isinstance(id_memory, bool) or not isinstance(id_memory, (int, np.integer)) or id_memory < 0:
            raise ValueError(f"id_memory must be an int >= 0, got {id_memory!r}")
        self.frame_step_us = frame_step_us(fps)
        self._owns_engines = engines is None
        if engines is None:
            engines = PoseEngines.load(self.model_complexity, backend, num_threads, precision)
        elif engines.model_complexity != self.model_complexity:
            raise ValueError(
                f"engines hold model_complexity {engines.model_complexity}, expected {self.model_complexity}"
            )
        elif check_precision(precision, None) != engines.precision:  # the engines' own backend checked it
            raise ValueError(f"engines hold {engines.precision} models, expected precision {precision!r}")
        self._engines = engines
        self._detector = engines.detector
        self._landmarker = engines.landmarker
        self.carry_filters_over_loss = bool(carry_filters_over_loss)
        if high_accuracy is not None and not isinstance(high_accuracy, HighAccuracySettings):
            raise TypeError(f"high_accuracy must be a HighAccuracySettings or None, got {high_accuracy!r}")
        if high_accuracy is not None and self.accuracy != "high":
            raise ValueError("high_accuracy settings are used with accuracy='high' only; got accuracy='fast'")
        self._high = (
            HighAccuracy(
                self._detector,
                self._landmarker,
                high_accuracy if high_accuracy is not None else HighAccuracySettings(),
                self.overlap_iou,
                self.enable_segmentation,
            )
            if self.accuracy == "high"
            else None
        )
        self._book = TrackBook(self.overlap_iou, int(id_memory), self.carry_filters_over_loss)
        self._last_timestamp_us: int | None = None
        self.frames_processed = 0
        self.detector_runs = 0
        self._last_detection_frame: int | None = None
        self._closed = False
        self.calls = SingleCaller(type(self).__name__)

    # Lifecycle -----------------------------------------------------------

    def reset(self) -> None:
        """Forgets every tracked pose and the clock, as if no frame had been seen."""
        with self.calls.call("reset"):
            self._book.reset()
            self._last_timestamp_us = None
            self._last_detection_frame = None

    def close(self) -> None:
        """Frees the models (unless they were shared in). The instance cannot be used afterwards.

        Raises:
            RuntimeError: another thread is inside a call of this instance.
        """
        with self.calls.call("close"):
            if not self._closed:
                if self._owns_engines:
                    self._engines.close()
                self._book.reset()
                self._closed = True

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def id_memory(self) -> int:
        """Frames during which a lost pose's track id can be given back."""
        return self._book.id_memory

    @id_memory.setter
    def id_memory(self, frames: int) -> None:
        self._book.id_memory = frames

    # Processing ----------------------------------------------------------

    def next_timestamp_us(self, timestamp_ms: float | None) -> int:
        """The timestamp the next frame will get (see :func:`next_timestamp_us`)."""
        return next_timestamp_us(self._last_timestamp_us, timestamp_ms, self.frame_step_us)

    def process(
        self, image: np.ndarray, timestamp_ms: float | None = None, boxes: np.ndarray | None = None
    ) -> PoseResult:
        """Finds the poses in one RGB image.

        Args:
            image: (H, W, 3) uint8 RGB. It is not modified.
            timestamp_ms: The frame's time in milliseconds (video mode); must
                increase from call to call. None steps it by ``1 / fps``.
            boxes: Person boxes from another detector, (K, 4) ``x0, y0, x1,
                y1`` in pixels, used instead of this library's detector
                wherever it would run (in video mode, only boxes of people
                not yet tracked start new tracks).

        Returns:
            The poses found (possibly none): in IMAGE mode in the order the detector ranks
            their regions (with ``boxes``, the boxes' order; with ``accuracy="high"``, the order
            found, detector first: rank them by ``pose_scores``), in VIDEO mode tracked poses first.

        Raises:
            TypeError, ValueError: bad image or timestamp; the instance stays
                usable and its state is unchanged.
        """
        with self.calls.call("process"):
            self._check_open()
            check_rgb_image(image)
            boxes = check_boxes(boxes)
            if self.static_image_mode:
                return self._process(image, None, boxes)
            ts = self.next_timestamp_us(timestamp_ms)
            return self._process(image, ts, boxes)

    def pose_in_region(self, image: np.ndarray, roi: NormRect, min_score: float = 0.0) -> RawPose | None:
        """Runs the landmark model alone on one region; no tracking state is read or changed.

        Args:
            image: (H, W, 3) uint8 RGB.
            roi: The region, normalized.
            min_score: Pose presence below which None is returned.
        """
        with self.calls.call("pose_in_region"):
            self._check_open()
            check_rgb_image(image)
            return self._run_landmarks(image, roi, min_score)

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"this {type(self).__name__} is closed; create a new one")

    def _process(self, image: np.ndarray, timestamp_us: int | None, boxes: np.ndarray | None = None) -> PoseResult:
        """Runs the pipeline on a checked image (``timestamp_us`` ignored in image mode)."""
        self._engines.prepare_crop()  # a crop comes next: the letterbox or a tracked region
        self.frames_processed += 1
        if self.static_image_mode:
            return self._process_image(image, boxes)
        if timestamp_us is None:
            raise ValueError("video mode needs a timestamp")
        result = self._process_video_frame(image, timestamp_us, boxes)
        self._last_timestamp_us = timestamp_us  # used up only by a frame that went through
        return result

    def _candidate_rois(self, image: np.ndarray, boxes: np.ndarray | None) -> list[NormRect]:
        """Regions of people to start from: the caller's boxes, else the detector's, best first."""
        h, w = image.shape[:2]
        if boxes is not None:
            return [roi_from_box(box, w, h) for box in boxes]
        self.detector_runs += 1
        dets = self._detector.detect(image, self.min_detection_confidence)
        if len(dets.keypoints):
            self._engines.prepare_crop()  # the landmark model's crop comes next
        return [roi_from_points(kps, w, h) for kps in dets.keypoints]

    def _video_candidate_rois(self, image: np.ndarray, boxes: np.ndarray | None) -> Iterator[NormRect]:
        """The candidates, then (high accuracy, detector only) the tiles' as they are asked for."""
        yield from self._candidate_rois(image, boxes)
        if self._high is not None and boxes is None:
            yield from self._high.tile_regions(image, self.min_detection_confidence)

    def _overlaps(self, roi: NormRect, others: list[NormRect], image: np.ndarray) -> bool:
        h, w = image.shape[:2]
        return any(rect_iou(roi, other, w, h) >= self.overlap_iou for other in others)

    def _run_landmarks(self, image: np.ndarray, roi: NormRect, min_score: float) -> RawPose | None:
        return self._landmarker.run(image, roi, min_score, self.enable_segmentation)

    def _process_image(self, image: np.ndarray, boxes: np.ndarray | None) -> PoseResult:
        h, w = image.shape[:2]
        if self._high is not None:
            candidates = self._candidate_rois(image, boxes)
            poses = self._high.image_poses(
                image, candidates, self.max_poses, self.min_presence_confidence, recall=boxes is None
            )
            refined = [(self._book.new_id(), raw, unsmoothed(raw, w, h), None) for raw in poses]
            return assemble_result(image, refined, self.enable_segmentation, None)
        found: list[tuple[int, RawPose, SmoothedPose, PoseTrack | None]] = []
        # No overlap test here: the detector's NMS (or the caller's detector)
        # already separated the people, and close people have overlapping regions.
        candidates = self._candidate_rois(image, boxes)
        for roi in candidates if boxes is not None else candidates[: self.max_poses]:
            if len(found) == self.max_poses:
                break
            raw = self._run_landmarks(image, roi, self.min_presence_confidence)
            if raw is not None and boxes is not None:
                # A box says where a person is, not where the hips are nor how
                # the body leans: a second pass from the first pass's alignment
                # points gives the region the landmark model expects.
                second = self._run_landmarks(image, roi_from_points(raw.landmarks[AUX_SLICE, :2], w, h), 0.0)
                raw = second if second is not None and second.score >= raw.score else raw
                if raw is not None and self._overlaps(raw.roi, [f[1].roi for f in found], image):
                    continue  # a caller's box on someone already found (duplicate boxes)
            if raw is not None:
                found.append((self._book.new_id(), raw, unsmoothed(raw, w, h), None))
        return assemble_result(image, found, self.enable_segmentation, None)

    def _start_tracks(self, image: np.ndarray, boxes: np.ndarray | None) -> list[PoseTrack]:
        """New tracks for people not tracked yet, when detection is due."""
        tracks = self._book.tracks
        free = self.max_poses - len(tracks)
        since = None if self._last_detection_frame is None else self.frames_processed - self._last_detection_frame
        due = boxes is not None or not tracks or since is None or since >= self.detection_interval
        if free <= 0 or not due:
            return []
        self._last_detection_frame = self.frames_processed
        taken = [t.next_roi for t in tracks if t.next_roi is not None]
        new: list[PoseTrack] = []
        for roi in self._video_candidate_rois(image, boxes):
            if len(new) == free:
                break
            if self._overlaps(roi, taken, image):
                continue  # someone already tracked (or just found)
            track_id = self._book.id_for(roi, self.frames_processed, image.shape[1], image.shape[0])
            track = PoseTrack(track_id, self.smooth_landmarks, self.smooth_segmentation)
            track.next_roi = roi
            lost = self._book.filters_to_inherit()
            if lost is not None:
                track.inherit_filters(lost)
            new.append(track)
            taken.append(roi)
        return new

    def _process_video_frame(self, image: np.ndarray, ts: int, boxes: np.ndarray | None) -> PoseResult:
        due = self._frame_regions(image, boxes)
        raws = [self._run_landmarks(image, roi, threshold) for _, roi, threshold in due]
        return self._finish_video_frame(image, ts, due, raws)

    def _frame_regions(self, image: np.ndarray, boxes: np.ndarray | None) -> list[tuple[PoseTrack, NormRect, float]]:
        """The first half of a video frame: the tracks to look for, each with its region and score threshold."""
        new = self._start_tracks(image, boxes)
        due = []
        for track in [*self._book.tracks, *new]:
            assert track.next_roi is not None
            threshold = self.min_presence_confidence if track.frames_tracked == 0 else self.min_tracking_confidence
            due.append((track, track.next_roi, threshold))
        return due

    def _finish_video_frame(
        self,
        image: np.ndarray,
        ts: int,
        due: list[tuple[PoseTrack, NormRect, float]],
        raws: Sequence[RawPose | None],
    ) -> PoseResult:
        """The second half of a video frame: the landmark model's answers (``raws``, one per region) applied."""
        h, w = image.shape[:2]
        observed: list[tuple[PoseTrack, RawPose]] = []
        for (track, _, _), raw in zip(due, raws, strict=True):
            if raw is None:
                self._book.lose(track, self.frames_processed)  # lost: the track and its filters go
            else:
                observed.append((track, raw))
        # Two tracks on one person (overlapping regions, or landmarks that coincide in regions of different
        # sizes, whose IoU stays low: a detection around a tracked person): keep the longer-lived one.
        by_age = sorted(observed, key=lambda tr: (-tr[0].frames_tracked, tr[0].track_id))
        kept_ids: set[int] = set()
        kept: list[RawPose] = []
        for track, raw in by_age:
            if not self._overlaps(raw.roi, [k.roi for k in kept], image) and not any(
                same_pose(raw, other, w, h) for other in kept
            ):
                kept_ids.add(track.track_id)
                kept.append(raw)
        found = [
            (track.track_id, raw, track.update(raw, ts, w, h), track)
            for track, raw in observed
            if track.track_id in kept_ids
        ]
        self._book.keep([track for track, _ in observed if track.track_id in kept_ids], self.max_poses)
        return assemble_result(image, found, self.enable_segmentation, ts)
