"""The k-NN pose classifier: votes on hand-made samples, mirror invariance, files, the default classifier."""

import numpy as np
import pytest

from blazepose.core.topology import PoseLandmark as L
from blazepose.fitness.classifier import PoseClassifier, default_classifier
from blazepose.fitness.embedding import mirrored
from fitness_poses import standing_pose


def _arm_up(height: float) -> np.ndarray:
    p = standing_pose(0.0)
    p[L.LEFT_WRIST] = p[L.LEFT_SHOULDER] + (-60, -height, 0)
    return p


def _samples() -> PoseClassifier:
    poses = [standing_pose(d) for d in (0.0, 0.05, 0.1)] + [standing_pose(d) for d in (0.9, 0.95, 1.0)]
    poses.append(_arm_up(150))
    classes = ["up", "up", "up", "down", "down", "down", "wave"]
    return PoseClassifier(np.stack(poses), classes, top_by_max=5, top_by_mean=3)


def test_votes_on_hand_made_samples():
    c = _samples()
    assert c.votes(standing_pose(0.02)) == {"up": 3}
    assert c.votes(standing_pose(0.97)) == {"down": 3}
    assert c.votes(_arm_up(140)) == {"wave": 1, "up": 2}  # one wave sample; the next nearest stand
    assert c.votes(np.full((33, 3), np.nan)) == {}
    assert c.votes(standing_pose(0.02), exclude=0) == {"up": 2, "down": 1}


def test_votes_are_mirror_invariant():
    c = _samples()
    pose = _arm_up(145)
    assert c.votes(mirrored(pose)) == c.votes(pose)
    shifted = mirrored(pose) + np.array([1000, 0, 0])  # a mirrored photo: x -> W - x
    assert c.votes(shifted) == c.votes(pose)


def test_save_load_round_trip_and_csv(tmp_path):
    c = _samples()
    c.save(tmp_path / "c.npz")
    back = PoseClassifier.load(tmp_path / "c.npz")
    assert back.classes == c.classes and (back.top_by_max, back.top_by_mean) == (5, 3)
    assert back.votes(standing_pose(0.97)) == {"down": 3}
    rows = [",".join([f"s{i}", cls, *(f"{v:.4f}" for v in p.ravel())]) for i, (p, cls) in
            enumerate(zip(c.landmarks_px, c.classes, strict=True))]  # fmt: skip
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n")
    assert PoseClassifier.from_csv(tmp_path / "s.csv").classes == c.classes
    (tmp_path / "bad.csv").write_text("a,b,1,2,3\n")
    with pytest.raises(ValueError, match="expected name, class and 99 numbers, got 5"):
        PoseClassifier.from_csv(tmp_path / "bad.csv")
    (tmp_path / "no.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a pose classifier file"):
        PoseClassifier.load(tmp_path / "no.npz")


def test_default_classifier_has_ml_kit_samples_and_leave_one_out_accuracy():
    c = default_classifier()
    assert len(c) == 812
    assert {n: c.classes.count(n) for n in c.class_names} == {
        "pushups_down": 195, "pushups_up": 201, "squats_down": 225, "squats_up": 191}  # fmt: skip
    assert c.leave_one_out_accuracy() >= 0.99  # measured 1.000 (scripts/build_fitness_classifier.py)


@pytest.mark.parametrize(
    "content",
    [b"PK\x03\x04 a truncated zip", b"plain text", np.zeros(3).tobytes()],
    ids=["truncated zip", "text", "raw bytes"],
)
def test_a_corrupt_classifier_file_is_a_value_error(tmp_path, content):
    path = tmp_path / "c.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a pose classifier file"):
        PoseClassifier.load(path)


def test_a_plain_npy_or_a_folder_is_not_a_classifier(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros(3))
    for path in (tmp_path / "x.npy", tmp_path):
        with pytest.raises(ValueError, match="not a pose classifier file"):
            PoseClassifier.load(path)
    with pytest.raises(ValueError, match="no such classifier file"):
        PoseClassifier.load(tmp_path / "missing.npz")


def test_bad_samples_and_settings_are_refused():
    pose = standing_pose(0.0)[None]
    with pytest.raises(ValueError, match="at least one sample"):
        PoseClassifier(np.zeros((0, 33, 3)), [])
    with pytest.raises(ValueError, match="finite sample landmarks"):
        PoseClassifier(np.full((1, 33, 3), np.nan), ["a"])
    with pytest.raises(ValueError, match="3 non-negative axis weights"):
        PoseClassifier(pose, ["a"], axis_weights=(1.0, 1.0))  # type: ignore[arg-type]
    for top in (0, -1):
        with pytest.raises(ValueError, match="top_by_max and top_by_mean >= 1"):
            PoseClassifier(pose, ["a"], top_by_mean=top)


def test_a_file_with_wrong_settings_is_refused(tmp_path):
    path = tmp_path / "c.npz"
    settings = '{"top_by_max": 30, "top_by_mean": 10, "axis_weights": [1, 1]}'
    np.savez(path, landmarks_px=standing_pose(0.0)[None], classes=np.array(["a"]), names=np.array(["n"]),
             settings=np.array(settings))  # fmt: skip
    with pytest.raises(ValueError, match=r"not a pose classifier file.*axis weights"):
        PoseClassifier.load(path)


def test_a_one_class_classifier_votes_for_its_class():
    c = PoseClassifier(np.stack([standing_pose(d) for d in (0.0, 0.5)]), ["only", "only"])
    assert c.votes(standing_pose(0.2)) == {"only": 2} and c.leave_one_out_accuracy() == 1.0


def test_a_save_that_fails_midway_leaves_no_file(tmp_path, monkeypatch):
    """An interrupted save must not leave a half file that `classifier fit` would refuse to overwrite."""
    path = tmp_path / "c.npz"

    def fail_midway(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", fail_midway)
    with pytest.raises(KeyboardInterrupt):
        _samples().save(path)
    assert list(tmp_path.iterdir()) == []
