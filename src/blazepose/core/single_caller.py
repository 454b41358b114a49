"""One thread at a time per instance: a call made while another thread is
inside a call of the same instance raises a clear ``RuntimeError`` (the
inference engine would otherwise fail with an internal error, or the
tracking state be mixed up)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class SingleCaller:
    """Guards the calls of one instance of ``owner`` (the class name in the error)."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def call(self, method: str) -> Iterator[None]:
        """Holds the instance for one call.

        Raises:
            RuntimeError: another thread is inside a call of the same instance.
        """
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(
                f"{self._owner}.{method} was called while another thread was inside a call of the same "
                f"instance; use one {self._owner} per thread (or serialize the calls)"
            )
        try:
            yield
        finally:
            self._lock.release()
