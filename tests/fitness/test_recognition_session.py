"""Exercise recognition rules, and per-track sessions from results and landmark files."""

import numpy as np
import pytest

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


def test_common_spellings_of_an_exercise_name_mean_that_exercise():
    from blazepose.fitness.recognition import canonical_exercise

    assert [canonical_exercise(n) for n in ("Squats", " pushup", "PUSH_UPS", "pull up", "dips", "jumping-jack")] == [
        "squat", "push-up", "push-up", "pull-up", "dip", "jumping-jack"]  # fmt: skip
    seq = PoseSequence()
    for i, pose in enumerate(squat_sequence(_depths(), noise_px=2.0)):
        seq.append(i / 30, pose, (pose - pose[23:25].mean(axis=0)) / 300)
    report = analyse(seq, "Squats")
    assert report.exercise == "squat" and report.main_joint == "knee" and report.count == 3
    assert RepTracker(exercise="pushups").exercise == "push-up"


def test_knn_counting_refuses_to_count_another_exercises_class():
    """A dip counted with a push-up / squat classifier would count push-ups: an error naming the classes."""
    poses = np.stack([standing_pose(d) for d in np.linspace(0, 1, 8)])
    classes = ["squats_up", "squats_down", "pushups_up", "pushups_down"] * 2
    seq = PoseSequence()
    for i, pose in enumerate(squat_sequence(_depths(), noise_px=1.0)):
        seq.append(i / 30, pose, (pose - pose[23:25].mean(axis=0)) / 300)
    with pytest.raises(ValueError, match="no \\*_down class for 'dip'"):
        analyse(seq, "dip", classifier=PoseClassifier(poses, classes))
    given = analyse(seq, "dip", classifier=PoseClassifier(poses, classes), count_class="squats_down")
    assert given.exercise == "dip" and len(given.phase) == len(seq)
    only = PoseClassifier(poses, ["up", "x_down"] * 4)  # one *_down class: counted whatever the exercise
    assert analyse(seq, "dip", classifier=only).exercise == "dip"


def test_a_long_still_stretch_before_an_absence_does_not_make_the_counted_squats_no_exercise():
    """40 s standing still, 3 s away, 10 squats: the still bout is the longest (its range is the report's),
    but the squats after the absence are counted, so the exercise is not "none" (it was, with count 10)."""
    t = np.arange(20 * 30) / 30
    depths = np.concatenate([np.zeros(1200), np.full(90, np.nan), np.zeros(30), 0.5 - 0.5 * np.cos(np.pi * t),
                             np.zeros(30)])  # fmt: skip
    poses = squat_sequence(depths, noise_px=2.0)
    seq = PoseSequence()
    for i, pose in enumerate(poses):
        seen = bool(np.isfinite(depths[i]))
        seq.append(i / 30, pose if seen else None, (pose - pose[23:25].mean(axis=0)) / 300 if seen else None)
    report = analyse(seq)
    assert (report.exercise, report.count) == ("squat", 10)
