"""Compares each other engine with LiteRT on the shared photos and video; the parity table of docs/throughput.md.

    PYTHONPATH=src python scripts/engine_parity.py [--backends onnxruntime] [--frames 205]

Per model: the 29 shared photos and the shared dance video's frames in
image mode (each frame on its own), and the video in video mode (tracking,
smoothing on), each run by PoseEstimator on LiteRT and on the other engine;
the table gives how often the number of poses differs and the largest
landmark distance per frame (x, y in pixels, over the 33 landmarks) over the
frames where both found a pose. In video mode each frame's region comes from
the previous frame's landmarks, and the heatmap refinement jumps when a
landmark crosses a heatmap cell border, so two engines' tracks drift apart
over time even when each frame on its own agrees closely. To show how much
of that is the tracker's own sensitivity, each model also gets a control
row: LiteRT against LiteRT on the same frames with 0.1% of their values
moved by one grey level (engine "litert, frames +-1").
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import sys
from pathlib import Path

import numpy as np

from blazepose.core.estimator import PoseEstimator
from blazepose.evaluation.parity import read_frames
from blazepose.io.photos import read_photo

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
NAMES = {0: "lite", 1: "full", 2: "heavy"}


def nudged(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The frame with 0.1% of its values moved up or down by one grey level."""
    out = frame.copy()
    flat = out.reshape(-1)
    index = rng.integers(0, flat.size, flat.size // 1000)
    flat[index] = np.clip(flat[index].astype(np.int16) + rng.choice([-1, 1], index.size), 0, 255)
    return out


def distances(frames: list[np.ndarray], complexity: int, video: bool, backend: str, noise: bool = False) -> dict:
    per_frame, mismatched = [], 0
    rng = np.random.default_rng(0)
    with (
        PoseEstimator(static_image_mode=not video, model_complexity=complexity) as litert,
        PoseEstimator(static_image_mode=not video, model_complexity=complexity, backend=backend) as other,
    ):
        for i, frame in enumerate(frames):
            a = litert.process(frame, 20.0 * i if video else None)
            b = other.process(nudged(frame, rng) if noise else frame, 20.0 * i if video else None)
            if len(a) != len(b):
                mismatched += 1
            elif len(a):
                h, w = frame.shape[:2]
                per_frame.append(float(np.abs((a.landmarks[..., :2] - b.landmarks[..., :2]) * [w, h]).max()))
    d = np.array(per_frame or [np.nan])
    return {
        "frames": len(frames),
        "pose_count_differs": mismatched,
        "median_px": round(float(np.median(d)), 3),
        "p95_px": round(float(np.percentile(d, 95)), 3),
        "max_px": round(float(d.max()), 3),
    }


def read_video(path: Path, count: int) -> list[np.ndarray]:
    """The first ``count`` frames, decoded by PyAV (the ``video`` extra) or, where it is missing, by OpenCV."""
    if importlib.util.find_spec("av") is None:
        print("PyAV is not installed: the video is decoded by OpenCV", file=sys.stderr)
        return list(itertools.islice(read_frames(path), count))
    from blazepose.io.video import VideoSource

    source = VideoSource(str(path))
    try:
        return [f.rgb for _, f in zip(range(count), source.frames(), strict=False)]
    finally:
        source.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="onnxruntime", help="comma-separated engines to compare with LiteRT")
    parser.add_argument("--frames", type=int, default=205, help="video frames to use")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "engine_parity.json")
    parser.add_argument("--no-control", action="store_true", help="leave out the LiteRT-against-itself rows")
    args = parser.parse_args()
    photos = [read_photo(p) for p in sorted((DATA / "images").glob("*/*.jpg"))]
    if not photos:
        print(f"no shared photos under {DATA}", file=sys.stderr)
        return 2
    video = read_video(DATA / "video" / "dance_720p.avi", args.frames)
    rows = []
    for k in () if args.no_control else (0, 1, 2):
        row = {"backend": "litert, frames +-1", "model": NAMES[k], "input": "video, tracking"}
        rows.append({**row, **distances(video, k, True, "litert", noise=True)})
        print(json.dumps(rows[-1]), flush=True)
    for backend in args.backends.split(","):
        for k in (0, 1, 2):
            for mode, frames, tracking in (
                ("photos", photos, False),
                ("video frames, image mode", video, False),
                ("video, tracking", video, True),
            ):
                row = {"backend": backend, "model": NAMES[k], "input": mode, **distances(frames, k, tracking, backend)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n")
    print("| engine | model | input | frames | pose count differs | median px | p95 px | max px |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['backend']} | {r['model']} | {r['input']} | {r['frames']} | {r['pose_count_differs']} | "
              f"{r['median_px']} | {r['p95_px']} | {r['max_px']} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
