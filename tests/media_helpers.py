"""Small media files made on the fly for the command's tests, and running the command."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import numpy as np


def make_clip(
    path: Path, frames: int, image: np.ndarray, fps: int = 25, codec: str | None = None, shift: int = 2
) -> Path:
    """Writes ``frames`` frames of ``image`` (RGB, rolled right by ``shift`` more pixels each frame) as a video."""
    import av

    codec = codec or ("mpeg4" if path.suffix == ".avi" else "libx264")
    h, w = image.shape[:2]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
        for i in range(frames):
            pixels = np.ascontiguousarray(np.roll(image, shift * i, axis=1)[: h - h % 2, : w - w % 2])
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decoded_frames(path: Path) -> int:
    """Frames PyAV decodes from a video (raises when it is not playable)."""
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def blazepose(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m blazepose ARGS`` as a user runs it (raises TimeoutExpired on a hang)."""
    return subprocess.run(
        [sys.executable, "-m", "blazepose", *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


class Watchdog:
    """Whether :func:`killed_after` had to kill."""

    fired = False


@contextmanager
def killed_after(seconds: float, kill: Callable[[], None]) -> Iterator[Watchdog]:
    """Calls ``kill`` if the block is still running after ``seconds``, so that a blocking read of a
    process's output ends (at end of file) instead of hanging the test; ``.fired`` says whether it did."""
    watchdog = Watchdog()

    def fire() -> None:
        watchdog.fired = True
        try:
            kill()
        except ProcessLookupError:  # already gone
            pass

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield watchdog
    finally:
        timer.cancel()
