"""Inputs spread over worker processes, one input (one tracker) per task; with several streams per
worker, each worker takes its inputs one at a time from a queue they share.

Workers are started with the ``spawn`` method (no state inherited from the
parent, and the same on every OS), ignore Ctrl-C themselves, and stop their
current video when the parent sets the shared stop event; their progress
comes back through a queue that the parent drains while it waits.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from blazepose.io.inputs import Input, output_names
from blazepose.runner.jobs import InputOutcome, Job, RunSettings, process_input

PROGRESS_INTERVAL_S = 0.25
"""Smallest time between two progress messages from one worker."""

TERMINATE_GRACE_S = 10.0
"""A worker sent SIGTERM stops its videos at their next frame and closes their files; if it is not told to
exit by then (the executor terminates the workers of a broken pool and waits for them), it exits after this."""

_stop_event: Any = None
_progress_queue: Any = None
_job_queue: Any = None
_terminated = False


def _init_worker(stop_event: Any, progress_queue: Any, job_queue: Any = None) -> None:
    """Runs once in each worker: the parent handles Ctrl-C and tells workers through ``stop_event``;
    with ``streams`` > 1 the inputs come from ``job_queue``.

    SIGTERM (``timeout``, ``docker stop`` and systemd send it to the whole process group) stops this
    worker's videos at their next frame, their files closed, as the parent's stop does; the worker then
    exits within :data:`TERMINATE_GRACE_S`.
    """
    global _stop_event, _progress_queue, _job_queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_terminate)
    _stop_event, _progress_queue, _job_queue = stop_event, progress_queue, job_queue


def _on_terminate(signum: int, frame: Any) -> None:
    global _terminated
    if not _terminated:
        _terminated = True
        timer = threading.Timer(TERMINATE_GRACE_S, os._exit, args=(128 + signum,))
        timer.daemon = True
        timer.start()


def _should_stop() -> bool:
    return _terminated or _stop_event.is_set()


def _work(inp: Input, name: str, settings: RunSettings, index: int) -> tuple[InputOutcome | None, tuple | None]:
    """Processes one input in a worker; returns its outcome (None when a stop came before it started)
    and its final progress message.

    The final message travels with the result, not through the queue: a
    queue's messages can arrive after the result, or (at pool shutdown)
    not at all.
    """
    finals: dict[str, tuple] = {}
    if _should_stop():  # handed over before the stop came: not started, nothing written or reported
        return None, None
    _progress_queue.put(_Started(index))
    try:
        outcome = process_input(inp, settings, _queued_progress(finals), _should_stop, name)
    except Exception as e:  # a bug, not a bad input: still reported per input, the pool goes on
        outcome = InputOutcome(inp.location, error=f"{inp.location}: {type(e).__name__}: {e}")
    return outcome, finals.get(name)


def _queued_progress(finals: dict[str, tuple]) -> Callable[[str, int, int | None, float, bool], None]:
    """A worker's progress callback: messages to the parent's queue at most every
    :data:`PROGRESS_INTERVAL_S`, each input's final message kept in ``finals`` (by name) instead, to
    travel with the task's result."""
    last = [0.0]

    def progress(name: str, done: int, total: int | None, elapsed: float, final: bool) -> None:
        now = time.monotonic()
        if final:
            finals[name] = (name, done, total, elapsed, True)
        elif now - last[0] >= PROGRESS_INTERVAL_S:
            last[0] = now
            _progress_queue.put((name, done, total, elapsed, False))

    return progress


@dataclass(frozen=True)
class _Started:
    """A worker began input ``index`` (should its pool break, the input is not given to another)."""

    index: int


@dataclass(frozen=True)
class _Finished:
    """An input of a worker's share done (sent through the progress queue as it happens)."""

    index: int
    outcome: InputOutcome
    final: tuple | None


def _queued_jobs() -> Iterator[Job]:
    """The inputs this worker takes from the queue the workers share, one each time a stream is free,
    until the queue's end mark for this worker (one per worker) or a stop."""
    while not _should_stop():
        job = _job_queue.get()
        if job is None:
            return
        yield job


def _work_from_queue(settings: RunSettings, streams: int) -> list[_Finished]:
    """Processes inputs from the shared queue in a worker, ``streams`` videos at a time (one StreamBatch): a
    worker whose videos are short takes more of them, so that none waits idle at the end while another
    still has several to do.

    Each outcome goes to the parent through the progress queue as it completes, and all of them again with
    the result (which always arrives).
    """
    from blazepose.runner.streams import run_stream_jobs

    finals: dict[str, tuple] = {}
    progress = _queued_progress(finals)
    names: dict[int, str] = {}

    def noted(jobs: Iterator[Job]) -> Iterator[Job]:
        for job in jobs:
            names[job[0]] = job[2]
            yield job

    finished = []
    for index, outcome in run_stream_jobs(noted(_queued_jobs()), settings, streams, progress, _should_stop):
        done = _Finished(index, outcome, finals.get(names[index]))
        _progress_queue.put(done)
        finished.append(done)
    return finished


def default_threads_per_worker(workers: int) -> int:
    """``$BLAZEPOSE_NUM_THREADS`` when set, else the available cores shared out between ``workers``
    processes (at least 1 each, at most 4)."""
    import os

    from blazepose.backends import THREADS_VARIABLE, available_cores, default_num_threads

    if os.environ.get(THREADS_VARIABLE, "").strip():
        return default_num_threads()
    return max(1, min(4, available_cores() // workers))


def run_in_processes(
    inputs: Sequence[Input],
    settings: RunSettings,
    workers: int,
    progress: Callable[[str, int, int | None, float, bool], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    poll_s: float = 0.1,
    streams: int = 1,
) -> Iterator[InputOutcome]:
    """Processes ``inputs`` in ``workers`` processes and yields each outcome as it completes.

    Outputs are named as in :func:`~blazepose.runner.jobs.run_sequentially`.

    Args:
        inputs: What to process; each input is one task (with ``streams``
            > 1: each worker runs ``streams`` videos at a time,
            :func:`blazepose.runner.streams.run_streams`, taking the next
            input from a queue they share whenever one of its streams is
            free).
        settings: As for :func:`process_input`; ``threads`` None gives each
            worker :func:`default_threads_per_worker`.
        workers: Number of processes (>= 1).
        progress: Receives the workers' progress messages, in the parent.
        should_stop: Polled in the parent; once True, inputs not started are
            dropped and the running ones stop at their next frame (their
            outcomes, marked ``stopped``, are still yielded).
        poll_s: How often the parent looks at progress and ``should_stop``.
        streams: Videos tracked at once in each worker, their crops batched.

    Raises:
        ValueError: ``workers`` or ``streams`` < 1.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    if isinstance(streams, bool) or not isinstance(streams, int) or streams < 1:
        raise ValueError(f"streams must be an int >= 1, got {streams!r}")
    if settings.threads is None:
        from dataclasses import replace

        settings = replace(settings, threads=default_threads_per_worker(workers))
    context = multiprocessing.get_context("spawn")
    stop_event = context.Event()
    progress_queue = context.Queue()
    names = output_names(list(inputs))
    finished: set[str] = set()
    yielded: set[int] = set()
    started: set[int] = set()  # inputs a worker began
    broken: list[tuple[Job, str]] = []  # inputs whose pool broke under them, with the error

    def report(final: tuple | None) -> None:
        if final is not None:
            finished.add(final[0])
            if progress is not None:
                progress(*final)

    def take(message: _Finished) -> list[InputOutcome]:
        """A share's input done: its final progress line passed on and its outcome, once (it comes twice)."""
        if message.index in yielded:
            return []
        yielded.add(message.index)
        report(message.final)
        return [message.outcome]

    def drain() -> list[InputOutcome]:
        """Progress messages passed on; the outcomes of shares' inputs that came through the queue."""
        ready: list[InputOutcome] = []
        while True:
            try:
                message = progress_queue.get_nowait()
            except queue.Empty:
                return ready
            if isinstance(message, _Started):
                started.add(message.index)
            elif isinstance(message, _Finished):
                ready += take(message)
            elif progress is not None and message[0] not in finished:  # none after an input's final line
                progress(*message)

    def done_with(future: Future, item: Job | None) -> list[InputOutcome]:
        if item is not None:
            error = future.exception()
            if error is not None:  # its worker, or another, died: decided once the pool is gone
                broken.append((item, f"{type(error).__name__}: {error}"))
                return []
            outcome, final = future.result()
            report(final)
            return [] if outcome is None else [outcome]
        if future.exception() is not None:  # the worker process died (and with it the pool): failed_in_queue
            return []
        return [outcome for message in future.result() for outcome in take(message)]

    def failed_in_queue(tasks: Iterable[Future]) -> Iterator[InputOutcome]:
        """After a worker of the queue died (the pool with it): every input not reported, failed."""
        errors = [f.exception() for f in tasks if not f.cancelled() and f.exception() is not None]
        if not errors:
            return
        why = f"{type(errors[0]).__name__}: {errors[0]}"
        for i, inp, _ in items:
            yield from take(
                _Finished(i, InputOutcome(inp.location, error=f"{inp.location}: worker failed ({why})"), None)
            )

    items: list[Job] = [(i, inp, name) for i, (inp, name) in enumerate(zip(inputs, names, strict=True))]
    streams = min(streams, max(1, len(items)))  # (a worker never runs more videos at once than there are)
    queued = streams > 1 and len(items) > 0
    job_queue = context.Queue() if queued else None
    if job_queue is not None:
        for item in items:
            job_queue.put(item)
        for _ in range(workers):
            job_queue.put(None)  # one end mark per worker
        job_queue.cancel_join_thread()  # a stop leaves jobs in it: the parent must not wait to flush them
    to_do = items
    while to_do:
        broken.clear()
        begun = len(started)
        with ProcessPoolExecutor(
            max_workers=min(workers, max(1, len(to_do))),
            mp_context=context,
            initializer=_init_worker,
            initargs=(stop_event, progress_queue, job_queue),
        ) as pool:
            if queued:
                tasks: dict[Future, Job | None] = {
                    pool.submit(_work_from_queue, settings, streams): None for _ in range(min(workers, len(to_do)))
                }
            else:
                tasks = {pool.submit(_work, item[1], item[2], settings, item[0]): item for item in to_do}
            pending = set(tasks)
            try:
                while pending:
                    done, pending = wait(pending, timeout=poll_s, return_when=FIRST_COMPLETED)
                    yield from drain()
                    for future in done:
                        if not future.cancelled():
                            yield from done_with(future, tasks[future])
                    if should_stop() and not stop_event.is_set():
                        stop_event.set()
                        for future in pending:
                            future.cancel()
            except BaseException:
                stop_event.set()  # the caller stopped iterating or a second Ctrl-C raised
                raise
            finally:
                for future in pending:
                    future.cancel()
            yield from drain()
            if queued:
                yield from failed_in_queue(tasks)
        # A worker died (killed, out of memory) and the executor ended the others: the inputs that had
        # begun failed; those that had not go to a new pool, unless nothing had begun (a worker that
        # cannot start) or a stop came.
        yield from drain()
        stuck = len(started) == begun  # not one input began in this pool
        for item, error in broken:
            if item[0] in started or (stuck and not stop_event.is_set()):
                yield InputOutcome(item[1].location, error=f"{item[1].location}: worker failed ({error})")
        to_do = [] if stuck or stop_event.is_set() else [item for item, _ in broken if item[0] not in started]
    stop_event.set()
