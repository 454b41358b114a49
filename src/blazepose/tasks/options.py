"""Options of ``PoseLandmarker``: MediaPipe Tasks' names, plus a few of this library's."""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from blazepose.core.timestamps import DEFAULT_FPS
from blazepose.tasks.image import Image

if TYPE_CHECKING:
    from blazepose.tasks.result import PoseLandmarkerResult


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


class Delegate(enum.IntEnum):
    """MediaPipe's processor choice, kept for its code: DEFAULT and CPU run this library's engines on the
    CPU; GPU is refused (a GPU is used through ``backend="onnxruntime-cuda"``)."""

    DEFAULT = 0
    CPU = 1
    GPU = 2


_DelegateChoice = Delegate  # (BaseOptions.Delegate, a class attribute as in MediaPipe, hides the name in it)


@dataclass
class BaseOptions:
    """Model and engine.

    Attributes:
        model_asset_path: MediaPipe's bundle name or a path (``str`` or
            path-like) whose file name names the model
            (``pose_landmarker_lite.task``, ``..._full.task``,
            ``..._heavy.task``) or just ``lite``/``full``/``heavy``; else
            the path of a MediaPipe bundle (``pose_landmarker.task``, as
            MediaPipe's guide saves it), opened to see which of the three
            it holds. The vendored models are used (folder names are not
            read). None: ``model_complexity`` decides.
        num_threads: Inference threads (None: the available cores, at most 4;
            every count gives the same answers).
        backend: Inference engine name.
        precision: ``"float32"`` (the official models), ``"int8"`` (int8
            versions, LiteRT only: faster, slightly less accurate) or
            ``"bfloat16"`` (the official models computed in bfloat16, with
            ``backend="openvino"`` on a CPU that has it).
        model_asset_buffer: A MediaPipe bundle's bytes (instead of a path),
            looked into as a bundle file is.
        delegate: MediaPipe's ``BaseOptions.Delegate``; see :class:`Delegate`.
    """

    Delegate: ClassVar[type[Delegate]] = Delegate

    model_asset_path: str | os.PathLike[str] | None = None
    num_threads: int | None = None
    backend: str = "litert"
    precision: str = "float32"
    model_asset_buffer: bytes | None = None
    delegate: _DelegateChoice | None = None


_MODEL_NAMES = {"lite": 0, "full": 1, "heavy": 2}


# The official landmark models' convolutions (CONV_2D, DEPTHWISE_CONV_2D), which tell them apart in a bundle
# of any name (a float16 copy, as MediaPipe's downloads are, dequantizes its weights: its convolutions stay).
_CONVOLUTIONS = {(54, 34): 0, (58, 38): 1, (116, 82): 2}


def complexity_from_path(path: str | os.PathLike[str]) -> int:
    """The model complexity that the file name at the end of ``path`` names, else (``pose_landmarker.task``,
    as MediaPipe's guide saves its download) that the bundle there holds.

    Raises:
        FileNotFoundError: the name names no model and there is no file there.
        ValueError: the file there is not a bundle of an official pose model.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"model_asset_path must be a str or path-like, got {type(path).__name__}")
    file_name = os.path.basename(os.fspath(path)).lower()
    found = {name for name in _MODEL_NAMES if re.search(rf"(^|[^a-z]){name}([^a-z]|$)", file_name)}
    if len(found) == 1:
        return _MODEL_NAMES[found.pop()]
    if not os.path.exists(path):
        raise FileNotFoundError(f"model_asset_path {os.fspath(path)!r}: no such file (and its name says no model)")
    return complexity_of_bundle(path)


def complexity_of_bundle(source: str | os.PathLike[str] | bytes) -> int:
    """Which official landmark model a MediaPipe ``.task`` bundle (a zip: a path, or its bytes) holds, by its
    convolutions."""
    import collections
    import io
    import zipfile

    from ai_edge_litert.interpreter import Interpreter

    what = "model_asset_buffer" if isinstance(source, bytes) else f"model_asset_path {os.fspath(source)!r}"
    problem = (
        f"{what} is not a pose_landmarker bundle of an official model; name it with 'lite', 'full' or 'heavy' "
        "(the vendored official models are used)"
    )
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as bundle:
            model = bundle.read("pose_landmarks_detector.tflite")
        ops = collections.Counter(op["op_name"] for op in Interpreter(model_content=model)._get_ops_details())
    except Exception as e:  # what a file that is not such a bundle raises: OSError, BadZipFile, zlib.error...
        raise ValueError(f"{problem} ({type(e).__name__}: {e})") from e
    complexity = _CONVOLUTIONS.get((ops["CONV_2D"], ops["DEPTHWISE_CONV_2D"]))
    if complexity is None:
        raise ValueError(problem)
    return complexity


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
        accuracy: ``"fast"`` (MediaPipe's answers) or ``"high"``: more
            people found and steadier landmarks at several times the cost
            (see :class:`~blazepose.core.estimator.PoseEstimator`).
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
    accuracy: str = "fast"
