"""Inputs spread over a Ray cluster: one Ray task per input (one tracker per video).

Every task writes its outputs itself, under ``settings.out``: on a cluster
of several machines that folder must be one they all see (a shared or
network file system) and the inputs must be readable at the same paths.
Progress comes back per input (when its task ends), not per frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from blazepose.io.inputs import Input, output_names
from blazepose.runner.jobs import InputOutcome, RunSettings, process_input

POLL_S = 0.2
"""How often the driver looks at finished tasks and the stop request."""


def _process_remote(inp: Input, name: str, settings: RunSettings) -> InputOutcome:
    try:
        return process_input(inp, settings, name=name)
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
        ray.init(address=None if address == "local" else address, **init_options)
    return ray


def run_on_ray(
    inputs: Sequence[Input],
    settings: RunSettings,
    address: str,
    max_in_flight: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
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
        max_in_flight: Most tasks submitted at once (None: all; Ray runs as
            many as the cluster's CPUs allow).
        should_stop: Polled by the driver; once True, tasks not finished are
            cancelled.
    """
    from dataclasses import replace

    threads = settings.threads or 1
    settings = replace(settings, threads=threads, out=settings.out.resolve())
    ray = connect(address)
    task = ray.remote(num_cpus=threads, max_retries=0)(_process_remote)
    waiting = list(zip(inputs, output_names(list(inputs)), strict=True))
    running: dict[Any, Input] = {}
    limit = max_in_flight or len(waiting) or 1
    try:
        while waiting or running:
            while waiting and len(running) < limit:
                inp, name = waiting.pop(0)
                running[task.remote(inp, name, settings)] = inp
            done, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
            for ref in done:
                inp = running.pop(ref)
                try:
                    yield ray.get(ref)
                except Exception as e:  # the task or its worker failed
                    yield InputOutcome(inp.location, error=f"{inp.location}: Ray task failed ({type(e).__name__}: {e})")
            if should_stop():
                waiting.clear()
                break
    finally:
        for ref in running:
            ray.cancel(ref, force=True)
