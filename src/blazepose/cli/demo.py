"""``blazepose demo``: the whole pipeline on one photo, landmarks as JSON and an annotated image."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def add_parser(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="run on a photo the library can reach and write landmarks + annotated image")
    demo.add_argument("--out", default="out/demo", help="output folder (default: out/demo)")
    demo.add_argument("--model-complexity", type=int, choices=(0, 1, 2), default=1, help="0 lite, 1 full, 2 heavy")
    demo.add_argument("--image", help="use this photo instead of the built-in one")
    demo.set_defaults(func=run)


def result_to_dict(result, pose_index: int) -> dict:
    """One pose of a result as plain JSON-able data, landmarks by name."""
    from blazepose.core.topology import LANDMARK_NAMES

    h, w = result.image_size
    landmarks = {}
    for i, name in enumerate(LANDMARK_NAMES):
        x, y, z = (float(v) for v in result.landmarks[pose_index, i])
        wx, wy, wz = (float(v) for v in result.world_landmarks[pose_index, i])
        landmarks[name] = {
            "x": x,
            "y": y,
            "z": z,
            "x_px": x * w,
            "y_px": y * h,
            "visibility": float(result.visibility[pose_index, i]),
            "presence": float(result.presence[pose_index, i]),
            "world": {"x": wx, "y": wy, "z": wz},
        }
    return {
        "id": int(result.track_ids[pose_index]),
        "score": float(result.pose_scores[pose_index]),
        "landmarks": landmarks,
    }


def _load_demo_image(path: str | None) -> tuple[np.ndarray, str]:
    from blazepose.io.photos import read_photo

    if path:
        try:
            return read_photo(path), path
        except (ValueError, OSError) as e:
            raise ValueError(f"cannot read an image from {path!r} ({e})") from None
    try:
        from skimage import data
    except ImportError:
        raise ValueError(
            "the built-in photo comes from scikit-image; install it (pip install 'blazepose[demo]') or pass "
            "--image PATH"
        ) from None
    return data.astronaut(), "scikit-image astronaut (public domain)"


def run(args: argparse.Namespace) -> int:
    import cv2

    from blazepose.cli.run import out_folder_problem
    from blazepose.core.estimator import PoseEstimator
    from blazepose.draw.overlay import tint_person
    from blazepose.draw.skeleton import draw_result

    out = Path(args.out)
    problem = out_folder_problem(out)
    if problem is not None:
        print(f"blazepose demo: {problem}", file=sys.stderr)
        return 2
    try:
        rgb, source = _load_demo_image(args.image)
    except ValueError as e:
        print(f"blazepose demo: {e}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with PoseEstimator(
        static_image_mode=True, model_complexity=args.model_complexity, enable_segmentation=True
    ) as estimator:
        result = estimator.process(rgb)
    elapsed = time.perf_counter() - start
    annotated = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if len(result):
        assert result.segmentation_mask is not None
        annotated = tint_person(annotated, result.segmentation_mask)
        draw_result(annotated, result)
    image_path = out / "annotated.png"
    json_path = out / "landmarks.json"
    if not cv2.imwrite(str(image_path), annotated):
        print(f"blazepose demo: {image_path}: could not be written", file=sys.stderr)
        return 1
    record = {
        "source": source,
        "image_size": {"height": result.image_size[0], "width": result.image_size[1]},
        "model_complexity": args.model_complexity,
        "poses": [result_to_dict(result, i) for i in range(len(result))],
    }
    json_path.write_text(json.dumps(record, indent=2))
    print(f"{source}: {len(result)} pose(s) found in {elapsed:.2f} s (models loaded and run once)")
    if len(result):
        nose = record["poses"][0]["landmarks"]["nose"]
        print(f"nose at ({nose['x_px']:.1f}, {nose['y_px']:.1f}) px, visibility {nose['visibility']:.2f}")
    print(f"wrote {json_path} and {image_path}")
    return 0
