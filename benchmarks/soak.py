"""Memory over long runs: resident memory of a long video-mode run and of many instances.

    .venv/bin/python benchmarks/soak.py [--frames 10000] [--instances 200]

1. Video mode (lite, segmentation on) over the shared clip looped to
   ``--frames`` frames: resident memory after a warm-up of 500 frames and at
   the end.
2. ``--instances`` PoseEstimator instances created, used once and closed one
   after another: resident memory after the first 20 and at the end.

Prints the growth and exits non-zero when it is 5 MB or more.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import sys
import time
from pathlib import Path

from blazepose import PoseEstimator
from blazepose.evaluation.parity import read_frames

ROOT = Path(__file__).resolve().parent.parent
VIDEO = ROOT.parent / "shared" / "data" / "video" / "dance_720p.avi"
LIMIT_MB = 5.0


def rss_mb() -> float:
    """Resident memory in MB, after handing freed heap back to the system.

    glibc keeps freed blocks (here: tens of MB of model weights per instance)
    and returns them at its own pace, so the raw figure swings by the size of
    a model between two identical states; ``malloc_trim`` first makes it
    measure what is still in use.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no /proc/self/status (Linux only)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--video", type=Path, default=VIDEO)
    args = parser.parse_args()
    clip = list(read_frames(args.video))[:60]  # 60 frames keep the loop's own memory small
    failed = False
    with PoseEstimator(model_complexity=0, enable_segmentation=True) as estimator:
        start = time.perf_counter()
        for i in range(args.frames):
            estimator.process(clip[i % len(clip)])
            if i == 499:
                gc.collect()
                warm = rss_mb()
            if i % 1000 == 999:
                print(f"frame {i + 1}: {rss_mb():.1f} MB", file=sys.stderr, flush=True)
        gc.collect()
        end = rss_mb()
    growth = end - warm
    failed |= growth >= LIMIT_MB
    print(
        f"video mode, {args.frames} frames in {time.perf_counter() - start:.0f} s: {warm:.1f} MB after 500 frames, "
        f"{end:.1f} MB at the end, growth {growth:+.2f} MB"
    )
    for n in range(args.instances):
        with PoseEstimator(model_complexity=n % 3) as estimator:
            estimator.process(clip[n % len(clip)])
        if n == 19:
            gc.collect()
            first = rss_mb()
    gc.collect()
    last = rss_mb()
    failed |= last - first >= LIMIT_MB
    print(f"{args.instances} instances created, used and closed: {first:.1f} MB after 20, {last:.1f} MB after all, "
          f"growth {last - first:+.2f} MB")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
