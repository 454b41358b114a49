"""One person followed alone (``num_poses=1``) who leaves the frame and comes back: the pose tracker gives
them a new track id after its ``id_memory``, but their repetitions before and after are one count."""

import numpy as np
import pytest

from blazepose.core.results import PoseResult
from blazepose.fitness.session import RepTracker, sequences_from_records
from blazepose.io.landmark_files import FrameRecord
from fitness_poses import one_person_leaving


def test_one_person_keeps_one_sequence_across_track_ids_and_absences():
    tracker = RepTracker(exercise="squat", one_person=True)
    for time_s, result in one_person_leaving():
        tracker.update(result, time_s)
    reports = tracker.reports()
    assert list(reports) == [0] and reports[0].count == 15


def test_per_track_counting_splits_them_and_forgets_the_first():
    """What per-track counting (the default) does with the same frames: track 0 is forgotten after
    ``id_memory`` frames without it, so only the 7 squats after the return are left."""
    tracker = RepTracker(exercise="squat")
    for time_s, result in one_person_leaving():
        tracker.update(result, time_s)
    assert {t: r.count for t, r in tracker.reports().items()} == {1: 7}


def test_one_person_refuses_a_frame_with_two_poses_and_stays_unchanged():
    tracker = RepTracker(one_person=True)
    one = one_person_leaving()[0][1]
    two = PoseResult(*(np.concatenate([a, a]) for a in (one.landmarks, one.world_landmarks, one.visibility,
                     one.presence, one.pose_scores, one.rois)), one.image_size, track_ids=np.array([0, 1]))  # fmt: skip
    with pytest.raises(ValueError, match="at most one pose"):
        tracker.update(two, 0.0)
    tracker.update(one, 0.0)
    assert len(tracker.sequences[0]) == 1


def test_sequences_from_records_one_person():
    records = [FrameRecord(i, t * 1000, r) for i, (t, r) in enumerate(one_person_leaving())]
    assert set(sequences_from_records(records)) == {0, 1}
    merged = sequences_from_records(records, one_person=True)
    assert list(merged) == [0] and len(merged[0]) == len(records)
