"""Checks that the default thread count gives the same bits as one thread, through every API.

    PYTHONPATH=src python scripts/thread_parity.py [--frames 205]

Inputs: the 29 shared photos (image mode) and the shared dance video (video
mode), each model. Each API runs twice, once with ``num_threads=1`` and once
at its default; every output array must be equal bit for bit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from blazepose.backends import default_num_threads
from blazepose.core.estimator import PoseEstimator
from blazepose.io.photos import read_photo
from blazepose.io.video import VideoSource
from blazepose.solutions.pose import Pose
from blazepose.tasks import BaseOptions, PoseLandmarker, PoseLandmarkerOptions, RunningMode

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
FIELDS = ("landmarks", "world_landmarks", "visibility", "presence", "pose_scores", "rois")


def estimator_outputs(frames: list[np.ndarray], complexity: int, video: bool, threads: int | None) -> list:
    with PoseEstimator(static_image_mode=not video, model_complexity=complexity, num_threads=threads) as est:
        return [[getattr(r, f) for f in FIELDS] for r in (est.process(f) for f in frames)]


def landmarker_outputs(frames: list[np.ndarray], complexity: int, video: bool, threads: int | None) -> list:
    options = PoseLandmarkerOptions(
        base_options=BaseOptions(num_threads=threads),
        running_mode=RunningMode.VIDEO if video else RunningMode.IMAGE,
        model_complexity=complexity,
    )
    out = []
    with PoseLandmarker.create_from_options(options) as landmarker:
        for i, f in enumerate(frames):
            r = (landmarker.detect_for_video(f, i * 20) if video else landmarker.detect(f)).result
            out.append([getattr(r, name) for name in FIELDS])
    return out


def solution_outputs(frames: list[np.ndarray], complexity: int, video: bool, threads: int | None) -> list:
    out = []
    with Pose(static_image_mode=not video, model_complexity=complexity, num_threads=threads) as pose:
        for f in frames:
            r = pose.process(f)
            lms = r.pose_landmarks
            out.append([] if lms is None else [np.array([[p.x, p.y, p.z, p.visibility] for p in lms.landmark])])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=205, help="video frames to use")
    args = parser.parse_args()
    photos = [read_photo(p) for p in sorted((DATA / "images").glob("*/*.jpg"))]
    source = VideoSource(str(DATA / "video" / "dance_720p.avi"))
    video = [f.rgb for _, f in zip(range(args.frames), source.frames(), strict=False)]
    source.close()
    print(f"default threads here: {default_num_threads()}; {len(photos)} photos, {len(video)} video frames")
    failures = 0
    for api in (estimator_outputs, landmarker_outputs, solution_outputs):
        for complexity in (0, 1, 2):
            for is_video, frames in ((False, photos), (True, video)):
                one = api(frames, complexity, is_video, 1)
                default = api(frames, complexity, is_video, None)
                same = all(
                    len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
                    for a, b in zip(one, default, strict=True)
                )
                failures += not same
                mode = "video" if is_video else "image"
                verdict = "bit-exact" if same else "DIFFERENT"
                print(f"{api.__name__:20s} model {complexity} {mode}: {verdict}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
