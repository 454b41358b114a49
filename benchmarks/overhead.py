"""Per-frame overhead beyond the model on the tracking path, split into stages.

    PYTHONPATH=src .venv/bin/python benchmarks/overhead.py [--models 0 1 2] [--rounds 3] [--frames 205] [--threads 1]

Runs ``PoseEstimator`` and ``PoseLandmarker`` (VIDEO mode), one inference
thread each (``--threads`` sets another count: the crop splits over as
many), over the frames of ../shared/data/video/dance_720p.avi (1280x720,
one dancer), taking turns in blocks of 10 frames; every contender sees every
frame in order, and the whole pass is repeated ``--rounds`` times from a fresh
tracker, so that load on a shared machine shows as the spread between rounds.
Only frames on the tracking path (the detector not run) enter the medians.

Each stage is timed by wrapping the function that does it (a few hundred
nanoseconds per wrapped call), less the stages timed inside it:

- model: the interpreter's ``invoke`` (the bare model);
- engine I/O: the engine's call around ``invoke`` (input and output copies, or views);
- crop: the crop into the model's input (``Cropper``);
- decoding: landmark decoding, heatmap refinement, projection (``LandmarkModel._decode``);
- filters + ROI: the track's filters and next region (``PoseTrack.update``);
- assembly: ``PoseResult`` assembly;
- wrapping: ``PoseLandmarkerResult`` from the ``PoseResult`` (PoseLandmarker only);
- detector: the person detector (0 on tracking frames);
- rest: the call's wall time minus all of the above.

"Overhead" is the call's time minus the model's. Every stage is measured
twice: in wall time, and in the calling thread's CPU time (with one
inference thread the model runs on the calling thread too), which leaves out
the waits for a core on a busy machine. Prints markdown tables of medians
(and the spread of the per-round medians) and writes
benchmarks/results/overhead.json. First it times the compiled crop alone,
its vector code against its scalar code (``--kernel-only``: only that).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

import blazepose.core.estimator as estimator_module
from blazepose import PoseEstimator
from blazepose.core.crop import Cropper
from blazepose.core.detector import PersonDetector
from blazepose.core.landmarker import LandmarkModel
from blazepose.core.tracking import PoseTrack
from blazepose.evaluation.parity import read_frames
from blazepose.tasks import BaseOptions, PoseLandmarker, PoseLandmarkerOptions, RunningMode
from blazepose.tasks.result import PoseLandmarkerResult

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import machine

ROOT = Path(__file__).resolve().parent.parent
VIDEO = ROOT.parent / "shared" / "data" / "video" / "dance_720p.avi"
NAMES = {0: "lite", 1: "full", 2: "heavy"}
STAGES = ("model", "engine I/O", "crop", "decoding", "filters + ROI", "assembly", "wrapping", "detector")
WARMUP = 5
ROUND_GAP_MS = 100_000.0

_frame_ns: dict[str, int] = dict.fromkeys(STAGES, 0)  # wall time per stage
_frame_cpu_ns: dict[str, int] = dict.fromkeys(STAGES, 0)  # this thread's CPU time per stage
_open_stages: list[list[int]] = []  # per stage being timed: the wall and CPU time of the stages timed inside it


def _timed(stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``, adding its wall and CPU time to ``stage``, less those of the stages timed inside it."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _open_stages.append([0, 0])
        start, cpu = time.perf_counter_ns(), time.thread_time_ns()
        try:
            return fn(*args, **kwargs)
        finally:
            elapsed, elapsed_cpu = time.perf_counter_ns() - start, time.thread_time_ns() - cpu
            inner, inner_cpu = _open_stages.pop()
            _frame_ns[stage] += elapsed - inner
            _frame_cpu_ns[stage] += elapsed_cpu - inner_cpu
            if _open_stages:
                _open_stages[-1][0] += elapsed
                _open_stages[-1][1] += elapsed_cpu

    return wrapper


def instrument_classes() -> None:
    """Wraps the stage functions shared by every instance (whichever of them this version of the code has)."""
    crop = "crop_into" if "crop_into" in vars(Cropper) else "__call__"  # __call__ calls crop_into where both are
    for owner, name, stage in (
        (Cropper, crop, "crop"),
        (LandmarkModel, "_decode", "decoding"),
        (PoseTrack, "update", "filters + ROI"),
        (PersonDetector, "detect", "detector"),
    ):
        if name in vars(owner):
            setattr(owner, name, _timed(stage, vars(owner)[name]))
    estimator_module.assemble_result = _timed("assembly", estimator_module.assemble_result)
    wrap = vars(PoseLandmarkerResult)["from_pose_result"].__func__
    PoseLandmarkerResult.from_pose_result = staticmethod(_timed("wrapping", wrap))  # type: ignore[method-assign]


def instrument_engine(estimator: PoseEstimator) -> None:
    """Wraps one estimator's landmark engine (LiteRT): its interpreter's invoke, and the engine call around it
    (the input and output copies or views), whichever entry this version of the code uses."""
    model = estimator._landmarker._model
    model._interpreter.invoke = _timed("model", model._interpreter.invoke)  # type: ignore[attr-defined]
    for name in ("run", "run_in_place"):
        if hasattr(model, name):
            setattr(model, name, _timed("engine I/O", getattr(model, name)))


class Contender:
    """One API under test: runs a frame and records its wall and CPU time and its stages."""

    def __init__(self, name: str, model_complexity: int, threads: int = 1) -> None:
        self.name = name
        self.model_complexity = model_complexity
        self.threads = threads
        self.rows: list[list[dict[str, float]]] = []  # per round, per tracking frame
        self.detector_frames = 0
        self._open()

    def _open(self) -> None:
        k = self.model_complexity
        if self.name == "PoseEstimator":
            self.api: Any = PoseEstimator(model_complexity=k, num_threads=self.threads)
            self.estimator = self.api
            self.call = self.api.process
        else:
            options = PoseLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=NAMES[k], num_threads=self.threads),
                running_mode=RunningMode.VIDEO,
            )
            self.api = PoseLandmarker.create_from_options(options)
            self.estimator = self.api._estimator
            self.call = self.api.detect_for_video
        instrument_engine(self.estimator)

    def new_round(self) -> None:
        self.rows.append([])
        self.api.close()
        self._open()

    def __call__(self, index: int, frame: np.ndarray, ts_ms: float) -> None:
        for stage in STAGES:
            _frame_ns[stage] = _frame_cpu_ns[stage] = 0
        runs = self.estimator.detector_runs
        start, cpu, thread = time.perf_counter_ns(), time.process_time_ns(), time.thread_time_ns()
        self.call(frame, ts_ms)
        wall, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu
        thread = time.thread_time_ns() - thread
        if index < WARMUP:
            return
        if self.estimator.detector_runs != runs:
            self.detector_frames += 1
            return
        row = {stage: ns / 1e6 for stage, ns in _frame_ns.items()}
        row["wall"], row["cpu"] = wall / 1e6, cpu / 1e6
        row["rest"] = row["wall"] - sum(row[s] for s in STAGES)
        row["overhead"] = row["wall"] - row["model"]
        # The same split in this thread's CPU time (one inference thread: the model runs on it too),
        # which leaves out the time the thread waited for a core on a busy machine.
        row.update({f"{stage} cpu": ns / 1e6 for stage, ns in _frame_cpu_ns.items()})
        row["thread cpu"] = thread / 1e6
        row["rest cpu"] = row["thread cpu"] - sum(row[f"{s} cpu"] for s in STAGES)
        row["overhead cpu"] = row["thread cpu"] - row["model cpu"]
        self.rows[-1].append(row)

    def summary(self) -> dict[str, Any]:
        keys = tuple(self.rows[0][0]) if self.rows and self.rows[0] else ()
        per_round = [{k: statistics.median(r[k] for r in rows) for k in keys} for rows in self.rows if rows]
        every = list(itertools.chain.from_iterable(self.rows))
        return {
            "median": {k: statistics.median(r[k] for r in every) for k in keys},
            "round_medians": per_round,
            "frames": len(every),
            "detector_frames": self.detector_frames,
        }


def crop_kernel_table(frames: list[np.ndarray], repeats: int = 3) -> dict[str, float]:
    """The compiled crop alone, vector code against scalar code (``simd=False``), taking turns frame by frame:
    on a frame not in cache (each call a frame not read for a while, as in a video) and again at once (in cache).

    Median ms of the calling thread's CPU time per 256x256 crop of a 600-pixel region turned by 0.3 rad.
    """
    from blazepose.core.crop import box_points, pad_to_aspect, value_table
    from blazepose.core.native import native_kernels
    from blazepose.core.roi import PixelRect

    kernels = native_kernels()
    if kernels is None or not hasattr(kernels, "simd_path"):
        return {}  # no kernels, or a build from before the vector code
    h, w = frames[0].shape[:2]
    padded, _ = pad_to_aspect(PixelRect(w / 2, h / 2, 600.0, 600.0, 0.3), 256, 256)
    corners = np.array([[0, 256], [0, 0], [256, 0], [256, 256]], np.float32)
    _, inverse = cv2.invert(cv2.getPerspectiveTransform(box_points(padded), corners))
    table = value_table(0.0, 1.0)
    outputs = [np.empty((256, 256, 3), np.float32) for _ in frames]
    times: dict[str, list[int]] = {}
    for _ in range(repeats):
        for i in range(len(frames)):
            for turn, simd in enumerate((True, False)):
                k = (i + turn * len(frames) // 2) % len(frames)  # each call a frame the other did not just read
                for state in ("not in cache", "in cache"):
                    start = time.thread_time_ns()
                    kernels.warp_to_tensor(frames[k], inverse, 256, False, table, outputs[k], simd)
                    name = f"{kernels.simd_path() if simd else 'scalar'}, {state}"
                    times.setdefault(name, []).append(time.thread_time_ns() - start)
    return {name: statistics.median(v) / 1e6 for name, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, nargs="+", default=[0, 1, 2], choices=[0, 1, 2])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frames", type=int, default=205)
    parser.add_argument("--block", type=int, default=10)
    parser.add_argument(
        "--threads", type=int, default=1, help="inference threads (the crop splits over as many); 1 by default"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "overhead.json")
    parser.add_argument("--kernel-only", action="store_true", help="time only the crop kernel, vector and scalar")
    args = parser.parse_args()
    if not VIDEO.exists():
        sys.exit(f"the benchmark needs {VIDEO}")
    frames = list(itertools.islice(read_frames(VIDEO), args.frames))
    kernel = crop_kernel_table(frames)
    print(kernel_lines(kernel))
    if args.kernel_only:
        return
    instrument_classes()
    results: dict[str, Any] = {
        "machine": machine(),
        "frames": len(frames),
        "rounds": args.rounds,
        "threads": args.threads,
        "models": {},
    }
    results["crop_kernel"] = kernel
    for k in args.models:
        print(f"{NAMES[k]} ...", file=sys.stderr, flush=True)
        contenders = [Contender(name, k, args.threads) for name in ("PoseEstimator", "PoseLandmarker")]
        for r in range(args.rounds):
            for c in contenders:
                c.new_round()
            for first in range(0, len(frames), args.block):
                for c in contenders:
                    for i in range(first, min(first + args.block, len(frames))):
                        c(i, frames[i], r * ROUND_GAP_MS + 33.0 * i)
        results["models"][NAMES[k]] = {c.name: c.summary() for c in contenders}
        for c in contenders:
            c.api.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))


def kernel_lines(kernel: dict[str, float]) -> str:
    """The crop kernel's medians as markdown lines."""
    if not kernel:
        return "(crop kernel not timed: no compiled kernels, or a build without the vector code)"
    lines = ["crop kernel alone, CPU ms per 256x256 crop (median):", ""]
    lines += [f"- {name}: {ms:.3f}" for name, ms in kernel.items()]
    return "\n".join(lines) + "\n"


def table(results: dict[str, Any]) -> str:
    """Markdown: per model and API, median ms per tracking frame in wall time and in the thread's CPU time;
    the overhead's per-round medians as min-max."""
    threads = results.get("threads", 1)
    lines = [
        f"{results['machine']}; {results['frames']} frames x {results['rounds']} rounds, "
        f"{threads} inference thread{'s' if threads > 1 else ''}"
    ]
    for clock, total, suffix in (("wall time", "wall", ""), ("CPU time of the calling thread", "thread cpu", " cpu")):
        cols = (*STAGES, "rest", "overhead")
        lines += [
            "",
            f"{clock}, ms per frame (median):",
            "",
            "| model | API | total | " + " | ".join(cols) + " | overhead, round medians |",
            "|---|---|" + "---:|" * (len(cols) + 2),
        ]
        for model, apis in results["models"].items():
            for api, s in apis.items():
                over = [r[f"overhead{suffix}"] for r in s["round_medians"]]
                cells = " | ".join(f"{s['median'][c + suffix]:.3f}" for c in cols)
                spread = f"{min(over):.3f}-{max(over):.3f}"
                lines.append(f"| {model} | {api} | {s['median'][total]:.3f} | {cells} | {spread} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
