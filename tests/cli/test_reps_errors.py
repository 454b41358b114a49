"""``blazepose reps`` and ``blazepose classifier fit`` given what users get wrong: one line, the right exit status."""

import json
import signal
import subprocess
import sys

import numpy as np
import pytest

from blazepose.cli import main
from media_helpers import killed_after


def _noise_video(path, frames: int) -> None:
    av = pytest.importorskip("av", reason="writing a test video needs PyAV (the video extra)")
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=30)
        stream.width = stream.height = 96
        stream.pix_fmt = "yuv420p"
        for _ in range(frames):
            image = rng.integers(0, 255, (96, 96, 3), np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))


def test_out_at_a_file_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert main(["reps", str(tmp_path / "v.mp4"), "--out", str(tmp_path / "afile")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err and "afile" in err


@pytest.mark.parametrize("option", [["--threads", "0"], ["--threads", "-3"], ["--num-poses", "0"]])
def test_bad_numbers_are_usage_errors(tmp_path, capsys, option):
    assert main(["reps", str(tmp_path / "v.mp4"), "--out", str(tmp_path), *option]) == 2
    assert "must be >= 1" in capsys.readouterr().err


def test_a_corrupt_classifier_is_a_usage_error(tmp_path, capsys):
    bad = tmp_path / "c.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    assert main(["reps", str(tmp_path / "v.mp4"), "--out", str(tmp_path), "--classifier", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a pose classifier file" in err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_video_stopped_midway_leaves_no_outputs_behind(tmp_path, signum):
    """Interrupted video files write nothing that would block the next run (which needs no --force)."""
    clip = tmp_path / "noise.mp4"
    _noise_video(clip, 900)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "blazepose", "reps", str(clip), "--out", str(out), "--model", "lite", "--json"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            with killed_after(120, process.kill) as watchdog:
                for line in process.stdout:  # progress events come every 0.5 s with --json
                    if json.loads(line).get("event") == "progress" and json.loads(line)["frames"] > 5:
                        break
            assert not watchdog.fired, "no progress within 120 s"
            process.send_signal(signum)
            _, err = process.communicate(timeout=60)
        finally:
            process.kill()
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err and "interrupted" in err
    assert list(out.iterdir()) == []


def test_classifier_fit_usage_errors_exit_2_and_failed_samples_exit_1(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    short = tmp_path / "short.csv"
    short.write_text("a,b,1,2\n")
    out = str(tmp_path / "c.npz")
    assert main(["classifier", "fit", out, str(tmp_path / "notes.txt")]) == 2
    assert "expected a sample CSV or a folder" in capsys.readouterr().err
    assert main(["classifier", "fit", out, str(short)]) == 1
    assert "short.csv:1: expected name, class and 99 numbers, got 4 fields" in capsys.readouterr().err
    assert main(["classifier", "fit", out, str(tmp_path / "missing.csv")]) == 1
    assert "missing.csv" in capsys.readouterr().err
    assert not (tmp_path / "c.npz").exists()


def test_classifier_fit_interrupted_writes_nothing(tmp_path, capsys, monkeypatch):
    from blazepose.fitness import classifier

    def interrupted(*paths, **options):
        raise KeyboardInterrupt

    monkeypatch.setattr(classifier.PoseClassifier, "from_csv", interrupted)
    csv_file = tmp_path / "s.csv"
    csv_file.write_text("")
    assert main(["classifier", "fit", str(tmp_path / "c.npz"), str(csv_file)]) == 130
    assert "interrupted" in capsys.readouterr().err and not (tmp_path / "c.npz").exists()


@pytest.mark.parametrize(
    "name, content",
    [("a.landmarks.npz", b"PK\x03\x04 truncated"), ("b.landmarks.jsonl", b'{"frame": 0}\n'),
     ("c.landmarks.jsonl", b'{"frame": 0, "timestamp_ms": 0, "image_size": [1, 1], "poses": [{"id": 0}]}\n')],
)  # fmt: skip
def test_a_damaged_landmark_file_is_one_line_and_exit_1(tmp_path, capsys, name, content):
    (tmp_path / name).write_bytes(content)
    assert main(["reps", str(tmp_path / name), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and name in err
    assert list((tmp_path / "out").iterdir()) == []


def test_count_class_without_a_classifier_is_a_usage_error(tmp_path, capsys):
    """It would be ignored: the count would silently come from the training-free counter."""
    assert main(["reps", str(tmp_path / "v.mp4"), "--out", str(tmp_path), "--count-class", "squats_down"]) == 2
    assert "--count-class needs --classifier" in capsys.readouterr().err


def test_a_failed_forced_rerun_keeps_the_outputs_it_did_not_touch(tmp_path, capsys):
    (tmp_path / "v.mp4").write_bytes(b"")  # not a video: fails before writing anything
    kept = {tmp_path / f"v.reps.{k}": f"earlier {k}" for k in ("mp4", "csv", "json")}
    for path, text in kept.items():
        path.write_text(text)
    assert main(["reps", str(tmp_path / "v.mp4"), "--out", str(tmp_path), "--force"]) == 1
    assert "cannot open as a video" in capsys.readouterr().err
    assert {path: path.read_text() for path in kept} == kept


def test_a_camera_index_with_no_camera_is_one_line(tmp_path):
    """OpenCV's backends each logged their own failure (13 lines on stderr) before the command's one."""
    run = subprocess.run([sys.executable, "-m", "blazepose", "reps", "99", "--out", str(tmp_path), "--no-annotate"],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == ["blazepose: camera 99: cannot be opened"]
