"""Throughput beside MediaPipe 0.10.14 and MediaPipe Tasks 1.2.2: every API, engines, batches, files per hour.

    PYTHONPATH=src .venv/bin/python benchmarks/throughput.py [--frames 205] [--mp122 .venv-mp122/bin/python]

One run, same frames, so that a busy machine slows all alike and the ratios
compare like with like:
0. whole passes: every API at its defaults (PoseLandmarker, PoseEstimator,
   solutions.pose.Pose; PoseLandmarker at one thread too) and both
   MediaPipes, each going through all the frames on its own in turn (4
   rounds, the order changing from round to round), video and image mode,
   then video mode paced as a 30 fps camera (:func:`head_to_head`; the
   README's table);
then contenders taking turns in blocks of 30 frames, in an order shuffled
from block to block (each contender sees every frame, in order; the first
10 frames of each turn not counted, see :func:`interleave`):
1. video mode (tracking): this library's PoseLandmarker, PoseEstimator and
   solutions.pose.Pose at defaults (and PoseLandmarker at one thread),
   MediaPipe 0.10.14's solutions Pose in this process, MediaPipe Tasks
   1.2.2's PoseLandmarker in a worker process of its own virtual
   environment fed the same frames (it times its own calls), the bare
   landmark model (LiteRT, default threads) and this library on ONNX
   Runtime with its bare model;
2. image mode (the detector on every frame): PoseLandmarker beside both
   MediaPipes;
3. batched landmark inference: crops per second against batch size;
4. files per hour: ``blazepose run``'s runners (sequential, 2 workers, Ray
   with 1 and 2 CPUs) on the same clips, in alternating rounds.
Writes benchmarks/results/throughput.md and .json; ``--skip passes frames
batches files`` leaves parts out.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from blazepose import PoseEstimator
from blazepose.backends import default_num_threads
from blazepose.evaluation.parity import mediapipe_pose, read_frames
from blazepose.solutions.pose import Pose
from blazepose.tasks import BaseOptions, PoseLandmarker, PoseLandmarkerOptions, RunningMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import machine

ROOT = Path(__file__).resolve().parent.parent
VIDEO = ROOT.parent / "shared" / "data" / "video" / "dance_720p.avi"
BUNDLE_TOOL = ROOT.parent / "shared" / "tools" / "mp_tasks_bundles.py"
NAMES = {0: "lite", 1: "full", 2: "heavy"}
WARMUP = 5
TASKS = "MediaPipe Tasks 1.2.2 PoseLandmarker"


class TasksWorker:
    """MediaPipe Tasks 1.2.2 in its own process; :meth:`__call__` runs one frame there and returns its own timing."""

    def __init__(self, python: str, bundle: Path, frames_file: Path, mode: str) -> None:
        worker = ROOT / "benchmarks" / "mp_tasks_worker.py"
        self.proc = subprocess.Popen([python, str(worker), str(bundle), str(frames_file), mode], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def __call__(self, index: int, ts_ms: float) -> tuple[float, float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{index} {ts_ms}\n")
        self.proc.stdin.flush()
        wall, cpu, _ = self.proc.stdout.readline().split()
        return float(wall), float(cpu)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.proc.wait(timeout=60)


Contender = Callable[[int, np.ndarray, float], tuple[float, float]]
"""Runs one frame; returns its wall time and its process's CPU time (all threads), in ms."""


def timed(fn: Callable[[np.ndarray, float], object]) -> Contender:
    def run(i: int, frame: np.ndarray, ts: float) -> tuple[float, float]:
        start, cpu_start = time.perf_counter(), time.process_time()
        fn(frame, ts)
        return (time.perf_counter() - start) * 1000, (time.process_time() - cpu_start) * 1000

    return run


def interleave(
    frames: list[np.ndarray], contenders: dict[str, Contender], block: int, settle_s: float, turn_warmup: int
) -> dict[str, dict[str, float]]:
    """Median wall and CPU ms per frame of each contender, taking turns in blocks of ``block`` frames.

    Every contender sees every frame, in order (tracking stays intact); the
    turns keep the machine's state alike for all. Blocks rather than single
    frames: an engine's worker threads keep spinning for a moment after each
    inference, which would slow whichever contender comes next; for the same
    reason each turn starts after a pause of ``settle_s``, and the order of the
    turns is shuffled from block to block (seeded), so that no contender always
    comes after the same one (in a fixed order the first, PoseLandmarker, always
    came after OpenVINO, whose threads and caches made it 5-8% slower than
    PoseEstimator, the same pipeline). The first ``turn_warmup`` frames of each
    turn are not counted: on this 2-core virtual machine a contender on two
    threads takes about 10 frames to reach its pace after a one-thread
    contender's turn or a pause (a 20-frame turn of lite went 9.2, 8.2, 7.8 ...
    6.4 ms per frame), MediaPipe Tasks about 3 (16.3, 14.8, 14.3 ... 14.0 ms).
    """
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    order = list(contenders)
    shuffler = random.Random(0)
    for first in range(0, len(frames), block):
        shuffler.shuffle(order)
        for name in order:
            fn = contenders[name]
            time.sleep(settle_s)
            for i in range(first, min(first + block, len(frames))):
                ms = fn(i, frames[i], 20.0 * i)
                if i >= first + turn_warmup:
                    times[name].append(ms)
    return frame_stats(times)


def in_passes(
    frames: list[np.ndarray],
    contenders: dict[str, Contender],
    rounds: int,
    settle_s: float,
    period_s: float = 0.0,
) -> dict[str, dict[str, float]]:
    """Median (and mean) wall and CPU ms per frame of each contender, each going through all ``frames`` on
    its own in turn. The order of the passes changes from round to round (as given, reversed, turned by
    half, that reversed, ...), so that a drift or a burst of the machine's load weighs alike on all. The
    first ``WARMUP`` frames of each pass are not counted; frame times go on from pass to pass.

    With ``period_s`` the frames come at that pace, as from a camera: each call starts at its frame's time
    (at once when the previous call took longer), so a contender faster than the pace idles before each.
    """
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    order = list(contenders)
    for r in range(rounds):
        shift = (r // 2 * len(order) // 2) % len(order)  # 0, 0, half, half, 0, ...
        turned = order[shift:] + order[:shift]
        for name in turned if r % 2 == 0 else turned[::-1]:
            fn = contenders[name]
            time.sleep(settle_s)
            start = time.perf_counter()
            for i, frame in enumerate(frames):
                if period_s:
                    time.sleep(max(0.0, start + i * period_s - time.perf_counter()))
                ms = fn(i, frame, 20.0 * (i + r * len(frames)))
                if i >= WARMUP:
                    times[name].append(ms)
    return frame_stats(times)


def frame_stats(times: dict[str, list[tuple[float, float]]]) -> dict[str, dict[str, float]]:
    return {
        name: {
            "wall": statistics.median(w for w, _ in v),
            "cpu": statistics.median(c for _, c in v),
            "wall_mean": statistics.fmean(w for w, _ in v),
        }
        for name, v in times.items()
        if v
    }


def closers_keeper(closers: list) -> Callable:
    def keep(obj):
        closers.append(obj)
        return obj

    return keep


def int8_landmarker(name: str, mode: RunningMode) -> PoseLandmarker | None:
    """A PoseLandmarker with ``precision="int8"`` at otherwise default settings, or None where this
    version of the library or its files have no int8 option (the benchmark then runs without it)."""
    return reduced_landmarker(name, mode, "int8", "litert")


def bfloat16_landmarker(name: str, mode: RunningMode) -> PoseLandmarker | None:
    """A PoseLandmarker on OpenVINO with ``precision="bfloat16"``, or None where OpenVINO or the CPU's
    bfloat16 is missing."""
    return reduced_landmarker(name, mode, "bfloat16", "openvino")


def reduced_landmarker(name: str, mode: RunningMode, precision: str, backend: str) -> PoseLandmarker | None:
    try:
        options = PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=name, precision=precision, backend=backend), running_mode=mode
        )
        return PoseLandmarker.create_from_options(options)
    except (TypeError, ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"no {precision} contender: {e}", file=sys.stderr)
        return None


def per_frame_tables(args, frames, frames_file, bundles) -> dict:
    with_mp = importlib.util.find_spec("mediapipe") is not None
    with_ort = importlib.util.find_spec("onnxruntime") is not None
    results = {}
    for k in args.models:
        name = NAMES[k]
        print(f"per frame, {name} ...", file=sys.stderr, flush=True)
        closers: list = []
        keep = closers_keeper(closers)

        video, estimator, one_thread = api_contenders(args, k, "video", frames_file, bundles, with_mp, keep)
        lm = estimator._landmarker._model
        crop = np.random.default_rng(0).random(lm.input_shape, dtype=np.float32)
        video["bare landmark model (LiteRT)"] = timed(lambda f, ts, m=lm, x=crop: m.run(x))
        lm1 = one_thread._estimator._landmarker._model
        video["bare landmark model (LiteRT), 1 thread"] = timed(lambda f, ts, m=lm1, x=crop: m.run(x))
        int8 = int8_landmarker(name, RunningMode.VIDEO)
        if int8 is not None:  # precision="int8" at otherwise default settings
            keep(int8)
            video["PoseLandmarker int8"] = timed(lambda f, ts, m=int8: m.detect_for_video(f, ts))
            int8_lm = int8._estimator._landmarker._model
            video["bare landmark model (LiteRT int8)"] = timed(lambda f, ts, m=int8_lm, x=crop: m.run(x))
        if with_ort:
            ort_est = keep(PoseEstimator(model_complexity=k, backend="onnxruntime"))
            video["PoseEstimator on ONNX Runtime"] = timed(lambda f, ts, m=ort_est: m.process(f, ts))
            ort_lm = ort_est._landmarker._model
            video["bare landmark model (ONNX Runtime)"] = timed(lambda f, ts, m=ort_lm, x=crop: m.run(x))
        if importlib.util.find_spec("openvino") is not None:
            ov_est = keep(PoseEstimator(model_complexity=k, backend="openvino"))
            video["PoseEstimator on OpenVINO"] = timed(lambda f, ts, m=ov_est: m.process(f, ts))
            ov_lm = ov_est._landmarker._model
            video["bare landmark model (OpenVINO)"] = timed(lambda f, ts, m=ov_lm, x=crop: m.run(x))
        bf16 = bfloat16_landmarker(name, RunningMode.VIDEO)
        if bf16 is not None:
            keep(bf16)
            video["PoseLandmarker bfloat16 (OpenVINO)"] = timed(lambda f, ts, m=bf16: m.detect_for_video(f, ts))
            bf16_lm = bf16._estimator._landmarker._model
            video["bare landmark model (OpenVINO bfloat16)"] = timed(lambda f, ts, m=bf16_lm, x=crop: m.run(x))
        video_ms = interleave(frames, video, args.block, args.settle_ms / 1000, args.turn_warmup)
        detector_share = estimator.detector_runs / max(estimator.frames_processed, 1)
        for obj in closers:
            obj.close()
        closers.clear()
        photos = frames[: args.photos + WARMUP] * 3  # gone through three times: turns of ``block`` frames
        image: dict[str, Contender] = {}
        still = keep(PoseLandmarker.create_from_options(PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=name), running_mode=RunningMode.IMAGE)))  # fmt: skip
        image["PoseLandmarker"] = timed(lambda f, ts, m=still: m.detect(f))
        int8_still = int8_landmarker(name, RunningMode.IMAGE)
        if int8_still is not None:
            keep(int8_still)
            image["PoseLandmarker int8"] = timed(lambda f, ts, m=int8_still: m.detect(f))
        bf16_still = bfloat16_landmarker(name, RunningMode.IMAGE)
        if bf16_still is not None:
            keep(bf16_still)
            image["PoseLandmarker bfloat16 (OpenVINO)"] = timed(lambda f, ts, m=bf16_still: m.detect(f))
        if with_mp:
            mp_still = keep(mediapipe_pose(static_image_mode=True, model_complexity=k))
            image["MediaPipe 0.10.14 solutions Pose"] = timed(lambda f, ts, m=mp_still: m.process(f))
        if bundles:
            tasks_still = keep(TasksWorker(args.mp122, bundles / f"pose_landmarker_{name}.task", frames_file, "image"))
            n_photos = args.photos + WARMUP  # the worker's index into the frames file
            image[TASKS] = lambda i, f, ts, w=tasks_still, n=n_photos: w(i % n, ts)
        image_ms = interleave(photos, image, args.block, args.settle_ms / 1000, args.turn_warmup)
        for obj in closers:
            obj.close()
        results[name] = {"video": video_ms, "image": image_ms, "detector_share": detector_share}
    return results


def head_to_head(args, frames, frames_file, bundles) -> dict:
    """Every API at its defaults (and PoseLandmarker at one thread) beside both MediaPipes at theirs, in
    whole passes over the frames.

    The tables of :func:`per_frame_tables` hold a dozen contenders (other engines, other precisions)
    taking short turns; a user runs one library over a whole video. Here only the APIs and the two
    MediaPipes, each going through all the frames (the photos in image mode) on its own (:func:`in_passes`):
    4 rounds in video and image mode, back to back; then video mode paced as a 30 fps camera (the first
    ``args.paced_frames`` frames, 2 rounds). Median ms per frame.
    """
    results: dict = {}
    photos = frames[: args.photos + WARMUP]
    with_mp = importlib.util.find_spec("mediapipe") is not None
    runs = (("video", frames, 4, 0.0), ("image", photos, 4, 0.0), ("paced", frames[: args.paced_frames], 2, 1 / 30))
    for k in args.models:
        name = NAMES[k]
        print(f"every API, whole passes, {name} ...", file=sys.stderr, flush=True)
        results[name] = {}
        for mode, these, rounds, period in runs:
            closers: list = []
            keep = closers_keeper(closers)
            try:
                contenders, _, _ = api_contenders(args, k, mode, frames_file, bundles, with_mp, keep)
                results[name][mode] = in_passes(these, contenders, rounds, args.settle_ms / 1000, period)
            finally:
                for obj in closers:
                    with contextlib.suppress(Exception):
                        obj.close()
    return results


def api_contenders(
    args, k: int, mode: str, frames_file: Path, bundles: Path | None, with_mp: bool, keep
) -> tuple[dict[str, Contender], PoseEstimator, PoseLandmarker]:
    """Every API at its defaults, PoseLandmarker at one thread and both MediaPipes, for one model and mode
    ("video", "image" or "paced": video mode); also the PoseEstimator and the one-thread PoseLandmarker
    (their engines give the bare models)."""
    name, still = NAMES[k], mode == "image"
    running = RunningMode.IMAGE if still else RunningMode.VIDEO
    contenders: dict[str, Contender] = {}
    landmarkers = []
    for label, threads in (("PoseLandmarker", None), ("PoseLandmarker, 1 thread", 1)):
        landmarker = keep(PoseLandmarker.create_from_options(PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=name, num_threads=threads), running_mode=running)))  # fmt: skip
        contenders[label] = timed((lambda f, ts, m=landmarker: m.detect(f)) if still else landmarker.detect_for_video)
        landmarkers.append(landmarker)
    estimator = keep(PoseEstimator(static_image_mode=still, model_complexity=k))
    contenders["PoseEstimator"] = timed(lambda f, ts, m=estimator: m.process(f, ts))  # ts unused in image mode
    legacy = keep(Pose(static_image_mode=still, model_complexity=k))
    contenders["solutions.pose.Pose"] = timed(lambda f, ts, m=legacy: m.process(f))
    if with_mp:
        mp_legacy = keep(mediapipe_pose(static_image_mode=still, model_complexity=k))
        contenders["MediaPipe 0.10.14 solutions Pose"] = timed(lambda f, ts, m=mp_legacy: m.process(f))
    if bundles:
        worker_mode = "image" if still else "video"
        tasks = keep(TasksWorker(args.mp122, bundles / f"pose_landmarker_{name}.task", frames_file, worker_mode))
        contenders[TASKS] = lambda i, f, ts, w=tasks: w(i, ts)
    return contenders, estimator, landmarkers[1]


def batch_table(args) -> dict:
    """Landmark crops per second through the engine's batched call, per batch size."""
    from blazepose.backends import load_model
    from blazepose.models import converted_model_bytes, landmark_model_name, verified_model_bytes

    table: dict = {}
    engines = [("LiteRT", "litert")]
    if importlib.util.find_spec("onnxruntime") is not None:
        engines.append(("ONNX Runtime", "onnxruntime"))
    if importlib.util.find_spec("openvino") is not None:
        engines.append(("OpenVINO", "openvino"))
    for k in args.models:
        name = landmark_model_name(k)
        for label, backend in engines:
            data = converted_model_bytes(name, "onnx") if backend == "onnxruntime" else verified_model_bytes(name)
            model = load_model(data, backend)
            rng = np.random.default_rng(0)
            row = {}
            for n in (1, 2, 4, 8):
                batch = rng.random((n, 256, 256, 3), dtype=np.float32)
                model.run_batch(batch)
                rounds = max(3, 24 // n)
                start = time.perf_counter()
                for _ in range(rounds):
                    model.run_batch(batch)
                row[n] = n * rounds / (time.perf_counter() - start)
            table[f"{NAMES[k]}, {label}"] = row
            model.close()
    return table


def files_per_hour(args) -> dict:
    """Clips per hour for each runner, in alternating rounds on the same clips."""
    from blazepose.io.inputs import expand_inputs
    from blazepose.runner.jobs import RunSettings, run_sequentially
    from blazepose.runner.pool import run_in_processes

    clips = Path(tempfile.mkdtemp(prefix="bp-clips-"))
    for i in range(args.clips):
        os.symlink(args.video, clips / f"clip{i}.avi")
    inputs, _ = expand_inputs([str(clips)])
    out = Path(tempfile.mkdtemp(prefix="bp-out-"))

    def settings(threads: int | None) -> RunSettings:
        return RunSettings(out=out, model="lite", end=args.clip_seconds, annotate=False, threads=threads, force=True)

    runners: dict[str, Callable[[], list]] = {
        "sequential, default threads": lambda: list(run_sequentially(inputs, settings(None))),
        "--workers 1, 1 thread": lambda: list(run_sequentially(inputs, settings(1))),
        "--workers 2, 1 thread each": lambda: list(run_in_processes(inputs, settings(1), 2)),
    }
    ray = None
    if importlib.util.find_spec("ray") is not None:
        import ray

        from blazepose.runner.ray_runner import run_on_ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        runners["Ray, 1 task at a time"] = lambda: list(run_on_ray(inputs, settings(1), "local", 1))
        runners["Ray, 2 tasks at a time"] = lambda: list(run_on_ray(inputs, settings(1), "local", 2))
    seconds: dict[str, list[float]] = {name: [] for name in runners}
    frames = {}
    for _ in range(args.rounds):
        for name, go in runners.items():
            start = time.perf_counter()
            outcomes = go()
            seconds[name].append(time.perf_counter() - start)
            assert not any(o.error for o in outcomes), [o.error for o in outcomes]
            frames[name] = sum(o.frames for o in outcomes)
    if ray is not None:
        ray.shutdown()
    return {
        name: {
            "clips": len(inputs),
            "frames": frames[name],
            "seconds": statistics.median(s),
            "files_per_hour": len(inputs) * 3600 / statistics.median(s),
            "fps": frames[name] / statistics.median(s),
        }
        for name, s in seconds.items()
    }


def duel_lines(duel: dict) -> list[str]:
    """The whole-pass table (:func:`head_to_head`)."""
    if not duel:
        return []
    lines = ["## Every API beside both MediaPipes, whole passes", "",
             "Each API at its defaults (and PoseLandmarker at one thread) and both MediaPipes at theirs, no other "
             "engine or precision loaded (the contenders stay loaded, idle outside their passes): each goes "
             "through all the frames on its own, in turn (4 rounds, the order changing from round to round; the "
             "first 5 frames of each pass not counted), as a user runs one library over a video or a folder of "
             "photos. \"30 fps camera\": the first frames in video mode coming at 30 per second, each call "
             "started at its frame's time (2 rounds): a contender faster than that idles before each frame. "
             "Median wall ms per frame; speed-up = MediaPipe Tasks 1.2.2's time / this contender's.", "",
             "| model | contender | video mode | speed-up | image mode | speed-up | 30 fps camera | speed-up |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for name, modes in duel.items():
        for who in modes["video"]:
            cells = []
            for ms in modes.values():
                speed_up = f"{ms[TASKS]['wall'] / ms[who]['wall']:.2f}x" if TASKS in ms else "-"
                cells += [f"{ms[who]['wall']:.2f}", speed_up]
            lines.append(f"| {name} | {who} | " + " | ".join(cells) + " |")
    lines.append("")
    ours = "PoseLandmarker"
    means = [
        f"{name} {mode} {ms[TASKS]['wall_mean'] / ms[ours]['wall_mean']:.2f}x"
        for name, modes in duel.items()
        for mode, ms in modes.items()
        if TASKS in ms
    ]
    if means:
        lines += [f"PoseLandmarker's speed-up by mean times instead of medians: {', '.join(means)}.", ""]
    return lines


def markdown(desc: str, args, duel: dict, per_frame: dict, batches: dict, files: dict, load: tuple) -> str:
    lines = [
        "# Throughput beside MediaPipe 0.10.14 and MediaPipe Tasks 1.2.2",
        "",
        f"Made by `benchmarks/throughput.py` on {desc}. Load average {load[0]:.1f} at the start, {load[1]:.1f} at "
        f"the end, on {os.cpu_count()} cores (this run's own processes included): absolute times move with the "
        "machine's load; the ratios compare contenders measured in one run."
        + (
            " AMX refused to the whole process (`--refuse-amx`, benchmarks/amx.py): XNNPACK's int8 layers on its "
            "AVX-512 VNNI kernels, OpenVINO's bfloat16 without AMX."
            if args.refuse_amx
            else ""
        ),
        f"Every API at its defaults (this library: {default_num_threads()} inference threads here, "
        f"the available cores up to 4). {args.frames} frames of `{args.video.name}` (1280x720) in video mode, "
        f"{args.photos} of them in image mode. Medians per frame; speed-up = their wall ms / PoseLandmarker's; "
        "CPU ms = the process's CPU time over the call, all its threads (spinning included), less sensitive to "
        "the other work on the machine than wall time; CPU ratio = theirs / PoseLandmarker's.",
        "",
        *duel_lines(duel),
    ]
    if per_frame:
        lines += [
            "## All contenders side by side",
            "",
            f"Each table one run in which the contenders take turns of {args.block} frames (the photos gone "
            f"through three times in image mode), in an order shuffled from turn to turn, each turn after a "
            f"pause of {args.settle_ms:.0f} ms; the first {args.turn_warmup} frames of each turn are not "
            "counted (a contender on two threads takes about 10 frames to reach its pace after another's "
            "turn on this virtual machine). A dozen engines loaded in one process and short turns make "
            "these times less steady than the whole passes above.",
            "",
        ]
    for name, modes in per_frame.items():
        for mode in ("video", "image"):
            ms = {who: v["wall"] for who, v in modes[mode].items()}
            cpu = {who: v["cpu"] for who, v in modes[mode].items()}
            ours, ours_cpu = ms["PoseLandmarker"], cpu["PoseLandmarker"]
            lines += [f"## {name}, {mode} mode", "",
                      "| contender | wall ms per frame | PoseLandmarker's speed-up | CPU ms per frame | CPU ratio |",
                      "| --- | --- | --- | --- | --- |"]  # fmt: skip
            for who, v in ms.items():
                lines.append(f"| {who} | {v:.2f} | {v / ours:.2f}x | {cpu[who]:.2f} | {cpu[who] / ours_cpu:.2f}x |")
            if mode == "video":
                bare = ms["bare landmark model (LiteRT)"]
                lines.append("")
                lines.append(
                    f"Beyond the model: PoseEstimator {ms['PoseEstimator']:.2f} ms - bare model {bare:.2f} ms = "
                    f"{ms['PoseEstimator'] - bare:.2f} ms per frame (tracking; the detector ran on "
                    f"{modes['detector_share']:.1%} of the frames)."
                )
            lines.append("")
    if batches:
        lines += ["## Batched landmark inference: crops per second", "", "| model, engine | " +
                  " | ".join(f"batch {n}" for n in (1, 2, 4, 8)) + " |", "| --- |" + " --- |" * 4]  # fmt: skip
        for label, row in batches.items():
            lines.append(f"| {label} | " + " | ".join(f"{row[n]:.0f}" for n in (1, 2, 4, 8)) + " |")
        lines.append("")
    if files:
        lines += ["## Files per hour (`blazepose run`'s runners, lite, landmarks only, no annotated video)", "",
                  f"{next(iter(files.values()))['clips']} clips of {args.clip_seconds} s (720p, decoding included), "
                  f"median of {args.rounds} alternating rounds; Ray on a local cluster of 2 CPUs started beforehand.",
                  "", "| runner | seconds | frames per second | files per hour |",
                  "| --- | --- | --- | --- |"]  # fmt: skip
        for label, row in files.items():
            lines.append(f"| {label} | {row['seconds']:.1f} | {row['fps']:.0f} | {row['files_per_hour']:.0f} |")
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument("--frames", type=int, default=205)
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--models", type=int, nargs="+", default=[0, 1, 2], choices=(0, 1, 2))
    parser.add_argument("--mp122", default=str(ROOT / ".venv-mp122" / "bin" / "python"),
                        help="python of a virtual environment with mediapipe==1.2.2 (skipped when absent)")  # fmt: skip
    parser.add_argument("--block", type=int, default=30, help="frames per turn when contenders take turns")
    parser.add_argument("--turn-warmup", type=int, default=10, help="frames not counted at the start of each turn")
    parser.add_argument("--settle-ms", type=float, default=100.0,
                        help="pause before each turn (no contender's threads spinning in the next's)")  # fmt: skip
    parser.add_argument("--paced-frames", type=int, default=100, help="frames of the paced (30 fps) passes")
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--clip-seconds", type=float, default=4.1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip", nargs="*", default=[], choices=("passes", "frames", "batches", "files"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--refuse-amx", action="store_true",
                        help="refuse this process Intel AMX (benchmarks/amx.py): int8 on VNNI kernels")  # fmt: skip
    args = parser.parse_args()
    if args.refuse_amx:
        from amx import refuse_amx

        refuse_amx()  # before any engine starts: XNNPACK asks for AMX once, when it first starts
    if not args.video.exists():
        print(f"no video at {args.video}", file=sys.stderr)
        return 2
    load_start = os.getloadavg()[0]
    frames = [f for _, f in zip(range(args.frames + WARMUP), read_frames(args.video), strict=False)]
    work = Path(tempfile.mkdtemp(prefix="bp-bench-"))
    frames_file = work / "frames.npy"
    np.save(frames_file, np.stack(frames))
    bundles = None
    if Path(args.mp122).exists():
        bundles = work / "bundles"
        subprocess.run([args.mp122, str(BUNDLE_TOOL), str(ROOT / "src" / "blazepose" / "models"), str(bundles)],
                       check=True, capture_output=True)  # fmt: skip
    duel = {} if "passes" in args.skip else head_to_head(args, frames, frames_file, bundles)
    per_frame = {} if "frames" in args.skip else per_frame_tables(args, frames, frames_file, bundles)
    batches = {} if "batches" in args.skip else batch_table(args)
    files = {} if "files" in args.skip else files_per_hour(args)
    load = (load_start, os.getloadavg()[0])
    desc = machine()
    text = markdown(desc, args, duel, per_frame, batches, files, load)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "throughput.md").write_text(text)
    record = {"machine": desc, "load_average": load, "amx_refused": args.refuse_amx, "threads": default_num_threads(),
              "head_to_head": duel,
              "per_frame": per_frame, "batched_crops_per_second": batches, "files": files}  # fmt: skip
    (args.out / "throughput.json").write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
