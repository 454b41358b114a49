"""The Ray path on a local cluster started by the test: same files as one process, errors per input."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from blazepose.io.inputs import expand_inputs
from blazepose.runner.jobs import RunSettings, run_sequentially
from conftest import SHARED_VIDEO
from media_corpus import make_corpus, output_files

ray = pytest.importorskip("ray", reason="the Ray path needs ray (the ray extra)")

from blazepose.runner.ray_runner import run_on_ray  # noqa: E402

DEADLINE_S = 300


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, astronaut) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"), astronaut)


@pytest.fixture(scope="module")
def local_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def deadline(seconds: float = DEADLINE_S):
    end = time.monotonic() + seconds
    return lambda: time.monotonic() > end


def test_ray_tasks_write_the_same_files_as_one_process(local_cluster, corpus, tmp_path):
    inputs, _ = expand_inputs([str(corpus)])
    one = RunSettings(out=tmp_path / "one", model="lite", formats=("jsonl", "csv"), threads=1)
    on_ray = RunSettings(out=tmp_path / "ray", model="lite", formats=("jsonl", "csv"), threads=1)
    for settings in (one, on_ray):
        settings.out.mkdir()
    sequential = list(run_sequentially(inputs, one))
    started = time.monotonic()
    outcomes = list(run_on_ray(inputs, on_ray, "local", should_stop=deadline()))
    assert time.monotonic() - started < DEADLINE_S
    assert sorted(o.input for o in outcomes) == sorted(o.input for o in sequential)
    assert not any(o.error for o in outcomes), [o.error for o in outcomes]
    assert sum(o.frames for o in outcomes) == sum(o.frames for o in sequential) == 13
    first, second = output_files(one.out), output_files(on_ray.out)
    assert first.keys() == second.keys() and len(first) == 12
    for name in first:
        assert first[name] == second[name], f"{name} differs between one process and Ray"


def test_ray_reports_a_bad_input_and_does_the_rest(local_cluster, corpus, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    inputs, _ = expand_inputs([str(broken), str(corpus / "photo_d.jpg")])
    settings = RunSettings(out=tmp_path / "out", model="lite", annotate=False)
    settings.out.mkdir()
    outcomes = {Path(o.input).name: o for o in run_on_ray(inputs, settings, "local", 1, deadline())}
    assert "broken.mp4" in (outcomes["broken.mp4"].error or "")
    assert outcomes["photo_d.jpg"].error is None and outcomes["photo_d.jpg"].poses == 1


def test_a_task_that_could_never_be_scheduled_is_refused(local_cluster, corpus, tmp_path):
    """--threads 3 on 2-CPU nodes: each task reserves 3 CPUs and would wait for ever."""
    inputs, _ = expand_inputs([str(corpus / "photo_d.jpg")])
    settings = RunSettings(out=tmp_path, model="lite", threads=3)
    with pytest.raises(ValueError, match="--threads 3: each task reserves that many CPUs; the largest node has 2"):
        next(run_on_ray(inputs, settings, "local", should_stop=deadline()))


@pytest.mark.skipif(not SHARED_VIDEO.is_file(), reason=f"needs the shared video {SHARED_VIDEO}")
def test_a_stop_lets_running_tasks_close_their_files(local_cluster, tmp_path):
    """A stop cancelled running tasks by force: their videos were left unplayable and their outcomes lost."""
    import os

    from media_helpers import decoded_frames

    for name in ("a.avi", "b.avi"):
        os.symlink(SHARED_VIDEO, tmp_path / name)
    inputs, _ = expand_inputs([str(tmp_path / "a.avi"), str(tmp_path / "b.avi")])
    settings = RunSettings(out=tmp_path / "out", model="lite", threads=1)
    settings.out.mkdir()
    first_file = settings.out / "a.landmarks.jsonl"
    expired = deadline()

    def soon() -> bool:  # once a task has written frames, or after the deadline
        return (first_file.exists() and first_file.stat().st_size > 0) or expired()

    outcomes = list(run_on_ray(inputs, settings, "local", should_stop=soon))
    assert outcomes and all(o.stopped and o.error is None for o in outcomes), outcomes
    for name in ("a", "b"):
        lines = len((settings.out / f"{name}.landmarks.jsonl").read_text().splitlines())
        assert lines < 205 and decoded_frames(settings.out / f"{name}.annotated.mp4") == lines


def test_a_stop_submits_nothing_more_and_leaves_no_stop_file(local_cluster, corpus, tmp_path):
    """Every input was submitted at once, so a stop still ran them all (149 of 150 photos after the first)."""
    photos = [str(corpus / "photo_d.jpg")] * 40
    inputs, _ = expand_inputs(photos)
    settings = RunSettings(out=tmp_path / "out", model="lite", annotate=False, threads=1, force=True)
    settings.out.mkdir()
    seen: list = []
    outcomes = run_on_ray(inputs, settings, "local", should_stop=lambda: bool(seen))
    for outcome in outcomes:
        seen.append(outcome)
    assert 1 <= len(seen) <= 4, len(seen)  # what was running (2 CPUs) when the first came back
    assert not list(settings.out.glob(".blazepose-stop-*"))


def test_outputs_are_reported_under_the_out_folder_as_given(local_cluster, corpus, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inputs, _ = expand_inputs([str(corpus)])
    settings = RunSettings(out=Path("relative"), model="lite", formats=("jsonl",), threads=1)
    settings.out.mkdir()
    outcomes = list(run_on_ray(inputs, settings, "local", should_stop=deadline()))
    reported = sorted(path for o in outcomes for path in o.outputs)
    assert reported == sorted(str(Path("relative") / name) for name in output_files(tmp_path / "relative"))
    assert len(reported) == 8  # as one process reports them (they were absolute)
