"""``PoseLandmarker``: MediaPipe Tasks' pose API, for several people, with smoothing.

    from blazepose import PoseLandmarker, PoseLandmarkerOptions, RunningMode

    options = PoseLandmarkerOptions(running_mode=RunningMode.VIDEO, num_poses=4)
    with PoseLandmarker.create_from_options(options) as landmarker:
        for t_ms, frame in frames:
            result = landmarker.detect_for_video(frame, t_ms)
            for track_id, landmarks in zip(result.track_ids, result.pose_landmarks): ...

Beyond MediaPipe's Tasks API: each pose has a track id that stays the same
while it is tracked, landmarks are smoothed in VIDEO and LIVE_STREAM modes
(the legacy API's filters), the caller may pass person boxes from another
detector, timestamps may be left out, LIVE_STREAM has a bounded queue with a
stated drop policy, and callback errors are reported.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from blazepose.core.estimator import PoseEstimator
from blazepose.core.single_caller import SingleCaller
from blazepose.core.timestamps import next_timestamp_us
from blazepose.core.validation import check_boxes, check_confidence, check_positive_int, check_rgb_image
from blazepose.tasks.image import Image, ImageFormat
from blazepose.tasks.live_stream import CallbackError, LiveStream
from blazepose.tasks.options import (
    BaseOptions,
    Delegate,
    PoseLandmarkerOptions,
    QueuePolicy,
    ResultCallback,
    RunningMode,
    complexity_from_path,
    complexity_of_bundle,
)
from blazepose.tasks.result import PoseLandmarkerResult

__all__ = [
    "BaseOptions",
    "CallbackError",
    "PoseLandmarker",
    "PoseLandmarkerOptions",
    "PoseLandmarkerResult",
    "QueuePolicy",
    "ResultCallback",
    "RunningMode",
]


class PoseLandmarker:
    """Detects and tracks the poses of several people.

    One instance is to be used by one thread at a time: a call made while
    another thread is inside a call of the same instance raises
    ``RuntimeError``. Separate instances share nothing and may run in
    separate threads or processes.
    """

    def __init__(self, options: PoseLandmarkerOptions) -> None:
        estimator_options = options_for_estimator(options)
        self._options = options
        self._mode = options.running_mode
        self._max_queue = check_positive_int("max_queue_size", options.max_queue_size)
        self._estimator = PoseEstimator(**estimator_options)
        self._calls = SingleCaller(type(self).__name__)
        self._closed = False
        self._stream: LiveStream | None = None
        if self._mode is RunningMode.LIVE_STREAM:
            self._stream = LiveStream(self._process_frame, self._deliver, self._max_queue, options.queue_policy)

    # Construction ----------------------------------------------------------

    @classmethod
    def create_from_options(cls, options: PoseLandmarkerOptions) -> PoseLandmarker:
        """Creates a landmarker from options."""
        return cls(options)

    @classmethod
    def create_from_model_path(cls, model_path: str | os.PathLike[str]) -> PoseLandmarker:
        """Creates an IMAGE-mode landmarker for the model a path names (lite, full or heavy)."""
        return cls(PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=model_path)))

    # Statistics ------------------------------------------------------------

    @property
    def frames_processed(self) -> int:
        return self._estimator.frames_processed

    @property
    def dropped_frames(self) -> int:
        """LIVE_STREAM frames dropped because the queue was full."""
        return 0 if self._stream is None else self._stream.dropped_frames

    @property
    def detector_runs(self) -> int:
        """Frames on which this landmarker ran its person detector."""
        return self._estimator.detector_runs

    # Calls -----------------------------------------------------------------

    def detect(self, image: Image | np.ndarray, boxes: np.ndarray | None = None) -> PoseLandmarkerResult:
        """IMAGE mode: the poses in one photo.

        Args:
            image: RGB uint8 ``Image`` or HxWx3 array.
            boxes: Optional person boxes (K, 4) ``x0, y0, x1, y1`` in pixels
                from another detector, used instead of this one's.
        """
        self._require(RunningMode.IMAGE, "image")
        with self._calls.call("detect"):
            return PoseLandmarkerResult.from_pose_result(self._estimator.process(_pixels(image), None, boxes))

    def detect_for_video(
        self, image: Image | np.ndarray, timestamp_ms: float | None = None, boxes: np.ndarray | None = None
    ) -> PoseLandmarkerResult:
        """VIDEO mode: the poses in the next frame.

        Args:
            image: RGB uint8 ``Image`` or HxWx3 array.
            timestamp_ms: The frame's time; must increase from call to call
                (a ``ValueError`` says so and leaves the landmarker as it
                was). None: one step of ``1 / fps`` after the previous frame.
            boxes: Optional person boxes, as in :meth:`detect`; in video mode
                only people not yet tracked start new tracks from them.
        """
        self._require(RunningMode.VIDEO, "video")
        with self._calls.call("detect_for_video"):
            return PoseLandmarkerResult.from_pose_result(self._estimator.process(_pixels(image), timestamp_ms, boxes))

    def detect_async(
        self, image: Image | np.ndarray, timestamp_ms: float | None = None, boxes: np.ndarray | None = None
    ) -> None:
        """LIVE_STREAM mode: queues a frame; its result goes to the callback.

        The frame is copied, so the caller may reuse its buffer. Results are
        delivered in the order frames were queued, from one worker thread.
        When the queue is full, ``queue_policy`` decides (see
        :class:`QueuePolicy`); ``dropped_frames`` counts frames dropped.

        Raises:
            ValueError: bad image, or a timestamp that does not increase (the
                frame is not queued, the timestamp not used up; the
                landmarker stays usable).
            CallbackError: the callback raised on an earlier frame (raised
                once, after this call's frame was queued; the stream goes on).
        """
        self._require(RunningMode.LIVE_STREAM, "live stream")
        assert self._stream is not None
        with self._calls.call("detect_async"):
            pixels = check_rgb_image(_pixels(image))
            checked_boxes = check_boxes(boxes)
            ts = next_timestamp_us(self._stream.last_submitted_us, timestamp_ms, self._estimator.frame_step_us)
            # The callback gets the caller's timestamp as given (MediaPipe's
            # whole milliseconds stay whole; -1000.5 stays -1000.5).
            reported = ts // 1000 if timestamp_ms is None else timestamp_ms
            # An Image holds its own copy and goes back to the callback as given (an SRGBA one with its alpha).
            held = image if isinstance(image, Image) else Image._holding(ImageFormat.SRGB, np.array(pixels, copy=True))
            self._stream.submit((held, ts, checked_boxes, reported))
            self._stream.raise_pending_error(f" (the frame at {reported} ms given to this call was queued)")

    # Lifecycle -------------------------------------------------------------

    def close(self) -> None:
        """Waits for queued frames (LIVE_STREAM), then frees the models.

        Raises:
            CallbackError: a LIVE_STREAM callback raised and was not reported yet.
        """
        if self._stream is not None and self._stream.on_worker_thread():
            raise RuntimeError("close() cannot be called from the result callback (it waits for that callback)")
        with self._calls.call("close"):
            if self._closed:
                return
            self._closed = True
            if self._stream is not None:
                self._stream.close()
            self._estimator.close()
            if self._stream is not None:
                self._stream.raise_pending_error()

    def __enter__(self) -> PoseLandmarker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Internals -------------------------------------------------------------

    def _require(self, mode: RunningMode, name: str) -> None:
        if self._closed:
            raise ValueError("this PoseLandmarker is closed; create a new one")
        if self._mode is not mode:
            current = self._mode.name.lower().replace("_", " ")  # (mediapipe 1.2.2's words: "video mode")
            raise ValueError(f"Task is not initialized with the {name} mode. Current running mode:{current} mode")

    def _process_frame(self, image: Image, timestamp_us: int, boxes: np.ndarray | None) -> PoseLandmarkerResult:
        return PoseLandmarkerResult.from_pose_result(self._estimator._process(_pixels(image), timestamp_us, boxes))

    def _deliver(self, result: PoseLandmarkerResult, image: Image, timestamp_ms: int) -> None:
        callback = self._options.result_callback
        assert callback is not None
        callback(result, image, timestamp_ms)


def _pixels(image: Image | np.ndarray) -> np.ndarray:
    """The RGB pixels of ``image``: an SRGB image's own, an SRGBA one's without alpha, a GRAY8 one's
    repeated in three channels."""
    if not isinstance(image, Image):
        return image
    pixels = image.numpy_view()  # (shaped as its format holds it: Image checked the data)
    if image.image_format is ImageFormat.SRGBA:
        return pixels[..., :3]
    if image.image_format is ImageFormat.GRAY8:
        return np.repeat(pixels, 3, axis=2)
    if image.image_format is not ImageFormat.SRGB:
        raise ValueError(f"expected an SRGB, SRGBA or GRAY8 image, got {image.image_format.name} {pixels.shape}")
    return pixels


def options_for_estimator(options: PoseLandmarkerOptions) -> dict[str, Any]:
    """Checks ``options`` and gives the :class:`PoseEstimator` keyword arguments a landmarker with them uses.

    Raises:
        TypeError, ValueError: as :meth:`PoseLandmarker.create_from_options`.
    """
    mode = options.running_mode
    check_positive_int("num_poses", options.num_poses)
    for name in ("min_pose_detection_confidence", "min_pose_presence_confidence", "min_tracking_confidence"):
        check_confidence(name, getattr(options, name))  # under the names the caller used
    if not isinstance(mode, RunningMode):
        raise TypeError(f"running_mode must be a RunningMode, got {mode!r}")
    if mode is RunningMode.LIVE_STREAM and options.result_callback is None:
        raise ValueError("The vision task is in live stream mode, a user-defined result callback must be provided.")
    if mode is not RunningMode.LIVE_STREAM and options.result_callback is not None:
        raise ValueError(
            "The vision task is in image or video mode, a user-defined result callback should not be provided."
        )
    if not isinstance(options.queue_policy, QueuePolicy):
        raise TypeError(f"queue_policy must be a QueuePolicy, got {options.queue_policy!r}")
    complexity = options.model_complexity
    base = options.base_options
    if base.delegate is not None and base.delegate not in (Delegate.DEFAULT, Delegate.CPU):
        raise ValueError(
            f"delegate {base.delegate!r}: this library's engines run on the CPU, or on a GPU with "
            "BaseOptions(backend='onnxruntime-cuda')"
        )
    if base.model_asset_path is not None and base.model_asset_buffer is not None:
        raise ValueError("give model_asset_path or model_asset_buffer, not both")
    named = None
    if base.model_asset_path is not None:
        named = complexity_from_path(base.model_asset_path)
    elif base.model_asset_buffer is not None:
        named = complexity_of_bundle(bytes(base.model_asset_buffer))
    if named is not None:
        if complexity is not None and complexity != named:
            given = f"model_asset_path {base.model_asset_path!r}" if base.model_asset_path else "model_asset_buffer"
            raise ValueError(f"model_complexity={complexity} contradicts {given}")
        complexity = named
    timed = mode is not RunningMode.IMAGE
    smooth = timed if options.smooth_landmarks is None else bool(options.smooth_landmarks) and timed
    return {
        "static_image_mode": not timed,
        "model_complexity": 1 if complexity is None else complexity,
        "smooth_landmarks": smooth,
        "enable_segmentation": options.output_segmentation_masks,
        "smooth_segmentation": options.smooth_segmentation,
        "min_detection_confidence": options.min_pose_detection_confidence,
        "min_tracking_confidence": options.min_tracking_confidence,
        "min_presence_confidence": options.min_pose_presence_confidence,
        "max_poses": options.num_poses,
        "detection_interval": options.detection_interval,
        "num_threads": options.base_options.num_threads,
        "backend": options.base_options.backend,
        "precision": options.base_options.precision,
        "fps": options.fps,
        "accuracy": options.accuracy,
    }
