"""The ONNX Runtime engine on the converted models: provenance, execution providers, batches of streams
(agreement with LiteRT and batches: test_other_engines.py)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from blazepose.backends import load_model
from blazepose.models import MODEL_SHA256, ModelFileError, companion_folder, converted_model_bytes

pytest.importorskip("onnxruntime", reason="the onnxruntime backend needs onnxruntime (the onnxruntime extra)")

pytest.importorskip(
    "blazepose_models_onnx", reason="the onnx model files are a package: pip install ./packages/blazepose-models-onnx"
)
FOLDER = companion_folder("onnx")
MANIFEST = json.loads((FOLDER / "MANIFEST.json").read_text())


def test_each_converted_file_matches_its_manifest_and_names_its_source():
    assert MANIFEST["made_by"] == "scripts/convert_onnx.py" and "tf2onnx" in MANIFEST["converter"]
    assert {entry["source"] for entry in MANIFEST["files"].values()} == set(MODEL_SHA256)
    for file_name, entry in MANIFEST["files"].items():
        data = (FOLDER / file_name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], file_name
        assert entry["source_sha256"] == MODEL_SHA256[entry["source"]]
        assert entry["max_relative_difference_vs_tflite"] < 1e-3


def test_a_changed_converted_file_is_refused(tmp_path):
    folder = tmp_path / "onnx"
    folder.mkdir()
    (folder / "MANIFEST.json").write_text(json.dumps(MANIFEST))
    good = converted_model_bytes("pose_landmark_lite.tflite", "onnx")
    (folder / "pose_landmark_lite.onnx").write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(ModelFileError, match="corrupt"):
        converted_model_bytes("pose_landmark_lite.tflite", "onnx", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"scripts/convert_onnx\.py"):
        converted_model_bytes("pose_detection.tflite", "onnx", tmp_path)


def test_an_absent_execution_provider_is_named():
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="CUDAExecutionProvider"):
        load_model(converted_model_bytes("pose_detection.tflite", "onnx"), "onnxruntime-cuda")


def test_a_provider_that_falls_back_to_the_cpu_is_refused(monkeypatch):
    """ONNX Runtime starts a CPU-only session when CUDA's libraries fail to load; the engine must not run on it."""
    import onnxruntime

    real_session = onnxruntime.InferenceSession

    def cpu_only_session(model, options, providers):  # what ONNX Runtime does when libcudnn is missing
        return real_session(model, options, providers=["CPUExecutionProvider"])

    both = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: both)
    monkeypatch.setattr(onnxruntime, "InferenceSession", cpu_only_session)
    with pytest.raises(ValueError, match=r"could not start its CUDAExecutionProvider.*\['CPUExecutionProvider'\]"):
        load_model(converted_model_bytes("pose_detection.tflite", "onnx"), "onnxruntime-cuda")


def test_stream_batch_on_onnxruntime_answers_as_each_stream_alone(astronaut):
    from blazepose import PoseEstimator, StreamBatch

    frames = [[np.roll(astronaut, s * 5 * i, axis=1) for i in range(4)] for s in (1, -1)]
    alone = []
    for stream in frames:
        with PoseEstimator(model_complexity=0, num_threads=1, backend="onnxruntime") as est:
            alone.append([est.process(f, 40.0 * i) for i, f in enumerate(stream)])
    with StreamBatch(2, model_complexity=0, num_threads=1, backend="onnxruntime") as batch:
        together = [batch.process([s[i] for s in frames], [40.0 * i] * 2) for i in range(4)]
    for k in range(2):
        for i in range(4):
            a, b = together[i][k], alone[k][i]
            assert len(a) == len(b) == 1
            np.testing.assert_allclose(a.landmarks, b.landmarks, atol=1e-4)
