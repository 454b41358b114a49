"""Several videos tracked at once, their crops batched (``--streams``): the same files, no hang, errors per input."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from blazepose.io.inputs import expand_inputs
from blazepose.runner.jobs import RunSettings, run_sequentially
from blazepose.runner.pool import run_in_processes
from blazepose.runner.streams import SharedStreams, run_streams
from media_corpus import make_corpus, output_files, write_clip

DEADLINE_S = 300


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, astronaut) -> Path:
    """clip_a (6 frames), clip_b (5), clip_e (9, starts when a stream is free again), two photos."""
    import cv2

    folder = make_corpus(tmp_path_factory.mktemp("corpus"), astronaut)
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    write_clip(folder / "clip_e.mp4", small[::-1].copy(), 9, 5)
    return folder


def within(seconds: float, work: Callable[[], list]) -> list:
    """``work()``'s answer, failing the test (not hanging it) when it takes longer than ``seconds``."""
    box: list = []
    thread = threading.Thread(target=lambda: box.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: a stream waits for ever"
    assert box, "the work raised (see the thread's traceback above)"
    return box[0]


def settings_in(folder: Path, **changes) -> RunSettings:
    folder.mkdir()
    return RunSettings(out=folder, model="lite", formats=("jsonl", "npz"), threads=1, **changes)


def test_two_streams_write_the_same_files_as_one_video_at_a_time(corpus, tmp_path):
    inputs, _ = expand_inputs([str(corpus)])
    one, two = settings_in(tmp_path / "one"), settings_in(tmp_path / "two")
    sequential = list(run_sequentially(inputs, one))
    progress: list = []
    streamed = within(DEADLINE_S, lambda: list(run_streams(inputs, two, 2, lambda *m: progress.append(m))))
    assert not any(o.error or o.stopped for o in sequential + streamed)
    assert sorted(o.input for o in streamed) == sorted(o.input for o in sequential)
    assert sum(o.frames for o in streamed) == 6 + 5 + 9 + 1 + 1
    first, second = output_files(one.out), output_files(two.out)
    assert len(first) == 5 * 3 and first.keys() == second.keys()
    for name in first:  # LiteRT computes each item of a batch as on its own: the same bits
        assert first[name] == second[name], f"{name} differs between one video at a time and two streams"
    assert {m[0]: m[1] for m in progress if m[4]} == {"clip_a": 6, "clip_b": 5, "clip_e": 9}


def test_streams_in_two_workers_write_the_same_files(corpus, tmp_path):
    inputs, _ = expand_inputs([str(corpus)])
    one, pooled = settings_in(tmp_path / "one", annotate=False), settings_in(tmp_path / "pool", annotate=False)
    list(run_sequentially(inputs, one))
    progress: list = []
    stop_at = time.monotonic() + DEADLINE_S

    def late() -> bool:  # the pool's own bound: its outcomes would then say stopped
        return time.monotonic() > stop_at

    outcomes = list(run_in_processes(inputs, pooled, 2, lambda *m: progress.append(m), late, streams=2))
    assert len(outcomes) == len(inputs) and not any(o.error or o.stopped for o in outcomes)
    assert output_files(one.out) == output_files(pooled.out)
    assert {m[0]: m[1] for m in progress if m[4]} == {"clip_a": 6, "clip_b": 5, "clip_e": 9}


def test_a_broken_video_fails_alone(corpus, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    inputs, _ = expand_inputs([str(corpus / "clip_a.mp4"), str(broken), str(corpus / "clip_b.mp4")])
    settings = settings_in(tmp_path / "out", annotate=False)
    outcomes = {Path(o.input).name: o for o in within(DEADLINE_S, lambda: list(run_streams(inputs, settings, 3)))}
    assert "broken.mp4" in (outcomes["broken.mp4"].error or "")
    assert (outcomes["clip_a.mp4"].frames, outcomes["clip_b.mp4"].frames) == (6, 5)
    assert outcomes["clip_a.mp4"].error is None and outcomes["clip_b.mp4"].error is None


def test_an_engine_failure_fails_the_videos_of_that_step_and_the_rest_go_on(corpus, tmp_path, monkeypatch):
    from blazepose.core.batch import StreamBatch

    real_process = StreamBatch.process
    calls = {"n": 0}

    def third_step_fails(self, frames, timestamps_ms=None):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the engine broke")
        return real_process(self, frames, timestamps_ms)

    monkeypatch.setattr(StreamBatch, "process", third_step_fails)
    inputs, _ = expand_inputs([str(corpus / n) for n in ("clip_a.mp4", "clip_b.mp4", "clip_e.mp4")])
    settings = settings_in(tmp_path / "out", annotate=False)
    outcomes = {Path(o.input).name: o for o in within(DEADLINE_S, lambda: list(run_streams(inputs, settings, 2)))}
    assert "the engine broke" in (outcomes["clip_a.mp4"].error or "")
    assert "the engine broke" in (outcomes["clip_b.mp4"].error or "")
    assert outcomes["clip_e.mp4"].error is None and outcomes["clip_e.mp4"].frames == 9


def test_stop_ends_every_stream_and_starts_nothing_more(corpus, tmp_path):
    inputs, _ = expand_inputs([str(corpus / "clip_e.mp4")] * 2 + [str(corpus / "clip_a.mp4")])
    settings = settings_in(tmp_path / "out", annotate=False, force=True)
    stops = {"asked": 0}

    def after_a_few_frames() -> bool:  # (polled before each input starts and between frames)
        stops["asked"] += 1
        return stops["asked"] > 6

    outcomes = within(DEADLINE_S, lambda: list(run_streams(inputs, settings, 2, None, after_a_few_frames)))
    assert 1 <= len(outcomes) <= 2 and all(o.stopped for o in outcomes)
    assert all(o.frames < 9 for o in outcomes)


def test_shared_streams_refuse_a_stream_too_many_and_bad_counts(tmp_path):
    settings = RunSettings(out=tmp_path, model="lite", threads=1)
    with SharedStreams(settings, 1) as shared:
        slot = shared.open()
        with pytest.raises(RuntimeError, match="all 1 streams are in use"):
            shared.open()
        slot.close()
        shared.open().close()  # given back, lent again
    for bad in (0, -2):
        with pytest.raises(ValueError, match="streams"):
            SharedStreams(settings, bad)
        with pytest.raises(ValueError, match="streams"):
            next(run_streams([], settings, bad))


def test_a_bad_frame_or_time_fails_its_own_video_only(tmp_path, astronaut):
    settings = RunSettings(out=tmp_path, model="lite", threads=1)
    with SharedStreams(settings, 2) as shared:
        a, b = shared.open(), shared.open()
        errors: list = []

        def bad_time_then_stop() -> None:
            try:
                a.detect_for_video(astronaut, 40.0)
                a.detect_for_video(astronaut, 40.0)  # not after the previous frame
            except ValueError as e:
                errors.append(e)
            finally:
                a.close()

        thread = threading.Thread(target=bad_time_then_stop, daemon=True)
        thread.start()
        first = b.detect_for_video(astronaut, 0.0)  # steps with a's first frame
        thread.join(60)  # (without the check, a's bad frame waits for b's next one: a hang until here)
        assert not thread.is_alive() and len(errors) == 1 and "time" in str(errors[0])
        assert len(first.result) == 1
        assert len(b.detect_for_video(astronaut, 40.0).result) == 1  # b goes on alone
        with pytest.raises(ValueError):
            b.detect_for_video(astronaut[..., :2], 80.0)
        assert len(b.detect_for_video(astronaut, 80.0).result) == 1
        b.close()


def test_a_worker_busy_with_long_videos_does_not_hold_back_inputs_the_others_can_take(monkeypatch, tmp_path):
    """Workers with several streams take their inputs one at a time from a queue they share. Run in process
    (two worker loops on threads, the pool's globals set as its initializer sets them): inputs 0 and 2 are
    videos that only end once every other input is done. Dealt out in turn (0, 2, 4 to one worker, 1, 3, 5 to
    the other), input 4 would wait for ever behind them; from the queue the free streams take it."""
    import queue

    from blazepose.io.inputs import Input
    from blazepose.runner import pool, streams
    from blazepose.runner.jobs import InputOutcome

    others_done = threading.Event()
    lock, done = threading.Lock(), set()

    def fake_process_input(inp, settings, progress, should_stop, name, open_video):
        k = int(name)
        if k in (0, 2):
            assert others_done.wait(30), "the long videos' worker kept the other inputs waiting"
        else:
            with lock:
                done.add(k)
                if done == {1, 3, 4, 5}:
                    others_done.set()
        return InputOutcome(inp.location, frames=1)

    jobs: queue.Queue = queue.Queue()
    for k in range(6):
        jobs.put((k, Input("video", f"v{k}.mp4"), str(k)))
    jobs.put(None)
    jobs.put(None)
    monkeypatch.setattr(streams, "process_input", fake_process_input)
    monkeypatch.setattr(pool, "_stop_event", threading.Event())
    monkeypatch.setattr(pool, "_progress_queue", queue.Queue())
    monkeypatch.setattr(pool, "_job_queue", jobs)
    settings = RunSettings(out=tmp_path, model="lite", threads=1)
    results: list = [None, None]

    def worker(w: int) -> None:
        results[w] = pool._work_from_queue(settings, 2)

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE_S)
    assert not any(t.is_alive() for t in threads), "a worker loop did not end"
    finished = sorted(f.index for r in results for f in r)
    assert finished == [0, 1, 2, 3, 4, 5]  # each input once, whichever worker took it
    errors = [f.outcome.error for r in results for f in r if f.outcome.error]
    assert not errors, errors  # (a long video that waited in vain fails with the assertion above)
    assert jobs.empty()  # both end marks taken


def test_a_killed_worker_fails_the_inputs_not_reported_and_nothing_is_lost(corpus, tmp_path):
    """A worker killed mid-run breaks the pool: every input not yet reported comes back as failed (none
    silently missing), and the run ends."""
    import multiprocessing
    import os
    import signal

    inputs, _ = expand_inputs([str(corpus / "clip_e.mp4")] * 4 + [str(corpus / "clip_a.mp4")] * 2)
    settings = settings_in(tmp_path / "out", annotate=False, force=True)
    killed: list[int] = []

    def kill_a_worker_once(*message) -> None:
        if not killed:
            workers = [p for p in multiprocessing.active_children() if p.pid is not None]
            if workers:
                os.kill(workers[0].pid, signal.SIGKILL)
                killed.append(workers[0].pid)

    stop_at = time.monotonic() + DEADLINE_S
    outcomes = within(
        DEADLINE_S + 60,
        lambda: list(run_in_processes(inputs, settings, 2, kill_a_worker_once, lambda: time.monotonic() > stop_at,
                                      streams=2)),
    )  # fmt: skip
    assert killed, "no worker reported progress"
    assert len(outcomes) == len(inputs)
    failed = [o for o in outcomes if o.error]
    assert failed and all("worker failed" in o.error or "worker ended by SIGTERM" in o.error for o in failed)
    assert all(o.error is None and o.frames in (6, 9) for o in outcomes if o not in failed)
