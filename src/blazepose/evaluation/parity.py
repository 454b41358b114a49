"""Parity with MediaPipe 0.10.14: run both on the same inputs and measure the gaps.

The reference answers come either from recorded outputs (``.npz`` files as
written by ``shared/tools/mp_reference.py``) or from MediaPipe itself when it
is installed (a test and benchmark extra, never a dependency).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from blazepose.io.photos import read_photo
from blazepose.models import LANDMARK_MODELS, MODELS_DIR

VIDEO_SUFFIXES = {".avi", ".mp4", ".mov", ".mkv"}
MASK_FRAMES = 60  # the recorded references keep masks of the first 60 frames


@dataclass
class Answers:
    """One run's outputs over a sequence of frames (NaN where not found).

    Attributes:
        found: (F,) bool.
        landmarks: (F, 33, 4) x, y, z, visibility as MediaPipe returns them.
        world: (F, 33, 4) metres + visibility.
        masks: (M, H, W) uint8 round(mask * 255) of the first M frames.
    """

    found: np.ndarray
    landmarks: np.ndarray
    world: np.ndarray
    masks: np.ndarray

    @staticmethod
    def load(path: Path) -> Answers:
        d = np.load(path)
        return Answers(d["found"], d["landmarks"], d["world"], d["mask"])


def read_frames(path: Path) -> Iterator[np.ndarray]:
    """RGB frames of a photo or a video file."""
    import cv2

    if path.suffix.lower() in VIDEO_SUFFIXES:
        cap = cv2.VideoCapture(str(path))
        try:
            while True:
                ok, frame = cap.read()
                if not ok:
                    return
                yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()
    else:
        yield read_photo(str(path))


def collect_answers(process: Callable[[np.ndarray], Any], frames: Iterator[np.ndarray]) -> Answers:
    """Runs a MediaPipe-shaped ``process`` over frames and records its answers."""
    found, lms, world, masks = [], [], [], []
    nan = np.full((33, 4), np.nan, np.float32)
    for i, frame in enumerate(frames):
        r = process(frame)
        ok = r.pose_landmarks is not None
        found.append(ok)
        lms.append(
            np.array([[p.x, p.y, p.z, p.visibility] for p in r.pose_landmarks.landmark], np.float32) if ok else nan
        )
        world.append(
            np.array([[p.x, p.y, p.z, p.visibility] for p in r.pose_world_landmarks.landmark], np.float32)
            if ok
            else nan
        )
        if i < MASK_FRAMES:
            m = r.segmentation_mask if ok and r.segmentation_mask is not None else np.zeros(frame.shape[:2], np.float32)
            masks.append(np.clip(m * 255 + 0.5, 0, 255).astype(np.uint8))
    return Answers(np.array(found), np.array(lms), np.array(world), np.array(masks))


def run_blazepose(path: Path, model_complexity: int) -> Answers:
    """This library's legacy API on a photo (static mode) or video (video mode), segmentation on."""
    from blazepose.solutions.pose import Pose

    video = path.suffix.lower() in VIDEO_SUFFIXES
    with Pose(static_image_mode=not video, model_complexity=model_complexity, enable_segmentation=True) as pose:
        return collect_answers(pose.process, read_frames(path))


def mediapipe_pose(**kwargs):
    """A ``mediapipe.solutions.pose.Pose`` (MediaPipe must be installed).

    MediaPipe's wheel carries only the full landmark model and downloads the
    others on first use; the vendored lite and heavy files (same sha256) are
    copied into its model folder first so that nothing is downloaded.
    """
    import mediapipe as mp

    folder = Path(mp.__file__).resolve().parent / "modules" / "pose_landmark"
    for name in LANDMARK_MODELS.values():
        if not (folder / name).exists():
            shutil.copyfile(MODELS_DIR / name, folder / name)
    return mp.solutions.pose.Pose(**kwargs)


def run_mediapipe(path: Path, model_complexity: int) -> Answers:
    """MediaPipe 0.10.14 itself, with the same settings as :func:`run_blazepose`."""
    video = path.suffix.lower() in VIDEO_SUFFIXES
    with mediapipe_pose(static_image_mode=not video, model_complexity=model_complexity, enable_segmentation=True) as p:
        return collect_answers(p.process, read_frames(path))


@dataclass
class Gaps:
    """How far one run is from the reference over a set of frames."""

    frames: int = 0
    found_differ: int = 0
    both_found: int = 0
    pixel_distances: list[np.ndarray] = field(default_factory=list)
    world_distances: list[np.ndarray] = field(default_factory=list)
    mask_ious: list[float] = field(default_factory=list)

    def add(self, ours: Answers, ref: Answers, height: int, width: int) -> None:
        self.frames += len(ref.found)
        self.found_differ += int((ours.found != ref.found).sum())
        both = ours.found & ref.found
        self.both_found += int(both.sum())
        d = (ours.landmarks[both, :, :2] - ref.landmarks[both, :, :2]) * np.array([width, height], np.float32)
        self.pixel_distances.append(np.hypot(d[..., 0], d[..., 1]).ravel())
        self.world_distances.append(np.linalg.norm(ours.world[both, :, :3] - ref.world[both, :, :3], axis=-1).ravel())
        for i in range(min(len(ours.masks), len(ref.masks))):
            if both[i]:
                self.mask_ious.append(mask_iou(ours.masks[i], ref.masks[i]))

    def summary(self) -> dict[str, float | int]:
        px = np.concatenate(self.pixel_distances) if self.pixel_distances else np.zeros(0)
        wd = np.concatenate(self.world_distances) if self.world_distances else np.zeros(0)
        return {
            "frames": self.frames,
            "found_agree": self.frames - self.found_differ,
            "found_differ": self.found_differ,
            "both_found": self.both_found,
            "px_median": float(np.median(px)) if px.size else float("nan"),
            "px_p95": float(np.percentile(px, 95)) if px.size else float("nan"),
            "px_max": float(px.max()) if px.size else float("nan"),
            "world_median_m": float(np.median(wd)) if wd.size else float("nan"),
            "mask_iou_min": float(min(self.mask_ious)) if self.mask_ious else float("nan"),
            "mask_iou_mean": float(np.mean(self.mask_ious)) if self.mask_ious else float("nan"),
        }


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two uint8 masks (0..255) thresholded at 0.5."""
    ma, mb = a >= 128, b >= 128
    union = np.logical_or(ma, mb).sum()
    return 1.0 if union == 0 else float(np.logical_and(ma, mb).sum() / union)


def compare(
    paths: list[Path],
    model_complexity: int,
    reference: Callable[[Path, int], Answers],
    ours: Callable[[Path, int], Answers] = run_blazepose,
) -> Gaps:
    """Runs ``ours`` and ``reference`` on every path and accumulates the gaps."""
    gaps = Gaps()
    for path in paths:
        first = next(read_frames(path))
        gaps.add(ours(path, model_complexity), reference(path, model_complexity), *first.shape[:2])
    return gaps


def recorded_reference(reference_dir: Path) -> Callable[[Path, int], Answers]:
    """Reference answers read from ``<reference_dir>/<stem>.c<k>.npz``."""

    def load(path: Path, model_complexity: int) -> Answers:
        return Answers.load(reference_dir / f"{path.stem}.c{model_complexity}.npz")

    return load
