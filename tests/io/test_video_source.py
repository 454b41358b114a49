"""VideoSource's decode thread: it never outlives a caller that stops early (issue #11)."""

import threading
import time
from fractions import Fraction

import numpy as np
import pytest

from media_helpers import make_clip

pytest.importorskip("av", reason="video input needs PyAV (the video extra)")

from blazepose.io.video import PREFETCH_FRAMES, VideoSource


def test_stopping_early_while_the_decoder_waits_on_a_full_queue_at_the_end_returns(tmp_path):
    # One frame taken, the next PREFETCH_FRAMES fill the queue, and the decoder
    # has the end marker left to hand over: the caller then stops (an error).
    clip = make_clip(tmp_path / "c.mp4", PREFETCH_FRAMES + 1, np.zeros((64, 64, 3), np.uint8))
    source = VideoSource(str(clip))
    frames = source.frames()
    next(frames)
    time.sleep(1.0)  # lets the decoder fill the queue and reach the end
    closer = threading.Thread(target=frames.close, daemon=True)
    closer.start()
    closer.join(30)
    assert not closer.is_alive(), "closing the frames hung: the decode thread is stuck on a full queue"
    source.close()


def test_a_complete_video_is_not_reported_as_truncated(tmp_path):
    clip = make_clip(tmp_path / "c.mkv", 7, np.zeros((64, 64, 3), np.uint8))
    source = VideoSource(str(clip))
    assert [f.index for f in source.frames()] == list(range(7))
    source.close()


def _stored_sideways(tmp_path, image, rotation):
    """A clip whose frames are ``image`` turned so that the display matrix's ``rotation`` makes them upright."""
    stored = np.ascontiguousarray(np.rot90(image, -round(rotation / 90)))
    return make_clip(tmp_path / f"r{rotation % 360}.mp4", 3, stored, shift=0, rotation=rotation)


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_frames_of_a_rotated_video_come_upright_as_opencv_shows_them(tmp_path, rotation):
    cv2 = pytest.importorskip("cv2")
    image = np.zeros((64, 96, 3), np.uint8)
    image[:16, :24] = 255  # a white block in the top-left corner of the upright picture
    clip = _stored_sideways(tmp_path, image, rotation)
    capture = cv2.VideoCapture(str(clip))  # OpenCV applies the display matrix by default
    ok, bgr = capture.read()
    capture.release()
    assert ok and bgr.shape[:2] == (64, 96), "OpenCV did not turn the clip upright: the check means nothing"
    source = VideoSource(str(clip))
    frame = next(source.frames()).rgb
    source.close()
    assert frame.shape == (64, 96, 3)
    assert np.abs(frame.astype(int) - bgr[..., ::-1]).mean() < 2.0
    assert frame[:16, :24].mean() > 200 and frame[-16:, -24:].mean() < 50


def test_a_rotated_video_is_read_as_stored_when_asked(tmp_path):
    image = np.zeros((64, 96, 3), np.uint8)
    clip = _stored_sideways(tmp_path, image, 90)
    source = VideoSource(str(clip), upright=False)
    assert next(source.frames()).rgb.shape == (96, 64, 3)
    source.close()


@pytest.mark.parametrize(
    ("start_s", "end_s", "stride"), [(0.4, 1.0, 1), (None, 1.0, 3), (0.41, 0.99, 2), (0.29, None, 1)]
)
def test_a_time_range_counts_from_the_first_frame_and_the_expected_count_is_the_count(tmp_path, start_s, end_s, stride):
    # MPEG-TS keeps the encoder's delay: this file's first frame is at 0.08 s, not 0, in the container.
    clip = make_clip(tmp_path / "c.ts", 50, np.zeros((64, 64, 3), np.uint8))
    whole = VideoSource(str(clip))
    first_ms = next(whole.frames()).timestamp_ms
    whole.close()
    assert first_ms > 0, "the file starts at 0: the check means nothing"
    source = VideoSource(str(clip), start_s, end_s, stride)
    times = [(f.timestamp_ms - first_ms) / 1000 for f in source.frames()]
    source.close()
    step = 1 / 25
    times_in_file = [i * step for i in range(50)]
    kept = [t for t in times_in_file if (start_s or 0) <= t + 1e-9 and (end_s is None or t < end_s - 1e-9)]
    np.testing.assert_allclose(times, kept[::stride], atol=1e-6)
    assert source.expected_frames == len(times)


@pytest.mark.parametrize(("hflip", "vflip"), [(True, False), (False, True)])
def test_a_mirrored_video_comes_mirrored_back(tmp_path, hflip, vflip):
    # (A mirror was read as a half turn: the person upside down. ffmpeg shows these mirrored back.)
    import av

    image = np.zeros((64, 96, 3), np.uint8)
    image[:16, :24] = 255  # top-left in the picture as shown
    stored = image[:, ::-1] if hflip else image[::-1]
    path = tmp_path / "m.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        stream.set_display_rotation(0, hflip=hflip, vflip=vflip)
        for packet in [*stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(stored), "rgb24")),
                       *stream.encode()]:  # fmt: skip
            container.mux(packet)
    source = VideoSource(str(path))
    frame = next(source.frames()).rgb
    source.close()
    assert np.abs(frame.astype(int) - image).mean() < 3


def test_damaged_audio_packets_do_not_make_the_video_corrupt(tmp_path):
    from media_helpers import make_flash_and_click_clip

    damaged = make_flash_and_click_clip(tmp_path / "damaged.mkv", 2.0, 1.0, damage_audio_every=10)
    source = VideoSource(str(damaged))
    assert len(list(source.frames())) == 50  # no IncompleteVideo: every video frame decoded
    source.close()


def test_a_one_frame_stream_of_a_guessed_absurd_rate_keeps_a_sensible_one(tmp_path):
    import av

    path = tmp_path / "one.ts"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 90000)
        frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), "rgb24")
        frame.pts, frame.time_base = 0, Fraction(1, 90000)
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    source = VideoSource(str(path))
    assert 0 < source.frame_rate <= 1000  # it states none and FFmpeg guesses 90000 fps: its copy had no frame
    assert len(list(source.frames())) == 1
    source.close()


def _ffmpeg(*args: str) -> None:
    import shutil
    import subprocess

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg (the command) is the oracle here: not installed")
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=120)


def test_a_copy_trimmed_without_re_encoding_is_not_corrupt(tmp_path):
    # `ffmpeg -ss 1.3 -c copy` keeps the packets before the cut for the decoder to drop (an edit list):
    # they were counted as frames that could not be decoded ("truncated or corrupt", exit 1).
    clip = make_clip(tmp_path / "full.mp4", 100, np.zeros((64, 64, 3), np.uint8), fps=25)
    _ffmpeg("-ss", "1.3", "-i", str(clip), "-c", "copy", str(tmp_path / "trimmed.mp4"))
    import av

    with av.open(str(tmp_path / "trimmed.mp4")) as container:
        expected = sum(1 for _ in container.decode(video=0))
    source = VideoSource(str(tmp_path / "trimmed.mp4"))
    assert len(list(source.frames())) == expected  # no IncompleteVideo
    source.close()


@pytest.mark.parametrize("rotation", [0, 90, 180, -90])
@pytest.mark.parametrize(("hflip", "vflip"), [(False, False), (True, False), (False, True), (True, True)])
def test_turned_and_mirrored_videos_come_as_ffmpeg_shows_them(tmp_path, rotation, hflip, vflip):
    import av

    image = np.zeros((48, 80, 3), np.uint8)
    image[:12, :20], image[-12:, :20], image[:12, -20:] = (255, 0, 0), (0, 255, 0), (0, 0, 255)
    path = tmp_path / "turned.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264rgb", rate=25)
        stream.width, stream.height, stream.pix_fmt = 80, 48, "rgb24"
        stream.set_display_rotation(rotation, hflip=hflip, vflip=vflip)
        for packet in [*stream.encode(av.VideoFrame.from_ndarray(image, "rgb24")), *stream.encode()]:
            container.mux(packet)
    _ffmpeg("-i", str(path), "-frames:v", "1", "-pix_fmt", "rgb24", "-f", "rawvideo", str(tmp_path / "shown.rgb"))
    source = VideoSource(str(path))
    ours = next(source.frames()).rgb
    source.close()
    shown = np.fromfile(tmp_path / "shown.rgb", np.uint8)
    assert shown.size == ours.size
    assert np.abs(shown.reshape(ours.shape).astype(int) - ours).mean() < 3


def test_mpeg_ts_files_joined_end_to_end_play_on(tmp_path):
    # (`cat a.ts b.ts`: the clock goes back at the join. Every later frame was put 1 us after the one before:
    # the second recording squeezed into 13 ms, its repetitions lost.)
    part = make_clip(tmp_path / "part.ts", 50, np.zeros((64, 64, 3), np.uint8))
    (tmp_path / "joined.ts").write_bytes(part.read_bytes() * 2)
    source = VideoSource(str(tmp_path / "joined.ts"))
    times = np.array([f.timestamp_ms for f in source.frames()])
    source.close()
    assert len(times) == 100
    np.testing.assert_allclose(np.diff(times), 40.0, atol=1e-6)


def test_matroska_whose_audio_outlasts_the_video_is_not_truncated(tmp_path):
    # (The container's length, which counts the audio, was taken for the video's.)
    from media_helpers import make_flash_and_click_clip

    clip = make_flash_and_click_clip(tmp_path / "long_audio.mkv", 2.0, 1.0, audio_extra_s=1.0)
    source = VideoSource(str(clip))
    assert len(list(source.frames())) == 50
    source.close()


def test_reordered_times_of_b_frames_in_avi_are_the_container_s(tmp_path):
    # (AVI hands H.264 frames on with times out of order: each step back was taken for a join of two files,
    # shifting every later frame, 11.8 s by the end of an 8 s clip.)
    import av

    clip = make_clip(tmp_path / "b.avi", 100, np.zeros((64, 64, 3), np.uint8), codec="libx264")
    with av.open(str(clip)) as container:
        stated = [float(f.pts * f.time_base) * 1000 for f in container.decode(video=0)]
    source = VideoSource(str(clip))
    assert [f.timestamp_ms for f in source.frames()] == stated
    source.close()


def test_matroska_with_audio_cut_short_is_reported(tmp_path):
    # (Once the container's length stopped counting for files with audio, a cut Matroska passed as whole.)
    from blazepose.io.video import IncompleteVideo
    from media_helpers import make_flash_and_click_clip

    whole = make_flash_and_click_clip(tmp_path / "whole.mkv", 3.0, 1.0)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.6)])
    source = VideoSource(str(cut))
    with pytest.raises(IncompleteVideo, match="truncated or corrupt"):
        list(source.frames())
    source.close()
