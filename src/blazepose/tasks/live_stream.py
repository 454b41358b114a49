"""The LIVE_STREAM queue: frames waiting in a bounded queue, served in order by one worker thread."""

from __future__ import annotations

import collections
import logging
import threading
import traceback
import weakref
from collections.abc import Callable
from typing import Any

from blazepose.tasks.options import QueuePolicy

logger = logging.getLogger(__name__)

# pixels, timestamp in microseconds, caller's boxes, timestamp to report to the callback (ms)
Frame = tuple[Any, int, Any, Any]  # (the image, its timestamp in us, boxes, the timestamp reported)
Process = Callable[[Any, int, Any], Any]
Deliver = Callable[[Any, Any, Any], None]


class CallbackError(RuntimeError):
    """A LIVE_STREAM result callback raised; the original error is the cause."""


class LiveStream:
    """A bounded frame queue served by one worker thread.

    The stream holds its owner (the object whose methods ``process`` and
    ``deliver`` are) weakly, and each queued frame strongly: an owner dropped
    without :meth:`close` is freed once its queued frames are served, and the
    worker then stops. At interpreter exit the worker serves what is queued
    and stops before Python tears its threads down (a daemon thread still in
    native inference then could abort the process).

    Args:
        process: Bound method that turns a frame (pixels, timestamp in µs,
            boxes) into a result; runs on the worker thread.
        deliver: Bound method of the same object that hands a result on (the
            user's callback) with the frame's pixels and its reported
            timestamp; runs on the worker thread.
        max_size: Frames that may wait.
        policy: What :meth:`submit` does when the queue is full.
    """

    def __init__(self, process: Process, deliver: Deliver, max_size: int, policy: QueuePolicy) -> None:
        self._process = weakref.WeakMethod(process)  # type: ignore[arg-type]
        self._deliver = weakref.WeakMethod(deliver)  # type: ignore[arg-type]
        self._max_size = max_size
        self._policy = policy
        # Each frame with the owner's methods: the owner lives while frames wait.
        self._queue: collections.deque[tuple[Frame, Process, Deliver]] = collections.deque()
        self._cond = threading.Condition()
        self._busy = False
        self._stopping = False
        self._closing = False  # closing: queued frames are still served, new ones refused
        self._error: BaseException | None = None
        self.last_submitted_us: int | None = None
        self.dropped_frames = 0
        self._worker = threading.Thread(target=self._serve, name="blazepose-live-stream", daemon=True)
        self._worker.start()
        # Runs once: from close(), when the owner is freed, or at interpreter exit.
        self._finalizer = weakref.finalize(process.__self__, self._stop)  # type: ignore[attr-defined]

    def on_worker_thread(self) -> bool:
        """Whether the caller is the worker (that is, inside a result callback)."""
        return threading.current_thread() is self._worker

    def submit(self, frame: Frame) -> None:
        """Queues a frame, applying the queue policy when the queue is full.

        With ``BLOCK``, a frame queued from the result callback itself (the
        worker thread, which alone makes room) is queued beyond the limit
        rather than waiting for ever.

        Raises:
            ValueError: the stream is closed.
            RuntimeError: the worker thread is gone (cannot happen unless the
                interpreter is shutting down).
        """
        ts = frame[1]
        process, deliver = self._process(), self._deliver()
        if process is None or deliver is None:  # cannot happen while the owner calls
            raise ValueError("this PoseLandmarker is closed")
        with self._cond:
            if self._stopping or self._closing:
                raise ValueError("this PoseLandmarker is closed")
            if len(self._queue) >= self._max_size:
                if self._policy is QueuePolicy.DROP_NEWEST:
                    self.dropped_frames += 1
                    self.last_submitted_us = ts
                    return
                if self._policy is QueuePolicy.DROP_OLDEST:
                    self._queue.popleft()
                    self.dropped_frames += 1
                elif not self.on_worker_thread():
                    self._cond.wait_for(lambda: len(self._queue) < self._max_size or not self._worker.is_alive())
                    if not self._worker.is_alive():
                        raise RuntimeError("the LIVE_STREAM worker thread has stopped; create a new PoseLandmarker")
            self._queue.append((frame, process, deliver))
            self.last_submitted_us = ts
            self._cond.notify_all()

    def close(self) -> None:
        """Waits for the queued frames, then stops the worker."""
        self._finalizer()

    def _stop(self) -> None:
        if self.on_worker_thread():
            # The owner's last reference went with the frame just served: the queue is empty.
            with self._cond:
                self._stopping = True
                self._cond.notify_all()
            return
        with self._cond:
            # No frame is taken from now on (a callback that queues its next frame would keep the queue
            # from ever emptying); those queued are served. (A worker that died cannot drain the queue.)
            self._closing = True
            self._cond.wait_for(lambda: (not self._queue and not self._busy) or not self._worker.is_alive())
            self._stopping = True
            self._cond.notify_all()
        self._worker.join()

    def raise_pending_error(self, note: str = "") -> None:
        """Raises, once, the error of an earlier frame as :class:`CallbackError`
        (``note`` is added to its message)."""
        with self._cond:
            error, self._error = self._error, None
        if error is not None:
            raise CallbackError(f"a LIVE_STREAM frame failed: {error}{note}") from error

    def _serve(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stopping)
                if not self._queue:
                    return
                item = self._queue.popleft()
                self._busy = True
                self._cond.notify_all()
            try:
                self._serve_one(*item)
            finally:
                with self._cond:
                    self._busy = False
                    if self._error is not None:  # its frames' locals would keep the owner alive
                        _clear_locals(self._error)
                    self._cond.notify_all()
            # Outside the lock: this may drop the owner's last reference, which calls _stop.
            del item

    def _serve_one(self, frame: Frame, process: Process, deliver: Deliver) -> None:
        pixels, ts, boxes, reported_ts = frame
        # BaseException too: a callback raising SystemExit or KeyboardInterrupt
        # must not end the worker (later frames would never be served).
        try:
            try:
                result = process(pixels, ts, boxes)
            except BaseException as error:
                raise RuntimeError(f"processing the frame at {reported_ts} ms raised {error!r}") from error
            try:
                deliver(result, pixels, reported_ts)
            except BaseException as error:
                raise RuntimeError(f"the result callback raised {error!r} at {reported_ts} ms") from error
        except Exception as error:  # reported on the next call, never swallowed
            logger.error("%s", error)
            with self._cond:
                if self._error is None:
                    self._error = error


def _clear_locals(error: BaseException) -> None:
    """Clears the local variables of the finished frames in ``error``'s traceback and in those of its
    causes (the tracebacks and their lines stay): a kept error must not keep the objects they held."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)
        current = current.__cause__ or current.__context__
