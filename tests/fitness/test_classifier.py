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
