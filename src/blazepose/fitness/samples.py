"""Training samples for :class:`~blazepose.fitness.classifier.PoseClassifier` from photos and labelled videos."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from blazepose.core.timestamps import after_previous_ms
from blazepose.io.inputs import PHOTO_SUFFIXES

Labelled = tuple[str, str, np.ndarray]  # (sample name, class, (33, 3) pixel landmarks)


def _landmarker(video: bool, model_complexity: int):
    from blazepose.tasks.pose_landmarker import PoseLandmarker, PoseLandmarkerOptions, RunningMode

    mode = RunningMode.VIDEO if video else RunningMode.IMAGE
    return PoseLandmarker.create_from_options(
        PoseLandmarkerOptions(running_mode=mode, model_complexity=model_complexity)
    )


def poses_from_photo_folders(root: str | Path, model_complexity: int = 1) -> list[Labelled]:
    """One sample per photo with a pose, from ``root/<class>/<photo>``; photos without a pose are skipped.

    Raises:
        ValueError: ``root`` has no class folder with photos.
    """
    from blazepose.io.photos import read_photo

    folders = sorted(p for p in Path(root).iterdir() if p.is_dir()) if Path(root).is_dir() else []
    photos = [(d.name, f) for d in folders for f in sorted(d.iterdir()) if f.suffix.lower() in PHOTO_SUFFIXES]
    if not photos:
        raise ValueError(f"{root}: expected a folder of class folders holding photos, found none")
    samples = []
    with _landmarker(False, model_complexity) as landmarker:
        for label, photo in photos:
            result = landmarker.detect(read_photo(str(photo))).result
            if len(result):
                samples.append((photo.name, label, result.landmarks_px[0].astype(np.float64)))
    return samples


def read_frame_labels(path: str | Path) -> dict[int, str]:
    """``frame,class`` rows (a header row is allowed; empty class = unlabelled) -> frame -> class."""
    labels = {}
    with open(path, newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.reader(f), 1):
            if len(row) < 2 or not row[1].strip():
                continue
            if not row[0].strip().isdigit():
                if n == 1:
                    continue
                raise ValueError(f"{path}:{n}: expected 'frame,class' with a frame number, got {row[:2]}")
            labels[int(row[0])] = row[1].strip()
    return labels


def poses_from_labelled_video(video: str | Path, labels: dict[int, str], model_complexity: int = 1) -> list[Labelled]:
    """One sample per labelled frame of ``video`` that has a pose (labels: frame index -> class)."""
    from blazepose.io.video import VideoSource

    samples = []
    source = VideoSource(str(video))
    last_ms = None
    try:
        with _landmarker(True, model_complexity) as landmarker:
            for frame in source.frames():
                ts = after_previous_ms(frame.timestamp_ms, last_ms)
                last_ms = ts
                result = landmarker.detect_for_video(frame.rgb, ts).result
                if frame.index in labels and len(result):
                    name = f"{Path(video).name}#{frame.index}"
                    samples.append((name, labels[frame.index], result.landmarks_px[0].astype(np.float64)))
    finally:
        source.close()
    return samples
