"""Inputs spread over a Ray cluster: one Ray task per input (one tracker per video).

Every task writes its outputs itself, under ``settings.out``: on a cluster
of several machines that folder must be one they all see (a shared or
network file system) and the inputs must be readable at the same paths.
Progress comes back per input (when its task ends), not per frame.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from blazepose.io.inputs import Input, output_names
from blazepose.runner.jobs import InputInterrupted, InputOutcome, RunSettings, process_input

POLL_S = 0.2
"""How often the driver looks at finished tasks and the stop request."""


STOP_GRACE_S = 30.0
"""After a stop, how long the driver waits for running tasks to close their files."""


STOP_POLL_S = 0.5
"""How often a task looks for the run's stop file (then it stops at its next frame)."""


def _process_remote(inp: Input, name: str, settings: RunSettings, stop_file: str) -> InputOutcome:
    looked_at, stop = [0.0], [False]

    def should_stop() -> bool:  # the stop file looked for at most every STOP_POLL_S
        now = time.monotonic()
        if not stop[0] and now - looked_at[0] >= STOP_POLL_S:
            looked_at[0], stop[0] = now, os.path.exists(stop_file)
        return stop[0]

    try:
        return process_input(inp, settings, should_stop=should_stop, name=name)
    except InputInterrupted as e:  # cancelled (after the grace period): the files were closed on the way out
        return e.outcome
    except Exception as e:  # a bug, not a bad input: still reported per input
        return InputOutcome(inp.location, error=f"{inp.location}: {type(e).__name__}: {e}")


def connect(address: str, **init_options: Any) -> Any:
    """Joins the Ray cluster at ``address`` (``local`` starts one in this process), unless already joined.

    Returns:
        The ``ray`` module.

    Raises:
        RuntimeError: ray is not installed.
    """
    try:
        import ray
    except ImportError as e:
        raise RuntimeError("--ray needs Ray: pip install 'blazepose[ray]'") from e
    if not ray.is_initialized():
        _check_reachable(address)
        # ray.init installs its own SIGTERM handler (the driver's exit); the caller's must stay, so that a
        # SIGTERM stops the run as Ctrl-C does.
        handler = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
        try:
            ray.init(address=None if address == "local" else address, **init_options)
        except ConnectionError as e:
            raise RuntimeError(f"--ray {address}: no Ray cluster there ({e})") from e  # (one line: the Reporter)
        if handler is not None:
            signal.signal(signal.SIGTERM, handler)
    return ray


def _check_reachable(address: str, timeout_s: float = 10.0) -> None:
    """Raises RuntimeError when ``host:port`` (or ``ray://host:port``) takes no connection: ray.init would
    wait on it for minutes, saying nothing. ``local``, ``auto`` and other forms are left to Ray."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise RuntimeError(f"--ray {address}: no Ray cluster reachable there ({e.strerror or e})") from e


def _largest_node_cpus(ray: Any) -> float:
    return max((node["Resources"].get("CPU", 0.0) for node in ray.nodes() if node.get("Alive")), default=0.0)


def run_on_ray(
    inputs: Sequence[Input],
    settings: RunSettings,
    address: str,
    max_in_flight: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    quiet: bool = False,
) -> Iterator[InputOutcome]:
    """Processes ``inputs`` as Ray tasks and yields each outcome as it completes.

    Outputs are named as in :func:`~blazepose.runner.jobs.run_sequentially`.

    Args:
        inputs: What to process; each input is one task.
        settings: As for :func:`~blazepose.runner.jobs.process_input`; each
            task reserves ``settings.threads`` CPUs (1 when None, and its
            engines then use one thread).
        address: A Ray cluster address (``ray://host:10001``, ``auto``) or
            ``local``.
        max_in_flight: Most tasks submitted at once (None: as many as the
            cluster's CPUs can run at once, ``threads`` each).
        should_stop: Polled by the driver; once True, no more tasks are
            submitted and the running ones stop at their next frame, closing
            their files (their outcomes, marked ``stopped``, are still yielded).
        quiet: Ray's own messages (start-up, its tasks' output) held back but
            for errors, when this process joins the cluster.
    """
    from dataclasses import replace

    threads = settings.threads or 1
    given_out = settings.out  # the tasks get it absolute (a worker's folder is not this one); outputs are
    settings = replace(settings, threads=threads, out=settings.out.resolve())  # reported under it as given

    def as_given(outcome: InputOutcome) -> InputOutcome:
        outcome.outputs = [str(given_out / Path(path).relative_to(settings.out)) for path in outcome.outputs]
        return outcome

    ray = connect(address, **({"logging_level": logging.ERROR, "log_to_driver": False} if quiet else {}))
    largest = _largest_node_cpus(ray)
    if threads > largest:  # such a task would wait for ever for a node to run on
        raise ValueError(f"--threads {threads}: each task reserves that many CPUs; the largest node has {largest:g}")
    task = ray.remote(num_cpus=threads, max_retries=0)(_process_remote)
    # The run's stop request: a file in the output folder, which every task's node sees (a Ray call from a
    # task would free its CPUs while it waits, letting more tasks run than the CPUs allow).
    stop_file = settings.out / f".blazepose-stop-{uuid.uuid4().hex}"
    waiting = list(zip(inputs, output_names(list(inputs)), strict=True))
    running: dict[Any, Input] = {}
    # As many tasks submitted as can run: the others wait here, so that a stop has only those to stop.
    limit = max_in_flight or max(1, int(ray.cluster_resources().get("CPU", 1) // threads))
    try:
        while waiting or running:
            while waiting and len(running) < limit:
                inp, name = waiting.pop(0)
                running[task.remote(inp, name, settings, str(stop_file))] = inp
            done, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
            for ref in done:
                inp = running.pop(ref)
                try:
                    yield as_given(ray.get(ref))
                except Exception as e:  # the task or its worker failed
                    yield InputOutcome(inp.location, error=f"{inp.location}: Ray task failed ({type(e).__name__}: {e})")
            if should_stop():
                waiting.clear()
                break
    except BaseException:  # closed early or interrupted: the running tasks stopped, nothing more reported
        _stop_tasks(ray, running, stop_file)
        raise
    for ref in _stop_tasks(ray, running, stop_file):  # (it removes the stop file it made)
        try:
            yield as_given(ray.get(ref))
        except Exception:  # cancelled: Ray may not hand back what the task returned
            yield InputOutcome(running[ref].location, stopped=True)


def _stop_tasks(ray: Any, running: dict[Any, Input], stop_file: Path) -> list[Any]:
    """Stops the running tasks through the run's stop file: each stops at its next frame, closes its files
    and returns what it did (a forced cancel would kill the worker mid-write). Those still running after
    :data:`STOP_GRACE_S` are cancelled (a KeyboardInterrupt), then killed. The ones that ended."""
    if not running:
        return []
    stop_file.touch()
    try:
        ended, late = ray.wait(list(running), num_returns=len(running), timeout=STOP_GRACE_S)
        for ref in late:
            ray.cancel(ref)
        if late:
            more, late = ray.wait(late, num_returns=len(late), timeout=STOP_GRACE_S / 3)
            ended += more
        for ref in late:
            ray.cancel(ref, force=True)
    finally:
        stop_file.unlink(missing_ok=True)
    return list(ended)
