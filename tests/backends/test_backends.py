import numpy as np
import pytest

from blazepose.backends import load_model
from blazepose.models import verified_model_bytes


def test_litert_loads_detector_and_reports_shapes():
    model = load_model(verified_model_bytes("pose_detection.tflite"), num_threads=1)
    assert model.input_shape == (1, 224, 224, 3)
    assert sorted(model.output_shapes) == [(1, 2254, 1), (1, 2254, 12)]
    outputs = model.run(np.zeros((1, 224, 224, 3), np.float32))
    assert [o.shape for o in outputs] == list(model.output_shapes)
    model.close()


def test_thread_count_does_not_change_the_answer():
    data = verified_model_bytes("pose_landmark_lite.tflite")
    x = np.random.default_rng(0).random((1, 256, 256, 3), dtype=np.float32)
    one = load_model(data, num_threads=1).run(x)
    two = load_model(data, num_threads=2).run(x)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("threads", [0, -2, 1.5, True])
def test_bad_thread_count_is_refused(threads):
    with pytest.raises(ValueError, match="num_threads"):
        load_model(b"", num_threads=threads)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown inference backend 'tensorrt'"):
        load_model(b"", backend="tensorrt")


def test_wrong_input_is_refused():
    model = load_model(verified_model_bytes("pose_detection.tflite"))
    with pytest.raises(ValueError, match="model input"):
        model.run(np.zeros((1, 10, 10, 3), np.float32))
