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
    path: Path,
    frames: int,
    image: np.ndarray,
    fps: int = 25,
    codec: str | None = None,
    shift: int = 2,
    rotation: int = 0,
) -> Path:
    """Writes ``frames`` frames of ``image`` (RGB, rolled right by ``shift`` more pixels each frame) as a video;
    ``rotation`` (counter-clockwise degrees) goes into its display matrix, as a phone writes one."""
    import av

    codec = codec or ("mpeg4" if path.suffix == ".avi" else "libx264")
    h, w = image.shape[:2]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)
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


def make_flash_and_click_clip(
    path: Path,
    seconds: float,
    flash_s: float,
    audio_lead_s: float = 0.0,
    video_start_s: float = 0.0,
    audio_codec: str = "aac",
    audio_gap: tuple[float, float] | None = None,
    damage_audio_every: int = 0,
    audio_extra_s: float = 0.0,
    rate: int = 44100,
    audio_codec_options: dict | None = None,
) -> Path:
    """A black 25 fps video with one white frame at ``flash_s`` and, in its mono audio track (which
    starts ``audio_lead_s`` before the video), a click at the same time: a check of audio-video sync.
    Times are from the video's first frame, which the container puts at ``video_start_s``; the audio
    has no packets over ``audio_gap`` (seconds from the first frame) and every ``damage_audio_every``-th
    audio packet is garbage; the audio goes on ``audio_extra_s`` after the last frame."""
    import av

    fps, chunk = 25, 1024
    audio = np.zeros(round((seconds + audio_lead_s + audio_extra_s) * rate), np.float32)
    click = round((flash_s + audio_lead_s) * rate)
    audio[click : click + 441] = 0.8
    lead = round(audio_lead_s * rate)
    start = round(video_start_s * rate)
    with av.open(str(path), mode="w") as container:
        video_stream = container.add_stream("libx264", rate=fps)
        video_stream.width, video_stream.height, video_stream.pix_fmt = 64, 48, "yuv420p"
        audio_stream = container.add_stream(audio_codec, rate=rate)
        audio_stream.codec_context.layout = "mono"
        frames, samples, audio_packets = round(seconds * fps), 0, 0
        for i in range(frames + 1):
            while samples < len(audio) and ((samples - lead) / rate <= i / fps or i == frames):  # by time
                at = (samples - lead) / rate
                if audio_gap is None or not audio_gap[0] <= at < audio_gap[1]:
                    part = av.AudioFrame.from_ndarray(
                        audio[None, samples : samples + chunk], format="fltp", layout="mono"
                    )
                    part.sample_rate, part.pts, part.time_base = rate, start + samples - lead, Fraction(1, rate)
                    for packet in audio_stream.encode(part):
                        audio_packets += 1
                        if damage_audio_every and audio_packets % damage_audio_every == 0:
                            garbage = av.Packet(bytes(range(256)) * 2)
                            garbage.pts, garbage.dts, garbage.time_base = packet.pts, packet.dts, packet.time_base
                            garbage.stream = audio_stream
                            packet = garbage
                        container.mux(packet)
                samples += chunk
            if i == frames:
                break
            level = 255 if i == round(flash_s * fps) else 0
            image = av.VideoFrame.from_ndarray(np.full((48, 64, 3), level, np.uint8), format="rgb24")
            image.pts, image.time_base = i + round(video_start_s * fps), Fraction(1, fps)
            for packet in video_stream.encode(image):
                container.mux(packet)
        for stream in (video_stream, audio_stream):
            for packet in stream.encode():
                container.mux(packet)
    return path


def flash_and_click_times(path: Path) -> tuple[float | None, float | None, float]:
    """Seconds of the first white frame and of the first loud audio sample of a video (None: none), and
    where its audio ends (0 without audio)."""
    import av

    flash = click = None
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.to_ndarray(format="gray").mean() > 128:
                flash = float(frame.pts * frame.time_base)
                break
    audio_end = 0.0
    with av.open(str(path)) as container:
        for part in container.decode(container.streams.audio[0]) if container.streams.audio else ():
            start = float(part.pts * part.time_base)
            loud = np.flatnonzero(np.abs(part.to_ndarray()[0]) > 0.3)
            if click is None and len(loud):
                click = start + loud[0] / part.sample_rate
            audio_end = start + part.samples / part.sample_rate
    return flash, click, audio_end
