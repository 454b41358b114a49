"""Memory and liveness under faults for a long time: rejected calls, failing callbacks, interrupted streams.

    .venv/bin/python benchmarks/fault_soak.py [--rounds 2000]

Each round: a PoseEstimator (video mode, mask on) is given a bad image, a
timestamp that does not increase, a huge one, bad boxes and then a good
frame; a LIVE_STREAM PoseLandmarker's callback raises (ValueError,
SystemExit, KeyboardInterrupt in turn) and every later frame must still be
delivered. Resident memory after a warm-up of 10% of the rounds and at the
end; exits non-zero when it grows by 5 MB or more, or when a frame goes
missing.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import time

import numpy as np
from soak import rss_mb  # benchmarks/soak.py

from blazepose import CallbackError, PoseEstimator, PoseLandmarker, PoseLandmarkerOptions, QueuePolicy, RunningMode

LIMIT_MB = 5.0
BAD_INPUTS = (
    (np.zeros((64, 64), np.uint8), None),
    (np.zeros((64, 64, 3), np.float32), None),
    (np.zeros((0, 64, 3), np.uint8), None),
    (np.zeros((64, 64, 3), np.uint8), np.array([[10.0, 10.0, 5.0, 5.0]])),
    (np.zeros((64, 64, 3), np.uint8), np.array([[np.nan, 0.0, 1.0, 1.0]])),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    frame = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    escapes = (ValueError, SystemExit, KeyboardInterrupt)
    delivered: list[float] = []

    def callback(result, image, timestamp_ms):
        delivered.append(timestamp_ms)
        if int(timestamp_ms) % 7 == 0:
            raise escapes[int(timestamp_ms) // 7 % 3]("injected")

    options = PoseLandmarkerOptions(
        model_complexity=0, running_mode=RunningMode.LIVE_STREAM, result_callback=callback,
        queue_policy=QueuePolicy.BLOCK,
    )  # fmt: skip
    logging.getLogger("blazepose").setLevel(logging.CRITICAL)  # the injected callback errors are expected
    rejected = callback_errors = 0
    warm = end = 0.0
    start = time.perf_counter()
    with PoseEstimator(model_complexity=0, enable_segmentation=True) as estimator:
        landmarker = PoseLandmarker.create_from_options(options)
        for n in range(args.rounds):
            t = n * 10.0
            for image, boxes in BAD_INPUTS:
                try:
                    estimator.process(image, t, boxes)
                except (ValueError, TypeError):
                    rejected += 1
            for bad_time in (t - 1e9, 10**400, float("nan")):
                try:
                    estimator.process(frame, bad_time)
                except ValueError:
                    rejected += 1
            estimator.process(frame, t)
            try:
                landmarker.detect_async(frame, n)
            except CallbackError:
                callback_errors += 1
            if n == args.rounds // 10:
                gc.collect()
                warm = rss_mb()
            if n == args.rounds - 1:
                gc.collect()
                end = rss_mb()
        try:
            landmarker.close()
        except CallbackError:
            callback_errors += 1

    missing = args.rounds - len(delivered)
    growth = end - warm
    print(
        f"{args.rounds} rounds in {time.perf_counter() - start:.0f} s: {rejected} calls rejected, "
        f"{callback_errors} callback errors reported, {len(delivered)} of {args.rounds} live frames delivered; "
        f"{warm:.1f} MB after {args.rounds // 10} rounds, {end:.1f} MB at the end, growth {growth:+.2f} MB"
    )
    return 1 if growth >= LIMIT_MB or missing else 0


if __name__ == "__main__":
    sys.exit(main())
