"""A reduced precision beside float32: speed of the bare models, accuracy, and distance from the float32 answers.

    PYTHONPATH=src .venv/bin/python scripts/int8_report.py speed --calls 200
    PYTHONPATH=src .venv/bin/python scripts/int8_report.py accuracy
    PYTHONPATH=src .venv/bin/python scripts/int8_report.py parity
    PYTHONPATH=src .venv/bin/python scripts/int8_report.py pipeline

Each prints a markdown table and writes JSON under --out (default
out/PRECISION). ``--precision`` picks the reduced precision: ``int8`` (the
default; the int8 files on LiteRT) or ``bfloat16`` (the official models
computed in bfloat16 by OpenVINO; the CPU must have it). float32 is always
the official models on LiteRT, MediaPipe's answers.

- ``speed``: each model (detector, lite, full, heavy) loaded twice, the
  float32 file in LiteRT and the reduced precision's model, at 1 and 2 threads; the two are called
  alternately on the same input (a recorded-like random tensor) and the
  table gives the median wall-clock and process CPU milliseconds per call
  and their ratios (float32 / reduced). CPU time is less sensitive to other
  work on the machine than wall-clock time.
- ``accuracy``: PCK@0.2 on LSP im0501..im1000 (static mode, one pose, as
  scripts/accuracy_report.py lsp) and COCO keypoint AP on coco_mini's second
  half (whole images, up to 20 poses, as ``blazepose eval --protocol image``),
  for each model at both precisions. Both sets were left out of the int8
  calibration.
- ``parity``: the reduced precision against float32 LiteRT on the 29 shared photos and the
  dance video's frames (image mode, and tracked video mode), as
  scripts/engine_parity.py: how often the number of poses differs, poses
  found at each precision, and, over the frames where both found the same
  number of poses, the median of each frame's median landmark distance and
  the median / p95 / max of each frame's largest landmark distance (x, y in
  pixels, over the 33 landmarks of every pose).
- ``pipeline``: ``PoseLandmarker`` in VIDEO mode at its defaults (threads
  included) with ``precision="float32"`` and the reduced one, on the dance
  video's frames, taking turns every 10 frames: median wall and CPU ms per
  frame (the first 10 frames of each left out).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from accuracy_report import DATA, MODELS, lsp_joints, to_lsp, torso
from blazepose.backends import PRECISION_BACKENDS, load_model
from blazepose.backends import precision_backend as backend  # the engine of each precision compared
from blazepose.core.estimator import PoseEstimator
from blazepose.evaluation.accuracy import blazepose_runner, evaluate_coco, pck
from blazepose.io.photos import read_photo
from blazepose.io.video import VideoSource
from blazepose.models import DETECTOR_MODEL, LANDMARK_MODELS, int8_model_bytes, verified_model_bytes

ROOT = Path(__file__).resolve().parent.parent
FILES = {"detector": DETECTOR_MODEL, **{name: LANDMARK_MODELS[k] for name, k in MODELS.items()}}


def timed_calls(model, tensor: np.ndarray) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    model.run(tensor)
    return time.perf_counter() - wall, time.process_time() - cpu


def reduced_model(name: str, precision: str, threads: int):
    if precision == "int8":
        return load_model(int8_model_bytes(name), "litert", threads)
    return load_model(verified_model_bytes(name), backend(precision), threads, bfloat16=precision == "bfloat16")


def run_speed(args: argparse.Namespace) -> dict:
    rows = {}
    reduced = args.precision
    for label, name in FILES.items():
        for threads in args.threads:
            models = {
                "float32": load_model(verified_model_bytes(name), "litert", threads),
                reduced: reduced_model(name, reduced, threads),
            }
            lo = -1.0 if label == "detector" else 0.0
            x = np.random.default_rng(0).uniform(lo, 1.0, models["float32"].input_shape).astype(np.float32)
            times: dict[str, list[tuple[float, float]]] = {k: [] for k in models}
            for _ in range(10):
                for m in models.values():
                    m.run(x)
            for _ in range(args.calls):
                for k, m in models.items():
                    times[k].append(timed_calls(m, x))
            med = {k: np.median(np.array(v), axis=0) * 1000 for k, v in times.items()}
            row = {"model": label, "threads": threads, "calls": args.calls}
            for k in models:
                row[f"{k} ms"] = round(float(med[k][0]), 2)
                row[f"{k} cpu ms"] = round(float(med[k][1]), 2)
            row["speedup"] = round(float(med["float32"][0] / med[reduced][0]), 2)
            row["cpu speedup"] = round(float(med["float32"][1] / med[reduced][1]), 2)
            rows[f"{label} {threads}"] = row
            print(row, file=sys.stderr, flush=True)
            for m in models.values():
                m.close()
    return {"rows": rows}


def run_accuracy(args: argparse.Namespace) -> dict:
    joints = lsp_joints()
    indices = range(500, 1000)
    annotated = joints[list(indices)]
    scale = torso(annotated)
    labelled = np.ones(annotated.shape[:2], bool)
    photos = [read_photo(str(DATA / "lsp" / "images" / f"im{i + 1:04d}.jpg")) for i in indices]
    source = DATA / "coco_mini" / "images"
    names = sorted(p.name for p in source.iterdir())
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in names[len(names) // 2 :]:
            (Path(folder) / name).symlink_to(source / name)
        for model in args.models:
            for precision in ("float32", args.precision):
                predicted = np.full(annotated.shape, np.nan)
                with PoseEstimator(
                    static_image_mode=True,
                    model_complexity=MODELS[model],
                    num_threads=1,
                    precision=precision,
                    backend=backend(precision),
                ) as est:
                    for n, image in enumerate(photos):
                        result = est.process(image)
                        if len(result):
                            predicted[n] = to_lsp(result.landmarks_px[0])
                _, overall = pck(predicted, annotated, labelled, scale, 0.2)
                runner, close = blazepose_runner(MODELS[model], 20, "fast", precision, backend(precision))
                try:
                    coco = evaluate_coco(
                        runner, DATA / "coco_mini" / "person_keypoints.json", Path(folder), "image", model
                    )
                finally:
                    close()
                assert coco.coco is not None
                rows[f"{model} {precision}"] = {
                    "model": model,
                    "precision": precision,
                    "LSP photos": len(photos),
                    "LSP found": round(float(np.isfinite(predicted[:, 0, 0]).mean()), 3),
                    "LSP PCK@0.2": round(100 * overall, 2),
                    "COCO photos": len(names) - len(names) // 2,
                    "COCO AP": round(float(coco.coco["AP"]), 3),
                    "COCO AR": round(float(coco.coco["AR"]), 3),
                }
                print(rows[f"{model} {precision}"], file=sys.stderr, flush=True)
    return {"rows": rows}


def distances(frames: list[np.ndarray], complexity: int, video: bool, reduced: str) -> dict:
    per_frame, typical, differs, found = [], [], 0, {"float32": 0, reduced: 0}
    with (
        PoseEstimator(static_image_mode=not video, model_complexity=complexity) as float32,
        PoseEstimator(
            static_image_mode=not video, model_complexity=complexity, precision=reduced, backend=backend(reduced)
        ) as other,
    ):
        for i, frame in enumerate(frames):
            a = float32.process(frame, 20.0 * i if video else None)
            b = other.process(frame, 20.0 * i if video else None)
            found["float32"] += len(a)
            found[reduced] += len(b)
            if len(a) != len(b):
                differs += 1
            elif len(a):
                h, w = frame.shape[:2]
                px = np.linalg.norm((a.landmarks[..., :2] - b.landmarks[..., :2]) * [w, h], axis=-1)
                per_frame.append(float(px.max()))
                typical.append(float(np.median(px)))
    d = np.array(per_frame or [np.nan])
    return {
        "frames": len(frames),
        "poses float32": found["float32"],
        f"poses {reduced}": found[reduced],
        "pose count differs": differs,
        "median landmark px": round(float(np.median(typical or [np.nan])), 2),
        "median px": round(float(np.median(d)), 2),
        "p95 px": round(float(np.percentile(d, 95)), 2),
        "max px": round(float(d.max()), 2),
    }


def run_parity(args: argparse.Namespace) -> dict:
    photos = [read_photo(str(p)) for p in sorted((DATA / "images").glob("*/*.jpg"))]
    source = VideoSource(str(DATA / "video" / "dance_720p.avi"))
    video = [f.rgb for _, f in zip(range(args.frames), source.frames(), strict=False)]
    source.close()
    rows = {}
    for model in args.models:
        for mode, frames, tracking in (
            ("photos", photos, False),
            ("video frames, image mode", video, False),
            ("video, tracking", video, True),
        ):
            rows[f"{model} {mode}"] = {
                "model": model,
                "input": mode,
                **distances(frames, MODELS[model], tracking, args.precision),
            }
            print(rows[f"{model} {mode}"], file=sys.stderr, flush=True)
    return {"rows": rows}


def run_pipeline(args: argparse.Namespace) -> dict:
    from blazepose.tasks.options import BaseOptions, PoseLandmarkerOptions, RunningMode
    from blazepose.tasks.pose_landmarker import PoseLandmarker

    source = VideoSource(str(DATA / "video" / "dance_720p.avi"))
    frames = [f.rgb for _, f in zip(range(args.frames), source.frames(), strict=False)]
    source.close()
    rows = {}
    for model in args.models:
        landmarkers = {
            precision: PoseLandmarker.create_from_options(
                PoseLandmarkerOptions(
                    base_options=BaseOptions(model_asset_path=model, precision=precision, backend=backend(precision)),
                    running_mode=RunningMode.VIDEO,
                )
            )
            for precision in ("float32", args.precision)
        }
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in landmarkers}
        for start in range(0, len(frames), 10):  # turns of 10 frames each, every frame seen by both
            for k, lm in landmarkers.items():
                for i in range(start, min(start + 10, len(frames))):
                    wall, cpu = time.perf_counter(), time.process_time()
                    lm.detect_for_video(frames[i], round(i * 1000 / 30))
                    times[k].append((time.perf_counter() - wall, time.process_time() - cpu))
        med = {k: np.median(np.array(v[10:]), axis=0) * 1000 for k, v in times.items()}
        rows[model] = {
            "model": model,
            "frames": len(frames),
            "float32 ms": round(float(med["float32"][0]), 2),
            "float32 cpu ms": round(float(med["float32"][1]), 2),
            f"{args.precision} ms": round(float(med[args.precision][0]), 2),
            f"{args.precision} cpu ms": round(float(med[args.precision][1]), 2),
            "speedup": round(float(med["float32"][0] / med[args.precision][0]), 2),
            "cpu speedup": round(float(med["float32"][1] / med[args.precision][1]), 2),
        }
        print(rows[model], file=sys.stderr, flush=True)
        for lm in landmarkers.values():
            lm.close()
    return {"rows": rows}


def markdown(report: dict) -> str:
    rows = list(report["rows"].values())
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    speed = sub.add_parser("speed")
    speed.add_argument("--calls", type=int, default=200, help="timed calls per model and precision")
    speed.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    accuracy = sub.add_parser("accuracy")
    parity = sub.add_parser("parity")
    pipeline = sub.add_parser("pipeline")
    for p in (parity, pipeline):
        p.add_argument("--frames", type=int, default=205, help="video frames to use")
    for p in (accuracy, parity, pipeline):
        p.add_argument("--models", nargs="+", choices=tuple(MODELS), default=list(MODELS))
    for p in (speed, accuracy, parity, pipeline):
        p.add_argument("--precision", choices=tuple(PRECISION_BACKENDS), default="int8", help="the reduced precision")
        p.add_argument("--out", type=Path, default=None, help="default: out/PRECISION")
    args = parser.parse_args(argv)
    args.out = args.out or ROOT / "out" / args.precision
    run = {"speed": run_speed, "accuracy": run_accuracy, "parity": run_parity, "pipeline": run_pipeline}
    report = run[args.what](args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.what}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
