"""The LIVE_STREAM queue: frames waiting in a bounded queue, served in order by one worker thread."""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from blazepose.tasks.options import QueuePolicy

logger = logging.getLogger(__name__)

Frame = tuple[np.ndarray, int, Any]  # pixels, timestamp in microseconds, caller's boxes


class CallbackError(RuntimeError):
    """A LIVE_STREAM result callback raised; the original error is the cause."""


class LiveStream:
    """A bounded frame queue served by one worker thread.

    Args:
        process: Turns a frame (pixels, timestamp in µs, boxes) into a result;
            runs on the worker thread.
        deliver: Hands a result on (the user's callback) with the frame's
            pixels and timestamp in µs; runs on the worker thread.
        max_size: Frames that may wait.
        policy: What :meth:`submit` does when the queue is full.
    """

    def __init__(
        self,
        process: Callable[[np.ndarray, int, Any], Any],
        deliver: Callable[[Any, np.ndarray, int], None],
        max_size: int,
        policy: QueuePolicy,
    ) -> None:
        self._process = process
        self._deliver = deliver
        self._max_size = max_size
        self._policy = policy
        self._queue: collections.deque[Frame] = collections.deque()
        self._cond = threading.Condition()
        self._busy = False
        self._stopping = False
        self._error: BaseException | None = None
        self.last_submitted_us: int | None = None
        self.dropped_frames = 0
        self._worker = threading.Thread(target=self._serve, name="blazepose-live-stream", daemon=True)
        self._worker.start()

    def on_worker_thread(self) -> bool:
        """Whether the caller is the worker (that is, inside a result callback)."""
        return threading.current_thread() is self._worker

    def submit(self, frame: Frame) -> None:
        """Queues a frame, applying the queue policy when the queue is full.

        Raises:
            ValueError: the stream is closed.
        """
        ts = frame[1]
        with self._cond:
            if self._stopping:
                raise ValueError("this PoseLandmarker is closed")
            if len(self._queue) >= self._max_size:
                if self._policy is QueuePolicy.DROP_NEWEST:
                    self.dropped_frames += 1
                    self.last_submitted_us = ts
                    return
                if self._policy is QueuePolicy.DROP_OLDEST:
                    self._queue.popleft()
                    self.dropped_frames += 1
                else:
                    self._cond.wait_for(lambda: len(self._queue) < self._max_size)
            self._queue.append(frame)
            self.last_submitted_us = ts
            self._cond.notify_all()

    def close(self) -> None:
        """Waits for the queued frames, then stops the worker."""
        with self._cond:
            # (A worker that died cannot drain the queue: do not wait for it.)
            self._cond.wait_for(lambda: (not self._queue and not self._busy) or not self._worker.is_alive())
            self._stopping = True
            self._cond.notify_all()
        self._worker.join()

    def raise_pending_error(self) -> None:
        """Raises, once, the error of an earlier frame as :class:`CallbackError`."""
        error, self._error = self._error, None
        if error is not None:
            raise CallbackError(f"a LIVE_STREAM frame failed: {error}") from error

    def _serve(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stopping)
                if not self._queue:
                    return
                pixels, ts, boxes = self._queue.popleft()
                self._busy = True
                self._cond.notify_all()
            try:
                try:
                    result = self._process(pixels, ts, boxes)
                except Exception as error:
                    raise RuntimeError(f"processing the frame at {ts // 1000} ms raised {error!r}") from error
                try:
                    self._deliver(result, pixels, ts)
                except Exception as error:
                    raise RuntimeError(f"the result callback raised {error!r} at {ts // 1000} ms") from error
            except Exception as error:  # reported on the next call, never swallowed
                logger.error("%s", error)
                if self._error is None:
                    self._error = error
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
