"""``blazepose reps`` and ``blazepose classifier fit``, run as users run them: as subprocesses."""

import csv
import json
import subprocess
import sys

import pytest

from conftest import SHARED_DATA

EXERCISE = SHARED_DATA / "exercise"
FITNESS_CSV = SHARED_DATA / "fitness" / "fitness_pose_samples.csv"
NEEDS_EXERCISE = pytest.mark.skipif(
    not EXERCISE.is_dir(), reason=f"needs the shared exercise clips at {EXERCISE} (CI has them; a fresh clone does not)"
)
av = pytest.importorskip("av", reason="video input and output need PyAV (the video extra)")


def blazepose(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "blazepose", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


@NEEDS_EXERCISE
def test_reps_on_a_squat_clip_writes_video_tables_and_a_json_summary(tmp_path):
    clip = EXERCISE / "squats" / "squat_9.mp4"
    run = blazepose("reps", clip, "--out", tmp_path, "--model", "lite", "--json")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["input"] == str(clip) and summary["exercise"] == "squat"
    assert summary["count"] == len(summary["reps"]) == 1  # the clip's CSV labels one repetition
    rep = summary["reps"][0]
    with open(clip.with_suffix(".csv"), newline="") as f:
        labelled = next(int(r["frame"]) for r in csv.DictReader(f) if float(r["label"]) == 1)
    with av.open(str(clip)) as container:  # the CSV's times assume 30 fps; the clip has its own
        times = [float(frame.time) for frame in container.decode(video=0)]
    assert abs(rep["start_s"] - times[labelled]) < 0.5 and rep["start_s"] < rep["end_s"] <= times[-1]
    assert rep["angle_range"] > 45
    with open(tmp_path / "squat_9.reps.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and float(rows[0]["start_s"]) == rep["start_s"]
    assert json.loads((tmp_path / "squat_9.reps.json").read_text())["count"] == 1
    assert (tmp_path / "squat_9.reps.mp4").stat().st_size > 10_000

    again = blazepose("reps", clip, "--out", tmp_path, "--model", "lite", "--quiet")
    assert again.returncode == 1 and "use --force" in again.stderr and "Traceback" not in again.stderr


def test_reps_user_errors_are_one_line(tmp_path):
    photo = tmp_path / "a.png"
    photo.write_bytes(b"")
    run = blazepose("reps", photo, "--out", tmp_path, timeout=60)
    assert run.returncode == 1 and "repetitions need a video" in run.stderr and "Traceback" not in run.stderr
    bad = blazepose("reps", photo, "--classifier", tmp_path / "missing.npz", timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stdout + bad.stderr


@pytest.mark.skipif(not FITNESS_CSV.is_file(), reason=f"needs ML Kit's samples at {FITNESS_CSV}")
def test_classifier_fit_from_csv_then_count_with_it(tmp_path):
    out = tmp_path / "c.npz"
    fit = blazepose("classifier", "fit", out, FITNESS_CSV, timeout=120)
    assert fit.returncode == 0, fit.stderr
    assert "812 samples" in fit.stdout and "leave-one-out accuracy 1.000" in fit.stdout
    assert blazepose("classifier", "fit", out, FITNESS_CSV, timeout=60).returncode == 2  # exists, no --force
    if EXERCISE.is_dir():
        clip = EXERCISE / "squats" / "squat_9.mp4"
        run = blazepose("reps", clip, "--out", tmp_path, "--model", "lite", "--json", "--classifier", out,
                        "--count-class", "squats_down", "--no-annotate")  # fmt: skip
        assert run.returncode == 0, run.stderr
        summary = json.loads(run.stdout.strip().splitlines()[-1])
        assert summary["exercise"] == "squat" and isinstance(summary["count"], int)


@NEEDS_EXERCISE
def test_live_inputs_are_drawn_as_they_come(tmp_path):
    """Streams and cameras are read once, the count on screen re-estimated as frames come (in process)."""
    from blazepose.cli import build_parser, reps
    from blazepose.cli.run import Reporter
    from blazepose.io.inputs import Input

    clip = EXERCISE / "squats" / "squat_9.mp4"
    args = build_parser().parse_args(["reps", str(clip), "--model", "lite", "--quiet"])
    paths = {k: tmp_path / f"live.reps.{k}" for k in ("mp4", "csv", "json")}
    summary = reps._process(Input("stream", str(clip)), paths, args, None, Reporter(True, False), {"requested": False})
    assert summary["exercise"] == "squat" and summary["count"] == 1
    with av.open(str(paths["mp4"])) as container:
        assert sum(1 for _ in container.decode(video=0)) == 72


def _three_squat_records():
    """Three synthetic squats as ``blazepose run`` records them (8 s, 30 frames a second)."""
    import numpy as np

    from blazepose.core.results import PoseResult
    from blazepose.io.landmark_files import FrameRecord
    from fitness_poses import squat_sequence

    t = np.arange(240) / 30
    depths = np.where(t < 1, 0.0, 0.5 - 0.5 * np.cos(2 * np.pi * (t - 1) / 2.0))
    records = []
    for i, pose in enumerate(squat_sequence(depths, noise_px=2.0)):
        lm = (pose / (600, 720, 600)).astype(np.float32)[None]
        world = ((pose - pose[23:25].mean(axis=0)) / 300).astype(np.float32)[None]
        ones = np.ones((1, 33), np.float32)
        result = PoseResult(lm, world, ones, ones, np.ones(1, np.float32), np.zeros((1, 5), np.float32), (720, 600))
        records.append(FrameRecord(i, i * 1000 / 30, result))
    return records


def test_reps_on_a_landmark_file_from_blazepose_run(tmp_path):
    """Three synthetic squats saved as ``blazepose run`` saves landmarks: counted without any video."""
    from blazepose.io.landmark_files import save_npz

    records = _three_squat_records()
    save_npz(tmp_path / "set.landmarks.npz", records)
    run = blazepose("reps", tmp_path / "set.landmarks.npz", "--out", tmp_path, "--json", timeout=120)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["exercise"] == "squat" and summary["count"] == 3
    assert sorted(p.name for p in tmp_path.glob("set.reps.*")) == ["set.reps.csv", "set.reps.json"]


def test_reps_on_a_saved_answer_that_an_error_ended_warns_in_one_line(tmp_path):
    """A JSON Lines answer of the web video route that broke off (its last line an error): the frames
    before are counted, and the error is one warning line on stderr (and an event with --json), not
    Python's warning with a source line."""
    from blazepose.io.landmark_files import record_to_dict

    path = tmp_path / "answer.landmarks.jsonl"
    lines = [json.dumps(record_to_dict(r)) for r in _three_squat_records()]
    path.write_text("\n".join([*lines, json.dumps({"error": "upload: truncated\nat byte 1234"})]) + "\n")
    run = blazepose("reps", path, "--out", tmp_path, "--json", "--exercise", "squat", timeout=120)
    assert run.returncode == 0, run.stderr
    stdout = [json.loads(line) for line in run.stdout.strip().splitlines()]
    assert stdout[-1]["count"] == 3
    warned = [e for e in stdout if e.get("event") == "warning"]
    assert len(warned) == 1 and "upload: truncated" in warned[0]["message"]
    err = run.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("blazepose: warning: ") and "240 frames" in err[0], run.stderr
    assert err[0].endswith("upload: truncated at byte 1234")


def test_the_reps_video_carries_the_input_audio_in_sync(tmp_path):
    pytest.importorskip("av", reason="video input and output need PyAV (the video extra)")
    from blazepose.cli import main
    from media_helpers import flash_and_click_times, make_flash_and_click_clip

    clip = make_flash_and_click_clip(tmp_path / "clip.mp4", 2.0, 1.0, audio_lead_s=0.4)
    assert main(["reps", str(clip), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    flash, click, audio_end = flash_and_click_times(tmp_path / "out" / "clip.reps.mp4")
    assert flash == pytest.approx(1.0) and click == pytest.approx(1.0, abs=0.005)  # it had no audio
    assert audio_end == pytest.approx(2.0, abs=0.05)


def test_rep_times_count_from_the_first_frame_whatever_the_container_s_clock(tmp_path):
    # (An MKV whose clock starts at 10 s gave reps at 10.2-15.2 s, beside an annotated video that lasts 5.4 s.)
    import shutil

    clip = EXERCISE / "squats" / "squat_13.mp4"
    if not clip.exists() or shutil.which("ffmpeg") is None:
        pytest.skip("needs ../shared/data's exercise clips and ffmpeg (the command)")
    late = tmp_path / "late.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip), "-c", "copy", "-output_ts_offset", "10", str(late)],
                   check=True, timeout=120)  # fmt: skip
    runs = [blazepose("reps", path, "--out", tmp_path / path.stem, "--model", "lite", "--json", "--no-annotate")
            for path in (clip, late)]  # fmt: skip
    assert all(run.returncode == 0 for run in runs), [run.stderr for run in runs]
    landmarks = blazepose("run", late, "--out", tmp_path / "lm", "--model", "lite", "--formats", "npz", "--quiet")
    assert landmarks.returncode == 0, landmarks.stderr
    runs.append(blazepose("reps", tmp_path / "lm" / "late.landmarks.npz", "--out", tmp_path / "from_file", "--json"))
    assert runs[-1].returncode == 0, runs[-1].stderr  # (its landmark file keeps the container's clock)
    answers = [json.loads(run.stdout.strip().splitlines()[-1]) for run in runs]
    assert answers[0]["count"] == answers[1]["count"] == answers[2]["count"] >= 1
    for other in answers[1:]:
        for a, b in zip(answers[0]["reps"], other["reps"], strict=True):
            assert b["start_s"] == pytest.approx(a["start_s"], abs=0.05)
            assert b["end_s"] == pytest.approx(a["end_s"], abs=0.05)
