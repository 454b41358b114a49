"""Accuracy on keypoint datasets: PCK@0.2 (torso), PCKh@0.5 (MPII) and COCO OKS AP/AR.

Two protocols:

- ``single``: each annotated person alone, as in MediaPipe's single-person
  evaluation: the person's box, enlarged and squared, is cut out and run in
  static mode; the pose found in the crop is that person's prediction.
- ``image``: whole images in static mode with several poses; predictions are
  matched to people by OKS (COCO) for PCK, and scored by COCO's own code.

COCO AP/AR come from ``pycocotools`` (the COCO team's evaluation code).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from blazepose.core.results import PoseResult
from blazepose.core.topology import PoseLandmark as L
from blazepose.evaluation.annotations import check_coco, check_mpii
from blazepose.evaluation.coco import COCO_FROM_POSE, load_people, match_by_oks
from blazepose.io.photos import read_photo

COCO_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)  # fmt: skip

# MPII joints this model has, as (MPII index, name, pose landmarks averaged).
MPII_JOINTS = (
    (0, "right_ankle", (L.RIGHT_ANKLE,)),
    (1, "right_knee", (L.RIGHT_KNEE,)),
    (2, "right_hip", (L.RIGHT_HIP,)),
    (3, "left_hip", (L.LEFT_HIP,)),
    (4, "left_knee", (L.LEFT_KNEE,)),
    (5, "left_ankle", (L.LEFT_ANKLE,)),
    (6, "pelvis", (L.LEFT_HIP, L.RIGHT_HIP)),
    (7, "thorax", (L.LEFT_SHOULDER, L.RIGHT_SHOULDER)),
    (10, "right_wrist", (L.RIGHT_WRIST,)),
    (11, "right_elbow", (L.RIGHT_ELBOW,)),
    (12, "right_shoulder", (L.RIGHT_SHOULDER,)),
    (13, "left_shoulder", (L.LEFT_SHOULDER,)),
    (14, "left_elbow", (L.LEFT_ELBOW,)),
    (15, "left_wrist", (L.LEFT_WRIST,)),
)
MPII_UPPER_NECK, MPII_HEAD_TOP = 8, 9

PCK_THRESHOLDS = np.round(np.linspace(0.0, 0.5, 51), 3)

# A runner takes an RGB image and returns the poses found: (P, 33, 2) pixels and (P,) scores.
Runner = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


# Metrics ---------------------------------------------------------------------


def pck(
    predicted: np.ndarray, annotated: np.ndarray, labelled: np.ndarray, scale: np.ndarray, threshold: float
) -> tuple[np.ndarray, float]:
    """Percentage of correct keypoints.

    A keypoint is correct when its distance to the annotation is at most
    ``threshold * scale`` of its person. Missing predictions (NaN) count as
    wrong; unlabelled keypoints do not count.

    Args:
        predicted: (N, K, 2) predicted keypoints (NaN where none).
        annotated: (N, K, 2) annotated keypoints.
        labelled: (N, K) bool, which annotations count.
        scale: (N,) each person's normalising length (torso, head...).
        threshold: Fraction of the scale.

    Returns:
        Per keypoint (K,) and overall correct fractions (NaN where nothing counts).
    """
    distance = np.linalg.norm(np.asarray(predicted, float) - np.asarray(annotated, float), axis=-1)
    with np.errstate(invalid="ignore"):
        correct = (distance <= threshold * np.asarray(scale, float)[:, None]) & labelled
    counted = labelled.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_keypoint = np.where(counted > 0, correct.sum(axis=0) / np.maximum(counted, 1), np.nan)
    overall = float(correct.sum() / labelled.sum()) if labelled.any() else float("nan")
    return per_keypoint, overall


def torso_size(keypoints: np.ndarray) -> float:
    """A COCO person's torso size: left shoulder to right hip, else right
    shoulder to left hip (NaN when neither pair is labelled).

    Args:
        keypoints: (17, 3) ``x, y, v``.
    """
    for a, b in ((5, 12), (6, 11)):
        if keypoints[a, 2] > 0 and keypoints[b, 2] > 0:
            return float(np.linalg.norm(keypoints[a, :2] - keypoints[b, :2]))
    return float("nan")


def mpii_head_size(joints: np.ndarray) -> float:
    """An MPII person's head size: upper neck to head top."""
    return float(np.linalg.norm(np.asarray(joints)[MPII_UPPER_NECK] - np.asarray(joints)[MPII_HEAD_TOP]))


def pose_to_mpii(landmarks_px: np.ndarray) -> np.ndarray:
    """(33, 2) pose landmarks -> (len(MPII_JOINTS), 2) MPII joints."""
    return np.array([np.mean([landmarks_px[i] for i in idx], axis=0) for _, _, idx in MPII_JOINTS])


# Protocols -------------------------------------------------------------------


MAX_CROP_SIDE = 8192
"""A person's crop larger than this (a box far beyond its image) is made at a smaller scale."""


def crop_person(image: np.ndarray, box: tuple[float, float, float, float], enlarge: float = 1.25):
    """Cuts a person's box, enlarged and squared, out of an image (zero outside).

    Returns:
        The crop, its top-left corner in the image and its scale (image pixels per crop pixel, 1 but
        for a crop over :data:`MAX_CROP_SIDE`): a crop pixel ``p`` is at ``p * scale + corner``.
    """
    import cv2

    x0, y0, x1, y1 = box
    if not all(np.isfinite(v) for v in box):
        raise ValueError(f"a person's box must be finite numbers, got {box}")
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    side = max(x1 - x0, y1 - y0) * enlarge
    left, top = round(cx - side / 2), round(cy - side / 2)
    size = max(round(side), 2)
    h, w = image.shape[:2]
    scale = max(1.0, size / MAX_CROP_SIDE)
    out = round(size / scale)
    # Only the part inside the image is copied (padding the whole image by a box's overshoot asked OpenCV
    # for terabytes on a box far larger than the image).
    crop = np.zeros((out, out, *image.shape[2:]), image.dtype)
    ys, xs = slice(max(top, 0), min(top + size, h)), slice(max(left, 0), min(left + size, w))
    if ys.start < ys.stop and xs.start < xs.stop:
        inside = image[ys, xs]
        y, x = round((ys.start - top) / scale), round((xs.start - left) / scale)
        if scale > 1.0:
            fit_w = max(1, min(out - x, round(inside.shape[1] / scale)))
            fit = (fit_w, max(1, min(out - y, round(inside.shape[0] / scale))))
            inside = cv2.resize(inside, fit, interpolation=cv2.INTER_AREA)
        crop[y : y + inside.shape[0], x : x + inside.shape[1]] = inside
    return crop, np.array([left, top], float), scale


def predict_people(runner: Runner, image: np.ndarray, boxes: list) -> list[tuple[np.ndarray, float] | None]:
    """Single-person protocol: the best pose in each person's crop, in image pixels."""
    out = []
    for box in boxes:
        crop, offset, scale = crop_person(image, box)
        poses, scores = runner(crop)
        out.append((poses[0] * scale + offset, float(scores[0])) if len(poses) else None)
    return out


# Datasets --------------------------------------------------------------------


@dataclass
class Evaluation:
    """Results of one model on one dataset and protocol."""

    model: str
    dataset: str  # the name in the report: see dataset_name
    protocol: str
    people: int
    pck_per_keypoint: dict[str, float]
    pck: float
    pck_curve: list[float]
    coco: dict[str, float] | None = None
    skipped: int = 0  # annotated people not scored: their image is missing
    kind: str = "coco"  # the annotation format, hence the metric: "coco" (PCK@0.2) or "mpii" (PCKh@0.5)

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def dataset_name(annotation_file: Path) -> str:
    """A dataset's name in the report: its annotation file's folder, or the folder above when that one is
    only ``annotations`` (mmpose's ``data/coco/annotations/...``)."""
    path = Path(annotation_file).absolute()  # (not resolved: a linked folder keeps the name it was given)
    generic = {"annotations", "annotation", "annots", "labels", "ann", "anns"}
    above = path.parent.parent.name
    return above if path.parent.name.lower() in generic and above else path.parent.name


def evaluate_coco(
    runner: Runner, annotation_file: Path, image_dir: Path, protocol: str, model: str, min_keypoints: int = 1,
    progress: Callable[[str], None] | None = None, dataset: str | None = None,
) -> Evaluation:  # fmt: skip
    """PCK@0.2 (torso) per keypoint and COCO OKS AP/AR on a COCO keypoint file.

    Args:
        runner: The model to evaluate.
        annotation_file: COCO person-keypoints JSON.
        image_dir: Folder of its images (people in missing images are skipped).
        protocol: ``single`` or ``image``.
        model: Name for the report.
        min_keypoints: People with fewer labelled keypoints are not evaluated.
        progress: Called with a line per image.
        dataset: Its name in the report (None: :func:`dataset_name`).
    """
    if protocol not in ("single", "image"):
        raise ValueError(f"protocol must be 'single' or 'image', got {protocol!r}")
    data = json.loads(Path(annotation_file).read_text())
    ids = {img["file_name"]: img["id"] for img in data["images"]}
    wanted = [p for p in load_people(annotation_file) if p.num_keypoints >= min_keypoints]
    people = [p for p in wanted if (image_dir / p.image_file).is_file()]
    if not people:
        raise ValueError(f"no annotated person of {annotation_file} has an image in {image_dir}")
    by_image: dict[str, list] = {}
    for p in people:
        by_image.setdefault(p.image_file, []).append(p)
    predicted = np.full((len(people), 17, 2), np.nan)
    results = []
    index = {id(p): i for i, p in enumerate(people)}
    for n, (name, persons) in enumerate(sorted(by_image.items())):
        if progress:
            progress(f"{model} {protocol} {n + 1}/{len(by_image)} {name}")
        image = read_photo(str(image_dir / name))
        if protocol == "single":
            found = predict_people(runner, image, [p.box for p in persons])
            pairs = [(p, f) for p, f in zip(persons, found, strict=True) if f is not None]
            for p, (pose, score) in pairs:
                predicted[index[id(p)]] = pose[COCO_FROM_POSE]
                results.append(_coco_result(ids[name], pose[COCO_FROM_POSE], score))
        else:
            poses, scores = runner(image)
            coco_poses = [pose[COCO_FROM_POSE] for pose in poses]
            results += [_coco_result(ids[name], cp, float(s)) for cp, s in zip(coco_poses, scores, strict=True)]
            # Any positive OKS pairs a prediction with a person for PCK.
            for i, j in match_by_oks(coco_poses, persons, np.finfo(float).smallest_subnormal).items():
                predicted[index[id(persons[i])]] = coco_poses[j]
    annotated = np.array([p.keypoints[:, :2] for p in people]).reshape(-1, 17, 2)
    labelled = np.array([p.keypoints[:, 2] > 0 for p in people]).reshape(-1, 17)
    scale = np.array([torso_size(p.keypoints) for p in people])
    labelled &= np.isfinite(scale)[:, None]
    per, overall = pck(predicted, annotated, labelled, scale, 0.2)
    curve = [pck(predicted, annotated, labelled, scale, t)[1] for t in PCK_THRESHOLDS]
    return Evaluation(
        model=model,
        dataset=dataset or dataset_name(annotation_file),
        protocol=protocol,
        people=len(people),
        pck_per_keypoint=dict(zip(COCO_NAMES, per.tolist(), strict=True)),
        pck=overall,
        pck_curve=curve,
        coco=coco_ap(annotation_file, results, sorted({ids[n] for n in by_image}), min_keypoints),
        skipped=len(wanted) - len(people),
    )


def _coco_result(image_id: int, keypoints: np.ndarray, score: float) -> dict:
    kp = np.concatenate([keypoints, np.ones((17, 1))], axis=1)
    return {"image_id": image_id, "category_id": 1, "keypoints": kp.ravel().tolist(), "score": score}


def coco_ap(annotation_file: Path, results: list[dict], image_ids: list[int], min_keypoints: int = 1) -> dict:
    """COCO keypoint AP/AR (pycocotools) of results on the given images."""
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("COCO AP needs pycocotools: pip install 'blazepose[eval]'") from e
    names = ["AP", "AP50", "AP75", "AP_medium", "AP_large", "AR", "AR50", "AR75", "AR_medium", "AR_large"]
    if not results:
        return dict.fromkeys(names, 0.0)
    with contextlib.redirect_stdout(io.StringIO()):
        data = json.loads(Path(annotation_file).read_text())
        # People below min_keypoints are ignored, like COCO's crowd regions.
        for a in data["annotations"]:
            if a["num_keypoints"] < min_keypoints:
                a["iscrowd"] = 1
        gt = COCO()
        gt.dataset = data
        gt.createIndex()
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, "keypoints")
        ev.params.imgIds = image_ids
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {n: float(v) for n, v in zip(names, ev.stats, strict=True)}


def evaluate_mpii(
    runner: Runner, annotation_file: Path, image_dir: Path, model: str, progress: Callable[[str], None] | None = None,
    dataset: str | None = None,
) -> Evaluation:  # fmt: skip
    """PCKh@0.5 per joint on MPII annotations in the mmpose test format, one
    person per entry, single-person protocol (box from MPII's centre and
    scale: a person of height ``200 * scale`` pixels). People whose image is
    missing are skipped and counted."""
    every = json.loads(Path(annotation_file).read_text())
    entries = [e for e in every if (image_dir / e["image"]).is_file()]
    if not entries:
        raise ValueError(f"no annotated person of {annotation_file} has an image in {image_dir}")
    joints_idx = [j for j, _, _ in MPII_JOINTS]
    predicted, annotated, labelled, scale = [], [], [], []
    for n, e in enumerate(entries):
        if progress:
            progress(f"{model} mpii {n + 1}/{len(entries)} {e['image']}")
        image = read_photo(str(image_dir / e["image"]))
        cx, cy = e["center"]
        half = 100.0 * e["scale"]
        (found,) = predict_people(runner, image, [(cx - half, cy - half, cx + half, cy + half)])
        predicted.append(pose_to_mpii(found[0]) if found else np.full((len(joints_idx), 2), np.nan))
        joints = np.asarray(e["joints"], float)
        annotated.append(joints[joints_idx])
        labelled.append(np.asarray(e["joints_vis"], bool)[joints_idx])
        scale.append(mpii_head_size(joints))
    pred, ann, lab, sc = (np.array(v) for v in (predicted, annotated, labelled, scale))
    per, overall = pck(pred, ann, lab, sc, 0.5)
    curve = [pck(pred, ann, lab, sc, t)[1] for t in PCK_THRESHOLDS]
    return Evaluation(
        model=model,
        dataset=dataset or dataset_name(annotation_file),
        kind="mpii",
        protocol="single",
        people=len(entries),
        pck_per_keypoint=dict(zip([name for _, name, _ in MPII_JOINTS], per.tolist(), strict=True)),
        pck=overall,
        pck_curve=curve,
        skipped=len(every) - len(entries),
    )


# Runners ---------------------------------------------------------------------


def pose_ranking_scores(result: PoseResult, accuracy: str) -> np.ndarray:
    """(P,) the scores that rank a photo's poses for COCO AP: the mean
    visibility, as MediaPipe's runner (which has no presence score), times,
    in high accuracy, the pose score (presence times how well the
    refinement runs agree, :func:`blazepose.core.high_accuracy.consistency`)."""
    visibility = result.visibility.mean(axis=1).astype(float)
    return visibility * result.pose_scores.astype(float) if accuracy == "high" else visibility


def blazepose_runner(
    model_complexity: int,
    max_poses: int = 1,
    accuracy: str = "fast",
    precision: str = "float32",
    backend: str = "litert",
) -> tuple[Runner, Callable[[], None]]:
    """This library in static mode (``accuracy`` ``"fast"`` or ``"high"``, ``precision`` ``"float32"``,
    ``"int8"`` or ``"bfloat16"``, on the named engine); returns the runner and a close function."""
    from blazepose.core.estimator import PoseEstimator

    estimator = PoseEstimator(
        static_image_mode=True,
        model_complexity=model_complexity,
        max_poses=max_poses,
        accuracy=accuracy,
        precision=precision,
        backend=backend,
    )

    def run(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = estimator.process(image)
        return r.landmarks_px[:, :, :2].astype(float), pose_ranking_scores(r, accuracy)

    return run, estimator.close


def mediapipe_runner(model_complexity: int) -> tuple[Runner, Callable[[], None]]:
    """MediaPipe 0.10.14's legacy Pose in static mode (one pose; score = mean visibility)."""
    from blazepose.evaluation.parity import mediapipe_pose

    pose = mediapipe_pose(static_image_mode=True, model_complexity=model_complexity)

    def run(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = pose.process(image)
        if r.pose_landmarks is None:
            return np.zeros((0, 33, 2)), np.zeros(0)
        h, w = image.shape[:2]
        lm = np.array([[p.x * w, p.y * h] for p in r.pose_landmarks.landmark])
        return lm[None], np.array([np.mean([p.visibility for p in r.pose_landmarks.landmark])])

    return run, pose.close


# Checks before a run ---------------------------------------------------------


def missing_images(annotation_file: Path, image_dir: Path, kind: str, min_keypoints: int = 1) -> tuple[int, list[str]]:
    """People of an annotation file whose image is not in ``image_dir``.

    Returns:
        The number of such people (of those that would be scored), and the
        missing image names, sorted.

    Raises:
        ValueError: the file is not a COCO person-keypoints file (``kind``
            ``coco``) or an MPII file in the mmpose format (``mpii``).
    """
    try:
        data = json.loads(Path(annotation_file).read_text())
        if kind == "coco":
            check_coco(data)
            files = [p.image_file for p in load_people(annotation_file) if p.num_keypoints >= min_keypoints]
        else:
            check_mpii(data)
            files = [e["image"] for e in data]
    except (ValueError, TypeError, KeyError, IndexError) as e:  # (json's and the checks' are ValueErrors)
        expected = "a COCO person-keypoints JSON" if kind == "coco" else "MPII annotations in the mmpose JSON format"
        raise ValueError(f"{annotation_file}: not {expected} ({e})") from e
    if not files:
        raise ValueError(f"{annotation_file}: no annotated person to score")
    missing = [f for f in files if not (image_dir / f).is_file()]
    return len(missing), sorted(set(missing))
