"""``blazepose run --backend``: another engine by name, refused up front when it cannot run here."""

import subprocess
import sys

import numpy as np
import pytest

from blazepose.backends import backend_unavailable
from blazepose.io.landmark_files import load_landmarks


def blazepose(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "blazepose", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def test_onnxruntime_backend_writes_the_pose_litert_finds(tmp_path, astronaut):
    import cv2

    pytest.importorskip("onnxruntime", reason="the onnxruntime backend needs onnxruntime (the onnxruntime extra)")
    cv2.imwrite(str(tmp_path / "a.png"), astronaut[..., ::-1])
    common = ("--model", "lite", "--no-annotate", "--quiet")
    onnx = blazepose("run", tmp_path / "a.png", "--out", tmp_path / "onnx", "--backend", "onnxruntime", *common)
    litert = blazepose("run", tmp_path / "a.png", "--out", tmp_path / "litert", *common)
    assert onnx.returncode == 0 and litert.returncode == 0, onnx.stderr + litert.stderr
    (got,) = load_landmarks(tmp_path / "onnx" / "a.landmarks.jsonl")
    (want,) = load_landmarks(tmp_path / "litert" / "a.landmarks.jsonl")
    assert len(got.result) == len(want.result) == 1
    h, w = astronaut.shape[:2]
    pixels = np.abs(got.result.landmarks[..., :2] - want.result.landmarks[..., :2]) * [w, h]
    assert 0 < pixels.max() < 0.5  # another engine: close, not the same bits


def test_an_engine_that_cannot_run_here_is_one_usage_error_before_any_input(tmp_path, astronaut):
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), astronaut[..., ::-1])
    missing = next((b for b in ("onnxruntime-cuda", "openvino", "onnxruntime") if backend_unavailable(b)), None)
    if missing is None:
        pytest.skip("every engine tried can run here")
    run = blazepose("run", tmp_path / "a.png", "--out", tmp_path / "o", "--backend", missing)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and f"--backend {missing}" in run.stderr and "pip install" in run.stderr
    assert not (tmp_path / "o").exists()


def test_int8_with_an_engine_that_has_no_int8_files_is_a_usage_error(tmp_path):
    run = blazepose("run", tmp_path / "a.png", "--out", tmp_path, "--backend", "openvino", "--precision", "int8")
    assert run.returncode == 2 and "int8" in run.stderr and "'litert'" in run.stderr


def test_unknown_engine_is_refused_by_the_parser(tmp_path):
    run = blazepose("run", tmp_path / "a.png", "--out", tmp_path, "--backend", "tensorflow")
    assert run.returncode == 2 and "invalid choice" in run.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ("run", "a.png", "--model", "huge"),  # argparse's own checks: no usage block before the line
        ("serve", "--log-level", "loud"),
        ("reps",),
        ("frob",),
    ],
)
def test_a_usage_error_the_parser_finds_is_one_line(argv):
    run = blazepose(*argv, timeout=60)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "error:" in run.stderr and "--help" in run.stderr, run.stderr
    assert "usage:" not in run.stderr


def test_backend_unavailable_names_the_missing_provider(monkeypatch):
    onnxruntime = pytest.importorskip("onnxruntime", reason="needs onnxruntime to ask for its providers")
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    reason = backend_unavailable("onnxruntime-cuda")
    assert reason is not None and "CUDAExecutionProvider" in reason and "blazepose[gpu]" in reason
    assert backend_unavailable("onnxruntime") is None
    with pytest.raises(ValueError, match="unknown inference backend"):
        backend_unavailable("cuda")


@pytest.mark.parametrize(
    ("options", "package"), [(["--precision", "int8"], "int8"), (["--backend", "onnxruntime"], "onnx")]
)
def test_model_files_not_installed_are_one_usage_error(options, package, tmp_path, monkeypatch, capsys):
    """Run in this process, the companion package hidden: the message names what to install."""
    import importlib.util

    from blazepose import cli

    if package == "onnx":
        pytest.importorskip("onnxruntime", reason="the onnxruntime backend needs onnxruntime")
    real_find_spec = importlib.util.find_spec
    hidden = f"blazepose_models_{package}"
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == hidden else real_find_spec(n, *a))
    assert cli.main(["run", str(tmp_path / "a.png"), "--out", str(tmp_path / "o"), *options]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"pip install blazepose-models-{package}" in error
    assert not (tmp_path / "o").exists()


def test_eval_int8_without_its_model_package_is_one_usage_error(tmp_path, monkeypatch, capsys):
    import importlib.util

    from blazepose import cli

    annotations = tmp_path / "person_keypoints.json"
    annotations.write_text('{"images": [], "annotations": [], "categories": []}')
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "blazepose_models_int8" else real_find_spec(n, *a)
    )
    code = cli.main(
        ["eval", "--coco", str(annotations), "--precision", "int8", "--mediapipe", "no", "--out", str(tmp_path / "o")]
    )
    error = capsys.readouterr().err
    assert code == 2 and error.count("\n") == 1 and "pip install blazepose-models-int8" in error


def test_progress_lines_from_several_video_threads_are_written_whole(capsys):
    """--streams reports from one thread per video: no line may be cut into by another."""
    import re
    import sys
    import threading

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch as often as they can: a line written in two parts gets cut

    from blazepose.cli.run import Reporter

    reporter = Reporter(quiet=False, as_json=False)

    def report(name: str) -> None:
        for done in range(300):
            reporter.progress(name, done, 300, 1.0, final=True)

    threads = [threading.Thread(target=report, args=(f"video{k}",), daemon=True) for k in range(8)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join(120)
    finally:
        sys.setswitchinterval(interval)
    assert not any(t.is_alive() for t in threads)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 8 * 300
    assert all(re.fullmatch(r"video\d: \d+/300 frames, [\d.]+ fps", line) for line in lines)
