"""Several videos at once in one process, their landmark crops run as one batch per step (``--streams N``).

Each video is processed by :func:`~blazepose.runner.jobs.process_input` in a
thread of its own (decoding, writing and drawing as for one video), but its
tracker is a stream of one shared :class:`~blazepose.core.batch.StreamBatch`:
a thread that has a frame waits until every other video in flight has one
too (or has finished), then the step runs all their crops as one inference.
On LiteRT every video's answers are those of its own tracker bit for bit
(StreamBatch's items are computed independently), so the files are the same
as a sequential run's; an engine that gains from batches (a GPU) gets them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np

from blazepose.core.batch import StreamBatch
from blazepose.core.results import PoseResult
from blazepose.core.validation import check_positive_int, check_rgb_image
from blazepose.io.inputs import Input, output_names
from blazepose.runner.jobs import InputOutcome, Job, ProgressCallback, RunSettings, landmarker_options, process_input


@dataclass(frozen=True)
class Tracked:
    """One frame's answer, shaped as :meth:`PoseLandmarker.detect_for_video`'s (``.result``)."""

    result: PoseResult


class SharedStreams:
    """A :class:`StreamBatch` whose streams are lent to threads, one video each.

    Args:
        settings: The run's settings (model, engine, thresholds, smoothing...).
        streams: Videos tracked at once (>= 1).

    Raises:
        ValueError: bad ``streams`` or settings.
    """

    def __init__(self, settings: RunSettings, streams: int) -> None:
        check_positive_int("streams", streams)
        options = landmarker_options(settings, video=True)
        options.pop("static_image_mode")
        self._batch = StreamBatch(streams, **options)
        self._free = list(range(streams))  # the streams not lent
        self._pending: dict[int, tuple[np.ndarray, float]] = {}
        self._answers: dict[int, PoseResult | BaseException] = {}
        self._lock = threading.Condition()

    def open(self) -> StreamSlot:
        """Lends a free stream, as new (no poses, no clock, track ids from 0).

        Raises:
            RuntimeError: every stream is lent.
        """
        with self._lock:
            if not self._free:
                raise RuntimeError(f"all {len(self._batch)} streams are in use")
            index = self._free.pop()
            self._batch.renew(index)
        return StreamSlot(self, index)

    def track(self, index: int, rgb: np.ndarray, timestamp_ms: float) -> PoseResult:
        """Stream ``index``'s answer for its next frame, once the step that includes it has run."""
        check_rgb_image(rgb)  # a bad frame or time fails its own video only, not the step
        with self._lock:
            self._batch.stream(index).next_timestamp_us(timestamp_ms)
            self._pending[index] = (rgb, timestamp_ms)
            self._step_when_all_in()
            while index not in self._answers:
                self._lock.wait()
            answer = self._answers.pop(index)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def release(self, index: int) -> None:
        """Gives stream ``index`` back; the others no longer wait for it."""
        with self._lock:
            self._pending.pop(index, None)
            self._answers.pop(index, None)
            self._free.append(index)
            self._step_when_all_in()

    def _step_when_all_in(self) -> None:
        """Runs one step when every lent stream has a frame waiting (the lock held)."""
        if not self._pending or len(self._pending) < len(self._batch) - len(self._free):
            return
        frames: list[np.ndarray | None] = [None] * len(self._batch)
        times: list[float | None] = [None] * len(self._batch)
        for index, (rgb, ms) in self._pending.items():
            frames[index], times[index] = rgb, ms
        try:
            results = self._batch.process(frames, times)
            for index in self._pending:
                answer = results[index]
                assert answer is not None
                self._answers[index] = answer
        except Exception as e:  # the engine failed: every video in this step fails with it
            for index in self._pending:
                self._answers[index] = e
        self._pending.clear()
        self._lock.notify_all()

    def close(self) -> None:
        """Frees the engines."""
        self._batch.close()

    def __enter__(self) -> SharedStreams:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StreamSlot:
    """One video's stream of a :class:`SharedStreams`, used as a VIDEO-mode landmarker by ``process_input``."""

    def __init__(self, owner: SharedStreams, index: int) -> None:
        self._owner = owner
        self._index: int | None = index

    def detect_for_video(self, rgb: np.ndarray, timestamp_ms: float) -> Tracked:
        if self._index is None:
            raise ValueError("this stream was closed")
        return Tracked(self._owner.track(self._index, rgb, timestamp_ms))

    def close(self) -> None:
        if self._index is not None:
            self._owner.release(self._index)
            self._index = None


def run_streams(
    inputs: Sequence[Input],
    settings: RunSettings,
    streams: int,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    names: Sequence[str] | None = None,
) -> Iterator[InputOutcome]:
    """Processes ``inputs``, ``streams`` videos at a time, and yields each outcome as it completes.

    Photos, and videos with ``accuracy="high"`` (a whole-clip pass), are
    processed as by :func:`~blazepose.runner.jobs.run_sequentially`, in the
    same threads. Outputs are named as there.

    Args:
        inputs: What to process.
        settings: As for :func:`process_input`.
        streams: Videos in flight at once (>= 1).
        progress: Called from the videos' threads as frames are done.
        should_stop: Once True, inputs not started are dropped and the
            running videos stop at their next frame.
        names: The outputs' names (None: :func:`output_names` of ``inputs``).

    Raises:
        ValueError: ``streams`` < 1.
    """
    check_positive_int("streams", streams)
    names = output_names(list(inputs)) if names is None else names
    if not inputs:
        return
    jobs = iter([(i, inp, name) for i, (inp, name) in enumerate(zip(inputs, names, strict=True))])
    for _, outcome in run_stream_jobs(jobs, settings, min(streams, len(inputs)), progress, should_stop):
        yield outcome


def run_stream_jobs(
    jobs: Iterator[Job],
    settings: RunSettings,
    streams: int,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Iterator[tuple[int, InputOutcome]]:
    """:func:`run_streams` on inputs taken from ``jobs`` one at a time, as a stream comes free (the next
    is asked for only then: a worker process's jobs come from a queue that the other workers share);
    each outcome with its job's position.

    Raises:
        ValueError: ``streams`` < 1.
    """
    check_positive_int("streams", streams)
    with SharedStreams(settings, streams) as shared, ThreadPoolExecutor(streams) as threads:
        running: dict[Future, tuple[int, Input]] = {}

        def start_next() -> None:
            while len(running) < streams and not should_stop():
                job = next(jobs, None)
                if job is None:
                    return
                index, inp, name = job
                task = threads.submit(process_input, inp, settings, progress, should_stop, name, shared.open)
                running[task] = (index, inp)

        start_next()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index, inp = running.pop(future)
                try:
                    yield index, future.result()
                except Exception as e:  # a bug, not a bad input: reported per input, the others go on
                    yield index, InputOutcome(inp.location, error=f"{inp.location}: {type(e).__name__}: {e}")
            start_next()
