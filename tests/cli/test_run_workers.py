"""``blazepose run --workers N`` and ``--ray local``, run as users run them: as subprocesses."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys

import pytest

from conftest import NEEDS_SHARED, SHARED_VIDEO

pytest.importorskip("av", reason="video input and output need PyAV (the video extra)")

from media_corpus import make_corpus, output_files
from media_helpers import killed_after


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, astronaut):
    return make_corpus(tmp_path_factory.mktemp("corpus"), astronaut)


def blazepose(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "blazepose", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


@pytest.mark.parametrize(
    "runner", [["--workers", "2"], ["--ray", "local"], ["--streams", "2"], ["--streams", "2", "--workers", "2"]]
)
def test_parallel_runs_write_what_a_sequential_run_writes(runner, corpus, tmp_path):
    if runner[0] == "--ray" and importlib.util.find_spec("ray") is None:
        pytest.skip("--ray needs ray (the ray extra)")
    common = ["--model", "lite", "--formats", "jsonl,npz", "--threads", "1", "--json"]
    sequential = blazepose("run", corpus, "--out", tmp_path / "one", *common)
    parallel = blazepose("run", corpus, "--out", tmp_path / "many", *common, *runner)
    assert sequential.returncode == 0, sequential.stderr
    assert parallel.returncode == 0, parallel.stderr
    summaries = [json.loads(r.stdout.splitlines()[-1]) for r in (sequential, parallel)]
    for key in ("inputs", "frames", "frames_with_pose", "poses", "errors"):
        assert summaries[0][key] == summaries[1][key], key
    assert summaries[1]["inputs"] == 4 and summaries[1]["frames"] == 13
    done = [json.loads(line) for line in parallel.stdout.splitlines()]
    assert len([e for e in done if e["event"] == "input_done"]) == 4
    assert output_files(tmp_path / "one") == output_files(tmp_path / "many")


def test_workers_report_bad_inputs_one_line_each(corpus, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    run = blazepose("run", broken, corpus / "photo_c.png", "--out", tmp_path / "out", "--workers", "2", "--quiet")
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if line.startswith("blazepose:")]
    assert len(errors) == 1 and "broken.mp4" in errors[0]
    assert run.stderr.splitlines() == errors  # --quiet: nothing else, in the workers either
    assert (tmp_path / "out" / "photo_c.landmarks.jsonl").exists()


@pytest.mark.parametrize("value", ["0", "-3"])
def test_bad_worker_count_is_a_usage_error(value, tmp_path):
    run = blazepose("run", "x.png", "--out", tmp_path, "--workers", value)
    assert run.returncode == 2 and "--workers must be >= 1" in run.stderr


@NEEDS_SHARED
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--streams", "0"], "--streams must be >= 1"),
        (["--streams", "2", "--accuracy", "high"], "--accuracy high"),
        (["--streams", "2", "--ray", "local"], "with --ray each task runs one input"),
    ],
)
def test_bad_stream_options_are_usage_errors(options, message, corpus, tmp_path):
    run = blazepose("run", corpus, "--out", tmp_path / "out", *options)
    assert run.returncode == 2 and message in run.stderr and run.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def _signal_the_group_after_5_frames(run_args: list[str], signum: int) -> tuple[int, str, str]:
    """Runs ``blazepose run`` with ``run_args`` (``--json`` among them) in a process group of its own, sends
    ``signum`` to the whole group once a progress event counts 5 frames; (exit status, the rest of stdout,
    stderr)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "blazepose", "run", *run_args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        with killed_after(300, lambda: os.killpg(proc.pid, signal.SIGKILL)) as watchdog:
            assert proc.stdout is not None
            for line in proc.stdout:
                event = json.loads(line)
                if event["event"] == "progress" and event["frames"] >= 5:
                    os.killpg(proc.pid, signum)
                    break
        assert not watchdog.fired, "no progress within 300 s"
        rest, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode, rest, err


def test_ctrl_c_stops_every_worker_and_keeps_what_was_done(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("a.avi", "b.avi"):
        os.symlink(SHARED_VIDEO, videos / name)
    returncode, rest, err = _signal_the_group_after_5_frames(
        [str(videos), "--out", str(tmp_path / "out"), "--model", "heavy", "--workers", "2", "--threads", "1",
         "--no-annotate", "--json"],
        signal.SIGINT,  # as a terminal's Ctrl-C: the whole process group
    )  # fmt: skip
    assert returncode == 130, err
    summary = json.loads(rest.splitlines()[-1])
    assert summary["interrupted"] and 5 <= summary["frames"] < 2 * 205
    lines = sum(len((tmp_path / "out" / f"{n}.landmarks.jsonl").read_text().splitlines()) for n in ("a", "b"))
    assert lines == summary["frames"]
    assert "Traceback" not in err


@NEEDS_SHARED
def test_sigterm_to_the_process_group_stops_workers_cleanly_and_starts_nothing_more(tmp_path):
    """``timeout``, ``docker stop`` and systemd send SIGTERM to every process of the group: the workers killed
    by it left unplayable videos and 'worker failed' for every input, and an input handed to a worker just
    before the stop left empty files."""
    from media_helpers import decoded_frames

    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("a.avi", "b.avi", "c.avi"):
        os.symlink(SHARED_VIDEO, videos / name)
    out = tmp_path / "out"
    returncode, rest, err = _signal_the_group_after_5_frames(
        [str(videos), "--out", str(out), "--model", "lite", "--workers", "2", "--threads", "1", "--json"],
        signal.SIGTERM,
    )
    assert returncode == 143, err
    assert "worker failed" not in err and "Traceback" not in err, err
    summary = json.loads(rest.splitlines()[-1])
    assert summary["interrupted"] and not summary["errors"]
    for name in ("a", "b"):
        lines = len((out / f"{name}.landmarks.jsonl").read_text().splitlines())
        assert 0 < lines < 205 and decoded_frames(out / f"{name}.annotated.mp4") == lines
    assert not list(out.glob("c.*")), "an input not started before the stop leaves no file"


def test_workers_name_same_stem_inputs_apart_and_leave_nothing_of_a_failed_input(corpus, tmp_path):
    pytest.importorskip("scipy", reason="--accuracy high on video files smooths with scipy (the offline extra)")
    for folder, clip in (("a", "clip_a.mp4"), ("b", "clip_b.mp4")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "clip.mp4").write_bytes((corpus / clip).read_bytes())
    data = (corpus / "clip_a.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 20])  # opens, or not, but no frame decodes
    out = tmp_path / "out"
    run = blazepose("run", tmp_path / "a" / "clip.mp4", tmp_path / "b" / "clip.mp4", tmp_path / "cut.mp4",
                    "--out", out, "--workers", "2", "--threads", "1", "--model", "lite", "--accuracy", "high",
                    "--formats", "jsonl,npz", "--json")  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("blazepose:")]
    assert len(errors) == 1 and "cut.mp4" in errors[0], run.stderr
    frames = {p.name: len(p.read_text().splitlines()) for p in out.glob("*.landmarks.jsonl")}
    assert frames == {"clip_mp4.landmarks.jsonl": 6, "clip_mp4-2.landmarks.jsonl": 5}
    assert not list(out.glob("cut*")), "a failed input's files are removed"


def test_a_bad_thread_count_in_the_environment_is_a_usage_error_before_any_output(corpus, tmp_path):
    env = dict(os.environ, BLAZEPOSE_NUM_THREADS="many")
    run = subprocess.run([sys.executable, "-m", "blazepose", "run", str(corpus / "photo_c.png"), "--out",
                          str(tmp_path / "o"), "--workers", "2"], capture_output=True, text=True, env=env,
                         timeout=120)  # fmt: skip
    assert run.returncode == 2 and "BLAZEPOSE_NUM_THREADS must be an integer in 1..1024" in run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("address", "message"), [("auto", "no Ray cluster there"), ("127.0.0.1:1", "no Ray cluster reachable there")]
)
def test_ray_with_no_cluster_at_the_address_is_one_line(corpus, tmp_path, address, message):
    """No running cluster was a traceback; an address that takes no connection made ray.init wait for minutes."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("--ray needs ray (the ray extra)")
    if os.environ.get("RAY_ADDRESS"):
        pytest.skip("a Ray cluster is named by RAY_ADDRESS")
    run = blazepose("run", corpus / "photo_d.jpg", "--out", tmp_path / "out", "--ray", address, timeout=120)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("blazepose:")]
    assert line.startswith(f"blazepose: --ray {address}: {message}")


def test_ray_with_quiet_prints_nothing(corpus, tmp_path):
    if importlib.util.find_spec("ray") is None:
        pytest.skip("--ray needs ray (the ray extra)")
    run = blazepose("run", corpus / "photo_c.png", "--out", tmp_path / "out", "--ray", "local", "--quiet")
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""  # Ray's start-up lines (INFO, a WARNING on token authentication) came through
    assert (tmp_path / "out" / "photo_c.landmarks.jsonl").exists()
