"""``blazepose eval``: accuracy on COCO / MPII keypoint files, beside MediaPipe when installed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from blazepose.backends import PRECISIONS, backend_unavailable, precision_backend, precision_unavailable


def add_parser(sub: argparse._SubParsersAction) -> None:
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
    ev.add_argument(
        "--mpii", action="append", default=[], help="MPII annotations in the mmpose test format (repeatable)"
    )
    ev.add_argument("--mpii-images", help="the image folder of every --mpii file (default: each one's own folder)")
    ev.add_argument("--model-complexity", type=int, nargs="+", choices=(0, 1, 2), default=[0, 1, 2])
    ev.add_argument(
        "--accuracy",
        nargs="+",
        choices=("fast", "high"),
        default=["fast"],
        help="this library's mode(s): fast (MediaPipe's answers) and/or high (docs/accuracy.md)",
    )
    ev.add_argument(
        "--precision",
        nargs="+",
        choices=PRECISIONS,
        default=["float32"],
        help="this library's model precision(s): float32 (the official models), int8 and/or bfloat16 (on "
        "OpenVINO, where the CPU has it) (docs/throughput.md)",
    )
    ev.add_argument("--protocol", choices=("single", "image", "both"), default="both")
    ev.add_argument("--num-poses", type=int, default=20, help="poses per image in the image protocol")
    ev.add_argument("--min-keypoints", type=int, default=1, help="skip COCO people with fewer labelled keypoints")
    ev.add_argument("--mediapipe", choices=("auto", "yes", "no"), default="auto", help="also run MediaPipe 0.10.14")
    ev.add_argument("--out", default="out/eval", help="folder for eval.md, eval.json and pck.png")
    ev.add_argument("--quiet", action="store_true", help="no progress line")
    ev.add_argument(
        "--allow-missing", action="store_true", help="score the people whose image is there when some are missing"
    )
    ev.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import functools
    import importlib.util
    import platform
    import shlex

    from blazepose.evaluation import accuracy as evaluation
    from blazepose.evaluation import report as evaluation_report

    if not args.coco and not args.mpii:
        print("blazepose eval: give --coco ANNOTATIONS.json and/or --mpii ANNOTATIONS.json", file=sys.stderr)
        return 2
    if args.coco and importlib.util.find_spec("pycocotools") is None:  # (found before the models run)
        print("blazepose eval: --coco's AP needs pycocotools: pip install 'blazepose[eval]'", file=sys.stderr)
        return 2
    for path in [*args.coco, *args.mpii]:
        if not Path(path).is_file():
            print(f"blazepose eval: no annotation file at {path}", file=sys.stderr)
            return 2
    from blazepose.cli.run import out_folder_problem

    problem = out_folder_problem(Path(args.out))
    if problem is not None:  # (checked before the evaluation: its results would be lost after it)
        print(f"blazepose eval: {problem}", file=sys.stderr)
        return 2
    if args.num_poses < 1:
        print(f"blazepose eval: --num-poses must be >= 1, got {args.num_poses}", file=sys.stderr)
        return 2
    if args.min_keypoints < 1:
        print(f"blazepose eval: --min-keypoints must be >= 1, got {args.min_keypoints}", file=sys.stderr)
        return 2
    if len(args.coco_images) > len(args.coco):
        print("blazepose eval: more --coco-images than --coco files", file=sys.stderr)
        return 2
    for folder in [*args.coco_images, *([args.mpii_images] if args.mpii_images else [])]:
        if not Path(folder).is_dir():  # (the default folder's fallback is for the default only)
            print(f"blazepose eval: no image folder at {folder}", file=sys.stderr)
            return 2
    if "int8" in args.precision:
        from blazepose.models import companion_folder

        try:
            companion_folder("int8")
        except FileNotFoundError as e:
            print(f"blazepose eval: --precision int8: {e}", file=sys.stderr)
            return 2
    if "bfloat16" in args.precision:
        engine = precision_backend("bfloat16")
        unavailable = backend_unavailable(engine) or precision_unavailable("bfloat16", engine)
        if unavailable:
            print(f"blazepose eval: --precision bfloat16: {unavailable}", file=sys.stderr)
            return 2
    with_mp = args.mediapipe
    if with_mp == "auto":
        with_mp = "yes" if importlib.util.find_spec("mediapipe") else "no"
    if with_mp == "yes" and not importlib.util.find_spec("mediapipe"):
        print("blazepose eval: --mediapipe yes needs mediapipe==0.10.14 installed", file=sys.stderr)
        return 2
    sets = [("coco", Path(a), _coco_images(args, n, Path(a))) for n, a in enumerate(args.coco)]
    sets += [("mpii", Path(a), Path(args.mpii_images or Path(a).parent)) for a in args.mpii]
    names_of = _report_names([ann for _, ann, _ in sets], evaluation.dataset_name)
    for kind, ann, images in sets:
        try:
            skipped, files = evaluation.missing_images(ann, images, kind, args.min_keypoints)
        except ValueError as e:
            print(f"blazepose eval: {e}", file=sys.stderr)
            return 2
        if skipped:
            message = (
                f"{ann}: {skipped} annotated people skipped: {len(files)} image(s) missing from {images} "
                f"(first: {files[0]})"
            )
            if not args.allow_missing:
                print(f"blazepose eval: {message}; give --allow-missing to score the others", file=sys.stderr)
                return 1
            print(f"blazepose eval: {message}", file=sys.stderr)
    names = {0: "lite", 1: "full", 2: "heavy"}
    protocols = ["single", "image"] if args.protocol == "both" else [args.protocol]

    def say(message: str) -> None:
        if not args.quiet:
            print(f"\r{message[:100]:<100}", end="", file=sys.stderr, flush=True)

    results = []
    for k in args.model_complexity:
        engines = [
            (
                f"blazepose {names[k]}"
                + ("" if accuracy == "fast" else f" {accuracy}")
                + ("" if precision == "float32" else f" {precision}"),
                functools.partial(_blazepose_runner, k, accuracy, precision),
            )
            for precision in args.precision
            for accuracy in args.accuracy
        ]
        if with_mp == "yes":
            engines.append((f"mediapipe {names[k]}", functools.partial(_mediapipe_runner, k)))
        for label, make in engines:
            # The single-person protocol (and MPII's, which is one) looks for one pose in each person's crop;
            # --num-poses is the image protocol's.
            for protocol in [p for p in ("single", "image") if p in protocols or (p == "single" and args.mpii)]:
                runner, close = make(1 if protocol == "single" else args.num_poses)
                try:
                    for kind, ann, images in sets:  # (COCO files first, then MPII's)
                        if kind == "coco" and protocol in protocols:
                            results.append(evaluation.evaluate_coco(
                                runner, ann, images, protocol, label, args.min_keypoints, say, names_of[ann]
                            ))  # fmt: skip
                        elif kind == "mpii" and protocol == "single":
                            results.append(evaluation.evaluate_mpii(runner, ann, images, label, say, names_of[ann]))
                except (ValueError, OSError) as e:  # an unreadable image, say: named, no traceback
                    print(f"\nblazepose eval: {e}", file=sys.stderr)
                    return 1
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


def _blazepose_runner(model_complexity: int, accuracy: str, precision: str, poses: int):
    from blazepose.evaluation.accuracy import blazepose_runner

    return blazepose_runner(model_complexity, poses, accuracy, precision, precision_backend(precision))


def _mediapipe_runner(model_complexity: int, poses: int):
    from blazepose.evaluation.accuracy import mediapipe_runner

    return mediapipe_runner(model_complexity)  # (MediaPipe's legacy API finds one pose)


def _report_names(annotation_files: list[Path], name_of) -> dict[Path, str]:
    """Each annotation file's dataset name in the report, made distinct (the file's stem added) where two
    files would share one."""
    names = {path: name_of(path) for path in annotation_files}
    shared = {name for name in names.values() if list(names.values()).count(name) > 1}
    return {path: f"{name} ({path.stem})" if name in shared else name for path, name in names.items()}


def _coco_images(args: argparse.Namespace, n: int, annotations: Path) -> Path:
    """The image folder of the n-th --coco file."""
    images = Path(args.coco_images[n]) if n < len(args.coco_images) else annotations.parent / "images"
    return images if images.is_dir() else annotations.parent
