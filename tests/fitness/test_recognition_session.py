"""Exercise recognition rules, and per-track sessions from results and landmark files."""

import numpy as np

from blazepose.core.results import PoseResult
from blazepose.fitness.classifier import PoseClassifier
from blazepose.fitness.recognition import SequenceFeatures, recognise_exercise
from blazepose.fitness.session import PoseSequence, RepTracker, analyse, sequences_from_records
from blazepose.io.landmark_files import FrameRecord, load_landmarks, save_npz
from fitness_poses import squat_sequence, standing_pose


def test_recognition_rules():
    f = SequenceFeatures(pose_fraction=1.0, torso_tilt=5, wrists_above_shoulders=0.1, knee_range=90, elbow_range=20)
    assert recognise_exercise(f) == "squat"
    assert recognise_exercise(SequenceFeatures(1.0, 5, 0.1, 20, 70)) == "dip"
    assert recognise_exercise(SequenceFeatures(1.0, 5, 0.9, 60, 70)) == "pull-up"
    assert recognise_exercise(SequenceFeatures(1.0, 80, 0.0, 10, 70)) == "push-up"
    assert recognise_exercise(SequenceFeatures(0.2, 80, 0.0, 10, 70)) == "none"
    assert recognise_exercise(f, moving=False) == "none"


def _depths() -> np.ndarray:
    t = np.arange(240) / 30
    return np.where(t < 1, 0.0, 0.5 - 0.5 * np.cos(2 * np.pi * (t - 1) / 2.0))  # 1 s still, then 3.5 squats


def _result(poses: list[np.ndarray], ids: list[int], size=(720, 600)) -> PoseResult:
    n = len(poses)
    h, w = size
    lm = np.array([p / (w, h, w) for p in poses], np.float32).reshape(n, 33, 3)
    world = np.array([(p - p[23:25].mean(axis=0)) / 300 for p in poses], np.float32).reshape(n, 33, 3)
    ones = np.ones((n, 33), np.float32)
    return PoseResult(lm, world, ones, ones, np.ones(n, np.float32), np.zeros((n, 5), np.float32), size,
                      track_ids=np.array(ids, np.int64))  # fmt: skip


def test_squats_recognised_and_counted_from_a_sequence():
    seq = PoseSequence()
    for i, pose in enumerate(squat_sequence(_depths(), noise_px=2.0)):
        seq.append(i / 30, pose, (pose - pose[23:25].mean(axis=0)) / 300)
    report = analyse(seq)
    assert report.exercise == "squat" and report.main_joint == "knee"
    assert report.count == 3
    assert all(row.angle_range > 30 for row in report.reps)
    assert report.count_at(0.5) == 0 and report.count_at(8.0) == 3


def test_tracker_counts_per_track_and_forgets_lost_tracks(tmp_path):
    tracker = RepTracker(id_memory=5, exercise="squat")
    a, b = squat_sequence(_depths(), 2.0, seed=1), squat_sequence(_depths()[::-1], 2.0, seed=2)
    records = []
    for i in range(len(a)):
        ids = [7, 9] if i < 200 else [7]  # track 9 leaves after 200 frames
        result = _result([a[i], b[i]][: len(ids)], ids)
        tracker.update(result, i / 30)
        records.append(FrameRecord(i, i * 1000 / 30, result))
        if i == 150:
            assert set(tracker.reports()) == {7, 9}
    assert set(tracker.sequences) == {7}  # 9 gone for more than 5 frames
    assert tracker.reports()[7].count == 3
    save_npz(tmp_path / "x.landmarks.npz", records)
    sequences = sequences_from_records(load_landmarks(tmp_path / "x.landmarks.npz"))
    assert set(sequences) == {7, 9} and len(sequences[9]) == len(a)
    assert analyse(sequences[7], "squat").count == 3


def test_a_person_standing_still_is_no_exercise():
    seq = PoseSequence()
    for i, pose in enumerate(squat_sequence(np.zeros(90), noise_px=1.0)):
        seq.append(i / 30, pose, (pose - pose[23:25].mean(axis=0)) / 300)
    report = analyse(seq)
    assert report.exercise == "none" and report.count == 0
    empty = analyse(PoseSequence())
    assert empty.exercise == "none" and empty.count == 0 and len(empty.times_s) == 0


def test_knn_counting_with_a_hand_made_classifier():
    depths = np.linspace(0, 1, 21)
    poses = np.stack([standing_pose(d) for d in depths])
    classes = ["squats_up"] * 10 + ["squats_down"] * 11  # down from depth 0.5
    classifier = PoseClassifier(poses, classes)
    seq = PoseSequence()
    for i, pose in enumerate(squat_sequence(_depths(), noise_px=1.0)):
        seq.append(i / 30, pose, (pose - pose[23:25].mean(axis=0)) / 300)
    report = analyse(seq, "squat", classifier=classifier)
    assert report.count == 3  # EMA of 10 votes, enter above 6, leave below 4: once per squat
    assert all(r.start_s < r.end_s for r in report.reps)
