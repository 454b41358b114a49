"""Worker processes give the same files as one process, report per input, and stop when told."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from blazepose.io.inputs import expand_inputs
from blazepose.runner.jobs import RunSettings, run_sequentially
from blazepose.runner.pool import default_threads_per_worker, run_in_processes
from conftest import SHARED_VIDEO
from media_corpus import make_corpus, output_files

DEADLINE_S = 300


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, astronaut) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"), astronaut)


def deadline(seconds: float = DEADLINE_S):
    """A should_stop that fires after ``seconds``: the pool's own timeout (its outcomes then say stopped)."""
    end = time.monotonic() + seconds
    return lambda: time.monotonic() > end


def test_two_workers_write_the_same_files_as_one_process(corpus, tmp_path):
    inputs, errors = expand_inputs([str(corpus)])
    assert not errors and len(inputs) == 4
    formats = ("jsonl", "npz")
    one = RunSettings(out=tmp_path / "one", model="lite", formats=formats, threads=1)
    two = RunSettings(out=tmp_path / "two", model="lite", formats=formats, threads=1)
    for settings in (one, two):
        settings.out.mkdir()
    sequential = list(run_sequentially(inputs, one))
    progress = []
    parallel = list(run_in_processes(inputs, two, 2, lambda *m: progress.append(m), deadline()))
    assert not any(o.error or o.stopped for o in sequential + parallel)
    assert sorted(o.input for o in parallel) == sorted(o.input for o in sequential)
    by_input = {o.input: o for o in parallel}
    for o in sequential:
        assert (by_input[o.input].frames, by_input[o.input].poses) == (o.frames, o.poses)
    assert sum(o.frames for o in parallel) == 6 + 5 + 1 + 1
    first, second = output_files(one.out), output_files(two.out)
    assert len(first) == 4 * 3  # jsonl, npz and the annotated photo or MP4 per input
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], f"{name} differs between one process and two workers"
    finals = {m[0]: m[1] for m in progress if m[4]}
    assert finals == {"clip_a": 6, "clip_b": 5}, "each video's final progress comes back from its worker"


def test_a_bad_input_is_reported_and_the_others_done(corpus, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    inputs, _ = expand_inputs([str(broken), str(corpus / "photo_c.png"), str(tmp_path / "gone.jpg")])
    settings = RunSettings(out=tmp_path / "out", model="lite", annotate=False, threads=1)
    settings.out.mkdir()
    outcomes = {Path(o.input).name: o for o in run_in_processes(inputs, settings, 2, None, deadline())}
    assert outcomes.keys() == {"broken.mp4", "photo_c.png"}  # gone.jpg never became an input
    assert "broken.mp4" in (outcomes["broken.mp4"].error or "")
    assert outcomes["photo_c.png"].error is None and outcomes["photo_c.png"].poses == 1
    assert (settings.out / "photo_c.landmarks.jsonl").exists()


def test_stop_cancels_what_has_not_started(corpus, tmp_path):
    inputs, _ = expand_inputs([str(corpus)])
    settings = RunSettings(out=tmp_path, model="lite", annotate=False, threads=1)
    outcomes = list(run_in_processes(inputs * 3, settings, 1, None, lambda: True, poll_s=0.01))
    assert len(outcomes) < len(inputs) * 3


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_bad_worker_count_is_refused(workers, tmp_path):
    with pytest.raises(ValueError, match="workers must be an int >= 1"):
        next(run_in_processes([], RunSettings(out=tmp_path), workers))


def test_threads_are_shared_out_between_workers(monkeypatch):
    monkeypatch.delenv("BLAZEPOSE_NUM_THREADS", raising=False)
    monkeypatch.setattr("blazepose.backends.available_cores", lambda: 8)
    assert [default_threads_per_worker(n) for n in (1, 2, 3, 8, 16)] == [4, 4, 2, 1, 1]
    monkeypatch.setenv("BLAZEPOSE_NUM_THREADS", "1")
    assert default_threads_per_worker(1) == 1


@pytest.mark.skipif(not SHARED_VIDEO.is_file(), reason=f"needs the shared video {SHARED_VIDEO}")
def test_a_worker_killed_costs_the_inputs_under_way_not_those_after(corpus, tmp_path):
    """A worker killed (out of memory, kill -9) broke the pool, and every input of the run failed with it."""
    import os
    import signal

    psutil = pytest.importorskip("psutil", reason="finding the worker processes needs psutil")
    for name in ("a.avi", "b.avi"):
        os.symlink(SHARED_VIDEO, tmp_path / name)
    inputs, _ = expand_inputs([str(tmp_path / "a.avi"), str(tmp_path / "b.avi"), str(corpus / "photo_c.png"),
                               str(corpus / "photo_d.jpg")])  # fmt: skip
    settings = RunSettings(out=tmp_path / "out", model="lite", annotate=False, threads=1)
    settings.out.mkdir()
    killed = []

    def progress(name, done, total, elapsed, final):
        if not killed and name in ("a", "b") and done >= 3:
            workers = [c for c in psutil.Process().children() if "resource_tracker" not in " ".join(c.cmdline())]
            worker = workers[0]
            killed.append(worker.pid)
            os.kill(worker.pid, signal.SIGKILL)

    outcomes = {Path(o.input).name: o for o in run_in_processes(inputs, settings, 2, progress, deadline())}
    assert killed, "no progress came from the videos"
    assert outcomes.keys() == {"a.avi", "b.avi", "photo_c.png", "photo_d.jpg"}
    # The killed worker's input failed; the other's was stopped when the pool ended its worker (files closed).
    ended = ("worker failed", "worker ended by SIGTERM")
    assert all(any(e in (outcomes[n].error or "") for e in ended) for n in ("a.avi", "b.avi"))
    assert all(outcomes[n].error is None and outcomes[n].poses == 1 for n in ("photo_c.png", "photo_d.jpg"))


@pytest.mark.skipif(not SHARED_VIDEO.is_file(), reason=f"needs the shared video {SHARED_VIDEO}")
def test_a_sigterm_to_one_worker_loses_no_input(corpus, tmp_path):
    """A worker sent SIGTERM alone took the next inputs and dropped them unreported (the run exited 0)."""
    import os
    import signal

    psutil = pytest.importorskip("psutil", reason="finding the worker processes needs psutil")
    for name in ("a.avi", "b.avi"):
        os.symlink(SHARED_VIDEO, tmp_path / name)
    photos = [str(corpus / "photo_c.png"), str(corpus / "photo_d.jpg")] * 2
    inputs, _ = expand_inputs([str(tmp_path / "a.avi"), str(tmp_path / "b.avi"), *photos])
    settings = RunSettings(out=tmp_path / "out", model="lite", annotate=False, threads=1, force=True)
    settings.out.mkdir()
    signalled = []

    def progress(name, done, total, elapsed, final):
        if not signalled and name in ("a", "b") and done >= 3:
            workers = [c for c in psutil.Process().children() if "resource_tracker" not in " ".join(c.cmdline())]
            signalled.append(workers[0].pid)
            os.kill(workers[0].pid, signal.SIGTERM)

    outcomes = list(run_in_processes(inputs, settings, 2, progress, deadline()))
    assert signalled, "no progress came from the videos"
    assert sorted(Path(o.input).name for o in outcomes) == sorted(Path(i.location).name for i in inputs)
    videos = [o for o in outcomes if o.input.endswith(".avi")]
    assert any("worker ended by SIGTERM" in (o.error or "") for o in videos), [o.error for o in videos]
    assert all(o.error is None and o.poses == 1 for o in outcomes if not o.input.endswith(".avi"))


def test_high_accuracy_on_a_stream_tracks_it_live_as_a_camera(corpus, tmp_path, monkeypatch):
    """The whole-clip pass decodes a video three times and writes only once the first pass ends: a live stream
    never ends (and would not give the same frames again), so nothing was ever written."""
    pytest.importorskip("scipy", reason="--accuracy high smooths with scipy (the offline extra)")
    from blazepose.io.inputs import Input
    from blazepose.runner import jobs

    def whole_clip(*args, **kwargs):
        raise AssertionError("the whole-clip pass ran on a stream")

    monkeypatch.setattr(jobs, "_offline_results", whole_clip)
    settings = RunSettings(out=tmp_path, model="lite", annotate=False, threads=1, accuracy="high")
    outcome = jobs.process_input(Input("stream", str(corpus / "clip_a.mp4")), settings)
    assert outcome.error is None and outcome.frames == 6


def test_a_worker_told_to_stop_by_the_run_and_by_sigterm_together_drops_the_input_quietly(monkeypatch, tmp_path):
    """A SIGTERM to the whole group reaches a worker a moment before the parent's stop: read as the worker's
    own, it ended the worker and broke the pool (then, on Python 3.11, the run hung: gh-107219)."""
    import queue
    import threading

    from blazepose.io.inputs import Input
    from blazepose.runner import pool

    class Ended(Exception):
        pass

    def end_worker():
        raise Ended

    stop = threading.Event()
    monkeypatch.setattr(pool, "_end_worker", end_worker)
    monkeypatch.setattr(pool, "_stop_event", stop)
    monkeypatch.setattr(pool, "_progress_queue", queue.Queue())
    monkeypatch.setattr(pool, "_terminated", True)
    settings = RunSettings(out=tmp_path, model="lite")
    threading.Timer(0.2, stop.set).start()  # the parent's stop, a moment after the worker's signal
    assert pool._work(Input("photo", "p.jpg"), "p", settings, 0) == (None, None)
    stop.clear()  # no stop from the parent: the signal was this worker's alone
    with pytest.raises(Ended):
        pool._work(Input("photo", "p.jpg"), "p", settings, 1)
