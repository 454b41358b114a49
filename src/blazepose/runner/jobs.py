"""One input in, its landmark files and annotated media out: the unit of work of every runner."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from blazepose.io.inputs import Input
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
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    threads: int | None = None
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


def output_paths(inp: Input, settings: RunSettings) -> dict[str, Path]:
    """The files one input produces, by kind (each landmark format, ``annotated``, ``plot3d``)."""
    out = Path(settings.out)
    paths = {fmt: out / f"{inp.name}.landmarks.{fmt}" for fmt in settings.formats}
    video = inp.kind != "photo"
    if settings.annotate:
        suffix = ".mp4" if video else Path(inp.location).suffix.lower()
        if not video and suffix not in (".jpg", ".jpeg", ".png"):
            suffix = ".png"
        paths["annotated"] = out / f"{inp.name}.annotated{suffix}"
    if settings.plot3d:
        paths["plot3d"] = out / f"{inp.name}.world3d.{'mp4' if video else 'png'}"
    return paths


def process_input(
    inp: Input,
    settings: RunSettings,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> InputOutcome:
    """Processes one input and writes its outputs; never raises for a bad input.

    Args:
        inp: The photo, video, camera or stream.
        settings: What to compute and write.
        progress: Called as frames are done (videos) and once at the end.
        should_stop: Polled between frames; when it returns True the video
            stops early, its outputs closed and valid up to there.

    Returns:
        The counts and files; ``error`` holds the one-line message when the
        input could not be processed (ValueError, RuntimeError, OSError).
    """
    outcome = InputOutcome(inp.location)
    try:
        paths = output_paths(inp, settings)
        existing = [str(p) for p in paths.values() if p.exists()]
        if existing and not settings.force:
            raise ValueError(f"{inp.location}: outputs exist ({', '.join(existing)}); use --force to overwrite")
        if inp.kind == "photo":
            _process_photo(inp, paths, settings, outcome)
        else:
            _process_video(inp, paths, settings, outcome, progress, should_stop)
        outcome.outputs = [str(p) for p in paths.values() if p.exists()]
    except (ValueError, RuntimeError, OSError) as e:
        outcome.error = str(e)
    return outcome


def _landmarker(settings: RunSettings, video: bool):
    from blazepose.tasks.pose_landmarker import BaseOptions, PoseLandmarker, PoseLandmarkerOptions, RunningMode

    return PoseLandmarker.create_from_options(
        PoseLandmarkerOptions(
            base_options=BaseOptions(num_threads=settings.threads),
            running_mode=RunningMode.VIDEO if video else RunningMode.IMAGE,
            num_poses=settings.num_poses,
            model_complexity=MODELS[settings.model],
            min_pose_detection_confidence=settings.min_detection_confidence,
            min_pose_presence_confidence=settings.min_presence_confidence,
            min_tracking_confidence=settings.min_tracking_confidence,
            output_segmentation_masks=settings.segmentation or settings.overlay != "none",
            smooth_landmarks=settings.smoothing,
        )
    )


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
    with _landmarker(settings, video=False) as landmarker:
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


def _process_video(
    inp: Input,
    paths: dict[str, Path],
    settings: RunSettings,
    outcome: InputOutcome,
    progress: ProgressCallback | None,
    should_stop: Callable[[], bool],
) -> None:
    from blazepose.draw.overlay import annotate_frame
    from blazepose.draw.world_plot import world_plot
    from blazepose.io.video import AnnotatedVideoWriter, CameraSource, VideoSource

    source: CameraSource | VideoSource
    if inp.kind == "camera":
        source = CameraSource(int(inp.location), settings.max_frames)
    else:
        source = VideoSource(inp.location, settings.start, settings.end, settings.stride)
    writers = [LandmarkWriter(paths[fmt], fmt) for fmt in settings.formats]
    video = plot = None
    landmarker = _landmarker(settings, video=True)
    started = time.monotonic()
    first_ms = last_ms = None
    try:
        for frame in source.frames():
            if should_stop():
                outcome.stopped = True
                break
            if first_ms is None:
                first_ms = frame.timestamp_ms
                height, width = frame.rgb.shape[:2]
                if "annotated" in paths:
                    video = AnnotatedVideoWriter(paths["annotated"], width, height, source.frame_rate, source.audio)
                    source.audio_sink = video.write_audio
                if "plot3d" in paths:
                    plot = AnnotatedVideoWriter(paths["plot3d"], 480, 480, source.frame_rate)
            # Frames with equal times (it happens in some files) are nudged apart by 1 microsecond.
            ts = frame.timestamp_ms if last_ms is None else max(frame.timestamp_ms, last_ms + 0.001)
            last_ms = ts
            result = landmarker.detect_for_video(frame.rgb, ts).result
            for w in writers:
                w.write(FrameRecord(frame.index, frame.timestamp_ms, result))
            if video is not None:
                video.write(annotate_frame(frame.rgb, result, settings.overlay), ts, first_ms)
            if plot is not None:
                plot.write(world_plot(result, azimuth=(ts - first_ms) / 1000 * 30), ts, first_ms)
            _count(outcome, result)
            if progress is not None:
                progress(inp.name, outcome.frames, source.expected_frames, time.monotonic() - started, False)
    finally:
        for w in writers:
            w.close()
        for v in (video, plot):
            if v is not None:
                v.close()
        source.close()
        landmarker.close()
        if progress is not None:
            progress(inp.name, outcome.frames, source.expected_frames, time.monotonic() - started, True)
    if outcome.frames == 0 and not outcome.stopped:
        raise ValueError(f"{inp.location}: no frame could be decoded")


def run_sequentially(
    inputs: list[Input] | tuple[Input, ...],
    settings: RunSettings,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Iterator[InputOutcome]:
    """Processes ``inputs`` one after the other in this process, yielding each outcome.

    Once ``should_stop`` returns True the running video stops at its next
    frame and no further input starts.
    """
    for inp in inputs:
        if should_stop():
            return
        yield process_input(inp, settings, progress, should_stop)
