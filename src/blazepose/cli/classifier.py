"""``blazepose classifier fit``: a k-NN pose classifier for ``blazepose reps --classifier``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("classifier", help="build pose classifiers for counting (k-NN on pose embeddings)")
    verbs = p.add_subparsers(dest="verb", required=True)
    fit = verbs.add_parser(
        "fit",
        help="build a classifier from sample CSVs, photo folders or labelled videos",
        description="Samples come from ML Kit / MediaPipe CSVs (name,class,x1,y1,z1,... in pixels), from "
        "folders holding one folder of photos per class, and from videos with a frame,class CSV. Prints "
        "the leave-one-out accuracy. Exit status: 0 when written, 1 when a sample source failed, 2 on a usage "
        "error, 130 when interrupted.",
    )
    fit.add_argument("output", help="classifier file to write (.npz)")
    fit.add_argument("sources", nargs="*", help="sample CSV files and folders of class folders")
    fit.add_argument("--video", nargs=2, action="append", default=[], metavar=("VIDEO", "LABELS_CSV"),
                     help="a video and its frame,class labels (repeatable)")  # fmt: skip
    fit.add_argument("--model", choices=("lite", "full", "heavy"), default="full", help="for photos and videos")
    fit.add_argument("--force", action="store_true", help="overwrite the output")
    fit.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    output = Path(args.output)
    if output.exists() and not args.force:
        print(f"blazepose classifier: {output} exists; use --force to overwrite", file=sys.stderr)
        return 2
    if not args.sources and not args.video:
        print("blazepose classifier: expected sample CSVs, folders or --video VIDEO LABELS", file=sys.stderr)
        return 2
    wrong = [s for s in args.sources if not Path(s).is_dir() and Path(s).suffix.lower() != ".csv"]
    if wrong:
        print(f"blazepose classifier: {wrong[0]}: expected a sample CSV or a folder of class folders", file=sys.stderr)
        return 2
    if not output.parent.is_dir():
        print(f"blazepose classifier: {output}: no folder {output.parent} to write it in", file=sys.stderr)
        return 2
    complexity = {"lite": 0, "full": 1, "heavy": 2}[args.model]
    from blazepose.cli.run import user_warnings

    with user_warnings(lambda message: print(f"blazepose classifier: warning: {message}", file=sys.stderr)):
        status, classifier = _fit(args, output, complexity)
    if classifier is None:
        return status
    counts = ", ".join(f"{name} {classifier.classes.count(name)}" for name in classifier.class_names)
    print(f"{output}: {len(classifier)} samples ({counts}); "
          f"leave-one-out accuracy {classifier.leave_one_out_accuracy():.3f}")  # fmt: skip
    return 0


def _fit(args: argparse.Namespace, output: Path, complexity: int):
    """(exit status, the classifier written or None)."""
    from blazepose.fitness.classifier import PoseClassifier
    from blazepose.fitness.samples import poses_from_labelled_video, poses_from_photo_folders, read_frame_labels

    try:
        poses = []
        for source in map(Path, args.sources):
            if source.is_dir():
                poses += poses_from_photo_folders(source, complexity)
            else:
                c = PoseClassifier.from_csv(source)
                poses += list(zip(c.names, c.classes, c.landmarks_px, strict=True))
        for video, labels in args.video:
            poses += poses_from_labelled_video(video, read_frame_labels(labels), complexity)
        classifier = PoseClassifier.from_labelled_poses(poses)
        classifier.save(output)
    except (ValueError, OSError, ImportError) as e:
        print(f"blazepose classifier: {e}", file=sys.stderr)
        return 1, None
    except KeyboardInterrupt:
        print("blazepose classifier: interrupted; nothing written", file=sys.stderr)
        return 130, None
    return 0, classifier
