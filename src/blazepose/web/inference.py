"""The pipeline behind the routes: client options, a pool of photo landmarkers, one live session per socket.

Everything here is blocking and runs in worker threads, never on the event loop.
"""

from __future__ import annotations

import base64
import dataclasses
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from blazepose.tasks.pose_landmarker import BaseOptions, PoseLandmarker, PoseLandmarkerOptions, RunningMode
from blazepose.web.counting import FitnessOptions, LiveCounter

MASK_LONG_SIDE = 160  # pixels on the long side of the mask sent to the page


@dataclass(frozen=True)
class PoseOptions:
    """What a client may choose, with the names of MediaPipe's JavaScript demo.

    ``min_tracking_confidence`` also serves as the presence threshold of a
    newly found pose, as in MediaPipe's legacy API.
    """

    model_complexity: int = 1
    num_poses: int = 1
    smooth_landmarks: bool = True
    enable_segmentation: bool = False
    smooth_segmentation: bool = True
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5

    @classmethod
    def from_mapping(cls, values: dict[str, Any], max_poses: int) -> PoseOptions:
        """Checked options from a client's JSON object (unknown keys are errors).

        Raises:
            ValueError: an unknown key, or a value of the wrong type or range.
        """
        if not isinstance(values, dict):
            raise ValueError(f"options must be a JSON object, got {type(values).__name__}")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown option(s) {unknown}; expected some of {sorted(known)}")
        checked: dict[str, Any] = {}
        for name, value in values.items():
            kind = type(getattr(cls(), name))
            if kind is bool and not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false, got {value!r}")
            if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{name} must be an integer, got {value!r}")
            if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f"{name} must be a number, got {value!r}")
            checked[name] = kind(value)
        options = cls(**checked)
        if options.model_complexity not in (0, 1, 2):
            raise ValueError(f"model_complexity must be 0, 1 or 2, got {options.model_complexity}")
        if not 1 <= options.num_poses <= max_poses:
            raise ValueError(f"num_poses must be in 1..{max_poses}, got {options.num_poses}")
        for name in ("min_detection_confidence", "min_tracking_confidence"):
            if not 0.0 <= getattr(options, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(options, name)}")
        return options

    def landmarker_options(self, mode: RunningMode, model_threads: int | None) -> PoseLandmarkerOptions:
        return PoseLandmarkerOptions(
            base_options=BaseOptions(num_threads=model_threads),
            running_mode=mode,
            num_poses=self.num_poses,
            model_complexity=self.model_complexity,
            min_pose_detection_confidence=self.min_detection_confidence,
            min_pose_presence_confidence=self.min_tracking_confidence,
            min_tracking_confidence=self.min_tracking_confidence,
            output_segmentation_masks=self.enable_segmentation,
            smooth_landmarks=self.smooth_landmarks,
            smooth_segmentation=self.smooth_segmentation,
        )


class LandmarkerPool:
    """IMAGE-mode landmarkers kept between photo requests, one per caller at a time.

    A landmarker serves one thread at a time, so a request takes one out
    (loading the models when none is idle) and gives it back. At most
    ``max_idle`` idle ones are kept; the least recently used go first.
    """

    def __init__(self, model_threads: int | None, max_idle: int = 4) -> None:
        self.model_threads = model_threads
        self.max_idle = max_idle
        self._idle: OrderedDict[int, tuple[PoseOptions, PoseLandmarker]] = OrderedDict()
        self._lock = threading.Lock()
        self._closed = False

    def take(self, options: PoseOptions) -> PoseLandmarker:
        with self._lock:
            for key, (kept_options, landmarker) in self._idle.items():
                if kept_options == options:
                    del self._idle[key]
                    return landmarker
        return PoseLandmarker.create_from_options(options.landmarker_options(RunningMode.IMAGE, self.model_threads))

    def give_back(self, options: PoseOptions, landmarker: PoseLandmarker) -> None:
        evicted = []
        with self._lock:
            if self._closed:
                evicted.append(landmarker)
            else:
                self._idle[id(landmarker)] = (options, landmarker)
                while len(self._idle) > self.max_idle:
                    evicted.append(self._idle.popitem(last=False)[1][1])
        for old in evicted:
            old.close()
        if evicted:
            trim_heap()  # (an evicted model's memory back to the system, as after a live session)

    def detect(self, options: PoseOptions, rgb: np.ndarray):
        """The poses in one photo (static mode), as a ``PoseResult`` with track ids 0..N-1.

        The ids are renumbered so that a photo's answer does not depend on
        which pooled landmarker served it (as ``blazepose run`` on one photo).
        """
        landmarker = self.take(options)
        try:
            result = landmarker.detect(rgb).result
        finally:
            self.give_back(options, landmarker)
        assert result is not None
        return dataclasses.replace(result, track_ids=np.arange(len(result), dtype=np.int64))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle = [landmarker for _, landmarker in self._idle.values()]
            self._idle.clear()
        for landmarker in idle:
            landmarker.close()


class LiveSession:
    """One WebSocket's tracker: a VIDEO-mode landmarker fed with the browser's timestamps.

    With ``fitness`` options it also counts repetitions per track id
    (:class:`~blazepose.web.counting.LiveCounter`, importing ``blazepose.fitness`` then only).
    """

    def __init__(self, options: PoseOptions, model_threads: int | None, fitness: FitnessOptions | None = None) -> None:
        self.options = options
        self.frames = 0
        self.counter: LiveCounter | None = None
        self.set_counting(fitness)
        self._landmarker = PoseLandmarker.create_from_options(
            options.landmarker_options(RunningMode.VIDEO, model_threads)
        )

    def process(self, rgb: np.ndarray, timestamp_ms: float) -> dict[str, Any]:
        """The message answering one frame (see docs/web.md for its fields).

        Raises:
            ValueError: the timestamp does not increase (the tracker is unchanged).
        """
        started = time.perf_counter()
        result = self._landmarker.detect_for_video(rgb, timestamp_ms).result
        assert result is not None
        inference_ms = (time.perf_counter() - started) * 1000
        self.frames += 1
        fitness = self.counter.update(result, timestamp_ms / 1000) if self.counter is not None else None
        return {
            "type": "result",
            "frame": self.frames - 1,
            "timestamp_ms": timestamp_ms,
            "image_size": list(result.image_size),
            "poses": [
                {
                    "id": int(result.track_ids[i]),
                    "score": round(float(result.pose_scores[i]), 4),
                    "landmarks": np.concatenate(
                        [result.landmarks[i], result.visibility[i][:, None], result.presence[i][:, None]], axis=1
                    )
                    .round(5)
                    .tolist(),
                    "world_landmarks": result.world_landmarks[i].round(5).tolist(),
                }
                for i in range(len(result))
            ],
            "mask": small_mask(result.segmentation_mask),
            "inference_ms": round(inference_ms, 2),
            "fitness": fitness,
        }

    def set_counting(self, fitness: FitnessOptions | None) -> None:
        """Starts counting afresh with these options (from the next frame on), or stops it (None)."""
        if fitness is None:
            self.counter = None
        else:
            from blazepose.web.counting import LiveCounter

            self.counter = LiveCounter(fitness, one_person=self.options.num_poses == 1)

    def close(self) -> None:
        """Frees the models and hands the freed heap back to the system (see :func:`trim_heap`)."""
        self._landmarker.close()
        trim_heap()


def trim_heap() -> None:
    """Returns freed heap memory to the system where glibc allows it (a no-op elsewhere).

    glibc keeps the memory of freed models in its per-thread arenas; a server
    that loads models per connection would otherwise sit at the peak of its
    busiest moment for good.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def small_mask(mask: np.ndarray | None) -> dict[str, Any] | None:
    """The merged mask scaled down to ``MASK_LONG_SIDE`` pixels, as base64 uint8 rows (0..255)."""
    if mask is None:
        return None
    import cv2

    height, width = mask.shape
    scale = min(1.0, MASK_LONG_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(mask, size, interpolation=cv2.INTER_AREA)
    pixels = np.clip(small * 255 + 0.5, 0, 255).astype(np.uint8)
    return {"width": size[0], "height": size[1], "data": base64.b64encode(pixels.tobytes()).decode("ascii")}


def options_dict(options: PoseOptions) -> dict[str, Any]:
    return asdict(options)
