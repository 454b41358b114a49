"""``precision="bfloat16"``: the official models computed in bfloat16 by OpenVINO, only where the CPU has it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import blazepose.backends as backends
from blazepose import PoseEstimator
from blazepose.backends import check_precision, precision_unavailable


def bfloat16_cpu() -> None:
    """Skips unless OpenVINO is installed and this CPU computes bfloat16."""
    pytest.importorskip("openvino", reason="bfloat16 runs on the openvino backend (the openvino extra)")
    why = precision_unavailable("bfloat16", "openvino")
    if why:
        pytest.skip(why)


def test_bfloat16_is_offered_by_openvino_only():
    assert check_precision("bfloat16", "openvino") == "bfloat16"
    assert check_precision("bfloat16", None) == "bfloat16"
    for backend in ("litert", "onnxruntime"):
        refused = f"'bfloat16' is computed only for backend 'openvino', got backend '{backend}'"
        with pytest.raises(ValueError, match=refused):
            check_precision("bfloat16", backend)
    with pytest.raises(ValueError, match="only for backend 'openvino'"):
        PoseEstimator(precision="bfloat16")  # the default engine, LiteRT
    with pytest.raises(ValueError, match="only for backend 'openvino'"):
        backends.load_model(b"", "litert", 1, bfloat16=True)


def test_a_cpu_without_bfloat16_is_refused_not_run_in_float32(monkeypatch):
    # OpenVINO would quietly compute in float32 there: as slow as the default, under a name that promises more.
    import blazepose.backends.openvino as openvino_backend

    monkeypatch.setattr(backends, "backend_unavailable", lambda backend: None)
    monkeypatch.setattr(openvino_backend, "cpu_capabilities", lambda core=None: ["FP32", "INT8", "EXPORT_IMPORT"])
    why = precision_unavailable("bfloat16", "openvino")
    assert why is not None and "AMX" in why and "FP32, INT8, EXPORT_IMPORT" in why
    assert precision_unavailable("float32", "openvino") is None
    assert precision_unavailable("int8", "litert") is None
    pytest.importorskip("openvino", reason="the engine itself needs OpenVINO")
    from blazepose.models import verified_model_bytes

    with pytest.raises(RuntimeError, match="needs a CPU that computes bfloat16"):
        openvino_backend.OpenVINOModel(verified_model_bytes("pose_detection.tflite"), 1, bfloat16=True)


def test_bfloat16_finds_the_pose_near_float32_and_is_not_float32(astronaut):
    bfloat16_cpu()
    h, w = astronaut.shape[:2]
    options = {"static_image_mode": True, "model_complexity": 1, "num_threads": 1}
    with PoseEstimator(**options) as litert:
        want = litert.process(astronaut)
    with PoseEstimator(**options, backend="openvino") as openvino:
        float32 = openvino.process(astronaut)
    with PoseEstimator(**options, backend="openvino", precision="bfloat16") as estimator:
        got = estimator.process(astronaut)
    assert len(got) == len(float32) == len(want) == 1
    pixels = np.linalg.norm((got.landmarks[0, :, :2] - want.landmarks[0, :, :2]) * [w, h], axis=-1)
    same_engine = np.linalg.norm((got.landmarks[0, :, :2] - float32.landmarks[0, :, :2]) * [w, h], axis=-1)
    xy = want.landmarks[0, :, :2] * [w, h]
    torso = np.linalg.norm(xy[[11, 12]].mean(axis=0) - xy[[23, 24]].mean(axis=0))
    assert (pixels < 0.2 * torso).mean() >= 0.9, pixels / torso  # the same pose: PCK@0.2 against float32
    assert same_engine.max() > 0.1  # bfloat16 was computed: OpenVINO's float32 answer is not what came back


def test_run_refuses_bfloat16_on_the_default_engine_in_one_line(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "blazepose", "run", str(tmp_path / "a.png"), "--out", str(tmp_path / "o"),
         "--precision", "bfloat16"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
    assert "--precision bfloat16" in run.stderr and "'openvino'" in run.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("verb", ["run", "eval"])
def test_commands_refuse_bfloat16_on_a_cpu_without_it_in_one_line(verb, tmp_path, monkeypatch, capsys):
    pytest.importorskip("openvino", reason="the check asks OpenVINO about the CPU")
    import blazepose.backends.openvino as openvino_backend
    from blazepose import cli

    monkeypatch.setattr(openvino_backend, "cpu_capabilities", lambda core=None: ["FP32", "INT8"])
    annotations = tmp_path / "person_keypoints.json"
    annotations.write_text('{"images": [], "annotations": [], "categories": []}')
    given = [str(tmp_path / "a.png"), "--backend", "openvino"] if verb == "run" else ["--coco", str(annotations)]
    code = cli.main([verb, *given, "--precision", "bfloat16", "--out", str(tmp_path / "o")])
    error = capsys.readouterr().err
    assert code == 2 and error.count("\n") == 1 and "needs a CPU that computes bfloat16" in error, error
    assert not (tmp_path / "o").exists()


def test_stream_batch_runs_batched_crops_in_bfloat16(astronaut):
    # The batched landmark model is compiled again per batch size: in bfloat16 too (one stream alone is not).
    bfloat16_cpu()
    from blazepose import StreamBatch

    options = {"model_complexity": 0, "num_threads": 1, "backend": "openvino", "precision": "bfloat16"}
    with StreamBatch(2, **options) as batch:
        first, second = batch.process([astronaut, astronaut], [0.0, 0.0])
    with PoseEstimator(**options) as alone:
        want = alone.process(astronaut, 0.0)
    assert first is not None and second is not None and len(first) == len(second) == len(want) == 1
    assert np.array_equal(first.landmarks, second.landmarks)
    h, w = astronaut.shape[:2]
    assert np.abs((first.landmarks - want.landmarks)[..., :2] * [w, h]).max() < 1.0
