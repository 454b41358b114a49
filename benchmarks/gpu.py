"""Batched landmark crops per second and whole-pipeline frames per second on 720p video, on a GPU engine.

    PYTHONPATH=src python benchmarks/gpu.py --backend onnxruntime-cuda          # on a machine with a GPU
    PYTHONPATH=src python benchmarks/gpu.py --backend onnxruntime --quick       # the same code on a CPU engine

1. ``crops``: each landmark model through the engine's batched call
   (``InferenceModel.run_batch``) on random crops, per batch size: crops per
   second, the copies between host and device included (the pipeline pays
   them); the outputs the pipeline reads (all but the segmentation mask).
2. ``pipeline``: :class:`blazepose.StreamBatch` with N streams in each of P
   processes sharing the device, every stream the 720p dance video from its
   own starting frame, looping (at the loop the tracker loses the person and
   the detector runs, as at the start of a new clip); frames per second over
   all streams, with the frames decoded beforehand (``decoded``) and with
   every stream decoding its own file in the loop (``file``, OpenCV's
   decoder, one thread per process), and the share of frames with a pose.
3. ``cpu``: the same loop on the default engine (LiteRT) in P processes of
   one stream and one inference thread each, the way corpora are run today,
   on the same machine, for comparison.
Writes ``--out``.json and .md (default benchmarks/results/gpu).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
VIDEO = ROOT.parent / "shared" / "data" / "video" / "dance_720p.avi"
NAMES = {0: "lite", 1: "full", 2: "heavy"}


def device_description(backend: str) -> dict[str, Any]:
    """The machine: CPU cores, GPU name and driver (nvidia-smi), engine version and providers."""
    info: dict[str, Any] = {"cpu_cores": os.cpu_count(), "cpu": platform.processor() or platform.machine()}
    try:
        query = ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]
        info["gpu"] = subprocess.run(query, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        info["gpu"] = None
    if backend.startswith("onnxruntime"):
        import onnxruntime as ort

        info["onnxruntime"] = ort.__version__
        info["providers"] = ort.get_available_providers()
    return info


def read_video(path: Path, limit: int | None = None) -> list[np.ndarray]:
    """The file's frames as RGB arrays (OpenCV's decoder)."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    while limit is None or len(frames) < limit:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    if not frames:
        raise ValueError(f"no frames decoded from {path}")
    return frames


class LoopingFile:
    """A video file decoded frame by frame in the loop, started at ``start`` and reopened at its end."""

    def __init__(self, path: Path, start: int) -> None:
        import cv2

        self._cv2 = cv2
        self._path = str(path)
        self._capture = cv2.VideoCapture(self._path)
        for _ in range(start):
            self._capture.grab()

    def next(self) -> np.ndarray:
        ok, bgr = self._capture.read()
        if not ok:
            self._capture.release()
            self._capture = self._cv2.VideoCapture(self._path)
            ok, bgr = self._capture.read()
        return self._cv2.cvtColor(bgr, self._cv2.COLOR_BGR2RGB)


def crops_per_second(backend: str, complexity: int, sizes: list[int], seconds: float) -> dict[str, Any]:
    """Crops per second through ``run_batch`` per batch size (random crops; host copies included)."""
    from blazepose.backends import load_model, model_format
    from blazepose.models import converted_model_bytes, landmark_model_name, verified_model_bytes

    name = landmark_model_name(complexity)
    fmt = model_format(backend)
    model = load_model(verified_model_bytes(name) if fmt == "tflite" else converted_model_bytes(name, fmt), backend)
    needed = [i for i, shape in enumerate(model.output_shapes) if shape != (1, 256, 256, 1)]
    rng = np.random.default_rng(0)
    row: dict[str, Any] = {}
    try:
        for n in sizes:
            batch = rng.random((n, 256, 256, 3), dtype=np.float32)
            for _ in range(3):  # the engine's first runs at a new size choose its kernels
                model.run_batch(batch, needed)
            runs, start = 0, time.perf_counter()
            while runs < 3 or time.perf_counter() - start < seconds:
                model.run_batch(batch, needed)
                runs += 1
            row[str(n)] = round(n * runs / (time.perf_counter() - start), 1)
    except Exception as e:  # a batch too large for the device ends the row, not the benchmark
        row["error"] = f"{type(e).__name__}: {str(e)[:200]}"
    finally:
        model.close()
    return row


def pipeline_worker(spec: dict[str, Any], barrier: Any, answers: Any) -> None:
    """One process: a StreamBatch over ``spec['streams']`` streams; puts (frames, seconds, frames with a pose)."""
    from blazepose import StreamBatch

    try:
        streams, index = spec["streams"], spec["index"]
        starts = [(index * streams + s) * 37 % 200 for s in range(streams)]
        if spec["decode"]:
            files = [LoopingFile(Path(spec["video"]), start) for start in starts]
        else:
            frames = read_video(Path(spec["video"]))
        with StreamBatch(
            streams, model_complexity=spec["complexity"], backend=spec["backend"], num_threads=spec["threads"]
        ) as batch:

            def step(k: int) -> int:
                if spec["decode"]:
                    images = [f.next() for f in files]
                else:
                    images = [frames[(start + k) % len(frames)] for start in starts]
                results = batch.process(images, [1000.0 * k / 30.0] * streams)
                return sum(1 for r in results if r is not None and len(r))

            for k in range(spec["warmup"]):
                step(k)
            barrier.wait(timeout=600)
            found, start = 0, time.perf_counter()
            for k in range(spec["warmup"], spec["warmup"] + spec["steps"]):
                found += step(k)
            answers.put((streams * spec["steps"], time.perf_counter() - start, found, None))
    except Exception as e:
        barrier.abort()
        answers.put((0, 0.0, 0, f"{type(e).__name__}: {e}"))


def gpu_utilization() -> subprocess.Popen | None:
    """nvidia-smi sampling the GPU's utilisation every 100 ms (None where there is none)."""
    try:
        query = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-lms", "100"]
        return subprocess.Popen(query, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except OSError:
        return None


def mean_utilization(sampler: subprocess.Popen | None) -> float | None:
    if sampler is None:
        return None
    sampler.terminate()
    out, _ = sampler.communicate(timeout=30)
    values = [float(v) for v in out.split() if v.strip().replace(".", "", 1).isdigit()]
    return round(sum(values) / len(values), 1) if values else None


def run_pipeline(spec: dict[str, Any], processes: int) -> dict[str, Any]:
    """Runs ``processes`` workers of ``spec`` at once; frames per second over all of them."""
    context = mp.get_context("spawn")
    barrier = context.Barrier(processes + 1)
    answers = context.Queue()
    workers = [
        context.Process(target=pipeline_worker, args=({**spec, "index": i}, barrier, answers)) for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    row: dict[str, Any] = {"processes": processes, "streams_per_process": spec["streams"], "decode": spec["decode"]}
    try:
        barrier.wait(timeout=900)
        sampler = gpu_utilization()
        outcomes = [answers.get(timeout=1800) for _ in workers]
        row["gpu_busy_percent"] = mean_utilization(sampler)
    except Exception as e:
        row["error"] = f"{type(e).__name__}: {e}"
        outcomes = []
    finally:
        for worker in workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.kill()
    errors = [o[3] for o in outcomes if o[3]]
    if errors:
        row["error"] = errors[0]
    elif outcomes:
        frames = sum(o[0] for o in outcomes)
        row["frames_per_second"] = round(frames / max(o[1] for o in outcomes), 1)
        row["frames_with_pose"] = round(sum(o[2] for o in outcomes) / frames, 3)
    return row


def parse_configs(text: str) -> list[tuple[int, int]]:
    """``"1x1,1x16,8x8"`` -> [(processes, streams), ...]."""
    configs = []
    for item in text.split(","):
        p, n = item.lower().split("x")
        configs.append((int(p), int(n)))
    return configs


def markdown(report: dict[str, Any]) -> str:
    lines = ["# GPU throughput", "", f"`{report['command']}`", "", "```", json.dumps(report["device"]), "```", ""]
    if report["crops"]:
        sizes = sorted({int(n) for row in report["crops"].values() for n in row if n.isdigit()})
        lines += ["## Landmark crops per second against batch size (host copies included)", ""]
        lines += ["| model | " + " | ".join(f"batch {n}" for n in sizes) + " |", "| --- |" + " --- |" * len(sizes)]
        for model, row in report["crops"].items():
            lines.append(f"| {model} | " + " | ".join(str(row.get(str(n), "-")) for n in sizes) + " |")
        lines.append("")
    for section, title in (("pipeline", "StreamBatch on the GPU engine"), ("cpu", "default engine (LiteRT), CPU")):
        if not report[section]:
            continue
        lines += [f"## Whole pipeline, 720p frames: {title}", ""]
        lines += ["| model | processes x streams | frames | frames/s | with a pose | GPU busy % |"]
        lines += ["| --- | --- | --- | --- | --- | --- |"]
        for model, rows in report[section].items():
            for row in rows:
                fps = row.get("frames_per_second", row.get("error", "-"))
                source = "decoding the file" if row["decode"] else "decoded beforehand"
                config = f"{row['processes']} x {row['streams_per_process']}"
                busy = row.get("gpu_busy_percent", "-")
                lines.append(f"| {model} | {config} | {source} | {fps} | {row.get('frames_with_pose', '-')} | {busy} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="onnxruntime-cuda", help="engine for the crops and pipeline sections")
    parser.add_argument("--models", type=int, nargs="*", default=[0, 1, 2], help="model complexities")
    parser.add_argument("--sections", nargs="*", default=["crops", "pipeline", "cpu"])
    parser.add_argument("--sizes", default="1,4,16,64,128,256", help="batch sizes for the crops section")
    parser.add_argument("--configs", default="1x1,1x8,1x32,4x16,8x16,16x8", help="processes x streams per process")
    parser.add_argument("--decode-configs", default="8x16,16x8", help="the same, each stream decoding its file")
    parser.add_argument("--cpu-processes", type=int, default=0, help="processes for the cpu section (0: the cores)")
    parser.add_argument("--steps", type=int, default=150, help="timed steps per pipeline run (after 20 warm-up)")
    parser.add_argument("--seconds", type=float, default=2.0, help="time per batch size in the crops section")
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument("--quick", action="store_true", help="small sizes and runs, to check the script")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "gpu")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.configs, args.decode_configs, args.steps, args.seconds = "1,2", "1x2,2x1", "1x2", 5, 0.2
    if not args.video.is_file():
        parser.error(f"video not found: {args.video}")
    report: dict[str, Any] = {
        "command": "python " + " ".join(sys.argv),
        "device": device_description(args.backend),
        "crops": {},
        "pipeline": {},
        "cpu": {},
    }
    sizes = [int(n) for n in args.sizes.split(",")]
    base = {"video": str(args.video), "warmup": 5 if args.quick else 20, "steps": args.steps}
    for k in args.models:
        model = NAMES[k]
        if "crops" in args.sections:
            report["crops"][model] = crops_per_second(args.backend, k, sizes, args.seconds)
            print(model, "crops", report["crops"][model], flush=True)
        if "pipeline" in args.sections:
            rows = report["pipeline"].setdefault(model, [])
            runs = [(c, False) for c in parse_configs(args.configs)]
            runs += [(c, True) for c in parse_configs(args.decode_configs)] if args.decode_configs else []
            for (processes, streams), decode in runs:
                spec = {**base, "complexity": k, "backend": args.backend, "streams": streams, "decode": decode}
                rows.append(run_pipeline({**spec, "threads": 1}, processes))
                print(model, "pipeline", rows[-1], flush=True)
        if "cpu" in args.sections:
            processes = args.cpu_processes or (2 if args.quick else os.cpu_count() or 1)
            rows = report["cpu"].setdefault(model, [])
            for decode in (False, True):
                spec = {**base, "complexity": k, "backend": "litert", "streams": 1, "decode": decode, "threads": 1}
                rows.append(run_pipeline(spec, processes))
                print(model, "cpu", rows[-1], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report) + "\n")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
