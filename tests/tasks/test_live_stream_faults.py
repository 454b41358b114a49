"""LIVE_STREAM under hostile callbacks: no hang, no silent loss (issue #11).

Every call that could hang runs in a helper thread joined with a timeout.
"""

import threading
import time

import numpy as np
import pytest

from blazepose import CallbackError, PoseLandmarker, PoseLandmarkerOptions, QueuePolicy, RunningMode

TIMEOUT_S = 20


def _live(callback, **kw):
    return PoseLandmarker.create_from_options(
        PoseLandmarkerOptions(running_mode=RunningMode.LIVE_STREAM, result_callback=callback, model_complexity=0, **kw)
    )


def _within_timeout(function, *args):
    """Runs ``function(*args)`` in a thread; returns (finished, result or error)."""
    box: dict = {}

    def target():
        try:
            box["value"] = function(*args)
        except BaseException as error:  # handed to the test
            box["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(TIMEOUT_S)
    return not thread.is_alive(), box


FRAME = np.zeros((64, 64, 3), np.uint8)


@pytest.mark.parametrize("escape", [SystemExit, KeyboardInterrupt])
@pytest.mark.parametrize("policy", [QueuePolicy.BLOCK, QueuePolicy.DROP_OLDEST])
def test_callback_raising_systemexit_or_keyboardinterrupt_does_not_kill_the_stream(escape, policy):
    seen: list[int] = []

    def callback(result, image, timestamp_ms):
        seen.append(timestamp_ms)
        if len(seen) == 1:  # the first frame served (DROP_OLDEST may drop others)
            raise escape()

    landmarker = _live(callback, queue_policy=policy, max_queue_size=1)

    def feed():
        errors = []
        for ts in [0, 10, 20, 30, 40, 50, None, 100]:
            if ts is None:  # wait until the callback has raised
                while not seen:
                    time.sleep(0.01)
                time.sleep(0.05)
                continue
            try:
                landmarker.detect_async(FRAME, ts)
            except CallbackError as error:
                errors.append(error)
        try:
            landmarker.close()
        except CallbackError as error:
            errors.append(error)
        return errors

    finished, box = _within_timeout(feed)
    assert finished, "detect_async or close hung after the callback raised"
    errors = box["value"]
    assert len(errors) == 1 and isinstance(errors[0].__cause__.__cause__, escape)
    assert len(seen) >= 2 and seen[-1] == 100, "frames after the failing one are still processed"


def test_block_policy_callback_calling_detect_async_on_a_full_queue_does_not_deadlock():
    holder: dict = {}
    seen: list[int] = []
    queue_full, resubmitted = threading.Event(), threading.Event()

    def callback(result, image, timestamp_ms):
        seen.append(timestamp_ms)
        if timestamp_ms == 0:
            assert queue_full.wait(TIMEOUT_S)
        if timestamp_ms == 0:
            try:
                holder["landmarker"].detect_async(FRAME, 1000)
            finally:
                resubmitted.set()

    landmarker = _live(callback, queue_policy=QueuePolicy.BLOCK, max_queue_size=1)
    holder["landmarker"] = landmarker

    def feed():
        landmarker.detect_async(FRAME, 0)
        landmarker.detect_async(FRAME, 10)  # waits in the queue while frame 0 is in the callback
        queue_full.set()
        resubmitted.wait(TIMEOUT_S)  # the callback of frame 0 queues a frame while the queue is full
        landmarker.close()

    finished, box = _within_timeout(feed)
    assert finished, "close() never returned"
    assert "error" not in box, box.get("error")
    # Nothing dropped: every frame, the callback's included, was delivered in order.
    assert seen == [0, 10, 1000]


def test_the_callback_gets_the_timestamp_as_given():
    seen: list = []
    landmarker = _live(lambda result, image, timestamp_ms: seen.append(timestamp_ms), queue_policy=QueuePolicy.BLOCK)
    finished, box = _within_timeout(
        lambda: [landmarker.detect_async(FRAME, t) for t in (-1000.5, -999, 0.25, 7)] and landmarker.close()
    )
    assert finished and "error" not in box, box
    assert seen == [-1000.5, -999, 0.25, 7] and isinstance(seen[1], int)


def test_a_landmarker_dropped_without_close_serves_its_frames_then_frees_itself():
    import gc
    import weakref

    seen: list[int] = []

    def feed_and_forget():
        landmarker = _live(lambda result, image, ts: seen.append(ts), queue_policy=QueuePolicy.BLOCK, max_queue_size=4)
        for ts in (0, 10, 20):
            landmarker.detect_async(FRAME, ts)
        return weakref.ref(landmarker), landmarker._stream._worker

    alive, worker = feed_and_forget()
    worker.join(TIMEOUT_S)
    gc.collect()
    assert not worker.is_alive(), "the worker of a dropped landmarker kept running"
    assert seen == [0, 10, 20]
    assert alive() is None


def test_frames_queued_when_the_interpreter_exits_are_served_and_the_exit_is_clean():
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import numpy as np
        from blazepose import PoseLandmarker, PoseLandmarkerOptions, QueuePolicy, RunningMode

        options = PoseLandmarkerOptions(
            running_mode=RunningMode.LIVE_STREAM, model_complexity=0, queue_policy=QueuePolicy.BLOCK,
            max_queue_size=8, result_callback=lambda result, image, ts: print("served", ts, flush=True),
        )
        landmarker = PoseLandmarker.create_from_options(options)  # never closed
        for ts in range(0, 50, 10):
            landmarker.detect_async(np.zeros((64, 64, 3), np.uint8), ts)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [line for line in done.stdout.splitlines() if line.startswith("served")] == [
        f"served {ts}" for ts in range(0, 50, 10)
    ]


def test_a_dropped_landmarker_whose_callback_raised_is_freed_too():
    """The error kept for the next call held the landmarker through its traceback's local variables."""
    import gc
    import weakref

    def feed_and_forget():
        landmarker = _live(lambda result, image, ts: 1 / 0)
        landmarker.detect_async(FRAME, 0)
        return weakref.ref(landmarker), landmarker._stream._worker

    alive, worker = feed_and_forget()
    worker.join(TIMEOUT_S)
    gc.collect()
    assert not worker.is_alive() and alive() is None


def test_a_callback_that_queues_its_next_frame_does_not_hold_the_exit():
    """At exit the queued frames are served; a callback queuing more would have kept the queue full for ever."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import time
        import numpy as np
        from blazepose import PoseLandmarker, PoseLandmarkerOptions, RunningMode

        frame = np.zeros((64, 64, 3), np.uint8)
        holder = {}

        def again(result, image, ts):
            holder["landmarker"].detect_async(frame, ts + 33)

        options = PoseLandmarkerOptions(running_mode=RunningMode.LIVE_STREAM, model_complexity=0,
                                        result_callback=again)
        holder["landmarker"] = PoseLandmarker.create_from_options(options)  # never closed
        holder["landmarker"].detect_async(frame, 0)
        time.sleep(0.5)
        print("done", flush=True)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "done", done.stderr[-2000:]
