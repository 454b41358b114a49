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
        "the leave-one-out accuracy.",
    )
    fit.add_argument("output", help="classifier file to write (.npz)")
    fit.add_argument("sources", nargs="*", help="sample CSV files and folders of class folders")
    fit.add_argument("--video", nargs=2, action="append", default=[], metavar=("VIDEO", "LABELS_CSV"),
                     help="a video and its frame,class labels (repeatable)")  # fmt: skip
    fit.add_argument("--model", choices=("lite", "full", "heavy"), default="full", help="for photos and videos")
    fit.add_argument("--force", action="store_true", help="overwrite the output")
    fit.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blazepose.fitness.classifier import PoseClassifier
    from blazepose.fitness.samples import poses_from_labelled_video, poses_from_photo_folders, read_frame_labels

    output = Path(args.output)
    if output.exists() and not args.force:
        print(f"blazepose classifier: {output} exists; use --force to overwrite", file=sys.stderr)
        return 2
    if not args.sources and not args.video:
        print("blazepose classifier: expected sample CSVs, folders or --video VIDEO LABELS", file=sys.stderr)
        return 2
    complexity = {"lite": 0, "full": 1, "heavy": 2}[args.model]
    try:
        poses = []
        for source in args.sources:
            path = Path(source)
            if path.is_dir():
                poses += poses_from_photo_folders(path, complexity)
            elif path.suffix.lower() == ".csv":
                c = PoseClassifier.from_csv(path)
                poses += list(zip(c.names, c.classes, c.landmarks_px, strict=True))
            else:
                raise ValueError(f"{source}: expected a sample CSV or a folder of class folders")
        for video, labels in args.video:
            poses += poses_from_labelled_video(video, read_frame_labels(labels), complexity)
        classifier = PoseClassifier.from_labelled_poses(poses)
        classifier.save(output)
    except (ValueError, OSError) as e:
        print(f"blazepose classifier: {e}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{name} {classifier.classes.count(name)}" for name in classifier.class_names)
    print(f"{output}: {len(classifier)} samples ({counts}); "
          f"leave-one-out accuracy {classifier.leave_one_out_accuracy():.3f}")  # fmt: skip
    return 0
