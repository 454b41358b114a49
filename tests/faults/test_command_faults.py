"""Fault injection into ``blazepose run`` (issue #11), through the real command.

Corrupt, truncated, empty, renamed and unreadable files, and SIGINT / SIGTERM
at random points (fixed seed): exit status as documented, no traceback, every
processed frame in every landmark file, every MP4 playable (decoded with
PyAV), no temporary file left. Every subprocess runs under a timeout.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from media_helpers import blazepose, decoded_frames, make_clip

pytest.importorskip("av", reason="video input and output need PyAV (the video extra)")

from blazepose.io.landmark_files import load_landmarks

FORMATS = ("jsonl", "csv", "npz")
SEED = 11


@pytest.fixture(scope="module")
def small(astronaut):
    return np.ascontiguousarray(astronaut[::2, ::2])


def check_outputs(out: Path) -> dict[str, int]:
    """Every landmark file readable with frames 0..n-1, the same in each format,
    every MP4 playable with as many frames; returns frames per output name."""
    assert not list(out.glob("*.rows")), "a temporary NPZ rows file was left behind"
    counts = {}
    for jsonl in out.glob("*.landmarks.jsonl"):
        name = jsonl.name.removesuffix(".landmarks.jsonl")
        frames = [r.frame for r in load_landmarks(jsonl)]
        for fmt in FORMATS[1:]:
            path = out / f"{name}.landmarks.{fmt}"
            if path.exists():
                assert [r.frame for r in load_landmarks(path)] == frames, path
        video = out / f"{name}.annotated.mp4"
        if video.exists():
            assert decoded_frames(video) == len(frames), video
        counts[name] = len(frames)
    return counts


def test_bad_files_are_named_one_line_each_and_the_good_ones_processed(tmp_path, small):
    import cv2

    clip = make_clip(tmp_path / "good.mp4", 6, small)
    data = clip.read_bytes()
    _, jpeg = cv2.imencode(".jpg", small)
    bad = {
        "corrupt.mp4": data[:48] + bytes(random.Random(SEED).randbytes(len(data) - 48)),
        "truncated.mp4": data[: len(data) // 3],
        "empty.mp4": b"",
        "empty.png": b"",
        "renamed_photo.mp4": jpeg.tobytes(),  # a JPEG named .mp4
        "renamed_video.jpg": data,  # an MP4 named .jpg
        "noise.jpg": random.Random(SEED).randbytes(5000),
    }
    for name, content in bad.items():
        (tmp_path / name).write_bytes(content)
    os.mkfifo(tmp_path / "fifo.mp4")  # unreadable in the honest sense: reading it would block
    (tmp_path / "dangling.png").symlink_to(tmp_path / "nowhere.png")
    unreadable = tmp_path / "locked.png"
    unreadable.write_bytes(jpeg.tobytes())
    unreadable.chmod(0)
    renamed = ["renamed_photo.mp4", "renamed_video.jpg"]  # read as what they hold
    names = [n for n in bad if n not in renamed] + ["fifo.mp4", "dangling.png"]
    names += [] if os.geteuid() == 0 else ["locked.png"]  # root reads it anyway
    out = tmp_path / "out"
    run = blazepose("run", *[tmp_path / n for n in names + renamed], clip, "--out", out, "--model", "lite", "--json",
                    "--formats", ",".join(FORMATS), timeout=180)  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("blazepose: ")]
    for name in names:
        assert sum(name in line for line in errors) == 1, (name, run.stderr)
    counts = check_outputs(out)
    assert counts == {"good": 6, "renamed_photo": 1, "renamed_video": 6}
    summary = json.loads(run.stdout.splitlines()[-1])
    assert summary["frames"] == sum(counts.values())


def _wait_until_signals_are_caught(proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    """Waits until the child catches SIGTERM (its ``__main__`` has run): a signal
    that arrives while the interpreter itself is still starting gets the
    system's default action, which no Python code can change. Linux only
    (reads /proc); elsewhere it returns at once."""
    status = Path(f"/proc/{proc.pid}/status")
    deadline = time.monotonic() + timeout_s
    while proc.poll() is None and status.exists() and time.monotonic() < deadline:
        caught = next((line.split()[1] for line in status.read_text().splitlines() if line.startswith("SigCgt:")), "0")
        if int(caught, 16) & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.005)


def _signal_run(tmp_path: Path, clip: Path, sig: int, delay_s: float) -> tuple[int | None, str, str]:
    out = tmp_path / f"out_{sig}_{delay_s:.2f}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "blazepose", "run", str(clip), "--out", str(out), "--model", "lite", "--json",
         "--formats", ",".join(FORMATS)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_until_signals_are_caught(proc)
        time.sleep(delay_s)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
        proc.wait(10)
    return proc.returncode, stdout, stderr, out


@pytest.mark.parametrize("trial", range(8))
def test_sigint_or_sigterm_at_a_random_point_ends_cleanly(tmp_path_factory, small, trial):
    rng = random.Random(SEED * 100 + trial)
    sig = rng.choice([signal.SIGINT, signal.SIGTERM])
    delay_s = rng.uniform(0.15, 3.0)  # from the command's start-up to the last frames
    base = tmp_path_factory.mktemp("signals")
    clip = base / "clip.mp4"
    if not clip.exists():
        make_clip(clip, 150, small)
    code, stdout, stderr, out = _signal_run(base, clip, sig, delay_s)
    assert "Traceback" not in stderr, stderr
    assert code in (0, 128 + sig), (code, stderr)
    counts = check_outputs(out) if out.exists() else {}
    print(
        f"trial {trial}: {signal.Signals(sig).name} after {delay_s:.2f} s: exit {code}, {counts.get('clip', 0)} frames"
    )
    if stdout.strip():
        summary = json.loads(stdout.splitlines()[-1])
        assert summary["event"] == "summary" and summary["frames"] == counts.get("clip", 0)
        assert summary["interrupted"] == (code != 0)
    if code == 0:
        assert counts["clip"] == 150
