"""The OpenVINO engine on the vendored .tflite files: agreement with LiteRT, batches, the pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from blazepose.backends import load_model
from blazepose.models import verified_model_bytes

pytest.importorskip("openvino", reason="the openvino backend needs openvino (the openvino extra)")


@pytest.mark.parametrize("name", ["pose_detection.tflite", "pose_landmark_lite.tflite"])
def test_outputs_agree_with_litert_in_float32(name):
    litert = load_model(verified_model_bytes(name), num_threads=1)
    openvino = load_model(verified_model_bytes(name), "openvino", num_threads=1)
    assert (openvino.input_shape, openvino.output_shapes) == (litert.input_shape, litert.output_shapes)
    x = np.random.default_rng(4).uniform(0, 1, litert.input_shape).astype(np.float32)
    for want, got in zip(litert.run(x), openvino.run(x), strict=True):
        # bfloat16 (OpenVINO's default on CPUs that have it) misses this by far more.
        np.testing.assert_allclose(got, want, atol=1e-3 * max(float(np.ptp(want)), 1.0))


def test_landmark_model_takes_a_batch_and_the_detector_does_not():
    lite = load_model(verified_model_bytes("pose_landmark_lite.tflite"), "openvino", num_threads=1)
    x = np.random.default_rng(5).uniform(0, 1, (3, 256, 256, 3)).astype(np.float32)
    together = lite.run_batch(x, [0, 1])
    assert together[2] is None
    for i in range(3):
        alone = lite.run(x[i : i + 1], [0, 1])
        for k in (0, 1):
            np.testing.assert_allclose(together[k][i], alone[k][0], rtol=1e-5, atol=1e-5)
    detector = load_model(verified_model_bytes("pose_detection.tflite"), "openvino", num_threads=1)
    with pytest.raises(ValueError, match="does not take a batch of 2"):
        detector.run_batch(np.zeros((2, 224, 224, 3), np.float32))


def test_pose_estimator_on_openvino_finds_the_same_pose(astronaut):
    from blazepose import PoseEstimator

    with PoseEstimator(static_image_mode=True, model_complexity=0, num_threads=1) as litert:
        want = litert.process(astronaut)
    with PoseEstimator(static_image_mode=True, model_complexity=0, num_threads=1, backend="openvino") as openvino:
        got = openvino.process(astronaut)
    assert len(got) == len(want) == 1
    assert (np.abs(got.landmarks[..., :2] - want.landmarks[..., :2]) * 512).max() < 0.5
