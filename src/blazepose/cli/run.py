"""``blazepose run``: photos, folders, globs, videos, cameras and streams in;
annotated media and landmark files out."""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from blazepose.io.inputs import Input, expand_inputs, output_names
from blazepose.io.landmark_files import FORMATS, FrameRecord, LandmarkWriter

MODELS = {"lite": 0, "full": 1, "heavy": 2}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "run",
        help="find poses in photos, folders, globs, videos, camera indices or stream URLs",
        description="Writes, per input, an annotated photo or H.264 MP4 (audio kept) and landmark files "
        "(JSON Lines by default; CSV and NPZ on request). Exit status: 0 when every input worked, "
        "1 when some failed (the others are still processed), 2 for bad options, 130 when interrupted "
        "(Ctrl-C, SIGINT), 143 when terminated (SIGTERM); interrupted or not, the outputs hold every "
        "frame processed.",
    )
    p.add_argument("inputs", nargs="+", help="photo, folder, glob, video, camera index (0) or stream URL")
    p.add_argument("--out", default="out", help="output folder (default: out)")
    p.add_argument("--model", choices=tuple(MODELS), default="full")
    p.add_argument("--num-poses", type=int, default=1)
    p.add_argument("--segmentation", action="store_true", help="compute masks (for --overlay)")
    p.add_argument("--overlay", choices=("none", "mask", "blur"), default="none", help="tint or blur the background")
    p.add_argument("--no-smoothing", action="store_true", help="no landmark smoothing in videos")
    p.add_argument(
        "--accuracy",
        choices=("fast", "high"),
        default="fast",
        help="fast: MediaPipe's answers; high: more people found, refined landmarks, and on video files a "
        "whole-clip pass (backward fill, zero-lag smoothing; no masks), several times slower (docs/accuracy.md)",
    )
    p.add_argument("--min-detection-confidence", type=float, default=0.5)
    p.add_argument("--min-presence-confidence", type=float, default=0.5)
    p.add_argument("--min-tracking-confidence", type=float, default=0.5)
    p.add_argument("--threads", type=int, default=None, help="inference threads")
    p.add_argument("--start", type=float, default=None, help="video: start at this many seconds")
    p.add_argument("--end", type=float, default=None, help="video: stop at this many seconds")
    p.add_argument("--stride", type=int, default=1, help="video: process every n-th frame")
    p.add_argument("--max-frames", type=int, default=None, help="camera: stop after this many frames")
    p.add_argument("--formats", default="jsonl", help=f"landmark files, comma-separated from {','.join(FORMATS)}")
    p.add_argument("--no-annotate", action="store_true", help="write no annotated photo or video")
    p.add_argument("--plot3d", action="store_true", help="also a 3D plot of the world landmarks (PNG / MP4)")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.add_argument("--quiet", action="store_true", help="no progress, only errors")
    p.add_argument("--json", action="store_true", help="machine-readable progress and summary on stdout")
    p.set_defaults(func=run)


@dataclass
class Summary:
    inputs: int = 0
    frames: int = 0
    frames_with_pose: int = 0
    poses: int = 0
    errors: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    interrupted: bool = False


class Reporter:
    """Progress and messages: a progress line on a terminal, JSON lines with --json, nothing with --quiet."""

    def __init__(self, quiet: bool, as_json: bool) -> None:
        self.quiet, self.as_json = quiet, as_json
        self.tty = sys.stderr.isatty()
        self._last = 0.0

    def event(self, kind: str, **data) -> None:
        if self.as_json:
            print(json.dumps({"event": kind, **data}), flush=True)

    def error(self, message: str) -> None:
        self.event("error", message=message)
        print(f"blazepose: {message}", file=sys.stderr, flush=True)

    def progress(self, name: str, done: int, total: int | None, started: float, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last < (0.25 if self.tty else 0.5 if self.as_json else 5.0):
            return
        self._last = now
        elapsed = max(now - started, 1e-9)
        fps = done / elapsed
        eta = (total - done) / fps if total and fps > 0 else None
        self.event("progress", input=name, frames=done, total=total, fps=round(fps, 2),
                   eta_s=None if eta is None else round(eta, 1))  # fmt: skip
        if self.quiet or self.as_json:
            return
        part = f"{done}/{total}" if total else f"{done}"
        left = f", {eta:.0f} s left" if eta is not None and not final else ""
        line = f"{name}: {part} frames, {fps:.1f} fps{left}"
        print(("\r" + line.ljust(78)) if self.tty else line, end="\n" if final or not self.tty else "", file=sys.stderr,
              flush=True)  # fmt: skip


def check_options(args: argparse.Namespace) -> str | None:
    """What is wrong with the options (a one-line message), or None; checked
    before anything is created."""
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        return (
            f"--formats: unknown format(s) {bad}"
            if bad
            else (
                f"--formats {args.formats!r} names no landmark format; expected a comma-separated list from "
                f"{','.join(FORMATS)}"
            )
        )
    for name in ("stride", "num_poses", "max_frames", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return f"--{name.replace('_', '-')} must be >= 1, got {value}"
    for name in ("min_detection_confidence", "min_presence_confidence", "min_tracking_confidence"):
        value = getattr(args, name)
        if not 0.0 <= value <= 1.0:  # NaN fails too
            return f"--{name.replace('_', '-')} must be in [0, 1], got {value}"
    if args.start is not None and not (math.isfinite(args.start) and args.start >= 0):
        return f"--start must be a finite number of seconds >= 0, got {args.start}"
    if args.end is not None and (math.isnan(args.end) or args.end <= (args.start or 0.0)):
        return f"--end must be a number of seconds after --start ({args.start or 0.0}), got {args.end}"
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return f"--out {out}: is a file; expected a folder (it is created when missing)"
    parent = next((p for p in (out, *out.parents) if p.exists()), Path("."))
    if not parent.is_dir():
        return f"--out {out}: {parent} is a file; expected a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"--out {out}: {parent} is not writable"
    return None


def run(args: argparse.Namespace) -> int:
    problem = check_options(args)
    if problem is not None:
        print(f"blazepose run: {problem}", file=sys.stderr)
        return 2
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    if args.end is not None and math.isinf(args.end):
        args.end = None  # to the end
    reporter = Reporter(args.quiet, args.json)
    summary = Summary()
    inputs, errors = expand_inputs(args.inputs)
    for e in errors:
        reporter.error(e)
        summary.errors.append(e)
    out = Path(args.out)
    names = output_names(inputs)
    stop: dict = {"requested": False, "signal": None}

    def on_signal(signum, frame):
        if stop["requested"] and not stop.get("closing"):
            raise KeyboardInterrupt
        stop["requested"], stop["signal"] = True, signum

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    started = time.monotonic()
    try:
        if inputs:
            try:
                out.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                print(f"blazepose run: --out {out}: cannot be created ({e.strerror or e})", file=sys.stderr)
                return 2
        for inp, name in zip(inputs, names, strict=True):
            if stop["requested"]:
                break
            summary.inputs += 1
            if inp.kind == "photo" and _is_video_inside(inp.location):
                inp = Input("video", inp.location)  # a video with a photo's suffix: read as what it is
            paths = _output_paths(inp, name, out, formats, args)
            existed = {p for p in paths.values() if p.exists()}
            frames_before = summary.frames
            try:
                if existed and not args.force:
                    raise ValueError(
                        f"{inp.location}: outputs exist ({', '.join(map(str, sorted(existed)))}); "
                        "use --force to overwrite"
                    )
                if inp.kind == "photo":
                    _process_photo(inp, paths, formats, args, summary)
                else:
                    _process_video(inp, paths, formats, args, summary, reporter, stop)
                summary.outputs += [str(p) for p in paths.values() if p.exists()]
                reporter.event("input_done", input=inp.location, outputs=[str(p) for p in paths.values()])
            except (ValueError, RuntimeError, OSError) as e:
                if summary.frames == frames_before:  # nothing of this input was kept: leave no empty file
                    _remove_new(paths, existed)
                reporter.error(str(e))
                summary.errors.append(str(e))
            except KeyboardInterrupt:  # a second Ctrl-C: the input's files were closed on the way out
                stop["requested"] = True
                stop["signal"] = stop["signal"] or signal.SIGINT
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    summary.interrupted = stop["requested"]
    seconds = time.monotonic() - started
    reporter.event(
        "summary", inputs=summary.inputs, frames=summary.frames, frames_with_pose=summary.frames_with_pose,
        poses=summary.poses, seconds=round(seconds, 2), errors=summary.errors, interrupted=summary.interrupted,
    )  # fmt: skip
    if not args.quiet and not args.json:
        print(
            f"{summary.inputs} input(s), {summary.frames} frame(s), a pose in {summary.frames_with_pose}, "
            f"{summary.poses} pose(s) in all, {seconds:.1f} s"
            + (f", {len(summary.errors)} error(s)" if summary.errors else "")
            + (", interrupted" if summary.interrupted else ""),
            file=sys.stderr,
        )
    if summary.interrupted:
        return 128 + int(stop["signal"] or signal.SIGINT)
    return 1 if summary.errors else 0


def _is_video_inside(location: str) -> bool:
    """Whether a file named as a photo holds a video (ISO MP4/MOV, Matroska/WebM, AVI, by its first bytes)."""
    try:
        with open(location, "rb") as f:
            head = f.read(12)
    except OSError:  # the photo reader names the problem
        return False
    return head[4:8] == b"ftyp" or head[:4] == b"\x1a\x45\xdf\xa3" or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")


def _remove_new(paths: dict[str, Path], existed: set[Path]) -> None:
    """Removes the outputs an input created (so that a failed input blocks no later run)."""
    for path in paths.values():
        if path not in existed:
            path.unlink(missing_ok=True)


def _output_paths(inp: Input, name: str, out: Path, formats: list[str], args) -> dict[str, Path]:
    paths = {fmt: out / f"{name}.landmarks.{fmt}" for fmt in formats}
    video = inp.kind != "photo"
    if not args.no_annotate:
        suffix = ".mp4" if video else (Path(inp.location).suffix.lower() if inp.kind == "photo" else ".png")
        paths["annotated"] = (
            out / f"{name}.annotated{suffix if suffix in ('.jpg', '.jpeg', '.png') or video else '.png'}"
        )
    if args.plot3d:
        paths["plot3d"] = out / f"{name}.world3d.{'mp4' if video else 'png'}"
    return paths


def _landmarker(args, mode):
    from blazepose.tasks.pose_landmarker import BaseOptions, PoseLandmarker, PoseLandmarkerOptions

    segmentation = args.segmentation or args.overlay != "none"
    return PoseLandmarker.create_from_options(
        PoseLandmarkerOptions(
            base_options=BaseOptions(num_threads=args.threads),
            running_mode=mode,
            num_poses=args.num_poses,
            model_complexity=MODELS[args.model],
            min_pose_detection_confidence=args.min_detection_confidence,
            min_pose_presence_confidence=args.min_presence_confidence,
            min_tracking_confidence=args.min_tracking_confidence,
            output_segmentation_masks=segmentation,
            smooth_landmarks=not args.no_smoothing,
            accuracy=args.accuracy,
        )
    )


def _count(summary: Summary, result) -> None:
    summary.frames += 1
    summary.poses += len(result)
    summary.frames_with_pose += len(result) > 0


def _process_photo(inp: Input, paths: dict[str, Path], formats, args, summary: Summary) -> None:
    import cv2

    from blazepose.draw.overlay import annotate_frame
    from blazepose.draw.world_plot import world_plot
    from blazepose.io.photos import read_photo
    from blazepose.tasks.pose_landmarker import RunningMode

    rgb = read_photo(inp.location)
    with _landmarker(args, RunningMode.IMAGE) as landmarker:
        result = landmarker.detect(rgb).result
    _count(summary, result)
    for fmt in formats:
        writer = LandmarkWriter(paths[fmt], fmt)
        writer.write(FrameRecord(0, None, result))
        writer.close()
    if "annotated" in paths and not cv2.imwrite(str(paths["annotated"]), annotate_frame(rgb, result, args.overlay)):
        raise OSError(f"{paths['annotated']}: cannot be written")
    if "plot3d" in paths:
        cv2.imwrite(str(paths["plot3d"]), world_plot(result, azimuth=10))


def _process_video(inp: Input, paths, formats, args, summary: Summary, reporter: Reporter, stop: dict) -> None:
    from blazepose.draw.overlay import annotate_frame
    from blazepose.draw.world_plot import world_plot
    from blazepose.io.video import AnnotatedVideoWriter, CameraSource, VideoSource
    from blazepose.tasks.pose_landmarker import RunningMode

    source: CameraSource | VideoSource
    if inp.kind == "camera":
        source = CameraSource(int(inp.location), args.max_frames)
    else:
        source = VideoSource(inp.location, args.start, args.end, args.stride)
    offline = None
    if args.accuracy == "high" and inp.kind != "camera":
        source.close()
        offline = iter(_offline_results(inp, args, reporter, stop))
        source = VideoSource(inp.location, args.start, args.end, args.stride)
    writers: list[LandmarkWriter] = []
    video = plot = None
    started = time.monotonic()
    done = 0
    first_ms = last_ms = None
    frames = source.frames()
    try:
        landmarker = None if offline is not None else _landmarker(args, RunningMode.VIDEO)
    except BaseException:
        source.close()
        raise
    try:
        writers += [LandmarkWriter(paths[fmt], fmt) for fmt in formats]
        for frame in frames:
            if stop["requested"]:
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
            if offline is not None:
                result = next(offline, None)
                if result is None:
                    break  # the whole-clip pass was interrupted here
            else:
                assert landmarker is not None
                result = landmarker.detect_for_video(frame.rgb, ts).result
            for w in writers:
                w.write(FrameRecord(frame.index, frame.timestamp_ms, result))
            if video is not None:
                video.write(annotate_frame(frame.rgb, result, args.overlay), ts, first_ms)
            if plot is not None:
                plot.write(world_plot(result, azimuth=(ts - first_ms) / 1000 * 30), ts, first_ms)
            _count(summary, result)
            done += 1
            reporter.progress(inp.name, done, source.expected_frames, started)
    finally:
        stop["closing"] = True  # a second signal now would cut the files short: it waits
        try:
            frames.close()  # stops the decode thread before the container closes
            for w in writers:
                w.close()
            for v in (video, plot):
                if v is not None:
                    v.close()
            source.close()
            if landmarker is not None:
                landmarker.close()
        finally:
            stop["closing"] = False
        reporter.progress(inp.name, done, source.expected_frames, started, final=True)
    if done == 0 and not stop["requested"]:
        raise ValueError(f"{inp.location}: no frame could be decoded")


def _offline_results(inp: Input, args, reporter: Reporter, stop: dict) -> list:
    """--accuracy high on a video file: the whole clip tracked by
    ``blazepose.core.offline.track_clip`` (two decodes), before any output is written."""
    from blazepose.core.offline import OfflineSettings, track_clip
    from blazepose.io.video import VideoSource

    if args.segmentation or args.overlay != "none":
        raise ValueError(
            f"{inp.location}: --accuracy high on a video file makes no masks; drop --segmentation/--overlay"
        )
    passes = {"count": 0}

    def frames():
        source = VideoSource(inp.location, args.start, args.end, args.stride)
        passes["count"] += 1
        name = f"{inp.name} ({'forward' if passes['count'] == 1 else 'backward'} pass)"
        started, done, last_ms = time.monotonic(), 0, None
        try:
            for frame in source.frames():
                if stop["requested"]:
                    return
                ts = frame.timestamp_ms if last_ms is None else max(frame.timestamp_ms, last_ms + 0.001)
                last_ms = ts
                yield frame.rgb, ts
                done += 1
                reporter.progress(name, done, source.expected_frames, started)
        finally:
            source.close()

    settings = OfflineSettings(smooth=not args.no_smoothing)
    try:
        return track_clip(
            frames,
            model_complexity=MODELS[args.model],
            max_poses=args.num_poses,
            settings=settings,
            min_detection_confidence=args.min_detection_confidence,
            min_presence_confidence=args.min_presence_confidence,
            min_tracking_confidence=args.min_tracking_confidence,
            num_threads=args.threads,
        )
    except ImportError as e:
        raise ValueError(f"{inp.location}: {e}") from None
