"""The ``blazepose`` command."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def result_to_dict(result, pose_index: int) -> dict:
    """One pose of a result as plain JSON-able data, landmarks by name."""
    from blazepose.topology import LANDMARK_NAMES

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
    from blazepose.media import read_photo

    if path:
        try:
            return read_photo(path), path
        except (ValueError, OSError) as e:
            raise SystemExit(f"blazepose demo: cannot read an image from {path!r} ({e})") from None
    try:
        from skimage import data
    except ImportError:
        raise SystemExit(
            "blazepose demo: the built-in photo comes from scikit-image; "
            "install it (pip install 'blazepose[demo]') or pass --image PATH"
        ) from None
    return data.astronaut(), "scikit-image astronaut (public domain)"


def run_demo(args: argparse.Namespace) -> int:
    import cv2

    from blazepose.pipeline import PoseEstimator
    from blazepose.rendering import draw_result

    rgb, source = _load_demo_image(args.image)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with PoseEstimator(
        static_image_mode=True, model_complexity=args.model_complexity, enable_segmentation=True
    ) as estimator:
        result = estimator.process(rgb)
    elapsed = time.perf_counter() - start
    annotated = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if len(result):
        mask = result.segmentation_mask
        assert mask is not None
        tint = np.zeros_like(annotated)
        tint[:] = (96, 160, 0)
        weight = (0.35 * mask)[..., None]
        annotated = (annotated * (1 - weight) + tint * weight).astype(np.uint8)
        draw_result(annotated, result)
    image_path = out / "annotated.png"
    json_path = out / "landmarks.json"
    cv2.imwrite(str(image_path), annotated)
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


def run_eval(args: argparse.Namespace) -> int:
    import importlib.util
    import platform
    import shlex

    from blazepose import evaluation, evaluation_report

    if not args.coco and not args.mpii:
        print("blazepose eval: give --coco ANNOTATIONS.json and/or --mpii ANNOTATIONS.json", file=sys.stderr)
        return 2
    for path in [*args.coco, *args.mpii]:
        if not Path(path).is_file():
            print(f"blazepose eval: no annotation file at {path}", file=sys.stderr)
            return 2
    if len(args.coco_images) > len(args.coco):
        print("blazepose eval: more --coco-images than --coco files", file=sys.stderr)
        return 2
    with_mp = args.mediapipe
    if with_mp == "auto":
        with_mp = "yes" if importlib.util.find_spec("mediapipe") else "no"
    if with_mp == "yes" and not importlib.util.find_spec("mediapipe"):
        print("blazepose eval: --mediapipe yes needs mediapipe==0.10.14 installed", file=sys.stderr)
        return 2
    names = {0: "lite", 1: "full", 2: "heavy"}
    protocols = ["single", "image"] if args.protocol == "both" else [args.protocol]

    def say(message: str) -> None:
        if not args.quiet:
            print(f"\r{message[:100]:<100}", end="", file=sys.stderr, flush=True)

    results = []
    for k in args.model_complexity:
        engines = [(f"blazepose {names[k]}", lambda k=k: evaluation.blazepose_runner(k, args.num_poses))]
        if with_mp == "yes":
            engines.append((f"mediapipe {names[k]}", lambda k=k: evaluation.mediapipe_runner(k)))
        for label, make in engines:
            runner, close = make()
            try:
                for n, ann in enumerate(args.coco):
                    images = Path(args.coco_images[n]) if n < len(args.coco_images) else Path(ann).parent / "images"
                    if not images.is_dir():
                        images = Path(ann).parent
                    for protocol in protocols:
                        results.append(
                            evaluation.evaluate_coco(
                                runner, Path(ann), images, protocol, label, args.min_keypoints, say
                            )
                        )
                for ann in args.mpii:
                    images = Path(args.mpii_images or Path(ann).parent)
                    results.append(evaluation.evaluate_mpii(runner, Path(ann), images, label, say))
            finally:
                close()
    if not args.quiet:
        print(file=sys.stderr)
    command = "blazepose " + " ".join(shlex.quote(a) for a in args.argv)
    machine = f"{platform.platform()}, Python {platform.python_version()}"
    paths = evaluation_report.write(results, Path(args.out), command, machine)
    print(evaluation_report.markdown(results, command, machine))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="blazepose", description="MediaPipe Pose (BlazePose) in numpy.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run on a photo the library can reach and write landmarks + annotated image")
    demo.add_argument("--out", default="out/demo", help="output folder (default: out/demo)")
    demo.add_argument("--model-complexity", type=int, choices=(0, 1, 2), default=1, help="0 lite, 1 full, 2 heavy")
    demo.add_argument("--image", help="use this photo instead of the built-in one")
    demo.set_defaults(func=run_demo)
    ev = sub.add_parser(
        "eval",
        help="accuracy on COCO / MPII keypoint annotations (PCK, COCO AP/AR), beside MediaPipe when installed",
    )
    ev.add_argument("--coco", action="append", default=[], help="COCO person-keypoints JSON (repeatable)")
    ev.add_argument(
        "--coco-images",
        action="append",
        default=[],
        help="image folder of each --coco file, in order (default: images/ beside it, else its own folder)",
    )
    ev.add_argument("--mpii", action="append", default=[], help="MPII annotations in the mmpose test format")
    ev.add_argument("--mpii-images", help="its image folder (default: its own folder)")
    ev.add_argument("--model-complexity", type=int, nargs="+", choices=(0, 1, 2), default=[0, 1, 2])
    ev.add_argument("--protocol", choices=("single", "image", "both"), default="both")
    ev.add_argument("--num-poses", type=int, default=20, help="poses per image in the image protocol")
    ev.add_argument("--min-keypoints", type=int, default=1, help="skip COCO people with fewer labelled keypoints")
    ev.add_argument("--mediapipe", choices=("auto", "yes", "no"), default="auto", help="also run MediaPipe 0.10.14")
    ev.add_argument("--out", default="out/eval", help="folder for eval.md, eval.json and pck.png")
    ev.add_argument("--quiet", action="store_true", help="no progress line")
    ev.set_defaults(func=run_eval)
    from blazepose import run_command

    run_command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.argv = argv
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
