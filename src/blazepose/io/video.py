"""Reading videos, cameras and streams; writing annotated H.264 video with the input's audio.

Videos are decoded with PyAV (the ``video`` extra) so that each frame comes
with its real timestamp (variable frame rate included) and the audio can be
carried over. Cameras are read with OpenCV, timestamped by the clock at
capture.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

PREFETCH_FRAMES = 4
AUDIO_LAG_S = 2.0  # how far past end_s the video is read for audio of the range still to come
_END = object()


class IncompleteVideo(ValueError):
    """A video ended before its container said it would, or some of its frames could not be decoded:
    raised by :meth:`VideoSource.frames` after every good frame was handed on."""


@dataclass
class Frame:
    index: int
    timestamp_ms: float
    rgb: np.ndarray


class VideoSource:
    """Decoded frames of a video file or stream, with their presentation times.

    Frames come upright: a rotation the container asks for (phone videos
    store their frames sideways with a display matrix) is applied, as
    players and OpenCV apply it.

    Args:
        location: Path or URL.
        start_s, end_s: Time range to keep (seconds; None: from start / to end).
        stride: Keep every ``stride``-th frame of the range.
        upright: Apply the container's rotation (multiples of 90 degrees).
            False yields frames as stored.
    """

    def __init__(
        self,
        location: str,
        start_s: float | None = None,
        end_s: float | None = None,
        stride: int = 1,
        upright: bool = True,
    ):
        try:
            import av
        except ImportError as e:
            raise RuntimeError("videos need PyAV: pip install 'blazepose[video]'") from e
        try:
            self.container = av.open(location)
        except Exception as e:  # PyAV raises its own error types per failure
            raise ValueError(f"{location}: cannot open as a video ({e})") from e
        if not self.container.streams.video:
            self.container.close()
            raise ValueError(f"{location}: has no video stream")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.audio = self.container.streams.audio[0] if self.container.streams.audio else None
        self.location = location
        self.start_s, self.end_s, self.stride = start_s, end_s, stride
        self.upright = upright
        rate = self.stream.average_rate or self.stream.guessed_rate or Fraction(30)
        self.frame_rate = Fraction(rate)
        self.time_base = self.stream.time_base or Fraction(1, round(float(rate)))
        # As stored: a rotated video's frames come with these swapped (known once a frame is decoded).
        self.width, self.height = self.stream.codec_context.width, self.stream.codec_context.height
        # What the container states, read now: PyAV 18.1.1 refuses to read a stream of a closed container.
        self._stated_frames: int = self.stream.frames
        self._stream_duration_s = (
            float(self.stream.duration * self.stream.time_base)
            if self.stream.duration and self.stream.time_base
            else None
        )
        self._container_duration_s = self.container.duration / 1e6 if self.container.duration else None
        # Where the file's time starts (MPEG-TS and cut files seldom start at 0): start_s and end_s count from
        # there, as players and ffmpeg's -ss count; frame timestamps stay the container's.
        self.offset_s = self.container.start_time / 1e6 if self.container.start_time else 0.0
        if start_s is not None and self.duration_s is not None and start_s >= self.duration_s:
            self.container.close()
            raise ValueError(f"{location}: --start {start_s:g} s is past its end ({self.duration_s:.2f} s long)")
        self.audio_sink: Callable[[Any], None] | None = None  # gets each decoded audio frame of the kept range

    @property
    def duration_s(self) -> float | None:
        """The video stream's length as its container states it (None when it does not)."""
        return self._stream_duration_s if self._stream_duration_s is not None else self._container_duration_s

    @property
    def expected_frames(self) -> int | None:
        """Frames the source will yield, when the container says (for progress)."""
        total = self._stated_frames
        if not total and self._stream_duration_s is not None:
            total = int(self._stream_duration_s * float(self.frame_rate))
        if not total:
            return None
        rate = float(self.frame_rate)
        first = min(total, math.ceil((self.start_s or 0) * rate - 1e-6))  # the first frame at or after start_s
        last = total if self.end_s is None else min(total, math.ceil(self.end_s * rate - 1e-6))  # (exclusive)
        return max(0, (last - first + self.stride - 1) // self.stride)

    def frames(self) -> Generator[Frame, None, None]:
        """The kept frames, decoded ahead in a thread (a few frames at most)
        so that decoding overlaps with the caller's work. Audio frames of the
        kept range go to ``audio_sink`` from the caller's thread."""
        pending: queue.Queue = queue.Queue(maxsize=PREFETCH_FRAMES)
        stop = threading.Event()

        def hand_over(item: object) -> bool:
            """Queues an item unless the caller has stopped listening (then False).
            Every put goes through here: a put that waits for ever on a full
            queue nobody reads would hang the caller's join below."""
            while not stop.is_set():
                try:
                    pending.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def decode() -> None:
            try:
                for item in self._decode():
                    if not hand_over(item):
                        return
                hand_over(_END)
            except BaseException as error:  # handed to the caller's thread
                hand_over(error)

        worker = threading.Thread(target=decode, name="blazepose-decode", daemon=True)
        worker.start()
        # Audio decoded before the first video frame (the video decoder holds a few frames back), kept for
        # a sink the caller sets on seeing that frame (it knows the frame size only then).
        held: list | None = []
        try:
            while True:
                item = pending.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, Frame):
                    yield item
                    for audio in held or ():
                        if self.audio_sink is not None:
                            self.audio_sink(audio)
                    held = None
                elif self.audio_sink is not None:
                    self.audio_sink(item)
                elif held is not None:
                    held.append(item)
        finally:
            stop.set()
            worker.join()

    def _decode(self) -> Iterator:
        streams = [self.stream] + ([self.audio] if self.audio is not None else [])
        index = -1
        kept = 0
        packets = 0  # video packets with data: each should give a frame
        last_s = None
        error = None  # the first packet that failed to decode: skipped, counted, reported at the end
        past_end = False  # the video has passed end_s: the audio of the range is read to its end too
        give_up_s = (self.end_s or 0.0) + AUDIO_LAG_S
        try:
            for packet in self.container.demux(*streams):
                if packet.stream is self.stream:
                    if past_end:
                        if packet.pts is not None and packet.time_base is not None:
                            if float(packet.pts * packet.time_base) - self.offset_s > give_up_s:
                                return  # the audio has stopped short of end_s: no use reading on
                        continue
                    packets += 1 if packet.size else 0
                try:
                    decoded = list(packet.decode())
                except Exception as e:
                    if not type(e).__module__.startswith("av"):
                        raise
                    error = error or f"{e} after frame {index}"
                    continue
                frame: Any
                for frame in decoded:
                    seconds = float(frame.pts * frame.time_base) if frame.pts is not None else None
                    if packet.stream is self.audio:
                        if seconds is None or self._in_range(seconds):
                            yield frame
                        elif past_end:
                            return
                        continue
                    index += 1
                    if seconds is None:
                        seconds = self.offset_s + index / float(self.frame_rate)
                    last_s = seconds
                    if not self._in_range(seconds):
                        if self.end_s is not None and seconds - self.offset_s >= self.end_s - 1e-6:
                            if self.audio is None:
                                return
                            past_end = True
                            break
                        continue
                    if kept % self.stride == 0:
                        yield Frame(index, seconds * 1000.0, self._pixels(frame))
                    kept += 1
        except Exception as e:
            if type(e).__module__.startswith("av"):
                failure = IncompleteVideo if index >= 0 else ValueError
                raise failure(f"{self.location}: decoding failed after frame {index} ({e})") from e
            raise
        if not past_end:
            self._check_complete(index + 1, packets, None if last_s is None else last_s - self.offset_s, error)

    def _pixels(self, frame: Any) -> np.ndarray:
        """The frame as RGB, turned upright by the rotation of its display matrix (counter-clockwise degrees)."""
        rgb = frame.to_ndarray(format="rgb24")
        turns = round(frame.rotation / 90) % 4 if self.upright else 0
        return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb

    def _check_complete(self, decoded: int, packets: int, last_s: float | None, error: str | None) -> None:
        """Raises IncompleteVideo when the video ended before its container said it
        would, or when some of its frames could not be decoded (after every
        good frame was handed on)."""
        stated = self._stated_frames
        duration = self.duration_s
        step = 1.0 / float(self.frame_rate)
        if stated and decoded < stated:
            why = f"{decoded} of the {stated} frames its container states"
        elif duration is not None and (last_s is None or last_s + 2.5 * step < duration):
            upto = "no frame" if last_s is None else f"frames up to {last_s:.2f} s"
            why = f"{upto} of the {duration:.2f} s its container states"
        elif decoded < packets or error is not None:
            why = f"{decoded} frames of {packets} (the others could not be decoded{f': {error}' if error else ''})"
        else:
            return
        if error is not None and "could not be decoded" not in why:
            why += f" (a packet could not be decoded: {error})"
        raise IncompleteVideo(f"{self.location}: truncated or corrupt video: decoded {why}; those were processed")

    def _in_range(self, seconds: float) -> bool:
        """Whether a frame at this container time lies in the range asked (times from the file's start)."""
        seconds -= self.offset_s  # (within a microsecond: 0.48 - 0.08 is below 0.4 in floating point)
        return (self.start_s is None or seconds > self.start_s - 1e-6) and (
            self.end_s is None or seconds < self.end_s - 1e-6
        )

    def close(self) -> None:
        self.container.close()


class CameraSource:
    """Frames of a camera (or anything ``cv2.VideoCapture`` opens by index), timed by the clock."""

    def __init__(self, index: int, max_frames: int | None = None) -> None:
        import cv2

        # OpenCV logs a dozen lines from each backend it tries on a missing camera; the one line below
        # says it (its level restored after, so other OpenCV warnings are unchanged).
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        try:
            self.capture = cv2.VideoCapture(index)
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not self.capture.isOpened():
            raise ValueError(f"camera {index}: cannot be opened")
        fps = self.capture.get(cv2.CAP_PROP_FPS) or 30.0
        self.frame_rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(30)
        self.max_frames = max_frames
        self.width: int | None = None
        self.height: int | None = None
        self.audio = None
        self.audio_sink: Callable[[Any], None] | None = None
        self.expected_frames = max_frames

    def frames(self) -> Generator[Frame, None, None]:
        import cv2

        start = time.monotonic()
        index = 0
        while self.max_frames is None or index < self.max_frames:
            ok, bgr = self.capture.read()
            if not ok:
                return
            yield Frame(index, (time.monotonic() - start) * 1000.0, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            index += 1

    def close(self) -> None:
        self.capture.release()


class AnnotatedVideoWriter:
    """H.264 MP4 of annotated frames at the input's frame times, with the input's audio (as AAC).

    Frames are timed by their input timestamps, so a variable frame rate
    stays variable and a cut range keeps its pace. Closing flushes the
    encoder and writes the index, so whatever was written so far is a
    playable file.
    """

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        frame_rate: Fraction,
        audio_stream=None,
        start_ms: float | None = None,
    ) -> None:
        """``start_ms``: the input time written as time 0 (the first frame's; when None, the ``first_ms``
        of the first :meth:`write`). The audio is placed against it by its own timestamps."""
        import av

        self.path = Path(path)
        self.container: Any = av.open(str(path), mode="w")
        self.stream = self.container.add_stream("libx264", rate=frame_rate)
        self.stream.width, self.stream.height = width - width % 2, height - height % 2
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"crf": "20", "preset": "veryfast"}
        self.time_base = Fraction(1, 1000) / 10  # 0.1 ms ticks
        self.stream.codec_context.time_base = self.time_base
        self.audio: Any = None
        if audio_stream is not None:
            rate = audio_stream.codec_context.sample_rate or 44100
            self.audio = self.container.add_stream("aac", rate=rate)
            self.audio.codec_context.layout = audio_stream.codec_context.layout.name or "stereo"
        self._last_pts = -1
        self._resampler: Any = None
        self._fifo: Any = None
        self._audio_samples = 0
        self._audio_skip: int | None = None  # samples still to drop (> 0) or silence to put first (< 0)
        self.start_ms = start_ms
        self.frames = 0

    def write(self, bgr: np.ndarray, timestamp_ms: float, first_ms: float) -> None:
        import av

        if self.start_ms is None:
            self.start_ms = first_ms
        h, w = self.stream.height, self.stream.width
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(bgr[:h, :w]), format="bgr24")
        pts = max(round((timestamp_ms - first_ms) * 10), self._last_pts + 1)
        frame.pts, frame.time_base = pts, self.time_base
        self._last_pts = pts
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def write_audio(self, frame) -> None:
        """Encodes one decoded audio frame of the input (resampled, re-chunked to AAC frames).

        The first frame's timestamp places the audio against the video's time 0:
        what comes before it is dropped, a late start is preceded by silence."""
        if self.audio is None:
            return
        import av

        ctx = self.audio.codec_context
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="fltp", layout=ctx.layout.name, rate=ctx.sample_rate)
            self._fifo = av.AudioFifo()
        if self._audio_skip is None:
            offset_s = 0.0
            if frame.pts is not None and frame.time_base is not None and self.start_ms is not None:
                offset_s = float(frame.pts * frame.time_base) - self.start_ms / 1000.0
            self._audio_skip = -round(offset_s * ctx.sample_rate)
            if self._audio_skip < 0:
                self._write_silence(-self._audio_skip)
                self._audio_skip = 0
        frame.pts = None
        for converted in self._resampler.resample(frame):
            if self._audio_skip >= converted.samples:
                self._audio_skip -= converted.samples
                continue
            if self._audio_skip:
                converted = self._without_first(converted, self._audio_skip)
                self._audio_skip = 0
            self._fifo.write(converted)
        self._drain_audio(ctx.frame_size or 1024)

    def _write_silence(self, samples: int) -> None:
        import av

        ctx = self.audio.codec_context
        zeros = np.zeros((ctx.layout.nb_channels, samples), np.float32)
        silence = av.AudioFrame.from_ndarray(zeros, format="fltp", layout=ctx.layout.name)
        silence.sample_rate = ctx.sample_rate
        self._fifo.write(silence)

    def _without_first(self, frame: Any, samples: int) -> Any:
        import av

        planes = frame.to_ndarray()[:, samples:]
        rest = av.AudioFrame.from_ndarray(np.ascontiguousarray(planes), format="fltp", layout=frame.layout.name)
        rest.sample_rate = frame.sample_rate
        return rest

    def _drain_audio(self, size: int, final: bool = False) -> None:
        while self._fifo is not None and (self._fifo.samples >= size or (final and self._fifo.samples)):
            chunk = self._fifo.read(min(size, self._fifo.samples))
            chunk.pts = self._audio_samples
            chunk.time_base = Fraction(1, self.audio.codec_context.sample_rate)
            self._audio_samples += chunk.samples
            for packet in self.audio.encode(chunk):
                self.container.mux(packet)

    def close(self) -> None:
        if self.container is None:
            return
        for packet in self.stream.encode():
            self.container.mux(packet)
        if self.audio is not None:
            self._drain_audio(self.audio.codec_context.frame_size or 1024, final=True)
            for packet in self.audio.encode():
                self.container.mux(packet)
        self.container.close()
        self.container = None
