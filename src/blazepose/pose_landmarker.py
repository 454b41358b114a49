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

import collections
import contextlib
import enum
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from blazepose.image import Image, ImageFormat
from blazepose.pipeline import DEFAULT_FPS, PoseEstimator, next_timestamp_us
from blazepose.results import PoseResult
from blazepose.solutions.landmark_list import Landmark, NormalizedLandmark, landmark_list_from_arrays
from blazepose.validation import check_boxes, check_positive_int, check_rgb_image

logger = logging.getLogger(__name__)


class RunningMode(enum.Enum):
    """How frames arrive: unrelated photos, video frames, or a live stream."""

    IMAGE = "IMAGE"
    VIDEO = "VIDEO"
    LIVE_STREAM = "LIVE_STREAM"


class QueuePolicy(enum.Enum):
    """What ``detect_async`` does when the LIVE_STREAM queue is full."""

    DROP_OLDEST = "drop_oldest"  # the oldest waiting frame is dropped: results stay fresh
    DROP_NEWEST = "drop_newest"  # the new frame is dropped: every kept frame is processed
    BLOCK = "block"  # detect_async waits for room: nothing is dropped


@dataclass
class BaseOptions:
    """Model and engine.

    Attributes:
        model_asset_path: MediaPipe's bundle name or a path naming the model
            (``pose_landmarker_lite.task``, ``..._full.task``,
            ``..._heavy.task``) or just ``lite``/``full``/``heavy``; the
            vendored models are used. None: ``model_complexity`` decides.
        num_threads: Inference threads (None: the engine's default).
        backend: Inference engine name.
    """

    model_asset_path: str | None = None
    num_threads: int | None = None
    backend: str = "litert"


_MODEL_NAMES = {"lite": 0, "full": 1, "heavy": 2}


def _complexity_from_path(path: str) -> int:
    found = {name for name in _MODEL_NAMES if re.search(rf"(^|[^a-z]){name}([^a-z]|$)", path.lower())}
    if len(found) != 1:
        raise ValueError(
            f"model_asset_path {path!r} does not name one pose model; expected a name with 'lite', 'full' or "
            "'heavy' (the vendored official models are used)"
        )
    return _MODEL_NAMES[found.pop()]


ResultCallback = Callable[["PoseLandmarkerResult", Image, int], None]


@dataclass
class PoseLandmarkerOptions:
    """Options of :class:`PoseLandmarker` (MediaPipe's names, plus a few of ours).

    Attributes:
        base_options: Model and engine.
        running_mode: IMAGE, VIDEO or LIVE_STREAM.
        num_poses: Largest number of poses per frame.
        min_pose_detection_confidence: Minimum person detector score.
        min_pose_presence_confidence: Minimum pose presence score for a
            newly detected pose.
        min_tracking_confidence: Minimum pose presence score for a tracked
            pose to stay tracked.
        output_segmentation_masks: Return a mask per pose.
        result_callback: LIVE_STREAM only: called with (result, image,
            timestamp_ms) for each processed frame, in order.
        model_complexity: 0, 1 or 2 when ``base_options`` names no model.
        smooth_landmarks: Filter landmarks over time (None: on in VIDEO and
            LIVE_STREAM, where frames have times; IMAGE never smooths).
        smooth_segmentation: Blend each mask with the previous one (off by
            default, as MediaPipe).
        detection_interval: Frames between detector runs while some but
            fewer than ``num_poses`` poses are tracked.
        fps: Frame rate assumed when a timestamp is left out.
        max_queue_size: LIVE_STREAM frames waiting to be processed.
        queue_policy: What to do when that queue is full.
    """

    base_options: BaseOptions = field(default_factory=BaseOptions)
    running_mode: RunningMode = RunningMode.IMAGE
    num_poses: int = 1
    min_pose_detection_confidence: float = 0.5
    min_pose_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    output_segmentation_masks: bool = False
    result_callback: ResultCallback | None = None
    model_complexity: int | None = None
    smooth_landmarks: bool | None = None
    smooth_segmentation: bool = False
    detection_interval: int = 5
    fps: float = DEFAULT_FPS
    max_queue_size: int = 2
    queue_policy: QueuePolicy = QueuePolicy.DROP_OLDEST


@dataclass
class PoseLandmarkerResult:
    """Poses found in one frame, as MediaPipe Tasks lists them, plus the arrays.

    Attributes:
        pose_landmarks: Per pose, 33 landmarks with x, y, z, visibility, presence.
        pose_world_landmarks: Per pose, 33 landmarks in metres.
        segmentation_masks: Per pose, an ``Image`` of the float mask (when asked for).
        result: The same poses as a :class:`PoseResult` of numpy arrays.
    """

    pose_landmarks: list[list[NormalizedLandmark]]
    pose_world_landmarks: list[list[Landmark]]
    segmentation_masks: list[Image] | None = None
    result: PoseResult | None = None

    @property
    def track_ids(self) -> list[int]:
        """Each pose's track id (stable while tracked in VIDEO and LIVE_STREAM)."""
        return [] if self.result is None else self.result.track_ids.tolist()

    @staticmethod
    def from_pose_result(result: PoseResult) -> PoseLandmarkerResult:
        lms: list[list[NormalizedLandmark]] = []
        world: list[list[Landmark]] = []
        for i in range(len(result)):
            vis, pres = result.visibility[i], result.presence[i]
            lms.append(landmark_list_from_arrays(result.landmarks[i], vis, pres).landmark)
            world_list = landmark_list_from_arrays(result.world_landmarks[i], vis, pres, world=True)
            world.append([lm for lm in world_list.landmark if isinstance(lm, Landmark)])
        masks = None
        if result.segmentation_masks is not None:
            masks = [Image(ImageFormat.VEC32F1, m) for m in result.segmentation_masks]
        return PoseLandmarkerResult(lms, world, masks, result)


class CallbackError(RuntimeError):
    """A LIVE_STREAM result callback raised; the original error is the cause."""


class PoseLandmarker:
    """Detects and tracks the poses of several people.

    One instance is to be used by one thread at a time: a call made while
    another thread is inside a call of the same instance raises
    ``RuntimeError``. Separate instances share nothing and may run in
    separate threads or processes.
    """

    def __init__(self, options: PoseLandmarkerOptions) -> None:
        mode = options.running_mode
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
        if options.base_options.model_asset_path is not None:
            named = _complexity_from_path(options.base_options.model_asset_path)
            if complexity is not None and complexity != named:
                raise ValueError(
                    f"model_complexity={complexity} contradicts model_asset_path "
                    f"{options.base_options.model_asset_path!r}"
                )
            complexity = named
        timed = mode is not RunningMode.IMAGE
        smooth = timed if options.smooth_landmarks is None else bool(options.smooth_landmarks) and timed
        self._options = options
        self._mode = mode
        self._max_queue = check_positive_int("max_queue_size", options.max_queue_size)
        self._estimator = PoseEstimator(
            static_image_mode=not timed,
            model_complexity=1 if complexity is None else complexity,
            smooth_landmarks=smooth,
            enable_segmentation=options.output_segmentation_masks,
            smooth_segmentation=options.smooth_segmentation,
            min_detection_confidence=options.min_pose_detection_confidence,
            min_tracking_confidence=options.min_tracking_confidence,
            min_presence_confidence=options.min_pose_presence_confidence,
            max_poses=options.num_poses,
            detection_interval=options.detection_interval,
            num_threads=options.base_options.num_threads,
            backend=options.base_options.backend,
            fps=options.fps,
        )
        self._call_lock = threading.Lock()
        self._closed = False
        self.dropped_frames = 0
        if mode is RunningMode.LIVE_STREAM:
            self._queue: collections.deque = collections.deque()
            self._cond = threading.Condition()
            self._busy = False
            self._stopping = False
            self._last_submitted_us: int | None = None
            self._callback_error: BaseException | None = None
            self._worker = threading.Thread(target=self._serve, name="blazepose-live-stream", daemon=True)
            self._worker.start()

    # Construction ----------------------------------------------------------

    @classmethod
    def create_from_options(cls, options: PoseLandmarkerOptions) -> PoseLandmarker:
        """Creates a landmarker from options."""
        return cls(options)

    @classmethod
    def create_from_model_path(cls, model_path: str) -> PoseLandmarker:
        """Creates an IMAGE-mode landmarker for the model a path names (lite, full or heavy)."""
        return cls(PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=model_path)))

    # Statistics ------------------------------------------------------------

    @property
    def frames_processed(self) -> int:
        return self._estimator.frames_processed

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
        with self._single_caller("detect"):
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
        with self._single_caller("detect_for_video"):
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
                frame is not queued; the landmarker stays usable).
            CallbackError: the callback raised on an earlier frame (raised
                once, then the stream goes on).
        """
        self._require(RunningMode.LIVE_STREAM, "live stream")
        with self._single_caller("detect_async"):
            self._raise_callback_error()
            pixels = check_rgb_image(_pixels(image))
            checked_boxes = check_boxes(boxes)
            ts = next_timestamp_us(self._last_submitted_us, timestamp_ms, self._estimator.frame_step_us)
            frame = (np.array(pixels, copy=True), ts, checked_boxes)
            with self._cond:
                if self._stopping:
                    raise ValueError("this PoseLandmarker is closed")
                if len(self._queue) >= self._max_queue:
                    policy = self._options.queue_policy
                    if policy is QueuePolicy.DROP_NEWEST:
                        self.dropped_frames += 1
                        self._last_submitted_us = ts
                        return
                    if policy is QueuePolicy.DROP_OLDEST:
                        self._queue.popleft()
                        self.dropped_frames += 1
                    else:
                        self._cond.wait_for(lambda: len(self._queue) < self._max_queue)
                self._queue.append(frame)
                self._last_submitted_us = ts
                self._cond.notify_all()

    # Lifecycle -------------------------------------------------------------

    def close(self) -> None:
        """Waits for queued frames (LIVE_STREAM), then frees the models.

        Raises:
            CallbackError: a LIVE_STREAM callback raised and was not reported yet.
        """
        if self._mode is RunningMode.LIVE_STREAM and threading.current_thread() is self._worker:
            raise RuntimeError("close() cannot be called from the result callback (it waits for that callback)")
        if self._closed:
            return
        self._closed = True
        if self._mode is RunningMode.LIVE_STREAM:
            with self._cond:
                # (A worker that died cannot drain the queue: do not wait for it.)
                self._cond.wait_for(lambda: (not self._queue and not self._busy) or not self._worker.is_alive())
                self._stopping = True
                self._cond.notify_all()
            self._worker.join()
        self._estimator.close()
        if self._mode is RunningMode.LIVE_STREAM:
            self._raise_callback_error()

    def __enter__(self) -> PoseLandmarker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Internals -------------------------------------------------------------

    def _require(self, mode: RunningMode, name: str) -> None:
        if self._closed:
            raise ValueError("this PoseLandmarker is closed; create a new one")
        if self._mode is not mode:
            raise ValueError(f"Task is not initialized with the {name} mode. Current running mode:{self._mode.name}")

    @contextlib.contextmanager
    def _single_caller(self, method: str) -> Iterator[None]:
        if not self._call_lock.acquire(blocking=False):
            raise RuntimeError(
                f"PoseLandmarker.{method} was called while another thread was inside a call of the same "
                "instance; use one PoseLandmarker per thread (or serialize the calls)"
            )
        try:
            yield
        finally:
            self._call_lock.release()

    def _raise_callback_error(self) -> None:
        error, self._callback_error = self._callback_error, None
        if error is not None:
            raise CallbackError(f"a LIVE_STREAM frame failed: {error}") from error

    def _serve(self) -> None:
        callback = self._options.result_callback
        assert callback is not None
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stopping)
                if not self._queue:
                    return
                pixels, ts, boxes = self._queue.popleft()
                self._busy = True
                self._cond.notify_all()
            try:
                try:
                    result = PoseLandmarkerResult.from_pose_result(self._estimator._process(pixels, ts, boxes))
                except Exception as error:
                    raise RuntimeError(f"processing the frame at {ts // 1000} ms raised {error!r}") from error
                try:
                    callback(result, Image(ImageFormat.SRGB, pixels), ts // 1000)
                except Exception as error:
                    raise RuntimeError(f"the result callback raised {error!r} at {ts // 1000} ms") from error
            except Exception as error:  # reported on the next call, never swallowed
                logger.error("%s", error)
                if self._callback_error is None:
                    self._callback_error = error
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


def _pixels(image: Image | np.ndarray) -> np.ndarray:
    if isinstance(image, Image):
        if image.image_format is not ImageFormat.SRGB:
            raise ValueError(f"expected an SRGB image, got {image.image_format.name}")
        return image.numpy_view()
    return image
