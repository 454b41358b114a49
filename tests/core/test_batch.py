"""StreamBatch: each stream's answers are its own PoseEstimator's, bit for bit, with one batched inference per step."""

from __future__ import annotations

import numpy as np
import pytest

from blazepose.core.batch import StreamBatch
from blazepose.core.estimator import PoseEstimator

FIELDS = ("landmarks", "world_landmarks", "visibility", "presence", "pose_scores", "rois", "track_ids", "timestamp_us")


def streams(astronaut: np.ndarray, steps: int) -> list[list[np.ndarray | None]]:
    """Three streams: a person moving right, a mirrored person moving left with gaps, two people with a blank frame."""
    blank = np.zeros((240, 320, 3), np.uint8)
    pair = np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)
    return [
        [np.roll(astronaut, 6 * i, axis=1) for i in range(steps)],
        [None if i % 4 == 2 else np.roll(astronaut[:, ::-1], -5 * i, axis=1) for i in range(steps)],
        [blank if i == 3 else np.roll(pair, 4 * i, axis=0) for i in range(steps)],
    ]


def assert_same(a, b, where: str) -> None:
    assert (a is None) == (b is None), where
    if a is None:
        return
    assert len(a) == len(b), where
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=f"{where}: {name}")
    if a.segmentation_masks is not None or b.segmentation_masks is not None:
        np.testing.assert_array_equal(a.segmentation_masks, b.segmentation_masks, err_msg=f"{where}: masks")


@pytest.mark.parametrize(
    "options", [{"model_complexity": 0, "max_poses": 2}, {"model_complexity": 0, "enable_segmentation": True}]
)
@pytest.mark.parametrize("batched", [True, False])
def test_each_stream_answers_as_its_own_estimator(astronaut, options, batched):
    steps = 8
    inputs = streams(astronaut, steps)
    alone = []
    for frames in inputs:
        with PoseEstimator(num_threads=1, **options) as estimator:
            alone.append([None if f is None else estimator.process(f, 40.0 * i) for i, f in enumerate(frames)])
    with StreamBatch(len(inputs), batched=batched, num_threads=1, **options) as batch:
        together = [batch.process([s[i] for s in inputs], [40.0 * i] * len(inputs)) for i in range(steps)]
        assert batch.stream(2).frames_processed == steps and batch.stream(1).frames_processed == steps - 2
    for k in range(len(inputs)):
        for i in range(steps):
            assert_same(together[i][k], alone[k][i], f"stream {k}, step {i}")
    assert sum(len(r) for r in together[0] if r is not None) >= 3, "the test streams must hold people"


def test_a_renewed_stream_starts_over_as_a_new_estimator_and_reset_keeps_counting_ids(astronaut):
    frames = [np.roll(astronaut, 6 * i, axis=1) for i in range(4)]
    with PoseEstimator(model_complexity=0, num_threads=1) as fresh:
        want = [fresh.process(f, 40.0 * i) for i, f in enumerate(frames)]
    with StreamBatch(2, model_complexity=0, num_threads=1) as batch:
        for i, f in enumerate(frames):
            batch.process([f, f], [40.0 * i] * 2)
        batch.renew(0)
        batch.reset(1)
        again = [batch.process([f, f], [40.0 * i] * 2) for i, f in enumerate(frames)]
        with pytest.raises(IndexError):
            batch.renew(2)
    for i in range(len(frames)):
        assert_same(again[i][0], want[i], f"renewed stream, step {i}")
    assert again[0][1].track_ids.tolist() == [1], "reset forgets poses, ids keep counting"


def test_crops_of_several_streams_go_to_the_engine_as_one_batch(astronaut, monkeypatch):
    with StreamBatch(3, model_complexity=0, num_threads=1) as batch:
        engine = batch._engines.landmarker._model
        sizes = []
        real = engine.run_batch
        monkeypatch.setattr(engine, "run_batch", lambda b, o=None: (sizes.append(len(b)), real(b, o))[1])
        for i in range(3):
            batch.process([np.roll(astronaut, 3 * i, axis=1)] * 3)
    assert sizes == [3, 3, 3]


def test_bad_calls_are_refused_and_change_nothing(astronaut):
    with StreamBatch(2, model_complexity=0, num_threads=1) as batch:
        with pytest.raises(ValueError, match="expected 2 frames"):
            batch.process([astronaut])
        with pytest.raises(TypeError):
            batch.process([astronaut, astronaut.astype(np.float32)])
        batch.process([astronaut, astronaut], [100.0, 100.0])
        with pytest.raises(ValueError):
            batch.process([astronaut, astronaut], [200.0, 50.0])  # stream 1 goes back in time
        assert [batch.stream(k).frames_processed for k in (0, 1)] == [1, 1]
    with pytest.raises(ValueError, match="closed"):
        batch.process([astronaut, astronaut])
    with pytest.raises(ValueError, match="num_streams"):
        StreamBatch(0)
    with pytest.raises(ValueError, match="static_image_mode"):
        StreamBatch(2, static_image_mode=True)


def test_stream_indices_frames_and_timestamps_of_the_wrong_kind_say_what_was_expected(astronaut):
    with StreamBatch(2, model_complexity=0, num_threads=1) as batch:
        for index in (-1, 2, 1.0, True, "0"):
            with pytest.raises(IndexError, match=r"expected a stream index in 0\.\.1, got"):
                batch.stream(index)  # type: ignore[arg-type]
            with pytest.raises(IndexError, match="expected a stream index"):
                batch.renew(index)  # type: ignore[arg-type]
            with pytest.raises(IndexError, match="expected a stream index"):
                batch.reset(index)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"expected a list of 2 frames .* got generator"):
            batch.process(frame for frame in [astronaut, astronaut])  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"expected a list of 2 frames .* got NoneType"):
            batch.process(None)  # type: ignore[arg-type]
        for times in (5000, {0: 1, 1: 2}, "12"):
            with pytest.raises(TypeError, match="expected None or a list of 2 timestamps"):
                batch.process([astronaut, astronaut], times)  # type: ignore[arg-type]
        assert [batch.stream(k).frames_processed for k in (0, 1)] == [0, 0]
        assert len(batch.process(np.stack([astronaut, astronaut]), np.array([10.0, 10.0]))) == 2
    with pytest.raises(ValueError, match="closed"):
        batch.reset()


def test_a_frame_whose_inference_failed_can_be_given_again_with_its_time(astronaut, monkeypatch):
    # As PoseEstimator.process: a stream's clock moves only once its frame went through, so an engine error
    # (out of memory, a GPU reset) does not make the retry of the same frame a "timestamp must increase" error.
    with StreamBatch(2, model_complexity=0, num_threads=1) as batch:
        batch.process([astronaut, astronaut], [100.0, 100.0])
        landmarker = batch._engines.landmarker
        real = landmarker.run_many

        def failing(*args, **kwargs):
            raise RuntimeError("engine failed")

        monkeypatch.setattr(landmarker, "run_many", failing)
        with pytest.raises(RuntimeError, match="engine failed"):
            batch.process([astronaut, astronaut], [133.0, 133.0])
        monkeypatch.setattr(landmarker, "run_many", real)
        results = batch.process([astronaut, astronaut], [133.0, 133.0])
        assert [r.timestamp_us for r in results] == [133000, 133000]


def test_a_second_thread_calling_in_meanwhile_gets_a_clear_error(astronaut):
    import threading

    with StreamBatch(2, model_complexity=0) as batch:
        inside, release = threading.Event(), threading.Event()
        real = batch._process

        def blocking(*args):
            inside.set()
            release.wait(30)
            return real(*args)

        batch._process = blocking  # type: ignore[method-assign]
        first = threading.Thread(target=lambda: batch.process([astronaut, None]), daemon=True)
        first.start()
        try:
            assert inside.wait(30)
            for call in (lambda: batch.process([None, astronaut]), batch.close):
                with pytest.raises(RuntimeError, match="another thread was inside a call of the same instance"):
                    call()
        finally:
            release.set()
            first.join(30)
        assert not first.is_alive()
        batch._process = real  # type: ignore[method-assign]
        assert [len(r) for r in batch.process([astronaut, astronaut])] == [1, 1]  # usable afterwards
