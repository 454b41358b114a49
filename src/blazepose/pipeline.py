"""The two-stage pose pipeline behind every API: detect, crop, landmark, track, smooth."""

from __future__ import annotations

import itertools

import numpy as np

from blazepose.backends import DEFAULT_BACKEND, load_model
from blazepose.detector import PersonDetector
from blazepose.landmarker import LandmarkModel, RawPose
from blazepose.model_files import DETECTOR_MODEL, landmark_model_name, verified_model_bytes
from blazepose.results import PoseResult
from blazepose.roi import NormRect, roi_from_points
from blazepose.segmentation import mask_to_image
from blazepose.tracking import PoseTrack, SmoothedPose, unsmoothed
from blazepose.validation import (
    check_confidence,
    check_model_complexity,
    check_positive_int,
    check_rgb_image,
)

DEFAULT_FPS = 30.0


class PoseEstimator:
    """Finds body poses in images or video frames and returns numpy arrays.

    In image mode (``static_image_mode=True``) every call runs the person
    detector and nothing carries over between calls. In video mode the
    detector runs only when no pose is tracked; each tracked pose's next
    region comes from its smoothed landmarks, and landmarks and masks are
    smoothed over time using the frames' timestamps.

    An instance holds tracking state and its own inference engines: use one
    instance per thread or process (separate instances share nothing).

    Args:
        static_image_mode: Treat every image as unrelated (no tracking, no
            smoothing).
        model_complexity: 0 (lite), 1 (full) or 2 (heavy).
        smooth_landmarks: Filter landmarks over time (video mode).
        enable_segmentation: Return segmentation masks.
        smooth_segmentation: Blend each mask with the previous one (video mode).
        min_detection_confidence: Minimum person detector score.
        min_tracking_confidence: Minimum pose presence score for landmarks to
            be returned and the pose to stay tracked.
        max_poses: Largest number of poses returned per image.
        num_threads: Inference threads (None: the engine's default).
        backend: Inference engine name.
        fps: Frame rate assumed for video frames given without a timestamp.
        carry_filters_over_loss: Reproduce MediaPipe's legacy graph, which
            keeps the visibility and world landmark filters' state when the
            pose is lost and applies it to the next detected pose (see
            :meth:`PoseTrack.inherit_filters`). Off by default: a new
            detection starts with fresh filters.
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
        num_threads: int | None = None,
        backend: str = DEFAULT_BACKEND,
        fps: float = DEFAULT_FPS,
        carry_filters_over_loss: bool = False,
    ) -> None:
        self.static_image_mode = bool(static_image_mode)
        self.model_complexity = check_model_complexity(model_complexity)
        self.smooth_landmarks = bool(smooth_landmarks) and not self.static_image_mode
        self.enable_segmentation = bool(enable_segmentation)
        self.smooth_segmentation = bool(smooth_segmentation) and not self.static_image_mode
        self.min_detection_confidence = check_confidence("min_detection_confidence", min_detection_confidence)
        self.min_tracking_confidence = check_confidence("min_tracking_confidence", min_tracking_confidence)
        self.max_poses = check_positive_int("max_poses", max_poses)
        if not (isinstance(fps, (int, float)) and fps > 0):
            raise ValueError(f"fps must be a number > 0, got {fps!r}")
        self.frame_step_us = round(1e6 / fps)
        self._detector = PersonDetector(load_model(verified_model_bytes(DETECTOR_MODEL), backend, num_threads))
        self._landmarker = LandmarkModel(
            load_model(verified_model_bytes(landmark_model_name(self.model_complexity)), backend, num_threads)
        )
        self.carry_filters_over_loss = bool(carry_filters_over_loss)
        self._tracks: list[PoseTrack] = []
        self._lost: list[PoseTrack] = []
        self._track_ids = itertools.count()
        self._last_timestamp_us: int | None = None
        self._closed = False

    # Lifecycle -----------------------------------------------------------

    def reset(self) -> None:
        """Forgets every tracked pose and the clock, as if no frame had been seen."""
        self._tracks = []
        self._lost = []
        self._last_timestamp_us = None

    def close(self) -> None:
        """Frees the models. The instance cannot be used afterwards."""
        if not self._closed:
            self._detector.close()
            self._landmarker.close()
            self._tracks = []
            self._closed = True

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    # Processing ----------------------------------------------------------

    def next_timestamp_us(self, timestamp_ms: float | None) -> int:
        """The timestamp a frame will get: the given one (checked to increase),
        or one frame step after the previous one."""
        if timestamp_ms is None:
            last = self._last_timestamp_us
            return self.frame_step_us if last is None else last + self.frame_step_us
        if isinstance(timestamp_ms, bool) or not isinstance(timestamp_ms, (int, float, np.integer, np.floating)):
            raise TypeError(f"timestamp_ms must be a number, got {timestamp_ms!r}")
        if not np.isfinite(timestamp_ms):
            raise ValueError(f"timestamp_ms must be finite, got {timestamp_ms!r}")
        ts = round(float(timestamp_ms) * 1000.0)
        if self._last_timestamp_us is not None and ts <= self._last_timestamp_us:
            raise ValueError(
                f"timestamps must increase: got {timestamp_ms} ms after {self._last_timestamp_us / 1000.0} ms"
            )
        return ts

    def process(self, image: np.ndarray, timestamp_ms: float | None = None) -> PoseResult:
        """Finds the poses in one RGB image.

        Args:
            image: (H, W, 3) uint8 RGB. It is not modified.
            timestamp_ms: The frame's time in milliseconds (video mode); must
                increase from call to call. None steps it by ``1 / fps``.

        Returns:
            The poses found, best first (possibly none).

        Raises:
            TypeError, ValueError: bad image or timestamp; the instance stays
                usable and its state is unchanged.
        """
        self._check_open()
        check_rgb_image(image)
        if self.static_image_mode:
            return self._process(image, None)
        ts = self.next_timestamp_us(timestamp_ms)
        return self._process(image, ts)

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"this {type(self).__name__} is closed; create a new one")

    def _process(self, image: np.ndarray, timestamp_us: int | None) -> PoseResult:
        """Runs the pipeline on a checked image (``timestamp_us`` ignored in image mode)."""
        if self.static_image_mode:
            return self._process_image(image)
        if timestamp_us is None:
            raise ValueError("video mode needs a timestamp")
        self._last_timestamp_us = timestamp_us
        return self._process_video_frame(image, timestamp_us)

    def _detect_rois(self, image: np.ndarray, count: int) -> list[NormRect]:
        h, w = image.shape[:2]
        dets = self._detector.detect(image, self.min_detection_confidence)
        return [roi_from_points(kps, w, h) for kps in dets.keypoints[:count]]

    def _run_landmarks(self, image: np.ndarray, roi: NormRect) -> RawPose | None:
        return self._landmarker.run(image, roi, self.min_tracking_confidence, self.enable_segmentation)

    def _process_image(self, image: np.ndarray) -> PoseResult:
        h, w = image.shape[:2]
        found = []
        for roi in self._detect_rois(image, self.max_poses):
            raw = self._run_landmarks(image, roi)
            if raw is not None:
                found.append((next(self._track_ids), raw, unsmoothed(raw, w, h), None))
        return self._result(image, found, None)

    def _process_video_frame(self, image: np.ndarray, ts: int) -> PoseResult:
        h, w = image.shape[:2]
        if not self._tracks:
            for roi in self._detect_rois(image, self.max_poses):
                track = PoseTrack(next(self._track_ids), self.smooth_landmarks, self.smooth_segmentation)
                track.next_roi = roi
                if self.carry_filters_over_loss and self._lost:
                    track.inherit_filters(self._lost.pop())
                self._tracks.append(track)
        found = []
        kept = []
        for track in self._tracks:
            assert track.next_roi is not None
            raw = self._run_landmarks(image, track.next_roi)
            if raw is None:
                self._lost.append(track)  # lost: the track and its filters go
                continue
            found.append((track.track_id, raw, track.update(raw, ts, w, h), track))
            kept.append(track)
        self._tracks = kept
        # Only the most recently lost poses can hand their filters on.
        self._lost = self._lost[-self.max_poses :] if self.carry_filters_over_loss else []
        return self._result(image, found, ts)

    def _result(
        self,
        image: np.ndarray,
        found: list[tuple[int, RawPose, SmoothedPose, PoseTrack | None]],
        ts: int | None,
    ) -> PoseResult:
        h, w = image.shape[:2]
        if not found:
            return PoseResult.empty((h, w), self.enable_segmentation, ts)
        masks = None
        if self.enable_segmentation:
            masks = np.empty((len(found), h, w), np.float32)
            for i, (_, raw, _, track) in enumerate(found):
                assert raw.mask_logits is not None
                mask = mask_to_image(raw.mask_logits, raw.crop.tensor_to_image(w, h), w, h)
                masks[i] = mask if track is None else track.smooth_mask(mask)
        poses = [pose for _, _, pose, _ in found]
        return PoseResult(
            landmarks=np.stack([p.landmarks for p in poses]).astype(np.float32),
            world_landmarks=np.stack([p.world for p in poses]).astype(np.float32),
            visibility=np.stack([p.visibility for p in poses]).astype(np.float32),
            presence=np.stack([p.presence for p in poses]).astype(np.float32),
            pose_scores=np.array([raw.score for _, raw, _, _ in found], np.float32),
            rois=np.array([tuple(raw.roi) for _, raw, _, _ in found], np.float32),
            image_size=(h, w),
            segmentation_masks=masks,
            track_ids=np.array([tid for tid, _, _, _ in found], np.int64),
            timestamp_us=ts,
        )
