"""Times MediaPipe Tasks' PoseLandmarker (for mediapipe 1.2.2, in its own virtual environment) on frames it is told.

    .venv-mp122/bin/python benchmarks/mp_tasks_worker.py BUNDLE FRAMES.npy video|image

Reads one command per line on stdin: ``INDEX TIMESTAMP_MS`` runs frame
INDEX of FRAMES.npy (N, H, W, 3 uint8 RGB) and prints ``MS CPU_MS POSES``
(the wall and CPU time of building the ``mp.Image`` and the detect call, in
ms, and the number of poses found); ``quit`` ends. Defaults otherwise, as a new user
gets them. Used by benchmarks/throughput.py, which interleaves it in time
with the other contenders on the same frames.
"""

from __future__ import annotations

import sys
import time

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions
from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode


def main() -> int:
    bundle, frames_path, mode = sys.argv[1:4]
    frames = np.load(frames_path, mmap_mode="r")
    running = RunningMode.VIDEO if mode == "video" else RunningMode.IMAGE
    options = PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=bundle), running_mode=running)
    with PoseLandmarker.create_from_options(options) as landmarker:
        print("ready", flush=True)
        for line in sys.stdin:
            if line.strip() == "quit":
                break
            index, ts = line.split()
            frame = np.ascontiguousarray(frames[int(index)])
            start, cpu_start = time.perf_counter(), time.process_time()
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=frame)
            if running is RunningMode.VIDEO:
                result = landmarker.detect_for_video(image, int(float(ts)))
            else:
                result = landmarker.detect(image)
            ms = (time.perf_counter() - start) * 1000
            cpu_ms = (time.process_time() - cpu_start) * 1000
            print(f"{ms:.4f} {cpu_ms:.4f} {len(result.pose_landmarks)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
