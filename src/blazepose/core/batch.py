"""Many independent video streams tracked together, their landmark crops run as one batch per step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from blazepose.backends import DEFAULT_BACKEND, DEFAULT_PRECISION
from blazepose.core.engines import PoseEngines
from blazepose.core.estimator import PoseEstimator
from blazepose.core.landmarker import RawPose
from blazepose.core.results import PoseResult
from blazepose.core.single_caller import SingleCaller
from blazepose.core.validation import check_positive_int, check_rgb_image


class StreamBatch:
    """Tracks ``num_streams`` independent streams (videos, cameras) with one pair of engines.

    Each :meth:`process` call takes at most one frame per stream. The person
    detector runs per stream where due (its graph takes one image), then the
    landmark crops of every stream are run as one batched inference, so an
    engine that gains from batching (a GPU, or a CPU engine with many
    cores) is used well. Each stream keeps its own tracks, filters, clock
    and track ids: its answers are those of its own :class:`PoseEstimator`
    in video mode, bit for bit with LiteRT (whose batched items are computed
    independently; tests/core/test_batch.py checks it).

    Args:
        num_streams: Number of streams (>= 1).
        batched: One landmark inference per step for all crops; False runs
            the crops one by one (same answers; for engines that cannot
            batch).
        model_complexity: 0, 1 or 2, for every stream.
        num_threads: Inference threads (None: the available cores, at most 4).
        backend: Inference engine name.
        precision: ``"float32"``, ``"int8"`` or ``"bfloat16"`` (see :class:`PoseEstimator`).
        **options: Any other :class:`PoseEstimator` option, for every
            stream (video mode only: ``static_image_mode`` is refused).

    Raises:
        ValueError: bad ``num_streams`` or option.
    """

    def __init__(
        self,
        num_streams: int,
        *,
        batched: bool = True,
        model_complexity: int = 1,
        num_threads: int | None = None,
        backend: str = DEFAULT_BACKEND,
        precision: str = DEFAULT_PRECISION,
        **options: Any,
    ) -> None:
        check_positive_int("num_streams", num_streams)
        if options.get("static_image_mode"):
            raise ValueError("StreamBatch tracks video streams; static_image_mode=True is not accepted")
        if "engines" in options:
            raise ValueError("StreamBatch loads its own engines; 'engines' is not accepted")
        self.batched = bool(batched)
        self._engines = PoseEngines.load(model_complexity, backend, num_threads, precision)
        self._options = {"model_complexity": model_complexity, "precision": precision, **options}
        try:
            self._streams = [self._new_stream() for _ in range(num_streams)]
        except (TypeError, ValueError):
            self._engines.close()
            raise
        self._closed = False
        self.calls = SingleCaller(type(self).__name__)

    def __len__(self) -> int:
        return len(self._streams)

    def stream(self, index: int) -> PoseEstimator:
        """The estimator holding stream ``index``'s state (for its counters and options; use :meth:`process`).

        Raises:
            IndexError: no such stream (negative indices are not taken).
        """
        return self._streams[self._index(index)]

    def _index(self, index: object) -> int:
        n = len(self._streams)
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < n:
            raise IndexError(f"expected a stream index in 0..{n - 1}, got {index!r}")
        return int(index)

    def process(
        self, frames: Sequence[np.ndarray | None], timestamps_ms: Sequence[float | None] | None = None
    ) -> list[PoseResult | None]:
        """Processes one frame of each stream (None: that stream has no frame this step).

        Args:
            frames: One (H, W, 3) uint8 RGB image or None per stream; sizes
                may differ between streams.
            timestamps_ms: Per stream, the frame's time in milliseconds,
                increasing within each stream (None or a None entry: that
                stream's clock steps by ``1 / fps``).

        Returns:
            Per stream, its :class:`PoseResult`, or None where no frame was given.

        Raises:
            TypeError, ValueError: wrong number of frames or timestamps, a
                bad image or timestamp; no stream's state is changed then.
            RuntimeError: another thread is inside a call of this instance.
        """
        with self.calls.call("process"):
            return self._process(frames, timestamps_ms)

    def _process(
        self, frames: Sequence[np.ndarray | None], timestamps_ms: Sequence[float | None] | None
    ) -> list[PoseResult | None]:
        if self._closed:
            raise ValueError("this StreamBatch is closed; create a new one")
        n = len(self._streams)
        if not _is_list_like(frames):
            raise TypeError(f"expected a list of {n} frames (one per stream, or None), got {type(frames).__name__}")
        if timestamps_ms is not None and not _is_list_like(timestamps_ms):
            raise TypeError(
                f"expected None or a list of {n} timestamps in ms (one per stream), got {type(timestamps_ms).__name__}"
            )
        times = [None] * n if timestamps_ms is None else list(timestamps_ms)
        if len(frames) != n or len(times) != n:
            raise ValueError(f"expected {n} frames and timestamps (one per stream), got {len(frames)} and {len(times)}")
        steps: list[tuple[PoseEstimator, np.ndarray, int]] = []
        for stream, frame, ms in zip(self._streams, frames, times, strict=True):
            if frame is not None:
                check_rgb_image(frame)
                steps.append((stream, frame, stream.next_timestamp_us(ms)))
        # Checked: now the state changes, as PoseEstimator.process would change it (each clock only once its
        # frame went through: a frame whose inference failed may be given again with the same time).
        plans = []
        for stream, frame, _ in steps:
            stream.frames_processed += 1
            plans.append(stream._frame_regions(frame, None))
        regions = [
            (frame, roi, threshold)
            for (_, frame, _), due in zip(steps, plans, strict=True)
            for _, roi, threshold in due
        ]
        raws = self._engines.landmarker.run_many(regions, self._streams[0].enable_segmentation, self.batched)
        answers: dict[int, PoseResult] = {}
        start = 0
        for (stream, frame, ts), due in zip(steps, plans, strict=True):
            mine: list[RawPose | None] = raws[start : start + len(due)]
            start += len(due)
            answers[id(stream)] = stream._finish_video_frame(frame, ts, due, mine)
            stream._last_timestamp_us = ts
        return [
            answers.get(id(stream)) if frame is not None else None
            for stream, frame in zip(self._streams, frames, strict=True)
        ]

    def _new_stream(self) -> PoseEstimator:
        return PoseEstimator(engines=self._engines, **self._options)

    def renew(self, index: int) -> None:
        """Gives stream ``index`` a new estimator, for a new video: no poses, no clock, track ids from 0 again.

        Raises:
            IndexError: no such stream.
            RuntimeError: another thread is inside a call of this instance.
        """
        with self.calls.call("renew"):
            if self._closed:
                raise ValueError("this StreamBatch is closed; create a new one")
            index = self._index(index)
            old = self._streams[index]
            self._streams[index] = self._new_stream()
            old.close()  # (the engines are shared: they stay)

    def reset(self, index: int | None = None) -> None:
        """Forgets stream ``index``'s poses and clock (every stream's when None).

        Raises:
            IndexError: no such stream.
            ValueError: the batch is closed.
            RuntimeError: another thread is inside a call of this instance.
        """
        with self.calls.call("reset"):
            if self._closed:
                raise ValueError("this StreamBatch is closed; create a new one")
            for stream in self._streams if index is None else [self._streams[self._index(index)]]:
                stream.reset()

    def close(self) -> None:
        """Frees the engines. The instance cannot be used afterwards.

        Raises:
            RuntimeError: another thread is inside a call of this instance.
        """
        with self.calls.call("close"):
            self._close()

    def _close(self) -> None:
        if not self._closed:
            for stream in self._streams:
                stream.close()
            self._engines.close()
            self._closed = True

    def __enter__(self) -> StreamBatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_list_like(values: object) -> bool:
    """A list, tuple or other sequence, or an array (not a string, a mapping or a single value)."""
    return isinstance(values, np.ndarray) or (isinstance(values, Sequence) and not isinstance(values, (str, bytes)))
