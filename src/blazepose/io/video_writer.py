"""Writing annotated H.264 video at the input's frame times, with the input's audio in sync."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

AUDIO_SLACK_S = 0.02
"""How far an audio frame's timestamp may stray from where the samples before it end before the
audio is re-placed (silence for a gap, samples dropped for an overlap): more than timestamp rounding."""


AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
"""The sample rates AAC encodes; the input's audio is resampled to the nearest (at most 48 kHz) otherwise."""


class AnnotatedVideoWriter:
    """H.264 MP4 of annotated frames at the input's frame times, with the input's audio (as AAC).

    Frames are timed by their input timestamps, so a variable frame rate
    stays variable and a cut range keeps its pace. The audio is placed by its
    own timestamps against the first frame's: what comes before that frame is
    dropped, and a late start or a gap in it becomes silence. Closing flushes
    the encoders and writes the index, so whatever was written so far is a
    playable file.

    Args:
        path: The MP4 to write.
        width, height: The frame size (cut to even numbers, as H.264 needs);
            frames of another size are scaled into it, keeping their shape.
        frame_rate: The nominal rate (the frames' own times are kept).
        audio_stream: The input's audio stream (PyAV) to carry over, or None.
        start_ms: The input time written as time 0 (the first frame's; when
            None, the ``first_ms`` of the first :meth:`write`).
    """

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        frame_rate: Fraction,
        audio_stream: Any = None,
        start_ms: float | None = None,
    ) -> None:
        import av

        self.path = Path(path)
        self.container: Any = av.open(str(path), mode="w")
        self.stream = self.container.add_stream("libx264", rate=frame_rate)
        self.stream.width, self.stream.height = max(2, width - width % 2), max(2, height - height % 2)
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"crf": "20", "preset": "veryfast"}
        self.time_base = Fraction(1, 1000) / 10  # 0.1 ms ticks
        self.stream.codec_context.time_base = self.time_base
        self.audio: Any = None
        if audio_stream is not None:
            rate = audio_stream.codec_context.sample_rate or 44100
            if rate not in AAC_RATES:  # (the encoder refused 192 kHz or 47.952 kHz: the input failed)
                rate = min(AAC_RATES, key=lambda r: abs(r - min(rate, 48000)))
            self.audio = self.container.add_stream("aac", rate=rate)
            self.audio.codec_context.layout = _aac_layout(audio_stream.codec_context.layout)
        self._last_pts = -1
        self._resampler: Any = None
        self._fifo: Any = None
        self._audio_encoded = 0  # samples handed to the encoder
        self._audio_placed = 0  # samples put in the output's time line (encoded or waiting in the fifo)
        self._audio_skip = 0  # samples still to drop (an overlap, or audio before time 0)
        self._audio_seen = False
        self.start_ms = start_ms
        self._early_audio: list[Any] = []  # audio given before the first write() when start_ms is None
        self.frames = 0

    def write(self, bgr: np.ndarray, timestamp_ms: float, first_ms: float) -> None:
        """Encodes one frame (BGR) at ``timestamp_ms - first_ms`` (later than the frame before)."""
        import av

        if self.start_ms is None:
            self.start_ms = first_ms
            early, self._early_audio = self._early_audio, []
            for audio in early:  # (now that time 0 is known)
                self.write_audio(audio)
        frame = av.VideoFrame.from_ndarray(self._fitted(bgr), format="bgr24")
        pts = max(round((timestamp_ms - first_ms) * 10), self._last_pts + 1)
        frame.pts, frame.time_base = pts, self.time_base
        self._last_pts = pts
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def _fitted(self, bgr: np.ndarray) -> np.ndarray:
        """The frame at the video's size: cut by a row or column when one is odd, scaled into it (keeping
        its shape, black bars around) when its size changed midway (a stream joined from two)."""
        h, w = self.stream.height, self.stream.width
        if bgr.shape[0] - h in (0, 1) and bgr.shape[1] - w in (0, 1):
            return np.ascontiguousarray(bgr[:h, :w])
        import cv2

        scale = min(h / bgr.shape[0], w / bgr.shape[1])
        fh, fw = max(1, round(bgr.shape[0] * scale)), max(1, round(bgr.shape[1] * scale))
        fitted = np.zeros((h, w, 3), np.uint8)
        top, left = (h - fh) // 2, (w - fw) // 2
        fitted[top : top + fh, left : left + fw] = cv2.resize(bgr, (fw, fh), interpolation=cv2.INTER_AREA)
        return fitted

    def write_audio(self, frame: Any) -> None:
        """Encodes one decoded audio frame of the input (resampled, re-chunked to AAC frames), placed by
        its timestamp (see the class)."""
        if self.audio is None:
            return
        if self.start_ms is None:  # placed once the first write() says where time 0 is
            self._early_audio.append(frame)
            return
        import av

        ctx = self.audio.codec_context
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="fltp", layout=ctx.layout.name, rate=ctx.sample_rate)
            self._fifo = av.AudioFifo()
        self._place(frame, ctx.sample_rate)
        frame.pts = None
        for converted in self._resampler.resample(frame):
            if self._audio_skip >= converted.samples:
                self._audio_skip -= converted.samples
                continue
            if self._audio_skip:
                converted = _without_first(converted, self._audio_skip)
                self._audio_skip = 0
            self._fifo.write(converted)
            self._audio_placed += converted.samples
        self._drain_audio(ctx.frame_size or 1024)

    def _place(self, frame: Any, rate: int) -> None:
        """Puts silence before ``frame`` or marks samples of it to drop, where its timestamp is not where the
        audio so far ends (exactly for the first frame, beyond :data:`AUDIO_SLACK_S` after)."""
        if frame.pts is None or frame.time_base is None:
            return
        assert self.start_ms is not None  # (write_audio waits for it)
        at = round((float(frame.pts * frame.time_base) - self.start_ms / 1000) * rate)
        ahead = at - (self._audio_placed - self._audio_skip)  # from where it would go, following on
        slack = round(AUDIO_SLACK_S * rate) if self._audio_seen else 0
        self._audio_seen = True
        if ahead > slack:
            taken = min(ahead, self._audio_skip)  # (fewer samples to drop before it)
            self._audio_skip -= taken
            if ahead > taken:
                self._write_silence(ahead - taken)
        elif ahead < -slack:
            self._audio_skip -= ahead

    def _write_silence(self, samples: int) -> None:
        import av

        ctx = self.audio.codec_context
        zeros = np.zeros((ctx.layout.nb_channels, samples), np.float32)
        silence = av.AudioFrame.from_ndarray(zeros, format="fltp", layout=ctx.layout.name)
        silence.sample_rate = ctx.sample_rate
        self._fifo.write(silence)
        self._audio_placed += samples

    def _drain_audio(self, size: int, final: bool = False) -> None:
        while self._fifo is not None and (self._fifo.samples >= size or (final and self._fifo.samples)):
            chunk = self._fifo.read(min(size, self._fifo.samples))
            chunk.pts = self._audio_encoded
            chunk.time_base = Fraction(1, self.audio.codec_context.sample_rate)
            self._audio_encoded += chunk.samples
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


def writer_for_source(path: Path, source: Any, rgb: np.ndarray, start_ms: float) -> AnnotatedVideoWriter:
    """The annotated MP4 of a video source's frames, opened on its first frame (``rgb``, at ``start_ms``, the
    time written as 0); the source's audio goes into it from then on, in sync.

    Args:
        path: The MP4 to write.
        source: A ``VideoSource`` or ``CameraSource`` (whose ``audio`` is None).
        rgb: The first frame (its size is the video's).
        start_ms: The first frame's time.
    """
    height, width = rgb.shape[:2]
    video = AnnotatedVideoWriter(path, width, height, source.frame_rate, source.audio, start_ms)
    source.audio_sink = video.write_audio
    return video


def _aac_layout(layout: Any) -> str:
    """The input's channel layout when AAC takes it; one of unspecified order ("2 channels", as PCM in
    AVI or Matroska often has) goes to mono or stereo (the resampler mixes it down)."""
    name = layout.name or ""
    if not name or re.match(r"\d+ channels", name) or name == "downmix":  # (also "8 channels (FL+FR+...)")
        return "mono" if layout.nb_channels == 1 else "stereo"
    return name


def _without_first(frame: Any, samples: int) -> Any:
    import av

    planes = frame.to_ndarray()[:, samples:]
    rest = av.AudioFrame.from_ndarray(np.ascontiguousarray(planes), format="fltp", layout=frame.layout.name)
    rest.sample_rate = frame.sample_rate
    return rest
