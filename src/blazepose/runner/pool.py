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
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from blazepose.io.inputs import Input, output_names
from blazepose.runner.jobs import InputOutcome, Job, RunSettings, process_input

PROGRESS_INTERVAL_S = 0.25
"""Smallest time between two progress messages from one worker."""

PARENT_STOP_WAIT_S = 1.0
"""After a SIGTERM, how long a worker waits for the parent's stop before it takes the signal as its own."""

TERMINATE_GRACE_S = 10.0
"""A worker sent SIGTERM stops its videos at their next frame and closes their files; if it is not told to
exit by then (the executor terminates the workers of a broken pool and waits for them), it exits after this."""

_stop_event: Any = None
_progress_queue: Any = None
_job_queue: Any = None
_terminated = False
_busy = False  # inside an input (its files open)
_event_guard = threading.Lock()  # held while a thread of this worker is inside the shared stop event


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
    if _terminated:
        return
    _terminated = True
    # A backstop: whatever happens below, the worker ends (a worker killed while it held the progress
    # queue's lock leaves the queue unflushable for good).
    timer = threading.Timer(TERMINATE_GRACE_S, _exit_now, args=(128 + signum,))
    timer.daemon = True
    timer.start()
    if not _busy:  # idle: nothing to close; it ends unless the run's own stop follows (the pool then ends it)
        threading.Thread(target=_end_unless_the_run_stops, daemon=True).start()
    # (busy: the input under way stops at its next frame; see _work)


def _end_unless_the_run_stops() -> None:
    if _terminated_alone():
        _end_worker()


def _run_stopped() -> bool:
    """Whether the parent set the run's stop event. The event is shared between processes, and a process
    that ends inside one of its calls leaves it broken for the others (the parent's ``set()`` then waits
    for ever): this worker's threads ask it only here, never wait on it, and end the process only outside
    it (:func:`_exit_now`)."""
    with _event_guard:
        return bool(_stop_event.is_set())


def _exit_now(status: int) -> None:
    _event_guard.acquire()  # (held for good: no thread of this worker is inside the shared event now)
    os._exit(status)


def _should_stop() -> bool:
    return _terminated or _run_stopped()


def _terminated_alone() -> bool:
    """Whether this worker got a SIGTERM that the run did not: the parent, signalled too (a process group's
    SIGTERM), sets the stop event within moments."""
    if not _terminated:
        return False
    deadline = time.monotonic() + PARENT_STOP_WAIT_S
    while not _run_stopped():
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.02)
    return False


def _cut_short(outcome: InputOutcome) -> InputOutcome:
    """An input stopped by a SIGTERM to its worker alone (not the run's stop): an error, its frames kept."""
    if outcome.error is None and outcome.stopped:
        outcome.error = (
            f"{outcome.input}: worker ended by SIGTERM (from outside, or by the pool when another worker died) "
            f"after {outcome.frames} frame(s), which were kept"
        )
    return outcome


def _end_worker() -> None:
    """Ends this worker at once, what it put on the progress queue sent first; the pool then breaks, and the
    parent gives the inputs that no worker began to a new one."""
    _progress_queue.close()
    _progress_queue.join_thread()
    _exit_now(128 + signal.SIGTERM)


def _work(inp: Input, name: str, settings: RunSettings, index: int) -> tuple[InputOutcome | None, tuple | None]:
    """Processes one input in a worker; returns its outcome (None when a stop came before it started)
    and its final progress message.

    The final message travels with the result, not through the queue: a
    queue's messages can arrive after the result, or (at pool shutdown)
    not at all.
    """
    global _busy
    finals: dict[str, tuple] = {}
    if _run_stopped():  # handed over before the run's stop came: not started, nothing written or reported
        return None, None
    if _terminated:  # handed over after a SIGTERM: the run's (then not begun) or this worker's alone
        if _terminated_alone():
            _end_worker()  # (left to another worker)
        return None, None
    _progress_queue.put(_Started(index))
    _busy = True
    try:
        outcome = process_input(inp, settings, _queued_progress(finals), _should_stop, name)
    except Exception as e:  # a bug, not a bad input: still reported per input, the pool goes on
        outcome = InputOutcome(inp.location, error=f"{inp.location}: {type(e).__name__}: {e}")
    finally:
        _busy = False
    if _terminated_alone():
        _progress_queue.put(_Finished(index, _cut_short(outcome), finals.get(name)))
        _end_worker()
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
            _progress_queue.put(_Started(job[0]))
            yield job

    global _busy
    finished = []
    alone: bool | None = None  # (asked once, after this worker's own SIGTERM)
    _busy = True  # (its share runs from here to the end)
    for index, outcome in run_stream_jobs(noted(_queued_jobs()), settings, streams, progress, _should_stop):
        if _terminated and alone is None:
            alone = _terminated_alone()
        done = _Finished(index, _cut_short(outcome) if alone else outcome, finals.get(names[index]))
        _progress_queue.put(done)
        finished.append(done)
    _busy = False
    if alone:
        _end_worker()
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
    progress_queue: Any = None  # (the current pool's)
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
        if future.exception() is not None:  # a worker died (and with it the pool): decided once the pool is gone
            return []
        return [outcome for message in future.result() for outcome in take(message)]

    items: list[Job] = [(i, inp, name) for i, (inp, name) in enumerate(zip(inputs, names, strict=True))]
    streams = min(streams, max(1, len(items)))  # (a worker never runs more videos at once than there are)
    queued = streams > 1 and len(items) > 0
    to_do = items
    while to_do:
        broken.clear()
        begun = len(started)
        job_queue = _filled_job_queue(context, to_do, workers) if queued else None
        # A queue per pool: a worker killed while it held a queue's lock leaves it unusable for good (later
        # workers would wait on it for ever, at their exit too).
        progress_queue = context.Queue()
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
                        # The workers answer the inputs not begun with nothing. (Not cancelled here: Python
                        # 3.10-3.11's executor fails on a cancelled future if the pool then breaks, and its
                        # running futures never resolve: gh-107219.)
                        stop_event.set()
            except BaseException:
                stop_event.set()  # the caller stopped iterating or a second Ctrl-C raised
                raise
            finally:
                for future in pending:
                    future.cancel()
        # A worker died (killed, out of memory, or ended by a SIGTERM of its own) and the executor ended the
        # others: the inputs that had begun and did not report failed; those that had not begun go to a new
        # pool, unless nothing had begun (a worker that cannot start) or the run was stopped.
        yield from drain()
        if queued:
            errors = [f.exception() for f in tasks if not f.cancelled() and f.exception() is not None]
            if errors:
                why = f"{type(errors[0]).__name__}: {errors[0]}"
                broken.extend((item, why) for item in to_do if item[0] not in yielded)
        stuck = len(started) == begun  # not one input began in this pool
        lost = [(item, error) for item, error in broken if item[0] not in yielded]
        for item, error in lost:
            if item[0] in started or (stuck and not stop_event.is_set()):
                yield from take(
                    _Finished(item[0], InputOutcome(item[1].location, error=f"{item[1].location}: worker failed "
                                                    f"({error})"), None)
                )  # fmt: skip
        stopped = stop_event.is_set() or should_stop()  # (a stop while the pool was ending starts no other)
        to_do = [] if stuck or stopped else [item for item, _ in lost if item[0] not in started]
    stop_event.set()


def _filled_job_queue(context: Any, jobs: list[Job], workers: int) -> Any:
    """The queue the workers of one pool take their inputs from: the jobs, then one end mark per worker."""
    job_queue = context.Queue()
    for job in jobs:
        job_queue.put(job)
    for _ in range(workers):
        job_queue.put(None)
    job_queue.cancel_join_thread()  # a stop leaves jobs in it: the parent must not wait to flush them
    return job_queue
