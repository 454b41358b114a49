import numpy as np
import pytest

from blazepose import backends
from blazepose.backends import load_model
from blazepose.models import verified_model_bytes


def test_litert_loads_detector_and_reports_shapes():
    model = load_model(verified_model_bytes("pose_detection.tflite"), num_threads=1)
    assert model.input_shape == (1, 224, 224, 3)
    assert sorted(model.output_shapes) == [(1, 2254, 1), (1, 2254, 12)]
    outputs = model.run(np.zeros((1, 224, 224, 3), np.float32))
    assert [o.shape for o in outputs] == list(model.output_shapes)
    model.close()


ALL_MODELS = ["pose_detection.tflite"] + [f"pose_landmark_{m}.tflite" for m in ("lite", "full", "heavy")]


@pytest.mark.parametrize("name", ALL_MODELS)
def test_thread_count_does_not_change_a_bit(name):
    data = verified_model_bytes(name)
    one = load_model(data, num_threads=1)
    x = np.random.default_rng(0).uniform(-1, 1, one.input_shape).astype(np.float32)
    expected = one.run(x)
    for threads in (2, 3):
        for a, b in zip(expected, load_model(data, num_threads=threads).run(x), strict=True):
            np.testing.assert_array_equal(a, b, err_msg=f"{name}, {threads} threads")


def test_default_threads_follow_the_available_cores_with_a_cap(monkeypatch):
    monkeypatch.delenv("BLAZEPOSE_NUM_THREADS", raising=False)
    monkeypatch.setattr(backends.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert backends.available_cores() == 3
    assert backends.default_num_threads() == 3
    monkeypatch.setattr(backends.os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert backends.default_num_threads() == backends.MAX_DEFAULT_THREADS == 4


def test_environment_variable_sets_the_default(monkeypatch):
    monkeypatch.setattr(backends.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    monkeypatch.setenv("BLAZEPOSE_NUM_THREADS", "1")
    assert backends.default_num_threads() == 1
    monkeypatch.setenv("BLAZEPOSE_NUM_THREADS", "6")
    assert backends.default_num_threads() == 6
    monkeypatch.setenv("BLAZEPOSE_NUM_THREADS", "zero")
    with pytest.raises(ValueError, match=r"BLAZEPOSE_NUM_THREADS must be an integer in 1\.\.1024, got 'zero'"):
        backends.default_num_threads()
    monkeypatch.setenv("BLAZEPOSE_NUM_THREADS", "65536")
    with pytest.raises(ValueError, match=r"BLAZEPOSE_NUM_THREADS must be an integer in 1\.\.1024, got '65536'"):
        backends.default_num_threads()
    with pytest.raises(ValueError, match=r"num_threads must be an int in 1\.\.1024 or None, got 65536"):
        backends.resolve_num_threads(65536)


def test_default_threads_without_affinity_use_the_cpu_count(monkeypatch):
    monkeypatch.delenv("BLAZEPOSE_NUM_THREADS", raising=False)
    monkeypatch.delattr(backends.os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(backends.os, "cpu_count", lambda: None)
    assert backends.default_num_threads() == 1
    monkeypatch.setattr(backends.os, "cpu_count", lambda: 2)
    assert backends.default_num_threads() == 2


def test_engine_gets_the_default_unless_told(monkeypatch):
    monkeypatch.setattr(backends, "default_num_threads", lambda: 3)
    data = verified_model_bytes("pose_detection.tflite")
    assert load_model(data).num_threads == 3
    assert load_model(data, num_threads=1).num_threads == 1


def test_every_api_passes_the_default_to_its_engines(monkeypatch):
    from blazepose import PoseEstimator
    from blazepose.solutions.pose import Pose
    from blazepose.tasks import BaseOptions, PoseLandmarker, PoseLandmarkerOptions

    seen = []
    real = backends.load_model

    def spy(model, backend="litert", num_threads=None, **options):
        engine = real(model, backend, num_threads, **options)
        seen.append(engine.num_threads)
        return engine

    monkeypatch.setattr("blazepose.core.engines.load_model", spy)
    monkeypatch.setattr(backends, "default_num_threads", lambda: 3)
    PoseEstimator(model_complexity=0).close()
    Pose(model_complexity=0).close()
    PoseLandmarker.create_from_options(PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path="lite"))).close()
    assert seen == [3] * 6
    seen.clear()
    Pose(model_complexity=0, num_threads=1).close()
    assert seen == [1, 1]


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


@pytest.mark.parametrize("name", ALL_MODELS[1:])
def test_a_batch_gives_each_item_the_bits_it_gets_alone(name):
    model = load_model(verified_model_bytes(name), num_threads=2)
    batch = np.random.default_rng(1).uniform(0, 1, (3, 256, 256, 3)).astype(np.float32)
    together = model.run_batch(batch, [0, 1])
    assert together[0].shape[0] == 3 and together[2] is None
    for i in range(3):
        alone = model.run(batch[i : i + 1], [0, 1])
        for k in (0, 1):
            np.testing.assert_array_equal(together[k][i], alone[k][0], err_msg=f"{name} item {i} output {k}")


def test_the_detector_refuses_a_batch():
    model = load_model(verified_model_bytes("pose_detection.tflite"), num_threads=1)
    with pytest.raises(ValueError, match="does not take a batch of 2"):
        model.run_batch(np.zeros((2, 224, 224, 3), np.float32))
    with pytest.raises(ValueError, match="batch must be float32"):
        model.run_batch(np.zeros((2, 10, 10, 3), np.float32))


def test_in_place_run_gives_the_copying_runs_bits():
    model = load_model(verified_model_bytes("pose_landmark_lite.tflite"), num_threads=1)
    tensor = np.random.default_rng(2).uniform(0, 1, (1, 256, 256, 3)).astype(np.float32)
    copied = model.run(tensor, [0, 1, 3])
    # Another input first, so that the in-place run cannot pass on what it left behind.
    model.run(np.zeros_like(tensor))

    def fill(buffer: np.ndarray) -> None:
        assert buffer.shape == (1, 256, 256, 3) and buffer.dtype == np.float32
        buffer[...] = tensor

    seen = model.run_in_place(fill, lambda out: [None if o is None else o.copy() for o in out], [0, 1, 3])
    for k in range(len(copied)):
        if copied[k] is None:
            assert seen[k] is None
        else:
            np.testing.assert_array_equal(seen[k], copied[k], err_msg=f"output {k}")


def test_in_place_run_refuses_to_overwrite_a_kept_output():
    model = load_model(verified_model_bytes("pose_landmark_lite.tflite"), num_threads=1)
    kept = model.run_in_place(lambda buffer: buffer.fill(0.5), lambda out: out[0], [0])
    with pytest.raises(RuntimeError, match="reference"):
        model.run_in_place(lambda buffer: buffer.fill(0.5), lambda out: None, [0])
    del kept
    assert model.run_in_place(lambda buffer: buffer.fill(0.5), lambda out: float(out[0].sum()), [0]) is not None


def test_in_place_run_whose_callbacks_raise_leaves_the_engine_usable_while_the_error_is_kept():
    # An error kept (LIVE_STREAM holds one until the next call) held the failed callback's frame, and with it
    # the engine's buffer: every later run raised LiteRT's "reference to internal data".
    model = load_model(verified_model_bytes("pose_landmark_lite.tflite"), num_threads=1)

    def failing_fill(buffer: np.ndarray) -> None:
        raise ValueError("fill failed")

    def failing_use(out: list[np.ndarray | None]) -> None:
        first = out[0]
        raise ValueError(f"use failed on {first is not None}")

    kept: list[BaseException] = []
    for fill, use in [(failing_fill, lambda out: None), (lambda buffer: buffer.fill(0.5), failing_use)]:
        with pytest.raises(ValueError, match="failed") as raised:
            model.run_in_place(fill, use, [0])
        kept.append(raised.value)
        assert model.run_in_place(lambda buffer: buffer.fill(0.5), lambda out: float(out[0].sum()), [0]) is not None
    assert "fill failed" in str(kept[0]) and "use failed" in str(kept[1])


def test_a_batch_engine_keeps_interpreters_for_the_last_few_sizes_only(monkeypatch):
    # Each batch size got its own interpreter, kept for good: a StreamBatch of many streams, seeing every
    # count of crops, held one per count (each with its activations).
    from blazepose.backends import litert

    monkeypatch.setattr(litert, "BATCH_INTERPRETERS_KEPT", 4)
    model = load_model(verified_model_bytes("pose_landmark_lite.tflite"), num_threads=1)
    made: list[int] = []
    resized = model._resized
    model._resized = lambda n: made.append(n) or resized(n)  # type: ignore[method-assign]
    rng = np.random.default_rng(2)
    sizes = [2, 3, 2, 4, 5, 6, 7, 6, 2]
    for n in sizes:
        batch = rng.uniform(0, 1, (n, 256, 256, 3)).astype(np.float32)
        together = model.run_batch(batch, [0])
        np.testing.assert_array_equal(together[0][n - 1], model.run(batch[n - 1 :], [0])[0][0])
        assert len(model._batched) <= 4
    assert made == [2, 3, 4, 5, 6, 7, 2]  # 2 was used again before it was dropped, then dropped


def test_a_missing_onnxruntime_names_the_gpu_extra_for_the_cuda_engine(monkeypatch):
    import builtins

    from blazepose.backends.onnxruntime import OnnxRuntimeModel

    real_import = builtins.__import__

    def without_onnxruntime(name, *args, **kwargs):
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_onnxruntime)
    with pytest.raises(RuntimeError, match=r"blazepose\[gpu\]"):
        OnnxRuntimeModel(b"", backend="onnxruntime-cuda")
    with pytest.raises(RuntimeError, match=r"blazepose\[onnxruntime\]"):
        OnnxRuntimeModel(b"", backend="onnxruntime")
