"""Measures this library against MediaPipe 0.10.14 and writes docs/parity.md and docs/parity.json.

    .venv/bin/python scripts/parity.py            # against the recorded references
    .venv/bin/python scripts/parity.py --live     # also against MediaPipe itself (needs it installed)

Inputs: the 29 shared photos (static_image_mode) and dance_720p.avi (video
mode with smoothing), each model complexity, segmentation on.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from blazepose.evaluation.parity import compare, recorded_reference, run_mediapipe

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
NAMES = {0: "lite", 1: "full", 2: "heavy"}


def fmt(v: float, digits: int = 3) -> str:
    return "nan" if v != v else f"{v:.{digits}f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--live", action="store_true", help="also compare with MediaPipe run here")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where to write parity.md/json")
    args = parser.parse_args()
    images = sorted((args.data / "images").glob("*/*.jpg"))
    video = args.data / "video" / "dance_720p.avi"
    if not images or not video.exists():
        print(f"no shared data under {args.data}", file=sys.stderr)
        return 2
    references = {"recorded": recorded_reference(args.data / "reference")}
    if args.live:
        references["live MediaPipe"] = run_mediapipe
    rows = []
    for ref_name, ref in references.items():
        for k in (0, 1, 2):
            for mode, paths in (("static, 29 photos", images), ("video, 205 frames", [video])):
                start = time.perf_counter()
                s = compare(paths, k, ref).summary()
                s.update(
                    reference=ref_name,
                    model=NAMES[k],
                    mode=mode,
                    seconds=round(time.perf_counter() - start, 1),
                )
                rows.append(s)
                print(json.dumps(s), flush=True)
    import cv2

    machine = (
        f"{platform.platform()}, Python {platform.python_version()}, numpy {np.__version__}, OpenCV {cv2.__version__}"
    )
    lines = [
        "# Parity with MediaPipe 0.10.14",
        "",
        "Made by `.venv/bin/python scripts/parity.py" + (" --live" if args.live else "") + "` on " + machine + ".",
        "",
        "Both run the legacy `solutions.pose.Pose` API with segmentation on: photos in",
        "`static_image_mode`, the video in video mode with landmark smoothing, one `process`",
        "call per frame. Distances are between the same landmark of the two, in pixels of",
        "the original image, over frames where both found a pose; world distances in",
        "metres; mask IoU at 0.5 (video: first 60 frames).",
        "",
        "| reference | model | input | found agree | px median | px p95 | px max | world median (m) "
        "| mask IoU min | mask IoU mean |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in rows:
        lines.append(
            f"| {s['reference']} | {s['model']} | {s['mode']} | {s['found_agree']}/{s['frames']} | "
            f"{fmt(s['px_median'], 4)} | {fmt(s['px_p95'], 4)} | {fmt(s['px_max'], 4)} | "
            f"{fmt(s['world_median_m'], 6)} | {fmt(s['mask_iou_min'], 4)} | {fmt(s['mask_iou_mean'], 4)} |"
        )
    lines += [
        "",
        "Issue bars: photos found/not-found agree on >= 28 of 29, px median <= 0.5, p95 <= 2.0,",
        "world median <= 0.005 m, mask IoU >= 0.97; video found on the same frames (<= 2 differ),",
        "px median <= 1.0, p95 <= 4.0, mask IoU >= 0.95 on the first 60 frames.",
        "",
        "## Why the landmarks agree exactly",
        "",
        "The tracker feeds each frame's landmarks into the next frame's crop, and the",
        "landmark model answers sub-pixel changes of its crop with visible jumps, so",
        "small arithmetic differences grow over a video. Every stage therefore follows",
        "MediaPipe's arithmetic: float32 throughout, the C library's single-precision",
        "`expf`/`sinf`/`cosf`/`atan2f`, OpenCV 3/4's fixed-point bilinear sampling for the",
        "crops (written as explicit `cv2.remap` maps, so OpenCV 5 gives the same crops, or",
        "computed in one pass by the optional compiled kernel, held equal by the tests),",
        "a fused multiply-add for the pixel-to-float conversion, filter options rounded",
        "to float as protobuf stores them, and the pixel round trip of MediaPipe's",
        "landmark smoother. Two behaviours of MediaPipe's Python wrapper are kept:",
        "it drops the options of two calculators, so the heatmap refinement window is 9",
        "cells (not the graph's 7) and the segmentation smoothing ratio is 0 (masks are",
        "never blended). Masks are warped with OpenCV's float `warpAffine`, which is",
        "why mask IoU is close to, not exactly, 1.",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "parity.md").write_text("\n".join(lines) + "\n")
    (args.out / "parity.json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out / 'parity.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
