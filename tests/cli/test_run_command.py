"""The ``blazepose run`` command, run as users run it: as a subprocess."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import NEEDS_SHARED, SHARED_VIDEO
from media_helpers import flash_and_click_times, killed_after, make_clip, make_flash_and_click_clip

av = pytest.importorskip("av", reason="video input and output need PyAV (the video extra)")

from blazepose.io.landmark_files import load_landmarks  # noqa: E402


def blazepose(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "blazepose", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def _container_times_ms(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [float(f.pts * f.time_base * 1000) for f in c.decode(video=0)]


def _video_info(path: Path) -> tuple[int, float]:
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        return sum(1 for _ in c.decode(video=0)), float(stream.average_rate)


@NEEDS_SHARED
def test_video_gives_mp4_and_one_record_per_frame_with_container_times(tmp_path):
    run = blazepose("run", SHARED_VIDEO, "--out", tmp_path, "--model", "lite", "--formats", "jsonl,csv,npz")
    assert run.returncode == 0, run.stderr
    frames, fps = _video_info(SHARED_VIDEO)
    out_frames, out_fps = _video_info(tmp_path / "dance_720p.annotated.mp4")
    assert (out_frames, out_fps) == (frames, fps) == (205, 50.0)
    with av.open(str(tmp_path / "dance_720p.annotated.mp4")) as c:
        assert c.streams.audio, "the input's audio is kept"
    lines = (tmp_path / "dance_720p.landmarks.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["frame"] for r in records] == list(range(205))
    np.testing.assert_allclose([r["timestamp_ms"] for r in records], _container_times_ms(SHARED_VIDEO), atol=1e-6)
    # Each format reads back to the same arrays.
    loaded = {fmt: load_landmarks(tmp_path / f"dance_720p.landmarks.{fmt}") for fmt in ("jsonl", "csv", "npz")}
    for fmt in ("csv", "npz"):
        assert len(loaded[fmt]) == 205
        for a, b in zip(loaded["jsonl"], loaded[fmt], strict=True):
            assert a.frame == b.frame and a.timestamp_ms == pytest.approx(b.timestamp_ms, abs=1e-3)
            for name in ("landmarks", "world_landmarks", "visibility", "presence", "pose_scores", "track_ids"):
                np.testing.assert_array_equal(getattr(a.result, name), getattr(b.result, name), err_msg=f"{fmt} {name}")
    assert sum(len(r.result) for r in loaded["npz"]) >= 200


def test_photos_folder_formats_round_trip_and_no_overwrite(tmp_path, astronaut):
    import cv2

    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "a.png"), astronaut[..., ::-1])
    cv2.imwrite(str(photos / "b.jpg"), np.roll(astronaut, 20, axis=1)[..., ::-1])
    out = tmp_path / "out"
    run = blazepose("run", photos, "--out", out, "--formats", "jsonl,csv,npz", "--overlay", "mask", "--quiet")
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""  # --quiet: not even LiteRT's start-up notice
    assert cv2.imread(str(out / "a.annotated.png")).shape == (512, 512, 3)
    assert (out / "b.annotated.jpg").exists()
    records = {fmt: load_landmarks(out / f"a.landmarks.{fmt}") for fmt in ("jsonl", "csv", "npz")}
    for fmt in ("csv", "npz"):
        np.testing.assert_array_equal(records[fmt][0].result.landmarks, records["jsonl"][0].result.landmarks)
    assert records["jsonl"][0].timestamp_ms is None and len(records["jsonl"][0].result) == 1
    again = blazepose("run", photos / "a.png", "--out", out)
    assert again.returncode == 1 and "--force" in again.stderr
    assert blazepose("run", photos / "a.png", "--out", out, "--force", "--quiet").returncode == 0


def test_corrupt_inputs_are_named_and_the_good_ones_processed(tmp_path, astronaut):
    import cv2

    good = tmp_path / "good.png"
    cv2.imwrite(str(good), astronaut[..., ::-1])
    truncated = tmp_path / "truncated.jpg"
    _, data = cv2.imencode(".jpg", astronaut)
    truncated.write_bytes(data.tobytes()[:300])
    broken_video = tmp_path / "broken.mp4"
    broken_video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    out = tmp_path / "out"
    run = blazepose("run", truncated, broken_video, tmp_path / "missing.png", good, "--out", out, "--json")
    assert run.returncode == 1
    for name in ("truncated.jpg", "broken.mp4", "missing.png"):
        assert name in run.stderr
    assert (out / "good.annotated.png").exists() and (out / "good.landmarks.jsonl").exists()
    events = [json.loads(line) for line in run.stdout.splitlines()]
    summary = events[-1]
    assert summary["event"] == "summary" and len(summary["errors"]) == 3 and summary["frames"] == 1


@NEEDS_SHARED
def test_sigint_mid_video_leaves_a_playable_mp4_and_every_frame_so_far(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "blazepose", "run", str(SHARED_VIDEO), "--out", str(tmp_path), "--model", "heavy",
         "--json", "--formats", "jsonl,npz"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    with killed_after(300, proc.kill) as watchdog:
        for line in proc.stdout:
            event = json.loads(line)
            if event["event"] == "progress" and event["frames"] >= 10:
                proc.send_signal(signal.SIGINT)
                break
    assert not watchdog.fired, "no progress within 300 s"
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    summary = json.loads(rest.splitlines()[-1])
    assert summary["interrupted"] and 10 <= summary["frames"] < 205
    frames, fps = _video_info(tmp_path / "dance_720p.annotated.mp4")
    assert frames == summary["frames"] and fps == 50.0
    records = load_landmarks(tmp_path / "dance_720p.landmarks.jsonl")
    assert [r.frame for r in records] == list(range(summary["frames"]))
    assert len(load_landmarks(tmp_path / "dance_720p.landmarks.npz")) == summary["frames"]


def test_camera_path_with_a_fake_camera(tmp_path, astronaut, monkeypatch, capsys):
    import cv2

    from blazepose import cli

    class FakeCamera:
        def __init__(self, index):
            self.frames = [np.roll(astronaut, 4 * i, axis=1)[..., ::-1].copy() for i in range(5)]

        def isOpened(self):
            return True

        def get(self, prop):
            return 25.0 if prop == cv2.CAP_PROP_FPS else 0.0

        def read(self):
            return (True, self.frames.pop(0)) if self.frames else (False, None)

        def release(self):
            pass

    monkeypatch.setattr(cv2, "VideoCapture", FakeCamera)
    assert cli.main(["run", "0", "--out", str(tmp_path), "--quiet"]) == 0
    records = load_landmarks(tmp_path / "camera0.landmarks.jsonl")
    assert len(records) == 5 and all(len(r.result) == 1 for r in records)
    times = [r.timestamp_ms for r in records]
    assert times == sorted(times)
    assert _video_info(tmp_path / "camera0.annotated.mp4")[0] == 5


def test_bad_options_and_nothing_to_do(tmp_path):
    assert blazepose("run", tmp_path / "nothing.png", "--out", tmp_path).returncode == 1
    bad = blazepose("run", "x.png", "--formats", "xml", "--out", tmp_path)
    assert bad.returncode == 2 and "xml" in bad.stderr


@NEEDS_SHARED
def test_time_range_stride_and_3d_plot(tmp_path):
    run = blazepose("run", SHARED_VIDEO, "--out", tmp_path, "--model", "lite", "--start", "1", "--end", "1.5",
                    "--stride", "2", "--plot3d", "--quiet")  # fmt: skip
    assert run.returncode == 0, run.stderr
    records = load_landmarks(tmp_path / "dance_720p.landmarks.jsonl")
    times = [r.timestamp_ms for r in records]
    assert len(records) == 13 and times[0] == pytest.approx(1000.0) and times[-1] == pytest.approx(1480.0)
    assert [r.frame for r in records] == list(range(50, 75, 2))
    assert _video_info(tmp_path / "dance_720p.annotated.mp4")[0] == 13
    assert _video_info(tmp_path / "dance_720p.world3d.mp4")[0] == 13


def test_photo_3d_plot(tmp_path, astronaut):
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), astronaut[..., ::-1])
    assert blazepose("run", tmp_path / "a.png", "--out", tmp_path / "o", "--plot3d", "--quiet").returncode == 0
    plot = cv2.imread(str(tmp_path / "o" / "a.world3d.png"))
    assert plot.shape == (480, 480, 3) and (plot < 128).any()


def test_a_phone_video_stored_sideways_is_processed_upright(tmp_path, astronaut):
    from blazepose import cli

    upright = np.ascontiguousarray(astronaut[:, 64:448])  # 512 high, 384 wide: the turn shows in the shape
    make_clip(tmp_path / "upright.mp4", 3, upright, shift=0)
    make_clip(tmp_path / "phone.mp4", 3, np.ascontiguousarray(np.rot90(upright, 1)), shift=0, rotation=-90)
    assert cli.main(["run", str(tmp_path / "upright.mp4"), str(tmp_path / "phone.mp4"), "--out", str(tmp_path),
                     "--quiet", "--formats", "npz"]) == 0  # fmt: skip
    seen = {name: load_landmarks(tmp_path / f"{name}.landmarks.npz")[0].result for name in ("upright", "phone")}
    assert len(seen["upright"]) == len(seen["phone"]) == 1
    # The same head and shoulders (landmarks 0-12; this photo's arms and legs move by 0.1 between two
    # encodes) at the same place of the upright image, within what the two encodes change.
    np.testing.assert_allclose(seen["phone"].landmarks[0, :13, :2], seen["upright"].landmarks[0, :13, :2], atol=0.03)
    with av.open(str(tmp_path / "phone.annotated.mp4")) as c:
        frame = next(c.decode(video=0))
        assert (frame.height, frame.width, frame.rotation) == (512, 384, 0)


SYNC_CASES = {  # the clip (MP4 but where named), the run's options
    "audio first": ({"audio_lead_s": 0.4}, []),
    "from 0.5 s": ({}, ["--start", "0.5"]),
    "a range, audio first": ({"audio_lead_s": 0.4}, ["--start", "0.3", "--end", "1.5"]),
    "a gap in the audio": ({"audio_gap": (0.4, 0.8)}, []),  # what came after the gap was 0.4 s early
    "Matroska, PCM of unspecified layout": ({"audio_codec": "pcm_s16le"}, []),  # AAC refused it: exit 1
    "Matroska from 2 s": ({"video_start_s": 2.0}, []),  # was taken for a truncated file (exit 1)
    "Matroska, audio first": ({"audio_lead_s": 0.4}, []),  # (its video then starts at 0.4 s)
}


@pytest.mark.parametrize("case", SYNC_CASES)
def test_the_annotated_video_keeps_its_audio_in_sync_and_whole(tmp_path, case):
    from blazepose import cli

    made, time_range = SYNC_CASES[case]
    clip = make_flash_and_click_clip(tmp_path / ("clip.mkv" if "Matroska" in case else "clip.mp4"), 2.0, 1.0, **made)
    flash, click, _ = flash_and_click_times(clip)
    assert click == pytest.approx(flash, abs=0.005), "the clip made is off itself"
    assert cli.main(["run", str(clip), "--out", str(tmp_path / "out"), "--quiet", "--formats", "npz", *time_range]) == 0
    flash, click, audio_end = flash_and_click_times(tmp_path / "out" / "clip.annotated.mp4")
    start = float(time_range[1]) if time_range else 0.0
    first_frame_s = np.ceil(start * 25 - 1e-6) / 25  # the output's time 0
    assert flash == pytest.approx(1.0 - first_frame_s)
    assert click == pytest.approx(flash, abs=0.005)  # was 50-100 ms early: audio before the first frame was lost
    end = float(time_range[3]) if len(time_range) > 2 else 2.0
    assert audio_end == pytest.approx(end - first_frame_s, abs=0.05)  # was cut 0.5 s short at --end


def test_one_frame_taken_still_carries_its_audio(tmp_path):
    from blazepose import cli

    clip = make_flash_and_click_clip(tmp_path / "clip.mp4", 2.0, 0.0, audio_lead_s=0.2)
    assert cli.main(["run", str(clip), "--out", str(tmp_path), "--quiet", "--formats", "npz", "--max-frames", "1"]) == 0
    flash, click, audio_end = flash_and_click_times(tmp_path / "clip.annotated.mp4")
    assert flash == 0.0 and click == pytest.approx(0.0, abs=0.005) and audio_end > 0  # (there was no audio)


def test_a_forced_rerun_that_gets_no_frame_overwrites_nothing(tmp_path, capsys):
    from blazepose import cli

    clip = make_clip(tmp_path / "clip.mp4", 50, np.zeros((64, 64, 3), np.uint8))  # 2 s, last frame at 1.96 s
    out = tmp_path / "out"
    assert cli.main(["run", str(clip), "--out", str(out), "--quiet", "--formats", "jsonl,npz"]) == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    assert set(before) == {"clip.annotated.mp4", "clip.landmarks.jsonl", "clip.landmarks.npz"}
    assert cli.main(["run", str(clip), "--out", str(out), "--quiet", "--formats", "jsonl,npz", "--force",
                     "--start", "1.98"]) == 1  # fmt: skip
    assert "no frame in the range asked (--start 1.98 s)" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before  # the landmark files were emptied


def test_audio_of_a_rate_aac_cannot_encode_is_resampled(tmp_path):
    # (192 kHz PCM made the AAC encoder refuse to open: the input failed after its frames were done.)
    from blazepose import cli

    clip = make_flash_and_click_clip(tmp_path / "hi.mkv", 2.0, 1.0, audio_codec="pcm_s16le", rate=192000)
    assert cli.main(["run", str(clip), "--out", str(tmp_path / "out"), "--quiet", "--formats", "npz"]) == 0
    flash, click, _ = flash_and_click_times(tmp_path / "out" / "hi.annotated.mp4")
    assert click == pytest.approx(flash, abs=0.005)
    with av.open(str(tmp_path / "out" / "hi.annotated.mp4")) as container:
        assert container.streams.audio[0].codec_context.sample_rate == 48000


def test_the_second_of_two_joined_recordings_keeps_its_audio_in_sync(tmp_path):
    # (`cat a.ts b.ts`: the audio's clock and the video's go back at the join, met at different moments
    # because the video decoder hands its frames on later. The second part's click came 42-687 ms off.)
    from blazepose import cli

    part = make_flash_and_click_clip(tmp_path / "part.ts", 3.0, 1.0, audio_lead_s=0.3)
    (tmp_path / "joined.ts").write_bytes(part.read_bytes() * 2)
    assert cli.main(["run", str(tmp_path / "joined.ts"), "--out", str(tmp_path / "out"), "--quiet", "--formats", "npz",
                     "--start", "2.5"]) == 0  # fmt: skip
    flash, click, _ = flash_and_click_times(tmp_path / "out" / "joined.annotated.mp4")
    assert flash is not None and 1.5 < flash < 2.5  # the second part's (the first's is before --start)
    assert click == pytest.approx(flash, abs=0.005)
