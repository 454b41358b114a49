"""The cost per frame of counting repetitions on the live WebSocket (``blazepose.web.counting.LiveCounter``).

    .venv/bin/python benchmarks/web_counting.py [clip.mp4] [--step 2] [--model 0]

Runs a VIDEO-mode landmarker over the clip's frames (every ``step``-th), then
times ``LiveCounter.update`` on those results: over the clip, and over the
clip repeated to 600, 3600 and 7200 frames at 12 frames a second (long
sessions); the first run over the clip includes importing blazepose.fitness.
Prints the landmarker's mean time per frame for comparison.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from blazepose.tasks.pose_landmarker import PoseLandmarker, PoseLandmarkerOptions, RunningMode
from blazepose.web.counting import FitnessOptions, LiveCounter

CLIP = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "exercise" / "squats" / "squat_13.mp4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", nargs="?", type=Path, default=CLIP)
    parser.add_argument("--step", type=int, default=2)
    parser.add_argument("--model", type=int, default=0)
    args = parser.parse_args()
    import av

    with av.open(str(args.clip)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)][:: args.step]
    options = PoseLandmarkerOptions(running_mode=RunningMode.VIDEO, model_complexity=args.model)
    results = []
    with PoseLandmarker.create_from_options(options) as landmarker:
        started = time.perf_counter()
        for k, rgb in enumerate(frames):
            results.append(landmarker.detect_for_video(rgb, 1000.0 + 1000 * k / 12).result)
        inference_ms = (time.perf_counter() - started) / len(frames) * 1000
    print(f"{args.clip.name}: {len(frames)} frames, landmarker (model {args.model}) {inference_ms:.1f} ms/frame")
    for n in (len(results), len(results), 600, 3600, 7200):  # the first run also pays for the lazy imports
        counter, per_frame = LiveCounter(FitnessOptions("auto")), []
        for k in range(n):
            started = time.perf_counter()
            counter.update(results[k % len(results)], 1 + k / 12)
            per_frame.append(time.perf_counter() - started)
        ms = np.array(per_frame) * 1000
        counts = [t["count"] for t in counter.update(results[n % len(results)], 1 + n / 12)["tracks"]]
        print(f"{n} frames: counter mean {ms.mean():.3f} ms/frame, median {np.median(ms):.3f} ms, "
              f"slowest {ms.max():.1f} ms, counts {counts}")  # fmt: skip


if __name__ == "__main__":
    main()
