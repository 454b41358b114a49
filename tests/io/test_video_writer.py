"""AnnotatedVideoWriter: frames of another size than the first are fitted, not cut."""

from fractions import Fraction

import numpy as np
import pytest

av = pytest.importorskip("av", reason="video output needs PyAV (the video extra)")

from blazepose.io.video_writer import AnnotatedVideoWriter  # noqa: E402


def _picture(height: int, width: int) -> np.ndarray:
    """Black with a white right half: where the halves meet shows how a frame was fitted."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, width // 2 :] = 255
    return image


@pytest.mark.parametrize("later", [(96, 128), (24, 32), (48, 96)])
def test_frames_whose_size_changes_midway_are_scaled_into_the_video(tmp_path, later):
    # (A larger frame was cut to its top-left corner: a stream joined from two sizes showed a quarter.)
    writer = AnnotatedVideoWriter(tmp_path / "v.mp4", 64, 48, Fraction(25))
    writer.write(_picture(48, 64), 0.0, 0.0)
    writer.write(_picture(*later), 40.0, 0.0)
    writer.close()
    with av.open(str(tmp_path / "v.mp4")) as container:
        frames = [f.to_ndarray(format="gray").astype(int) for f in container.decode(video=0)]
    assert [f.shape for f in frames] == [(48, 64), (48, 64)]
    height, width = later
    scale = min(48 / height, 64 / width)
    shown_w = round(width * scale)
    left = (64 - shown_w) // 2
    row = frames[1][24]
    assert row[left + 2 : left + shown_w // 2 - 2].max() < 40  # the black half, where it should be
    assert row[left + shown_w // 2 + 2 : left + shown_w - 2].min() > 215  # the white half
    if left > 2:
        assert row[: left - 1].max() < 40  # the bars beside a frame of another shape


def test_audio_given_before_the_first_frame_waits_for_its_time_0(tmp_path):
    # With start_ms left to the first write(), audio handed over before it was put at time 0 unplaced:
    # the click of a clip whose audio starts 0.4 s early was lost.
    from blazepose.io.video import VideoSource
    from media_helpers import flash_and_click_times, make_flash_and_click_clip

    clip = make_flash_and_click_clip(tmp_path / "lead.mkv", 2.0, 0.2, audio_lead_s=0.4)
    source = VideoSource(str(clip))
    writer = AnnotatedVideoWriter(tmp_path / "out.mp4", 64, 48, source.frame_rate, source.audio)
    source.audio_sink = writer.write_audio  # set before any frame: the writer learns time 0 later
    first = None
    for frame in source.frames():
        first = frame.timestamp_ms if first is None else first
        writer.write(np.ascontiguousarray(frame.rgb[..., ::-1]), frame.timestamp_ms, first)
    writer.close()
    source.close()
    flash, click, _ = flash_and_click_times(tmp_path / "out.mp4")
    assert flash == pytest.approx(0.2) and click == pytest.approx(0.2, abs=0.005)


def test_audio_held_for_a_first_frame_never_taken_is_dropped(tmp_path):
    from blazepose.io.video import VideoSource
    from media_helpers import make_flash_and_click_clip

    source = VideoSource(str(make_flash_and_click_clip(tmp_path / "lead.mkv", 2.0, 0.2, audio_lead_s=0.4)))
    frames = source.frames()
    next(frames)
    frames.close()  # closed at the first frame, the audio held for it still there
    got: list = []
    source.audio_sink = got.append
    source.close()
    assert got == []  # (24 stale audio frames reached a sink set afterwards)


@pytest.mark.parametrize(("name", "channels", "expected"), [("2 channels", 2, "stereo"), ("1 channels", 1, "mono"),
                         ("8 channels (FL+FR+FC+LFE+BL+BR+SL+SR)", 8, "stereo"), ("5.1", 6, "5.1")])  # fmt: skip
def test_layouts_aac_cannot_take_are_mixed_down(name, channels, expected):
    # (PCM of unspecified order, "2 channels" or a custom 7.1, made the AAC encoder refuse: the input failed.)
    from types import SimpleNamespace

    from blazepose.io.video_writer import _aac_layout

    assert _aac_layout(SimpleNamespace(name=name, nb_channels=channels)) == expected
