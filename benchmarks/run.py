"""Speed of blazepose beside MediaPipe 0.10.14, on the same frames in the same run.

    .venv/bin/python benchmarks/run.py [--video PATH] [--frames 100] [--threads 2] [--out benchmarks/results]

Measures, for each model complexity and with segmentation off and on:
video mode per frame and static mode per photo (720p frames of the video),
this library and MediaPipe (when installed) alternating on the same frames;
the bare inference time of the same engine (LiteRT) as the floor; and a
breakdown of this library's time per stage. Prints a table of medians and
ratios and writes it as Markdown and JSON with the machine's description.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import ClassVar

import numpy as np

import blazepose.core.assembly as assembly_module
import blazepose.core.crop as crop_module
import blazepose.core.detector as detector_module
import blazepose.core.landmarker as landmarker_module
import blazepose.core.tracking as tracking_module
from blazepose import PoseEstimator
from blazepose.evaluation.parity import mediapipe_pose, read_frames

ROOT = Path(__file__).resolve().parent.parent
VIDEO = ROOT.parent / "shared" / "data" / "video" / "dance_720p.avi"
NAMES = {0: "lite", 1: "full", 2: "heavy"}
WARMUP = 5


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import cv2

    from blazepose.core.native import native_kernels

    kernels = "with" if native_kernels() is not None else "without"
    return (
        f"{cpu}, {os.cpu_count()} logical cores, {platform.platform()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, OpenCV {cv2.__version__}, blazepose {kernels} its compiled kernels"
    )


class StageTimes:
    """Wraps pipeline functions to add up the time spent in each stage."""

    PATCHES: ClassVar[dict[str, tuple[object, str]]] = {
        "detection": (detector_module.PersonDetector, "detect"),
        "crop": (crop_module.Cropper, "crop_into"),
        "decoding, heatmap refinement, projection, world landmarks": (landmarker_module, "decode_pose"),
        "filters and next region": (tracking_module.PoseTrack, "update"),
        "mask warp": (assembly_module, "mask_to_image"),
    }

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self._saved = []

    def __enter__(self) -> StageTimes:
        for stage, (owner, name) in self.PATCHES.items():
            original = getattr(owner, name)
            self._saved.append((owner, name, original))
            setattr(owner, name, self._timed(stage, original))
        return self

    def _timed(self, stage, fn):
        totals = self.totals

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[stage] += time.perf_counter() - start

        return wrapper

    def __exit__(self, *exc) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)


def time_calls(fn, inputs) -> list[float]:
    out = []
    for i, x in enumerate(inputs):
        start = time.perf_counter()
        fn(x)
        if i >= WARMUP:
            out.append((time.perf_counter() - start) * 1000)
    return out


def alternate(inputs, *fns) -> tuple[list[float], ...]:
    """Times callables on the same inputs, taking turns per input so that all
    see the same machine state (ms, warm-up left out; None callables skipped)."""
    times: tuple[list[float], ...] = tuple([] for _ in fns)
    for i, x in enumerate(inputs):
        for fn, bucket in zip(fns, times, strict=True):
            if fn is None:
                continue
            start = time.perf_counter()
            fn(x)
            if i >= WARMUP:
                bucket.append((time.perf_counter() - start) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument("--frames", type=int, default=100, help="video frames per measurement")
    parser.add_argument("--photos", type=int, default=30, help="frames used as photos in static mode")
    parser.add_argument("--threads", type=int, default=2, help="inference threads for this library")
    parser.add_argument("--models", type=int, nargs="+", default=[0, 1, 2], choices=(0, 1, 2))
    parser.add_argument("--no-mediapipe", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    if not args.video.exists():
        print(f"no video at {args.video}", file=sys.stderr)
        return 2
    frames = []
    decode_ms = []
    start = time.perf_counter()
    for frame in read_frames(args.video):
        decode_ms.append((time.perf_counter() - start) * 1000)
        frames.append(frame)
        if len(frames) == args.frames + WARMUP:
            break
        start = time.perf_counter()
    photos = frames[: args.photos + WARMUP]
    with_mp = not args.no_mediapipe and importlib.util.find_spec("mediapipe") is not None
    rows, stages = [], {}
    for k in args.models:
        for seg in (False, True):
            label = f"{NAMES[k]}, segmentation {'on' if seg else 'off'}"
            print(f"measuring {label} ...", file=sys.stderr, flush=True)
            # Mask blending off, as MediaPipe's legacy API (which blends nothing): the same work.
            common = dict(
                model_complexity=k, enable_segmentation=seg, smooth_segmentation=False, num_threads=args.threads
            )
            ours = PoseEstimator(**common)
            ours_static = PoseEstimator(static_image_mode=True, **common)
            lm_model, det_model = ours._landmarker._model, ours._detector._model
            rng = np.random.default_rng(0)
            lm_in = rng.random(lm_model.input_shape, dtype=np.float32)
            det_in = rng.random(det_model.input_shape, dtype=np.float32)
            theirs = theirs_static = None
            if with_mp:
                theirs = mediapipe_pose(model_complexity=k, enable_segmentation=seg)
                theirs_static = mediapipe_pose(static_image_mode=True, model_complexity=k, enable_segmentation=seg)
            # The bare models take their turns too, so that ratios compare like with like.
            t_ours, t_theirs, t_bare, t_det = alternate(
                frames,
                ours.process,
                theirs.process if theirs else None,
                lambda _, m=lm_model, x=lm_in: m.run(x),
                lambda _, m=det_model, x=det_in: m.run(x),
            )
            bare_lm, bare_det = statistics.median(t_bare), statistics.median(t_det)
            s_ours, s_theirs = alternate(photos, ours_static.process, theirs_static.process if theirs_static else None)
            with StageTimes() as st:
                again = PoseEstimator(**common)
                total = sum(time_calls(again.process, frames))
                n = len(frames) - WARMUP
                stages[label] = {name: v * 1000 / len(frames) for name, v in st.totals.items()}
                stages[label]["total per frame"] = total / n
                again.close()
            row = {
                "model": NAMES[k],
                "segmentation": seg,
                "video_ms": statistics.median(t_ours),
                "video_mediapipe_ms": statistics.median(t_theirs) if t_theirs else None,
                "static_ms": statistics.median(s_ours),
                "static_mediapipe_ms": statistics.median(s_theirs) if s_theirs else None,
                "bare_landmark_ms": bare_lm,
                "bare_detector_ms": bare_det,
            }
            row["video_over_bare"] = row["video_ms"] / bare_lm
            if t_theirs:
                row["video_speedup"] = row["video_mediapipe_ms"] / row["video_ms"]
                row["static_speedup"] = row["static_mediapipe_ms"] / row["static_ms"]
            rows.append(row)
            for obj in (ours, ours_static, theirs, theirs_static):
                if obj is not None:
                    obj.close()
    desc = machine()
    lines = [
        "# Speed beside MediaPipe 0.10.14",
        "",
        f"Made by `.venv/bin/python benchmarks/run.py` on {desc}; {args.frames} frames of "
        f"`{args.video.name}` (1280x720) per video measurement, {args.photos} of them as photos; "
        f"this library with {args.threads} inference threads, MediaPipe with its defaults. Medians in ms.",
        "",
        "| model | mask | video ms | MediaPipe video ms | video speed-up | static ms | MediaPipe static ms "
        "| static speed-up | bare landmark model ms | video / bare | bare detector ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def f(v, fmt="{:.2f}"):
        return "n/a" if v is None else fmt.format(v)

    for r in rows:
        lines.append(
            f"| {r['model']} | {'on' if r['segmentation'] else 'off'} | {f(r['video_ms'])} | "
            f"{f(r['video_mediapipe_ms'])} | {f(r.get('video_speedup'), '{:.1f}x')} | {f(r['static_ms'])} | "
            f"{f(r['static_mediapipe_ms'])} | {f(r.get('static_speedup'), '{:.1f}x')} | {f(r['bare_landmark_ms'])} | "
            f"{f(r['video_over_bare'], '{:.2f}')} | {f(r['bare_detector_ms'])} |"
        )
    lines += ["", f"Video decoding (OpenCV, not included above): {statistics.median(decode_ms):.2f} ms per frame.", ""]
    lines += ["## Where the time goes (video mode, ms per frame)", ""]
    names = sorted({n for s in stages.values() for n in s if n != "total per frame"})
    lines.append("| stage | " + " | ".join(stages) + " |")
    lines.append("| --- |" + " --- |" * len(stages))
    for n in [*names, "total per frame"]:
        lines.append(f"| {n} | " + " | ".join(f"{s.get(n, 0.0):.3f}" for s in stages.values()) + " |")
    lines.append("")
    lines.append(
        "Inference and the rest of the per-frame work make up the difference between the stages and the total."
    )
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "speed.md").write_text(text)
    (args.out / "speed.json").write_text(
        json.dumps({"machine": desc, "threads": args.threads, "rows": rows, "stages": stages}, indent=2) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
