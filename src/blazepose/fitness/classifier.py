"""k-nearest-neighbour pose classifier on :mod:`~blazepose.fitness.embedding` vectors (MediaPipe's method).

A first pass keeps the ``top_by_max`` samples nearest by the largest weighted
absolute difference, a second the ``top_by_mean`` of those nearest by the mean
one; each distance is the smaller of the pose's and its mirror image's. The
classes of the kept samples are the votes.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np

from blazepose.fitness.embedding import mirrored, pose_embedding

AXIS_WEIGHTS = (1.0, 1.0, 0.2)


class PoseClassifier:
    """Votes per class for a pose, from labelled sample poses.

    Args:
        landmarks_px: (N, 33, 3) sample landmarks in pixels (z scaled like x).
        classes: N class names.
        names: N sample names (file names, frames...), for reports.
        top_by_max: Samples kept by the first (max distance) pass.
        top_by_mean: Samples kept by the second (mean distance) pass: the number of votes.
        axis_weights: Weights of x, y, z in the distances.
    """

    def __init__(
        self,
        landmarks_px: np.ndarray,
        classes: list[str],
        names: list[str] | None = None,
        top_by_max: int = 30,
        top_by_mean: int = 10,
        axis_weights: tuple[float, float, float] = AXIS_WEIGHTS,
    ) -> None:
        points = np.asarray(landmarks_px, np.float64)
        if points.ndim != 3 or points.shape[1:] != (33, 3):
            raise ValueError(f"expected sample landmarks of shape (N, 33, 3), got {points.shape}")
        if len(classes) != len(points) or (names is not None and len(names) != len(points)):
            raise ValueError(f"expected {len(points)} classes and names, got {len(classes)} and {len(names or [])}")
        self.landmarks_px = points
        self.classes = [str(c) for c in classes]
        self.names = [str(n) for n in names] if names is not None else [str(i) for i in range(len(points))]
        self.top_by_max, self.top_by_mean = top_by_max, top_by_mean
        self.axis_weights = np.asarray(axis_weights, np.float64)
        self.embeddings = pose_embedding(points)

    @property
    def class_names(self) -> list[str]:
        return sorted(set(self.classes))

    def __len__(self) -> int:
        return len(self.classes)

    def votes(self, landmarks_px: np.ndarray, exclude: int | None = None) -> dict[str, int]:
        """Class -> votes (they sum to ``top_by_mean``, or fewer with fewer samples) for one pose.

        Args:
            landmarks_px: (33, 3) pixel landmarks of the pose.
            exclude: A sample index to leave out (for leave-one-out evaluation).
        """
        pose = np.asarray(landmarks_px, np.float64)
        if pose.shape != (33, 3):
            raise ValueError(f"expected one pose's landmarks of shape (33, 3), got {pose.shape}")
        if not np.all(np.isfinite(pose)):
            return {}
        keep = np.arange(len(self.classes))
        if exclude is not None:
            keep = keep[keep != exclude]
        diffs = [np.abs(self.embeddings[keep] - pose_embedding(p)) * self.axis_weights for p in (pose, mirrored(pose))]
        by_max = np.minimum(*(d.reshape(len(keep), -1).max(axis=1) for d in diffs))
        first = np.argsort(by_max, kind="stable")[: self.top_by_max]
        by_mean = np.minimum(*(d[first].reshape(len(first), -1).mean(axis=1) for d in diffs))
        second = first[np.argsort(by_mean, kind="stable")[: self.top_by_mean]]
        return dict(Counter(self.classes[keep[i]] for i in second))

    def leave_one_out_accuracy(self) -> float:
        """The share of samples whose majority vote, with the sample itself left out, is their class."""
        right = 0
        for i, pose in enumerate(self.landmarks_px):
            votes = self.votes(pose, exclude=i)
            right += bool(votes) and max(sorted(votes), key=lambda c: votes[c]) == self.classes[i]
        return right / len(self.classes)

    # -- files -------------------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Writes the samples and settings to an ``.npz`` file (no pickle)."""
        settings = {"top_by_max": self.top_by_max, "top_by_mean": self.top_by_mean,
                    "axis_weights": self.axis_weights.tolist()}  # fmt: skip
        with open(path, "wb") as f:
            np.savez_compressed(
                f, landmarks_px=self.landmarks_px.astype(np.float32), classes=np.array(self.classes, dtype=str),
                names=np.array(self.names, dtype=str), settings=np.array(json.dumps(settings)),
            )  # fmt: skip

    @classmethod
    def load(cls, path: str | Path) -> PoseClassifier:
        """Reads a classifier written by :meth:`save`.

        Raises:
            ValueError: the file is not one.
        """
        try:
            with np.load(path, allow_pickle=False) as d:
                settings = json.loads(str(d["settings"]))
                return cls(d["landmarks_px"], list(d["classes"]), list(d["names"]), settings["top_by_max"],
                           settings["top_by_mean"], tuple(settings["axis_weights"]))  # fmt: skip
        except (KeyError, OSError, ValueError) as e:
            raise ValueError(f"{path}: not a pose classifier file ({e})") from e

    @classmethod
    def from_csv(cls, *paths: str | Path, **options) -> PoseClassifier:
        """Samples from MediaPipe / ML Kit CSVs: rows ``name,class,x1,y1,z1,...,x33,y33,z33`` in pixels."""
        points, classes, names = [], [], []
        for path in paths:
            with open(path, newline="", encoding="utf-8") as f:
                for n, row in enumerate(csv.reader(f), 1):
                    if not row:
                        continue
                    if len(row) != 2 + 33 * 3:
                        raise ValueError(f"{path}:{n}: expected name, class and 99 numbers, got {len(row)} fields")
                    try:
                        points.append(np.array(row[2:], np.float64).reshape(33, 3))
                    except ValueError as e:
                        raise ValueError(f"{path}:{n}: expected numbers after name and class ({e})") from e
                    names.append(row[0])
                    classes.append(row[1])
        if not points:
            raise ValueError(f"no samples in {[str(p) for p in paths]}")
        return cls(np.stack(points), classes, names, **options)

    @classmethod
    def from_labelled_poses(cls, poses: list[tuple[str, str, np.ndarray]], **options) -> PoseClassifier:
        """Samples from ``(name, class, (33, 3) pixel landmarks)`` triples, e.g. labelled video frames."""
        if not poses:
            raise ValueError("expected at least one labelled pose, got none")
        return cls(np.stack([p for _, _, p in poses]), [c for _, c, _ in poses], [n for n, _, _ in poses], **options)


def default_classifier() -> PoseClassifier:
    """The push-up and squat classifier from ML Kit's samples (classes ``pushups_up/down``, ``squats_up/down``)."""
    from importlib.resources import files

    return PoseClassifier.load(str(files("blazepose.fitness") / "data" / "mlkit_pose_samples.npz"))
