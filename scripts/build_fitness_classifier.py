"""Builds the default push-up / squat classifier, src/blazepose/fitness/data/mlkit_pose_samples.npz,
from ML Kit's fitness_pose_samples.csv, and prints its leave-one-out accuracy.

    PYTHONPATH=src python scripts/build_fitness_classifier.py ../shared/data/fitness/fitness_pose_samples.csv
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from blazepose.fitness.classifier import PoseClassifier

OUT = Path(__file__).resolve().parents[1] / "src" / "blazepose" / "fitness" / "data" / "mlkit_pose_samples.npz"


def main(csv_path: str) -> None:
    classifier = PoseClassifier.from_csv(csv_path)
    classifier.save(OUT)
    print(f"{csv_path}: sha256 {hashlib.sha256(Path(csv_path).read_bytes()).hexdigest()}, {len(classifier)} samples")
    print(f"{OUT.name}: sha256 {hashlib.sha256(OUT.read_bytes()).hexdigest()}")
    print(f"leave-one-out accuracy: {classifier.leave_one_out_accuracy():.4f}")
    for name in classifier.class_names:
        print(f"  {name}: {classifier.classes.count(name)} samples")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/fitness/fitness_pose_samples.csv")
