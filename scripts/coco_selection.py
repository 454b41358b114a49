"""How high accuracy picks and ranks a photo's poses, on COCO: AP of selection rules.

    PYTHONPATH=src .venv/bin/python scripts/coco_selection.py --models full

The landmark model runs once per photo, model and configuration
(``HighAccuracy.refined_poses``, every pose found and refined, with its
runs' spread; cached under ``--out``),
then each rule (which poses are kept, how they are ranked) is scored by
pycocotools' AP on three sets: ``dev`` (the first half of ``coco_mini``'s
photos by file name, where rules are chosen), ``test`` (its second half) and
``images`` (``images/coco``), both held out. A rule changes no landmark, so
these are the answers ``blazepose eval --protocol image`` would score with it.

``--configs`` picks the recall settings compared (``default``; ``no 240 px
tiles``: without the smaller tiles; ``240 px tiles, score 1``: their poses
not ranked lower; ``landmarks only``: neither, and a candidate is a person
already found when their landmarks coincide, without the OKS test).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pickle
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from blazepose.core.estimator import PoseEstimator
from blazepose.core.high_accuracy import HighAccuracy, HighAccuracySettings, RefinedPose, select_poses
from blazepose.core.landmarker import RawPose
from blazepose.core.recall import PeopleFound, RecallSettings, pose_region
from blazepose.evaluation.accuracy import _coco_result, coco_ap
from blazepose.evaluation.coco import COCO_FROM_POSE, COCO_SIGMAS
from blazepose.io.photos import read_photo

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
IMAGES = DATA / "images" / "coco"
MODELS = {"lite": 0, "full": 1, "heavy": 2}
Refined = list[RefinedPose]
# A rule: (refined poses, width, height) -> the kept poses' (33, 2) pixels and their ranking scores.
Rule = Callable[[Refined, int, int], tuple[list[np.ndarray], list[float]]]


def photo_sets() -> dict[str, tuple[Path, list[Path]]]:
    mini = sorted((DATA / "coco_mini" / "images").iterdir())
    return {
        "dev": (DATA / "coco_mini" / "person_keypoints.json", mini[: len(mini) // 2]),
        "test": (DATA / "coco_mini" / "person_keypoints.json", mini[len(mini) // 2 :]),
        "images": (
            DATA / "images" / "coco" / "person_keypoints.json",
            sorted((DATA / "images" / "coco").glob("*.jpg")),
        ),
    }


def collect(model: str, settings: HighAccuracySettings, cache: Path) -> dict[str, tuple[int, int, Refined, float]]:
    """Every photo's refined poses (and ms taken), from the cache when there."""
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    out = {}
    with PoseEstimator(
        static_image_mode=True, model_complexity=MODELS[model], max_poses=20, accuracy="high", high_accuracy=settings
    ) as est:
        high = est._high
        assert isinstance(high, HighAccuracy)
        for _, photos in photo_sets().values():
            for path in photos:
                image = read_photo(str(path))
                started = time.perf_counter()
                refined = high.refined_poses(
                    image, est._candidate_rois(image, None), 20, est.min_presence_confidence, True
                )
                ms = 1000 * (time.perf_counter() - started)
                light = [
                    r._replace(pose=dataclasses.replace(r.pose, mask_logits=None, crop=r.pose.roi)) for r in refined
                ]
                out[path.name] = (image.shape[1], image.shape[0], light, ms)
                print(f"{model} {path.name}: {len(refined)} poses, {ms:.0f} ms", file=sys.stderr, flush=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(out))
    return out


def pixels(raw: RawPose, w: int, h: int) -> np.ndarray:
    return raw.landmarks[:33, :2].astype(np.float64) * [w, h]


def shipped(settings: HighAccuracySettings, overlap_iou: float = 0.5) -> Rule:
    """The library's rule (``select_poses``), ranked by mean visibility times the pose score."""

    def rule(refined: Refined, w: int, h: int) -> tuple[list[np.ndarray], list[float]]:
        kept = select_poses(refined, w, h, settings, overlap_iou)
        return [pixels(r, w, h) for r in kept], [float(r.landmarks[:33, 3].mean() * r.score) for r in kept]

    return rule


def first_kept(settings: HighAccuracySettings, overlap_iou: float = 0.5) -> Rule:
    """The rule before the fix: of one person's poses the first found is kept."""

    def rule(refined: Refined, w: int, h: int) -> tuple[list[np.ndarray], list[float]]:
        steadiest = min((r.spread for r in refined), default=0.0)
        people = PeopleFound(w, h, settings.duplicate_iou or overlap_iou)
        for r in refined:
            if r.spread > max(settings.max_spread, steadiest):
                continue
            (scored,) = select_poses([r], w, h, settings, overlap_iou)  # this pose alone, scored as there
            own = pose_region(scored, w, h)
            if not people.overlaps(own) and not people.has(scored):
                people.add(scored, own)
        kept = people.poses
        return [pixels(r, w, h) for r in kept], [float(r.landmarks[:33, 3].mean() * r.score) for r in kept]

    return rule


def pose_oks(a: np.ndarray, b: np.ndarray, vis_b: np.ndarray | None = None) -> float:
    """OKS of two predicted poses' 17 COCO keypoints, b's keypoint box as the area."""
    ka, kb = a[COCO_FROM_POSE], b[COCO_FROM_POSE]
    area = float(np.prod(kb.max(0) - kb.min(0))) + np.spacing(1)
    d2 = ((ka - kb) ** 2).sum(1)
    return float(np.exp(-d2 / ((2 * COCO_SIGMAS) ** 2) / area / 2).mean())


def evaluate(caches: dict[str, dict], rules: dict[str, Rule]) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for name, rule in rules.items():
        row = {}
        for set_name, (annotation_file, photos) in photo_sets().items():
            data = json.loads(annotation_file.read_text())
            ids = {img["file_name"]: img["id"] for img in data["images"]}
            for model, cache in caches.items():
                results = []
                for path in photos:
                    w, h, refined, _ = cache[path.name]
                    poses, scores = rule(refined, w, h)
                    results += [
                        _coco_result(ids[path.name], p[COCO_FROM_POSE], s) for p, s in zip(poses, scores, strict=True)
                    ]
                ap = coco_ap(annotation_file, results, sorted(ids[p.name] for p in photos))["AP"]
                row[f"{set_name} {model}"] = 100 * ap
        table[name] = row
        print(name, " ".join(f"{k}={v:.1f}" for k, v in row.items()), flush=True)
    return table


CONFIGS = {
    "default": HighAccuracySettings(),
    "no 240 px tiles": HighAccuracySettings(recall=RecallSettings(small_tile_sides=())),
    "240 px tiles, score 1": HighAccuracySettings(recall=RecallSettings(small_tile_score=1.0)),
    "landmarks only": HighAccuracySettings(recall=RecallSettings(small_tile_sides=(), same_person_oks=None)),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=tuple(MODELS), default=["full"])
    parser.add_argument("--configs", nargs="+", choices=tuple(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--out", default="out/coco_selection")
    args = parser.parse_args(argv)
    for label in args.configs:
        settings = CONFIGS[label]
        tag = label.replace(" ", "_")
        caches = {m: collect(m, settings, Path(args.out) / f"{m}_{tag}.pkl") for m in args.models}
        for model, cache in caches.items():
            times = [
                f"{name} {np.mean([cache[p.name][3] for p in photos]):.0f}"
                for name, (_, photos) in photo_sets().items()
            ]
            print(f"{label}, {model}: ms per photo (refined_poses): {', '.join(times)}")
        rules = {f"{label}: best kept": shipped(settings)}
        if label == "default":
            rules[f"{label}: first kept (before)"] = first_kept(settings)
        evaluate(caches, rules)
    return 0


if __name__ == "__main__":
    sys.exit(main())
