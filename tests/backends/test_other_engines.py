"""The engines other than LiteRT (ONNX Runtime on the converted models, OpenVINO on the .tflite files):
agreement with LiteRT, batches, the pipeline, Ctrl-C once freed (LiteRT too). One test per behaviour, run
on each engine installed."""

from __future__ import annotations

import numpy as np
import pytest

from blazepose.backends import load_model, model_format
from blazepose.models import converted_model_bytes, verified_model_bytes

NEEDS = {
    "onnxruntime": [
        ("onnxruntime", "the onnxruntime backend needs onnxruntime (the onnxruntime extra)"),
        ("blazepose_models_onnx", "the onnx model files are a package: pip install ./packages/blazepose-models-onnx"),
    ],
    "openvino": [("openvino", "the openvino backend needs openvino (the openvino extra)")],
}


def installed(backend: str) -> str:
    """``backend``, once the test is skipped where it is not installed."""
    for module, reason in NEEDS.get(backend, []):
        pytest.importorskip(module, reason=reason)
    return backend


@pytest.fixture(params=sorted(NEEDS))
def engine(request) -> str:
    return installed(request.param)


def model_bytes(name: str, engine: str) -> bytes:
    fmt = model_format(engine)
    return verified_model_bytes(name) if fmt == "tflite" else converted_model_bytes(name, fmt)


@pytest.mark.parametrize("name", ["pose_detection.tflite", "pose_landmark_lite.tflite"])
def test_outputs_agree_with_litert_in_float32(engine, name):
    litert = load_model(verified_model_bytes(name), num_threads=1)
    other = load_model(model_bytes(name, engine), engine, num_threads=1)
    assert other.input_shape == litert.input_shape
    assert sorted(other.output_shapes) == sorted(litert.output_shapes)
    x = np.random.default_rng(4).uniform(0, 1, litert.input_shape).astype(np.float32)
    got = {o.shape: o for o in other.run(x)}
    for want in litert.run(x):
        # bfloat16 (OpenVINO's default on CPUs that have it) misses this by far more.
        np.testing.assert_allclose(got[want.shape], want, atol=1e-3 * max(float(np.ptp(want)), 1.0))


def test_landmark_model_takes_a_batch_and_the_detector_does_not(engine):
    lite = load_model(model_bytes("pose_landmark_lite.tflite", engine), engine, num_threads=1)
    x = np.random.default_rng(5).uniform(0, 1, (3, 256, 256, 3)).astype(np.float32)
    together = lite.run_batch(x, [0, 1])
    assert together[2] is None  # only the outputs asked for
    for i in range(3):
        alone = lite.run(x[i : i + 1], [0, 1])
        for k in (0, 1):
            np.testing.assert_allclose(together[k][i], alone[k][0], rtol=1e-5, atol=1e-5)
    detector = load_model(model_bytes("pose_detection.tflite", engine), engine, num_threads=1)
    with pytest.raises(ValueError, match="does not take a batch of 2"):
        detector.run_batch(np.zeros((2, 224, 224, 3), np.float32))


def test_pose_estimator_finds_the_same_pose_as_on_litert(engine, astronaut):
    from blazepose import PoseEstimator

    with PoseEstimator(static_image_mode=True, model_complexity=0, num_threads=1) as litert:
        want = litert.process(astronaut)
    with PoseEstimator(static_image_mode=True, model_complexity=0, num_threads=1, backend=engine) as other:
        got = other.process(astronaut)
    assert len(got) == len(want) == 1
    pixels = np.abs(got.landmarks[..., :2] - want.landmarks[..., :2]) * 512
    assert pixels.max() < 0.5, pixels.max()


@pytest.mark.parametrize("backend", ["litert", *sorted(NEEDS)])
def test_ctrl_c_after_an_engine_is_freed_is_still_a_keyboard_interrupt(backend):
    # OpenVINO's CPU plugin left an alternate signal stack installed on the loading thread and freed its
    # memory when unloaded: the next SIGINT then killed the process with SIGSEGV (exit -11, no traceback).
    import subprocess
    import sys
    import textwrap

    engine = installed(backend)

    code = textwrap.dedent(f"""
        import gc, os, signal, time
        import numpy as np
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a parent that ignores SIGINT passes that on
        from blazepose import PoseEstimator
        with PoseEstimator(static_image_mode=True, model_complexity=0, num_threads=1, backend={engine!r}) as e:
            e.process(np.zeros((64, 64, 3), np.uint8))
        del e
        gc.collect()
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(10)
        except KeyboardInterrupt:
            print("interrupted")
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "interrupted" in run.stdout, (run.returncode, run.stderr[-800:])
