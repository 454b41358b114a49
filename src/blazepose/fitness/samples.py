"""Training samples for :class:`~blazepose.fitness.classifier.PoseClassifier` from photos and labelled videos."""

from __future__ import annotations

import csv
import warnings
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
    """``frame,class`` rows (a first row ``frame,class`` is allowed as header; empty class = unlabelled)
    -> frame -> class.

    Raises:
        ValueError: a first row that is neither a label nor that header (another table, such as the
            ``frame,time,label`` repetition labels, whose second column is no class), or a later row
            without a frame number.
    """
    labels = {}
    with open(path, newline="", encoding="utf-8-sig") as f:  # (a spreadsheet's byte order mark is no header)
        for n, row in enumerate(csv.reader(f), 1):
            if n == 1 and row and not row[0].strip().isdigit():
                if [c.strip().lower() for c in row[:2]] != ["frame", "class"]:
                    raise ValueError(f"{path}:1: expected the header 'frame,class' or a first label, got {row}")
                continue
            if len(row) < 2 or not row[1].strip():
                continue
            if not row[0].strip().isdigit():
                raise ValueError(f"{path}:{n}: expected 'frame,class' with a frame number, got {row[:2]}")
            labels[int(row[0])] = row[1].strip()
    return labels


def poses_from_labelled_video(video: str | Path, labels: dict[int, str], model_complexity: int = 1) -> list[Labelled]:
    """One sample per labelled frame of ``video`` that has a pose (labels: frame index -> class).

    Labelled frames that the video does not have, or that hold no pose, are left out with a
    ``UserWarning`` that counts them.

    Raises:
        ValueError: no labelled frame of the video holds a pose.
    """
    from blazepose.io.video import VideoSource

    samples = []
    source = VideoSource(str(video))
    last_ms = None
    seen, without_pose = set(), []
    try:
        with _landmarker(True, model_complexity) as landmarker:
            for frame in source.frames():
                ts = after_previous_ms(frame.timestamp_ms, last_ms)
                last_ms = ts
                result = landmarker.detect_for_video(frame.rgb, ts).result
                seen.add(frame.index)
                if frame.index in labels and not len(result):
                    without_pose.append(frame.index)
                elif frame.index in labels:
                    name = f"{Path(video).name}#{frame.index}"
                    samples.append((name, labels[frame.index], result.landmarks_px[0].astype(np.float64)))
    finally:
        source.close()
    beyond = sorted(set(labels) - seen)
    if not samples:
        raise ValueError(
            f"{video}: expected a pose on some of its {len(labels)} labelled frame(s), got none ("
            f"{len(beyond)} beyond its {len(seen)} frames, {len(without_pose)} without a pose)"
        )
    for frames, why in ((beyond, f"beyond its {len(seen)} frames"), (without_pose, "without a pose")):
        if frames:
            warnings.warn(f"{video}: {len(frames)} labelled frame(s) {why} left out (first: {frames[0]})", stacklevel=2)
    return samples
