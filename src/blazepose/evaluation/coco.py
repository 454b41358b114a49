"""COCO keypoints: the 17 COCO keypoints from the 33 pose landmarks, and OKS."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from blazepose.core.similarity import COCO_FROM_POSE, COCO_SIGMAS


def to_coco_keypoints(landmarks_px: np.ndarray) -> np.ndarray:
    """(..., 33, >=2) pose landmarks in pixels -> (..., 17, 2) COCO keypoints."""
    return np.asarray(landmarks_px)[..., COCO_FROM_POSE, :2]


def oks(predicted_xy: np.ndarray, annotated: np.ndarray, area: float) -> float:
    """Object keypoint similarity of one prediction with one annotated person.

    Args:
        predicted_xy: (17, 2) predicted keypoints in pixels.
        annotated: (17, 3) ``x, y, v`` with v > 0 for labelled keypoints.
        area: The person's segment area in pixels (COCO's scale).

    Returns:
        The mean over labelled keypoints of ``exp(-d^2 / (2 area (2 sigma)^2))``;
        0 when nothing is labelled.
    """
    labelled = annotated[:, 2] > 0
    if not labelled.any():
        return 0.0
    d2 = ((predicted_xy - annotated[:, :2]) ** 2).sum(axis=1)
    e = d2 / ((2 * COCO_SIGMAS) ** 2) / (area + np.spacing(1)) / 2
    return float(np.exp(-e)[labelled].mean())


@dataclass
class AnnotatedPerson:
    """One annotated person of a COCO keypoint file."""

    image_file: str
    keypoints: np.ndarray  # (17, 3)
    area: float
    num_keypoints: int
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # x0, y0, x1, y1 pixels


def load_people(annotation_file: Path) -> list[AnnotatedPerson]:
    """The non-crowd people of a COCO person-keypoints file."""
    data = json.loads(Path(annotation_file).read_text())
    files = {img["id"]: img["file_name"] for img in data["images"]}
    return [
        AnnotatedPerson(files[a["image_id"]], np.array(a["keypoints"], np.float64).reshape(17, 3), a["area"],
                        a["num_keypoints"], (a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2],
                                             a["bbox"][1] + a["bbox"][3]))
        for a in data["annotations"]
        if not a.get("iscrowd", 0)
    ]  # fmt: skip


def match_by_oks(predictions: list[np.ndarray], people: list[AnnotatedPerson], min_oks: float) -> dict[int, int]:
    """Greedy one-to-one matching of predictions to people, best OKS first.

    Args:
        predictions: (17, 2) keypoints in pixels, one per returned pose.
        people: The annotated people of the same image.
        min_oks: Pairs below this OKS are not matched.

    Returns:
        Person index -> prediction index.
    """
    pairs = sorted(
        (
            (oks(p, person.keypoints, person.area), i, j)
            for j, p in enumerate(predictions)
            for i, person in enumerate(people)
        ),
        key=lambda pair: -pair[0],
    )
    matched: dict[int, int] = {}
    taken: set[int] = set()
    for score, i, j in pairs:
        if score < min_oks:
            break
        if i not in matched and j not in taken:
            matched[i] = j
            taken.add(j)
    return matched


def count_found(predictions: list[np.ndarray], people: list[AnnotatedPerson], threshold: float = 0.5) -> int:
    """How many people a distinct prediction matches with OKS >= threshold (see :func:`match_by_oks`)."""
    return len(match_by_oks(predictions, people, threshold))
