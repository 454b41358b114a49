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


@pytest.mark.parametrize(
    "option", [["--threads", "0"], ["--threads", "-3"], ["--threads", "65536"], ["--num-poses", "0"]]
)
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


def _squat_lines():
    from test_reps_command import _three_squat_records

    from blazepose.io.landmark_files import record_to_dict

    return [record_to_dict(r) for r in _three_squat_records()]


def _write_jsonl(path, records) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_a_truncated_video_is_counted_on_the_frames_it_gave_and_reported(tmp_path, capsys, astronaut):
    pytest.importorskip("av", reason="writing a test video needs PyAV (the video extra)")
    from media_helpers import make_clip

    data = make_clip(tmp_path / "full.avi", 40, np.ascontiguousarray(astronaut[::2, ::2])).read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: int(len(data) * 0.4)])
    out = tmp_path / "out"
    assert main(["reps", str(cut), "--out", str(out), "--model", "lite", "--json", "--no-annotate"]) == 1
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["input"] == str(cut) and summary["count"] == 0 and "truncated or corrupt video" in summary["error"]
    assert sorted(p.name for p in out.iterdir()) == ["cut.reps.csv", "cut.reps.json"]
    assert [line for line in captured.err.splitlines() if "truncated or corrupt video" in line] == [
        f"blazepose: {summary['error']}"
    ]


def test_inputs_with_the_same_name_get_distinct_outputs(tmp_path, capsys):
    records = _squat_lines()
    for folder, frames in (("a", records), ("b", records[:100])):
        (tmp_path / folder).mkdir()
        _write_jsonl(tmp_path / folder / "x.landmarks.jsonl", frames)
    inputs = [str(tmp_path / f / "x.landmarks.jsonl") for f in "ab"]
    assert main(["reps", *inputs, "--out", str(tmp_path / "out"), "--json", "--exercise", "squat"]) == 0
    summaries = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [s["count"] for s in summaries] == [3, 1]
    assert [s["outputs"][0] for s in summaries] == [
        str(tmp_path / "out" / "x_jsonl.reps.csv"), str(tmp_path / "out" / "x_jsonl-2.reps.csv")
    ]  # fmt: skip
    assert json.loads((tmp_path / "out" / "x_jsonl.reps.json").read_text())["count"] == 3


@pytest.mark.parametrize("name", ["none", "Nones"])
def test_exercise_none_is_a_usage_error(tmp_path, capsys, name):
    assert main(["reps", str(tmp_path / "v.mp4"), "--out", str(tmp_path), "--exercise", name]) == 2
    assert "--exercise none would count nothing" in capsys.readouterr().err


def test_a_given_exercise_the_classifier_cannot_count_is_a_usage_error(tmp_path, capsys):
    assert main(["reps", str(tmp_path / "v.mp4"), "--out", str(tmp_path), "--exercise", "dip",
                 "--classifier", "default"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no *_down class for 'dip'" in err


def test_a_counting_error_names_its_input(tmp_path, capsys):
    records = _squat_lines()
    for r in records:
        r["timestamp_ms"] *= 1000  # microseconds written as milliseconds
    path = tmp_path / "slow.landmarks.jsonl"
    _write_jsonl(path, records)
    assert main(["reps", str(path), "--out", str(tmp_path / "out")]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"blazepose: {path}: ") and "seconds" in line


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_a_landmark_file_without_frames_is_an_error_as_a_video_without_frames(tmp_path, capsys, content):
    path = tmp_path / "empty.landmarks.jsonl"
    path.write_text(content)
    assert main(["reps", str(path), "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.strip() == f"blazepose: {path}: no frame in this landmark file"
    assert list((tmp_path / "out").iterdir()) == []


def test_non_finite_landmarks_in_a_file_are_refused_not_counted_as_no_pose(tmp_path, capsys):
    records = _squat_lines()
    records[5]["poses"][0]["landmarks"]["nose"]["x"] = float("nan")
    path = tmp_path / "nan.landmarks.jsonl"
    _write_jsonl(path, records)
    assert main(["reps", str(path), "--out", str(tmp_path / "out")]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert str(path) in line and "expected finite landmark values, got NaN or infinity in the frame at" in line


def test_times_going_back_in_a_landmark_file_are_one_warning_line(tmp_path, capsys):
    records = _squat_lines()
    records[70]["timestamp_ms"] = 5000.0
    path = tmp_path / "glitch.landmarks.jsonl"
    _write_jsonl(path, records)
    assert main(["reps", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"blazepose: warning: {path}: ") and "frame time(s) went back" in line


def test_classifier_fit_refuses_repetition_labels_and_a_missing_output_folder(tmp_path, capsys):
    labels = tmp_path / "squat.csv"
    labels.write_text("frame,time,label\n0,0.0,1\n")
    out = str(tmp_path / "c.npz")
    assert main(["classifier", "fit", out, "--video", str(tmp_path / "v.mp4"), str(labels)]) == 1
    assert "expected the header 'frame,class'" in capsys.readouterr().err
    assert main(["classifier", "fit", str(tmp_path / "no" / "c.npz"), str(labels)]) == 2
    assert capsys.readouterr().err.strip().endswith(f"no folder {tmp_path / 'no'} to write it in")


def test_a_folder_of_landmark_files_gives_one_per_clip_not_its_videos(tmp_path, capsys):
    """`blazepose reps out/` on run's output folder failed ("folder without photos or videos") or counted
    its annotated videos again."""
    from test_reps_command import _three_squat_records

    from blazepose.io.landmark_files import save_npz

    folder = tmp_path / "out"
    folder.mkdir()
    lines = _squat_lines()
    _write_jsonl(folder / "x.landmarks.jsonl", lines)
    save_npz(folder / "x.landmarks.npz", _three_squat_records())
    _write_jsonl(folder / "y.landmarks.jsonl", lines[:100])
    (folder / "x.annotated.mp4").write_bytes(b"not a video")  # would fail if it were taken
    assert main(["reps", str(folder), "--out", str(tmp_path / "reps"), "--json", "--exercise", "squat"]) == 0
    summaries = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [(s["input"], s["count"]) for s in summaries] == [
        (str(folder / "x.landmarks.jsonl"), 3), (str(folder / "y.landmarks.jsonl"), 1)
    ]  # fmt: skip


def test_a_folder_of_landmark_files_and_videos_takes_each_clip_once(tmp_path):
    # (A video with no landmark file beside it was dropped without a word.)
    from blazepose.cli.reps import _with_landmark_folders

    for name in ("a.landmarks.jsonl", "a.landmarks.npz", "a.mp4", "a.annotated.mp4", "b.mp4", "b.reps.mp4",
                 "c.world3d.mp4", "notes.txt"):  # fmt: skip
        (tmp_path / name).write_bytes(b"")
    taken = [p.rsplit("/", 1)[-1] for p in _with_landmark_folders([str(tmp_path)])]
    assert taken == ["a.landmarks.jsonl", "b.mp4"]
    # `run` names clip.mp4's outputs clip_mp4.* beside clip.mov: each clip once, by its landmark file or video.
    twins = tmp_path / "twins"
    twins.mkdir()
    for name in ("clip_mp4.landmarks.jsonl", "clip.mp4", "clip.mov", "other.mp4", "other.mov"):
        (twins / name).write_bytes(b"")
    taken = [p.rsplit("/", 1)[-1] for p in _with_landmark_folders([str(twins)])]
    assert taken == ["clip_mp4.landmarks.jsonl", "clip.mov", "other.mov", "other.mp4"]


def test_videos_of_older_phones_and_other_containers_are_videos(tmp_path):
    from blazepose.io.inputs import expand_inputs

    for name in ("clip.3gp", "clip.ogv", "clip.mxf"):
        (tmp_path / name).write_bytes(b"")
    inputs, errors = expand_inputs([str(tmp_path / n) for n in ("clip.3gp", "clip.ogv", "clip.mxf")])
    assert [i.kind for i in inputs] == ["video"] * 3 and not errors  # (they were taken for photos)
