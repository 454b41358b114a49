"""One input in, its landmark files and annotated media out: the unit of work of every runner."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blazepose.core.timestamps import after_previous_ms
from blazepose.io.inputs import Input, output_names
from blazepose.io.landmark_files import FrameRecord, LandmarkWriter

MODELS = {"lite": 0, "full": 1, "heavy": 2}

ProgressCallback = Callable[[str, int, "int | None", float, bool], None]
"""``(input name, frames done, frames expected or None, seconds elapsed, final)``."""


@dataclass(frozen=True)
class RunSettings:
    """What to compute and write for every input (picklable, so it can travel to workers).

    Attributes mirror the options of ``blazepose run``.
    """

    out: Path
    model: str = "full"
    num_poses: int = 1
    segmentation: bool = False
    overlay: str = "none"
    smoothing: bool = True
    accuracy: str = "fast"
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    threads: int | None = None
    precision: str = "float32"
    backend: str = "litert"
    start: float | None = None
    end: float | None = None
    stride: int = 1
    max_frames: int | None = None
    formats: tuple[str, ...] = ("jsonl",)
    annotate: bool = True
    plot3d: bool = False
    force: bool = False


@dataclass
class InputOutcome:
    """What one input gave: counts, the files written, and the error if it failed."""

    input: str
    frames: int = 0
    frames_with_pose: int = 0
    poses: int = 0
    outputs: list[str] = field(default_factory=list)
    error: str | None = None
    stopped: bool = False


Job = tuple[int, Input, str]
"""An input to process: its position (to report it by), the input, its outputs' name."""


@dataclass
class StopFlag:
    """A stop request set from a signal handler, polled between frames (call it).

    ``closing`` is True while an input's files are being closed: a handler
    that aborts on a second signal should wait then, or the files would be
    cut short.
    """

    requested: bool = False
    signal: int | None = None
    closing: bool = False

    def __call__(self) -> bool:
        return self.requested


class InputInterrupted(KeyboardInterrupt):
    """A KeyboardInterrupt inside an input, raised after its files were closed.

    Attributes:
        outcome: What the input had done (``stopped`` set).
    """

    def __init__(self, outcome: InputOutcome) -> None:
        super().__init__()
        self.outcome = outcome


def output_paths(inp: Input, settings: RunSettings, name: str | None = None) -> dict[str, Path]:
    """The files one input produces, by kind (each landmark format, ``annotated``, ``plot3d``).

    Args:
        inp: The input.
        settings: What to write.
        name: The outputs' name (see :func:`blazepose.io.inputs.output_names`); None: the input's stem.
    """
    name = inp.name if name is None else name
    out = Path(settings.out)
    paths = {fmt: out / f"{name}.landmarks.{fmt}" for fmt in settings.formats}
    video = inp.kind != "photo"
    if settings.annotate:
        suffix = ".mp4" if video else Path(inp.location).suffix.lower()
        if not video and suffix not in (".jpg", ".jpeg", ".png"):
            suffix = ".png"
        paths["annotated"] = out / f"{name}.annotated{suffix}"
    if settings.plot3d:
        paths["plot3d"] = out / f"{name}.world3d.{'mp4' if video else 'png'}"
    return paths


def process_input(
    inp: Input,
    settings: RunSettings,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    name: str | None = None,
    open_video: Callable[[], Any] | None = None,
) -> InputOutcome:
    """Processes one input and writes its outputs; never raises for a bad input.

    Args:
        inp: The photo, video, camera or stream.
        settings: What to compute and write.
        progress: Called as frames are done (videos) and once at the end.
        should_stop: Polled between frames; when it returns True the video
            stops early, its outputs closed and valid up to there. A
            :class:`StopFlag` is also told while the files close.
        name: The outputs' (and progress's) name; None: the input's stem.
        open_video: Gives the VIDEO-mode landmarker of a video (anything with
            ``detect_for_video(rgb, ms).result`` and ``close()``, such as a
            stream of :class:`blazepose.runner.streams.SharedStreams`); None:
            :func:`open_landmarker`. Not used with ``accuracy="high"``.

    Returns:
        The counts and files; ``error`` holds the one-line message when the
        input could not be processed (ValueError, RuntimeError, OSError).
        When nothing of the input was kept, the files it created are removed
        (so that a failed input blocks no later run).

    Raises:
        InputInterrupted: a KeyboardInterrupt arrived; the files were closed.
    """
    outcome = InputOutcome(inp.location)
    name = inp.name if name is None else name
    if inp.kind == "photo" and is_video_inside(inp.location):
        inp = Input("video", inp.location)  # a video with a photo's suffix: read as what it is
    paths = output_paths(inp, settings, name)
    existed = {p for p in paths.values() if p.exists()}
    try:
        if existed and not settings.force:
            listed = ", ".join(map(str, sorted(existed)))
            raise ValueError(f"{inp.location}: outputs exist ({listed}); use --force to overwrite")
        if inp.kind == "photo":
            _process_photo(inp, paths, settings, outcome)
        else:
            opener = open_video or (lambda: open_landmarker(settings, video=True))
            _process_video(inp, name, paths, settings, outcome, progress, should_stop, opener)
    except (ValueError, RuntimeError, OSError) as e:
        outcome.error = inp.naming(str(e))
        if outcome.frames == 0:  # nothing of this input was kept: leave no empty file
            for path in paths.values():
                if path not in existed:
                    path.unlink(missing_ok=True)
    except KeyboardInterrupt as e:
        outcome.stopped = True
        outcome.outputs = [str(p) for p in paths.values() if p.exists()]
        raise InputInterrupted(outcome) from e
    if outcome.stopped and outcome.frames == 0:  # stopped before its first frame: no empty file left behind
        for path in paths.values():
            if path not in existed:
                path.unlink(missing_ok=True)
    outcome.outputs = [str(p) for p in paths.values() if p.exists()]
    return outcome


def is_video_inside(location: str) -> bool:
    """Whether a file named as a photo holds a video (ISO MP4/MOV, Matroska/WebM, AVI, by its first bytes)."""
    try:
        with open(location, "rb") as f:
            head = f.read(12)
    except OSError:  # the photo reader names the problem
        return False
    return head[4:8] == b"ftyp" or head[:4] == b"\x1a\x45\xdf\xa3" or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")


def _landmarker_options(settings: RunSettings, video: bool):
    from blazepose.tasks.pose_landmarker import BaseOptions, PoseLandmarkerOptions, RunningMode

    return PoseLandmarkerOptions(
        base_options=BaseOptions(num_threads=settings.threads, precision=settings.precision, backend=settings.backend),
        running_mode=RunningMode.VIDEO if video else RunningMode.IMAGE,
        num_poses=settings.num_poses,
        model_complexity=MODELS[settings.model],
        min_pose_detection_confidence=settings.min_detection_confidence,
        min_pose_presence_confidence=settings.min_presence_confidence,
        min_tracking_confidence=settings.min_tracking_confidence,
        output_segmentation_masks=settings.segmentation or settings.overlay != "none",
        smooth_landmarks=settings.smoothing,
        accuracy=settings.accuracy,
    )


def open_landmarker(settings: RunSettings, video: bool):
    """A PoseLandmarker (IMAGE or VIDEO mode) with the model, thresholds, threads and accuracy of ``settings``."""
    from blazepose.tasks.pose_landmarker import PoseLandmarker

    return PoseLandmarker.create_from_options(_landmarker_options(settings, video))


def landmarker_options(settings: RunSettings, video: bool) -> dict[str, Any]:
    """The :class:`~blazepose.core.estimator.PoseEstimator` options of :func:`open_landmarker`'s landmarker."""
    from blazepose.tasks.pose_landmarker import options_for_estimator

    return options_for_estimator(_landmarker_options(settings, video))


def _count(outcome: InputOutcome, result) -> None:
    outcome.frames += 1
    outcome.poses += len(result)
    outcome.frames_with_pose += len(result) > 0


def _process_photo(inp: Input, paths: dict[str, Path], settings: RunSettings, outcome: InputOutcome) -> None:
    import cv2

    from blazepose.draw.overlay import annotate_frame
    from blazepose.draw.world_plot import world_plot
    from blazepose.io.photos import read_photo

    rgb = read_photo(inp.location)
    with open_landmarker(settings, video=False) as landmarker:
        result = landmarker.detect(rgb).result
    _count(outcome, result)
    for fmt in settings.formats:
        writer = LandmarkWriter(paths[fmt], fmt)
        writer.write(FrameRecord(0, None, result))
        writer.close()
    if "annotated" in paths and not cv2.imwrite(str(paths["annotated"]), annotate_frame(rgb, result, settings.overlay)):
        raise OSError(f"{paths['annotated']}: cannot be written")
    if "plot3d" in paths:
        cv2.imwrite(str(paths["plot3d"]), world_plot(result, azimuth=10))


@contextlib.contextmanager
def _closing(should_stop: Callable[[], bool]) -> Iterator[None]:
    """Tells a :class:`StopFlag` that files are being closed (a second signal then waits)."""
    if not isinstance(should_stop, StopFlag):
        yield
        return
    should_stop.closing = True
    try:
        yield
    finally:
        should_stop.closing = False


def _process_video(
    inp: Input,
    name: str,
    paths: dict[str, Path],
    settings: RunSettings,
    outcome: InputOutcome,
    progress: ProgressCallback | None,
    should_stop: Callable[[], bool],
    open_video: Callable[[], Any],
) -> None:
    from blazepose.draw.overlay import annotate_frame
    from blazepose.draw.world_plot import world_plot
    from blazepose.io.video import CameraSource, VideoSource
    from blazepose.io.video_writer import AnnotatedVideoWriter, writer_for_source

    source: CameraSource | VideoSource
    if inp.kind == "camera":
        source = CameraSource(int(inp.location), settings.max_frames)
    else:
        source = VideoSource(inp.location, settings.start, settings.end, settings.stride)
    offline = None
    if settings.accuracy == "high" and inp.kind == "video":  # (a stream, like a camera, has no end to wait for)
        source.close()
        offline = iter(_offline_results(inp, name, settings, progress, should_stop))
        source = VideoSource(inp.location, settings.start, settings.end, settings.stride)
    writers: list[LandmarkWriter] = []
    video = plot = None
    started = time.monotonic()
    total = source.expected_frames  # (for progress: --max-frames may end the input first)
    if settings.max_frames is not None:
        total = settings.max_frames if total is None else min(total, settings.max_frames)
    first_ms = last_ms = None
    frames = source.frames()
    try:
        landmarker = None if offline is not None else open_video()
    except BaseException:
        source.close()
        raise
    try:
        for frame in frames:
            if should_stop():
                outcome.stopped = True
                break
            if first_ms is None:  # outputs are opened on the first frame: one that never comes overwrites none
                first_ms = frame.timestamp_ms
                writers += [LandmarkWriter(paths[fmt], fmt) for fmt in settings.formats]
                if "annotated" in paths:
                    video = writer_for_source(paths["annotated"], source, frame.rgb, first_ms)
                if "plot3d" in paths:
                    plot = AnnotatedVideoWriter(paths["plot3d"], 480, 480, source.frame_rate)
            ts = after_previous_ms(frame.timestamp_ms, last_ms)
            last_ms = ts
            if offline is not None:
                result = next(offline, None)
                if result is None:
                    outcome.stopped = should_stop()
                    break  # the whole-clip pass was interrupted here
            else:
                assert landmarker is not None
                result = landmarker.detect_for_video(frame.rgb, ts).result
            for w in writers:
                w.write(FrameRecord(frame.index, frame.timestamp_ms, result))
            if video is not None:
                video.write(annotate_frame(frame.rgb, result, settings.overlay), ts, first_ms)
            if plot is not None:
                plot.write(world_plot(result, azimuth=(ts - first_ms) / 1000 * 30), ts, first_ms)
            _count(outcome, result)
            if progress is not None:
                progress(name, outcome.frames, total, time.monotonic() - started, False)
            if settings.max_frames is not None and outcome.frames >= settings.max_frames:
                break  # (a stream may never end by itself)
    finally:
        with _closing(should_stop):  # a second signal now would cut the files short: it waits
            frames.close()  # stops the decode thread before the container closes
            for w in writers:
                w.close()
            for v in (video, plot):
                if v is not None:
                    v.close()
            source.close()
            if landmarker is not None:
                landmarker.close()
        if progress is not None:
            progress(name, outcome.frames, total, time.monotonic() - started, True)
    if outcome.frames == 0 and not outcome.stopped:
        if inp.kind == "camera" or (settings.start is None and settings.end is None):
            raise ValueError(f"{inp.location}: no frame could be decoded")
        bounds = (("--start", settings.start), ("--end", settings.end))
        asked = " and ".join(f"{flag} {value:g} s" for flag, value in bounds if value is not None)
        raise ValueError(f"{inp.location}: no frame in the range asked ({asked})")


def _offline_results(
    inp: Input,
    name: str,
    settings: RunSettings,
    progress: ProgressCallback | None,
    should_stop: Callable[[], bool],
) -> list:
    """``accuracy="high"`` on a video file: the whole clip tracked by
    :func:`blazepose.core.offline.track_clip` (two decodes), before any output is written."""
    from blazepose.core.offline import OfflineSettings, track_clip
    from blazepose.io.video import VideoSource

    if settings.segmentation or settings.overlay != "none":
        raise ValueError(
            f"{inp.location}: --accuracy high on a video file makes no masks; drop --segmentation/--overlay"
        )
    passes = {"count": 0}

    def frames():
        source = VideoSource(inp.location, settings.start, settings.end, settings.stride)
        passes["count"] += 1
        label = f"{name} ({'forward' if passes['count'] == 1 else 'backward'} pass)"
        started, done, last_ms = time.monotonic(), 0, None
        try:
            for frame in source.frames():
                if should_stop():
                    return
                ts = after_previous_ms(frame.timestamp_ms, last_ms)
                last_ms = ts
                yield frame.rgb, ts
                done += 1
                if progress is not None:
                    progress(label, done, source.expected_frames, time.monotonic() - started, False)
        finally:
            source.close()

    try:
        return track_clip(
            frames,
            model_complexity=MODELS[settings.model],
            max_poses=settings.num_poses,
            settings=OfflineSettings(smooth=settings.smoothing),
            min_detection_confidence=settings.min_detection_confidence,
            min_presence_confidence=settings.min_presence_confidence,
            min_tracking_confidence=settings.min_tracking_confidence,
            num_threads=settings.threads,
            precision=settings.precision,
            backend=settings.backend,
        )
    except ImportError as e:
        raise ValueError(f"{inp.location}: {e}") from None


def run_sequentially(
    inputs: Sequence[Input],
    settings: RunSettings,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Iterator[InputOutcome]:
    """Processes ``inputs`` one after the other in this process, yielding each outcome.

    Each input writes under its name from :func:`blazepose.io.inputs.output_names`
    (distinct even when stems are shared). Once ``should_stop`` returns True
    the running video stops at its next frame and no further input starts.
    """
    for inp, name in zip(inputs, output_names(list(inputs)), strict=True):
        if should_stop():
            return
        yield process_input(inp, settings, progress, should_stop, name)
