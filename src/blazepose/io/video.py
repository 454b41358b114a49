"""Reading videos, cameras and streams (the annotated video is written by video_writer).

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
from typing import Any

import numpy as np

from blazepose.io.orientation import as_displayed, display_matrix

PREFETCH_FRAMES = 4
MAX_FRAME_RATE = 1000  # fps; a stated rate above it is taken for a container's guess
JOIN_BACK_S = 1.0  # a time this far behind the last is a join of two files, not a reordered frame
AUDIO_LAG_S = 2.0  # how far past end_s the video is read for audio of the range still to come
_END = object()


class IncompleteVideo(ValueError):
    """A video ended before its container said it would, or some of its frames could not be decoded:
    raised by :meth:`VideoSource.frames` after every good frame was handed on."""


class JoinedClock:
    """Container times made to run on across joins: files joined end to end (``cat a.ts b.ts``) start
    their clock again at each join. In each stream, a time over ``JOIN_BACK_S`` behind where the stream
    got to is a join; from there its times are shifted to follow on. The shift found at a join, by
    whichever stream meets it first, is every stream's at that join, so that audio and video stay in
    sync (the video decoder hands its frames on later than the audio's, so the streams meet a join at
    different moments). Smaller steps back (B-frames in AVI, a repeated time) are left as they are."""

    def __init__(self) -> None:
        self.shifts: list[float] = []  # the time added after each join (cumulative)
        self._reached: dict[str, tuple[int, float]] = {}  # per stream: joins crossed, where its last frame ended

    def time(self, stream: str, seconds: float, length_s: float) -> float:
        """A frame's time in ``stream`` (``video``, ``audio``), shifted past the joins it has crossed."""
        crossed, end = self._reached.get(stream, (0, -math.inf))
        shifted = seconds + (self.shifts[crossed - 1] if crossed else 0.0)
        if shifted < end - JOIN_BACK_S:
            crossed += 1
            if len(self.shifts) < crossed:
                self.shifts.append((self.shifts[-1] if self.shifts else 0.0) + end - shifted)
            shifted = seconds + self.shifts[crossed - 1]
        self._reached[stream] = (crossed, max(end, shifted + length_s))
        return shifted


@dataclass
class Frame:
    index: int
    timestamp_ms: float
    rgb: np.ndarray


class VideoSource:
    """Decoded frames of a video file or stream, with their presentation times.

    Frames come as players show them: the display matrix's quarter turns
    (phone videos store their frames sideways) and mirrors are applied, as
    ffmpeg applies them.

    Args:
        location: Path or URL.
        start_s, end_s: Time range to keep (seconds; None: from start / to end).
        stride: Keep every ``stride``-th frame of the range.
        upright: Apply the display matrix. False yields frames as stored.
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
        # The stated rate, unless it is none or absurd (a one-frame MPEG-TS "has" 50000 fps; its copy then
        # gave frames of no duration, which players skip): only used where a video's timestamps are not.
        stated = [Fraction(r) for r in (self.stream.average_rate, self.stream.guessed_rate) if r]
        rate = next((r for r in stated if 0 < r <= MAX_FRAME_RATE), Fraction(30))
        self.frame_rate = rate
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
        self._audio_end_s: float | None = None  # where the decoded audio ended (for the truncation check)
        # Where the file's time starts (MPEG-TS and cut files seldom start at 0): start_s and end_s count from
        # there, as players and ffmpeg's -ss count; frame timestamps stay the container's.
        self.offset_s = self.container.start_time / 1e6 if self.container.start_time else 0.0
        # (MPEG-TS states an estimate: files joined end to end state their first part's)
        estimated = self.container.format.name == "mpegts"
        if start_s is not None and self.duration_s is not None and start_s >= self.duration_s and not estimated:
            self.container.close()
            raise ValueError(f"{location}: --start {start_s:g} s is past its end ({self.duration_s:.2f} s long)")
        self._audio_sink: Callable[[Any], None] | None = None
        self._held_audio: list | None = None  # audio before the first frame was handed over (see audio_sink)

    @property
    def audio_sink(self) -> Callable[[Any], None] | None:
        """Gets each decoded audio frame of the kept range, from the caller's thread. Audio decoded before
        the first video frame (the video decoder holds a few frames back) is handed to a sink set while
        that frame is out (a writer needs its size first)."""
        return self._audio_sink

    @audio_sink.setter
    def audio_sink(self, sink: Callable[[Any], None] | None) -> None:
        self._audio_sink = sink
        if sink is not None and self._held_audio:
            held, self._held_audio = self._held_audio, []
            for audio in held:
                sink(audio)

    @property
    def duration_s(self) -> float | None:
        """The video stream's length as its container states it, else the container's (None when neither
        is stated)."""
        return self._stream_duration_s if self._stream_duration_s is not None else self._container_duration_s

    @property
    def expected_frames(self) -> int | None:
        """Frames the source will yield, when the container says (for progress): exact at a constant frame
        rate, an estimate from the mean rate when it varies."""
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
        self._held_audio = []
        try:
            while True:
                item = pending.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, Frame):
                    yield item
                    self._held_audio = None  # (a sink set while the first frame was out has had it)
                elif self._audio_sink is not None:
                    self._audio_sink(item)
                elif self._held_audio is not None:
                    self._held_audio.append(item)
        finally:
            self._held_audio = None  # (closed at its first frame: a sink set later gets nothing stale)
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
        clock = JoinedClock()  # MPEG-TS files joined end to end: the clock goes back at each join
        give_up_s = (self.end_s or 0.0) + AUDIO_LAG_S
        try:
            for packet in self.container.demux(*streams):
                if packet.stream is self.stream:
                    if past_end:
                        if packet.pts is not None and packet.time_base is not None:
                            if float(packet.pts * packet.time_base) - self.offset_s > give_up_s:
                                return  # the audio has stopped short of end_s: no use reading on
                        continue
                    packets += 1 if packet.size and not packet.is_discard else 0  # (an edit list drops those)
                try:
                    decoded = list(packet.decode())
                except Exception as e:
                    if not type(e).__module__.startswith("av"):
                        raise
                    if packet.stream is self.stream:  # (a damaged audio packet is a moment of silence)
                        error = error or f"{e} after frame {index}"
                    continue
                frame: Any
                for frame in decoded:
                    seconds = float(frame.pts * frame.time_base) if frame.pts is not None else None
                    if packet.stream is self.audio:
                        if seconds is not None:
                            length_s = frame.samples / (frame.sample_rate or 1)
                            seconds = clock.time("audio", seconds, length_s)
                            if clock.shifts:
                                frame.pts = round(seconds / frame.time_base)
                            self._audio_end_s = seconds + length_s
                        if seconds is None or self._in_range(seconds):
                            yield frame
                        elif past_end:
                            return
                        continue
                    index += 1
                    if seconds is None:
                        seconds = self.offset_s + index / float(self.frame_rate)
                    seconds = clock.time("video", seconds, 1.0 / float(self.frame_rate))
                    last_s = seconds
                    if not self._in_range(seconds):
                        if self._past_end(seconds):
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
        if not past_end and not clock.shifts:  # (a joined file's stated length is its first part's)
            self._check_complete(index + 1, packets, last_s, error)

    def _pixels(self, frame: Any) -> np.ndarray:
        """The frame as RGB, as its display matrix shows it (turned and mirrored) unless ``upright`` is False."""
        rgb = frame.to_ndarray(format="rgb24")
        matrix = display_matrix(frame) if self.upright else None
        return rgb if matrix is None else as_displayed(rgb, matrix)

    def _check_complete(self, decoded: int, packets: int, last_s: float | None, error: str | None) -> None:
        """Raises IncompleteVideo when the video ended before its container said it
        would, or when some of its frames could not be decoded (after every
        good frame was handed on)."""
        stated = self._stated_frames
        duration = self.duration_s
        step = 1.0 / float(self.frame_rate)
        if last_s is not None:  # a stated duration counts from the file's start (MPEG-TS) or from 0 (Matroska)
            last_s = max(last_s, last_s - self.offset_s)
        if self._stream_duration_s is None and self._audio_end_s is not None and last_s is not None:
            # The container's length (Matroska states no video length) counts audio that may outlast the
            # video: the file is whole when either stream reaches it.
            last_s = max(last_s, self._audio_end_s, self._audio_end_s - self.offset_s)
        short = duration is not None and (last_s is None or last_s + 2.5 * step < duration)
        # Fewer frames than stated counts only with the time short too: a copy trimmed without re-encoding
        # states the frames its edit list tells the decoder to drop.
        if stated and decoded < stated and (short or duration is None):
            why = f"{decoded} of the {stated} frames its container states"
        elif short:
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
        """Whether a frame at this container time lies in the range asked (times from the file's start,
        within a microsecond: 0.48 - 0.08 is below 0.4 in floating point)."""
        return (self.start_s is None or seconds - self.offset_s > self.start_s - 1e-6) and not self._past_end(seconds)

    def _past_end(self, seconds: float) -> bool:
        """Whether a frame at this container time is at or after ``end_s``."""
        return self.end_s is not None and seconds - self.offset_s >= self.end_s - 1e-6

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
