"""``blazepose run``: photos, folders, globs, videos, cameras and streams in;
annotated media and landmark files out."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from blazepose.backends import (
    BACKENDS,
    DEFAULT_BACKEND,
    MAX_THREADS,
    PRECISIONS,
    backend_unavailable,
    check_precision,
    model_format,
    precision_unavailable,
)
from blazepose.io.inputs import expand_inputs
from blazepose.io.landmark_files import FORMATS
from blazepose.models import COMPANION_PACKAGES, companion_folder
from blazepose.runner.jobs import MODELS, InputInterrupted, InputOutcome, RunSettings, StopFlag, run_sequentially


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
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="inference threads per worker (default: the cores, at most 4, shared out between workers)",
    )
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="float32: the official models (MediaPipe's answers); int8: int8 models, faster and slightly less "
        "accurate; bfloat16: the official models computed in bfloat16 (--backend openvino, on a CPU with Intel "
        "AMX or AVX-512 BF16) (docs/throughput.md)",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default=DEFAULT_BACKEND,
        help="inference engine: litert (default, MediaPipe's answers), onnxruntime, onnxruntime-cuda, "
        "onnxruntime-tensorrt (GPU; the onnxruntime-gpu package), openvino (docs/throughput.md)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="process this many inputs at once, each in its own process (default: 1)",
    )
    p.add_argument(
        "--streams",
        type=int,
        default=None,
        help="videos tracked at once in each process, their landmark crops run as one batch per step (for a GPU "
        "engine; the same answers on litert; default: 1)",
    )
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        default=None,
        help="run one task per input on a Ray cluster ('local' starts one here; needs the ray extra); "
        "--out must be a folder every node can write",
    )
    p.add_argument("--start", type=float, default=None, help="video: start at this many seconds")
    p.add_argument("--end", type=float, default=None, help="video: stop at this many seconds")
    p.add_argument("--stride", type=int, default=1, help="video: process every n-th frame")
    p.add_argument(
        "--max-frames", type=int, default=None, help="stop each input after this many frames (cameras, streams, files)"
    )
    p.add_argument("--formats", default="jsonl", help=f"landmark files, comma-separated from {','.join(FORMATS)}")
    p.add_argument("--no-annotate", action="store_true", help="write no annotated photo or video")
    p.add_argument(
        "--plot3d", action="store_true", help="also a 3D plot of the world landmarks (PNG / MP4; the plot extra)"
    )
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
    stopped: int = 0
    interrupted: bool = False


class Reporter:
    """Progress and messages: a progress line on a terminal, JSON lines with --json, nothing with --quiet.

    Safe to call from several threads (``--streams``: one per video): each line is written whole.
    """

    def __init__(self, quiet: bool, as_json: bool) -> None:
        self.quiet, self.as_json = quiet, as_json
        self.tty = sys.stderr.isatty()
        self._last = 0.0
        self._lock = threading.Lock()

    def _write(self, stream, text: str) -> None:
        with self._lock:
            stream.write(text)
            stream.flush()

    def event(self, kind: str, **data) -> None:
        if self.as_json:
            self._write(sys.stdout, json.dumps({"event": kind, **data}) + "\n")

    def error(self, message: str) -> None:
        self.event("error", message=message)
        self._write(sys.stderr, f"blazepose: {one_line(message)}\n")

    def warning(self, message: str) -> None:
        """Something the user should know that does not stop the work (shown with --quiet too)."""
        self.event("warning", message=message)
        self._write(sys.stderr, f"blazepose: warning: {one_line(message)}\n")

    def progress(self, name: str, done: int, total: int | None, elapsed: float, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last < (0.25 if self.tty else 0.5 if self.as_json else 5.0):
            return
        self._last = now
        elapsed = max(elapsed, 1e-9)
        fps = done / elapsed
        eta = (total - done) / fps if total and fps > 0 else None
        self.event("progress", input=name, frames=done, total=total, fps=round(fps, 2),
                   eta_s=None if eta is None else round(eta, 1))  # fmt: skip
        if self.quiet or self.as_json:
            return
        part = f"{done}/{total}" if total else f"{done}"
        left = f", {eta:.0f} s left" if eta is not None and not final else ""
        line = f"{name}: {part} frames, {fps:.1f} fps{left}"
        text = ("\r" + line.ljust(78)) if self.tty else line
        self._write(sys.stderr, text + ("\n" if final or not self.tty else ""))


@contextlib.contextmanager
def user_warnings(say: Callable[[str], None]) -> Iterator[None]:
    """Collects the UserWarnings raised in the block and, once it ends without an error, hands each one's
    message to ``say`` (one line each, not Python's warning with a source line); other warnings are shown
    as Python shows them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        yield
    for warning in caught:
        if issubclass(warning.category, UserWarning):
            say(str(warning.message))
        else:  # (a library's DeprecationWarning...: not the input's problem)
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


def one_line(message: str) -> str:
    """``message`` with its line breaks turned into spaces (one message, one line on stderr)."""
    return " ".join(part.strip() for part in message.splitlines() if part.strip())


def settings_from_args(args: argparse.Namespace) -> RunSettings:
    """The per-input settings that ``blazepose run``'s options describe (checked by :func:`check_options`)."""
    return RunSettings(
        out=Path(args.out),
        model=args.model,
        num_poses=args.num_poses,
        segmentation=args.segmentation,
        overlay=args.overlay,
        smoothing=not args.no_smoothing,
        accuracy=args.accuracy,
        min_detection_confidence=args.min_detection_confidence,
        min_presence_confidence=args.min_presence_confidence,
        min_tracking_confidence=args.min_tracking_confidence,
        threads=args.threads,
        precision=args.precision,
        backend=args.backend,
        start=args.start,
        end=None if args.end is not None and math.isinf(args.end) else args.end,  # inf: to the end
        stride=args.stride,
        max_frames=args.max_frames,
        formats=tuple(f.strip() for f in args.formats.split(",") if f.strip()),
        annotate=not args.no_annotate,
        plot3d=args.plot3d,
        force=args.force,
    )


def check_options(args: argparse.Namespace) -> str | None:
    """What is wrong with the options (a one-line message), or None; checked
    before anything is created."""
    import importlib.util

    if getattr(args, "plot3d", False) and importlib.util.find_spec("matplotlib") is None:
        return "--plot3d needs matplotlib: pip install 'blazepose[plot]'"
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
    for name in ("stride", "num_poses", "max_frames", "threads", "workers", "streams"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return f"--{name.replace('_', '-')} must be >= 1, got {value}"
    if args.threads is not None and args.threads > MAX_THREADS:
        return f"--threads must be at most {MAX_THREADS}, got {args.threads}"
    for name in ("min_detection_confidence", "min_presence_confidence", "min_tracking_confidence"):
        value = getattr(args, name)
        if not 0.0 <= value <= 1.0:  # NaN fails too
            return f"--{name.replace('_', '-')} must be in [0, 1], got {value}"
    if args.start is not None and not (math.isfinite(args.start) and args.start >= 0):
        return f"--start must be a finite number of seconds >= 0, got {args.start}"
    if args.end is not None and (math.isnan(args.end) or args.end <= (args.start or 0.0)):
        return f"--end must be a number of seconds after --start ({args.start or 0.0}), got {args.end}"
    if args.streams is not None and args.streams > 1 and args.accuracy == "high":
        return "--streams batches the live tracker; --accuracy high tracks each video as a whole: use one of them"
    if args.streams is not None and args.streams > 1 and args.ray is not None:
        return "--streams is for this machine's processes; with --ray each task runs one input"
    try:
        check_precision(args.precision, args.backend)
    except ValueError as e:
        return f"--precision {args.precision}: {e}"
    unavailable = backend_unavailable(args.backend)
    if unavailable:
        return f"--backend {args.backend}: {unavailable}"
    unavailable = precision_unavailable(args.precision, args.backend)
    if unavailable:
        return f"--precision {args.precision}: {unavailable}"
    kind = "int8" if args.precision == "int8" else model_format(args.backend)
    if kind in COMPANION_PACKAGES:
        try:
            companion_folder(kind)
        except FileNotFoundError as e:
            option = "precision" if kind == "int8" else "backend"
            return f"--{option} {getattr(args, option)}: {e}"
    if args.threads is None:
        from blazepose.backends import default_num_threads

        try:
            default_num_threads()  # $BLAZEPOSE_NUM_THREADS, when set, must be a count
        except ValueError as e:
            return str(e)
    return out_folder_problem(Path(args.out))


def _whole_clip_problem(args: argparse.Namespace) -> str | None:
    """What keeps ``--accuracy high``'s whole-clip pass from running on the video files given, or None."""
    import importlib.util

    if importlib.util.find_spec("scipy") is None:
        return "--accuracy high on video files needs scipy: pip install 'blazepose[offline]'"
    if args.segmentation or args.overlay != "none":
        return "--accuracy high on video files makes no masks: drop --segmentation and --overlay"
    return None


def out_folder_problem(out: Path) -> str | None:
    """What keeps ``--out`` from being (or becoming) a writable folder, in one line; None when nothing does."""
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
    settings = settings_from_args(args)
    reporter = Reporter(args.quiet, args.json)
    summary = Summary()
    inputs, errors = expand_inputs(args.inputs)
    if args.accuracy == "high" and any(inp.kind == "video" for inp in inputs):
        problem = _whole_clip_problem(args)  # (found before any input, not after the photos given first)
        if problem is not None:
            print(f"blazepose run: {problem}", file=sys.stderr)
            return 2
    for e in errors:
        reporter.error(e)
        summary.errors.append(e)
    if inputs:
        try:
            settings.out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            print(f"blazepose run: --out {settings.out}: cannot be created ({e.strerror or e})", file=sys.stderr)
            return 2
    stop = StopFlag()

    def on_signal(signum, frame):
        if stop.requested and not stop.closing:
            raise KeyboardInterrupt
        stop.requested, stop.signal = True, signum

    if hasattr(args, "signal_state"):  # (set by blazepose.cli.main)
        args.signal_state.handles_signals = True
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    started = time.monotonic()
    outcomes: Iterator[InputOutcome] | None = None
    try:
        if args.ray is not None:
            from blazepose.runner.ray_runner import run_on_ray

            outcomes = run_on_ray(inputs, settings, args.ray, args.workers, stop, quiet=args.quiet)
        elif args.workers is not None and args.workers > 1:
            from blazepose.runner.pool import run_in_processes

            outcomes = run_in_processes(inputs, settings, args.workers, reporter.progress, stop,
                                        streams=args.streams or 1)  # fmt: skip
        elif args.streams is not None and args.streams > 1:
            from blazepose.runner.streams import run_streams

            outcomes = run_streams(inputs, settings, args.streams, reporter.progress, stop)
        else:
            outcomes = run_sequentially(inputs, settings, reporter.progress, stop)
        for outcome in outcomes:
            _record(outcome, summary, reporter)
    except InputInterrupted as e:  # a second signal: the input's files were closed on the way out
        _record(e.outcome, summary, reporter)
        stop.requested, stop.signal = True, stop.signal or signal.SIGINT
    except KeyboardInterrupt:  # a second signal while workers ran: they were told to stop
        stop.requested, stop.signal = True, stop.signal or signal.SIGINT
    except (ValueError, RuntimeError) as e:  # the runner itself could not start (e.g. no Ray cluster there)
        reporter.error(str(e))
        summary.errors.append(str(e))
    finally:
        if isinstance(outcomes, Generator):
            outcomes.close()  # workers told to stop and waited for, whatever ended the loop
    # Interrupted only where the signal cost something: an input stopped or not reached (a signal that came
    # after the last input was done, before this line, leaves a complete run).
    summary.interrupted = stop.requested and (summary.stopped > 0 or summary.inputs < len(inputs))
    try:
        return _finish(args, summary, reporter, stop, started)
    finally:  # (a signal that comes while the summary is written changes nothing any more)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _finish(args: argparse.Namespace, summary: Summary, reporter: Reporter, stop: StopFlag, started: float) -> int:
    """Reports the summary; the exit status."""
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
        return 128 + int(stop.signal or signal.SIGINT)
    return 1 if summary.errors else 0


def _record(outcome: InputOutcome, summary: Summary, reporter: Reporter) -> None:
    summary.inputs += 1
    summary.stopped += outcome.stopped
    summary.frames += outcome.frames
    summary.frames_with_pose += outcome.frames_with_pose
    summary.poses += outcome.poses
    if outcome.error is not None:
        reporter.error(outcome.error)
        summary.errors.append(outcome.error)
        return
    summary.outputs += outcome.outputs
    reporter.event("input_done", input=outcome.input, outputs=outcome.outputs, stopped=outcome.stopped)
