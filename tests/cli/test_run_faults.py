"""``blazepose run`` under faults (issue #11): no hang, nothing lost or hidden, one-line errors.

Each test runs the real command in a subprocess with a timeout, but one that must send a signal at an
exact point of the run, from inside it (in process).
"""

import json
import signal
import subprocess
import sys

import numpy as np
import pytest

from media_helpers import blazepose, decoded_frames, killed_after, make_clip

av = pytest.importorskip("av", reason="video input and output need PyAV (the video extra)")

from blazepose.io.landmark_files import load_landmarks  # noqa: E402


@pytest.fixture(scope="module")
def small(astronaut):
    return np.ascontiguousarray(astronaut[::2, ::2])  # 256 x 256


def test_end_inf_on_a_short_clip_exits(tmp_path, small):
    clip = make_clip(tmp_path / "demo.mp4", 5, small)
    run = blazepose("run", clip, "--end", "inf", "--out", tmp_path / "o", "--model", "lite", "--quiet", timeout=120)
    assert run.returncode == 0, run.stderr
    assert len(load_landmarks(tmp_path / "o" / "demo.landmarks.jsonl")) == 5


def test_truncated_video_is_reported_with_exit_1_and_its_frames_kept(tmp_path, small):
    clip = make_clip(tmp_path / "full.avi", 40, small)
    data = clip.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: int(len(data) * 0.3)])
    run = blazepose("run", cut, "--out", tmp_path / "o", "--model", "lite", "--quiet", timeout=120)
    assert run.returncode == 1
    assert "cut.avi: truncated or corrupt video" in run.stderr and "Traceback" not in run.stderr
    records = load_landmarks(tmp_path / "o" / "cut.landmarks.jsonl")
    assert 0 < len(records) < 40 and [r.frame for r in records] == list(range(len(records)))
    assert decoded_frames(tmp_path / "o" / "cut.annotated.mp4") == len(records)


def test_a_corrupt_stretch_mid_video_costs_only_its_frames_and_is_reported(tmp_path, small):
    import random

    data = bytearray(make_clip(tmp_path / "c.avi", 40, small).read_bytes())
    rng = random.Random(3)
    for k in range(int(len(data) * 0.4), int(len(data) * 0.6), 997):
        data[k : k + 64] = rng.randbytes(64)
    bad = tmp_path / "bad.avi"
    bad.write_bytes(bytes(data))
    run = blazepose("run", bad, "--out", tmp_path / "o", "--model", "lite", "--quiet", timeout=120)
    assert run.returncode == 1 and "bad.avi: truncated or corrupt video" in run.stderr, run.stderr
    records = load_landmarks(tmp_path / "o" / "bad.landmarks.jsonl")
    assert 35 <= len(records) < 40, "decoding goes on after the bad packets"
    assert decoded_frames(tmp_path / "o" / "bad.annotated.mp4") == len(records)


def test_inputs_with_the_same_stem_get_distinct_outputs(tmp_path, small):
    import cv2

    for suffix in (".bmp", ".tiff", ".png"):
        cv2.imwrite(str(tmp_path / f"p{suffix}"), small[..., ::-1])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    make_clip(tmp_path / "a" / "clip.mp4", 2, small)
    make_clip(tmp_path / "b" / "clip.mp4", 3, small)
    out = tmp_path / "o"
    args = [tmp_path / "p.bmp", tmp_path / "p.tiff", tmp_path / "p.png", tmp_path / "a" / "clip.mp4",
            tmp_path / "b" / "clip.mp4", "--out", out, "--model", "lite", "--quiet"]  # fmt: skip
    run = blazepose("run", *args, timeout=180)
    assert run.returncode == 0, run.stderr
    for name in ("p_bmp", "p_tiff", "p_png"):
        assert len(load_landmarks(out / f"{name}.landmarks.jsonl")) == 1
    assert len(load_landmarks(out / "clip_mp4.landmarks.jsonl")) == 2
    assert len(load_landmarks(out / "clip_mp4-2.landmarks.jsonl")) == 3
    assert decoded_frames(out / "clip_mp4-2.annotated.mp4") == 3


def _run_and_signal(tmp_path, clip, sig, after_frames):
    proc = subprocess.Popen(
        [sys.executable, "-m", "blazepose", "run", str(clip), "--out", str(tmp_path / "o"), "--model", "heavy",
         "--json", "--formats", "jsonl,csv,npz"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        with killed_after(120, proc.kill) as watchdog:
            for line in proc.stdout:
                event = json.loads(line)
                if event["event"] == "progress" and event["frames"] >= after_frames:
                    proc.send_signal(sig)
                    break
        assert not watchdog.fired, "no progress within 120 s"
        rest, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return proc.returncode, rest, err


def test_sigterm_mid_video_ends_as_cleanly_as_sigint(tmp_path, small):
    clip = make_clip(tmp_path / "long.mp4", 200, small)
    code, rest, err = _run_and_signal(tmp_path, clip, signal.SIGTERM, 3)
    assert code == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    summary = json.loads(rest.splitlines()[-1])
    assert summary["interrupted"] and 3 <= summary["frames"] < 200
    out = tmp_path / "o"
    assert decoded_frames(out / "long.annotated.mp4") == summary["frames"]
    for fmt in ("jsonl", "csv", "npz"):
        assert [r.frame for r in load_landmarks(out / f"long.landmarks.{fmt}")] == list(range(summary["frames"]))
    assert not list(out.glob("*.rows")), "no temporary file left behind"


def test_a_failed_input_leaves_nothing_that_blocks_the_next_run(tmp_path, small):
    # A Matroska file cut inside its first frame: it opens, but no frame decodes.
    data = make_clip(tmp_path / "full.mkv", 10, small).read_bytes()
    clip = tmp_path / "clip.mkv"
    clip.write_bytes(data[: len(data) // 20])
    out = tmp_path / "o"
    failed = blazepose("run", clip, "--out", out, "--formats", "jsonl,npz", "--quiet", timeout=120)
    assert failed.returncode == 1 and "clip.mkv" in failed.stderr and "Traceback" not in failed.stderr
    assert not any(out.iterdir()), sorted(out.iterdir())
    clip.write_bytes(data)
    again = blazepose("run", clip, "--out", out, "--model", "lite", "--quiet", timeout=120)
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--formats", ""], "--formats '' names no landmark format"),
        (["--num-poses", "0"], "--num-poses must be >= 1, got 0"),
        (["--start", "nan"], "--start must be a finite number"),
        (["--end", "-1"], "--end must be a number of seconds after --start"),
        (["--min-detection-confidence", "2"], "--min-detection-confidence must be in [0, 1]"),
        (["--threads", "0"], "--threads must be >= 1"),
        (["--threads", "65536"], "--threads must be at most 1024, got 65536"),  # XNNPACK failed on every input
    ],
)
def test_bad_options_are_one_line_usage_errors_before_any_output(tmp_path, small, args, expected):
    import cv2

    cv2.imwrite(str(tmp_path / "p.png"), small[..., ::-1])
    run = blazepose("run", tmp_path / "p.png", "--out", tmp_path / "o", *args, timeout=60)
    assert run.returncode == 2
    assert expected in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert not (tmp_path / "o").exists()


def test_out_at_a_file_is_a_usage_error(tmp_path, small):
    import cv2

    cv2.imwrite(str(tmp_path / "p.png"), small[..., ::-1])
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "file", tmp_path / "file" / "sub"):
        run = blazepose("run", tmp_path / "p.png", "--out", out, timeout=60)
        assert run.returncode == 2 and "is a file" in run.stderr and "Traceback" not in run.stderr, run.stderr


def test_start_past_the_end_is_named(tmp_path, small):
    clip = make_clip(tmp_path / "c.mp4", 5, small)
    run = blazepose("run", clip, "--start", "100", "--out", tmp_path / "o", "--quiet", timeout=60)
    assert run.returncode == 1 and "--start 100 s is past its end" in run.stderr, run.stderr
    assert not any((tmp_path / "o").iterdir())


def test_version_and_gif_in_folders_as_when_named(tmp_path, small):
    import cv2

    version = blazepose("--version", timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("blazepose ")
    folder = tmp_path / "photos"
    folder.mkdir()
    ok, data = cv2.imencode(".gif", small[..., ::-1])
    if not ok or cv2.imdecode(data, cv2.IMREAD_COLOR) is None:
        pytest.skip("this OpenCV does not decode GIF")
    (folder / "g.gif").write_bytes(data.tobytes())
    run = blazepose("run", folder, "--out", tmp_path / "o", "--model", "lite", "--quiet", timeout=60)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "o" / "g.landmarks.jsonl").exists() and (tmp_path / "o" / "g.annotated.png").exists()


def test_a_signal_after_the_run_is_over_does_not_turn_it_into_a_failure(tmp_path, small):
    """SIGTERM once the summary is out (the command closing down) leaves exit status 0."""
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 4, small)
    codes = []
    for attempt in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-m", "blazepose", "run", str(clip), "--out", str(tmp_path / f"o{attempt}"),
             "--model", "lite", "--json", "--no-annotate"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            with killed_after(120, proc.kill) as watchdog:
                for line in proc.stdout:
                    if json.loads(line)["event"] == "summary":
                        proc.send_signal(signal.SIGTERM)
                        break
            assert not watchdog.fired, "no summary within 120 s"
            _, stderr = proc.communicate(timeout=120)
        finally:
            proc.kill()
            proc.wait(10)
        assert "Traceback" not in stderr
        codes.append(proc.returncode)
        assert len(load_landmarks(tmp_path / f"o{attempt}" / "clip.landmarks.jsonl")) == 4
    assert codes == [0, 0, 0]


@pytest.mark.parametrize("stops_an_input", [False, True])
def test_a_signal_after_the_last_input_is_done_is_not_an_interruption(tmp_path, small, monkeypatch, stops_an_input):
    """SIGINT between the last input's end and the summary (in process: the signal is sent by the runner
    itself, right after its last outcome) leaves a complete run: exit 0, not 130. The control: the same
    signal while an input still runs is an interruption (130)."""
    import os

    from blazepose.cli import main
    from blazepose.cli import run as run_module

    clips = [tmp_path / "a.mp4", tmp_path / "b.mp4"]
    for clip in clips:
        make_clip(clip, 3, small)
    real = run_module.run_sequentially

    def signalling(inputs, settings, progress, stop):
        for k, outcome in enumerate(real(inputs, settings, progress, stop)):
            if stops_an_input and k == 0:
                os.kill(os.getpid(), signal.SIGINT)  # while b.mp4 is still to come: it is not started
            yield outcome
        if not stops_an_input:
            os.kill(os.getpid(), signal.SIGINT)  # after the last outcome

    monkeypatch.setattr(run_module, "run_sequentially", signalling)
    code = main(["run", *map(str, clips), "--out", str(tmp_path / "o"), "--model", "lite", "--quiet", "--threads", "1"])
    assert code == (130 if stops_an_input else 0)
    assert (tmp_path / "o" / "b.landmarks.jsonl").exists() is not stops_an_input


def test_high_accuracy_on_videos_without_scipy_is_a_usage_error_before_any_input(tmp_path, small, capsys, monkeypatch):
    """It failed the video only after the photos given before it were done."""
    import importlib.util

    import cv2

    from blazepose.cli import main

    cv2.imwrite(str(tmp_path / "p.png"), small[..., ::-1])
    clip = make_clip(tmp_path / "c.avi", 3, small)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "scipy" else real_find_spec(name, *a)
    )
    assert main(["run", str(tmp_path / "p.png"), str(clip), "--out", str(tmp_path / "o"), "--accuracy", "high"]) == 2
    assert "--accuracy high on video files needs scipy" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_max_frames_stops_files_and_streams_too(tmp_path, small):
    """It applied to cameras only: on a stream that never ends the run never ended."""
    clip = make_clip(tmp_path / "c.avi", 8, small)
    run = blazepose("run", clip, "--out", tmp_path / "o", "--model", "lite", "--max-frames", "3", "--quiet",
                    timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert len(load_landmarks(tmp_path / "o" / "c.landmarks.jsonl")) == 3
    assert decoded_frames(tmp_path / "o" / "c.annotated.mp4") == 3


def test_an_input_the_engine_refuses_is_named(tmp_path, capsys):
    import cv2

    from blazepose.cli import main

    cv2.imwrite(str(tmp_path / "wide.png"), np.zeros((50, 33000, 3), np.uint8))
    assert main(["run", str(tmp_path / "wide.png"), "--out", str(tmp_path / "o"), "--model", "lite", "--quiet"]) == 1
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("blazepose:")]
    assert str(tmp_path / "wide.png") in line and "32767" in line


def test_transport_streams_are_videos(tmp_path):
    from blazepose.io.inputs import expand_inputs

    for suffix in (".ts", ".mts", ".m2ts"):
        (tmp_path / f"clip{suffix}").write_bytes(b"")
    inputs, errors = expand_inputs([str(tmp_path)])
    assert not errors and {inp.kind for inp in inputs} == {"video"} and len(inputs) == 3
