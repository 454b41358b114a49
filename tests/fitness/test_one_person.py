"""One person followed alone (``num_poses=1``) who leaves the frame and comes back: the pose tracker gives
them a new track id after its ``id_memory``, but their repetitions before and after are one count."""

import numpy as np
import pytest

from blazepose.core.results import PoseResult
from blazepose.fitness.periodic import CountingConfig, analyse_sequence, bouts
from blazepose.fitness.session import RepTracker, rest_signal, sequences_from_records
from blazepose.io.landmark_files import FrameRecord
from fitness_poses import one_person_leaving, squat_sequence


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
    assert set(merged[0].track_ids) == {-1, 0, 1}  # -1 while away: the bouts are split where it changes


def test_a_change_of_track_id_ends_a_bout():
    """One person followed under two ids with no absence between (the tracker lost them for a few
    frames): the first id's 3 frames hold a wrong, crouched pose. Counted bout by bout, that pose is
    no trip; joined with the next id's (before segments), it was one, unstarted (as pull-ups count)."""
    t = np.arange(6 * 30) / 30
    depths = np.concatenate([np.ones(3), np.zeros(60), 0.5 - 0.5 * np.cos(np.pi * t), np.zeros(30)])
    poses = squat_sequence(depths, noise_px=2.0)
    times = np.arange(len(depths)) / 30
    ids = np.where(np.arange(len(depths)) < 3, 0, 2)
    config = CountingConfig(count_unstarted=True, count_unfinished=True)
    assert bouts(np.ones(len(ids), bool), times, 1.0, ids) == [(0, 3), (3, len(ids))]
    rest = rest_signal("squat", poses)
    assert len(analyse_sequence(poses, times, rest, config).repetitions) == 4
    assert len(analyse_sequence(poses, times, rest, config, segments=ids).repetitions) == 3


def _five_squats_with_a_loss(frames_lost: int = 4):
    """Five squats (1.5 s each, 1 s standing first); the tracker loses the person for ``frames_lost``
    frames at the bottom of the second and gives them a new id. (poses, times, track ids, loss frame)"""
    t = np.arange(round(7.5 * 30)) / 30
    depths = np.concatenate([np.zeros(30), 0.5 - 0.5 * np.cos(2 * np.pi * t / 1.5)])
    bottom = 30 + round(2.25 * 30)  # the bottom of the second squat
    depths[bottom : bottom + frames_lost] = np.nan
    ids = np.where(np.arange(len(depths)) < bottom, 0, 1)
    times = np.arange(len(depths)) / 30
    return squat_sequence(depths, noise_px=2.0), times, ids, bottom


@pytest.mark.parametrize("pull_up_rules", [False, True])
def test_a_trip_goes_on_across_a_change_of_track_id(pull_up_rules):
    """The squat under way when the track id changes is one repetition, not none (before: the first
    id's bout ended on the far side, the next began there, neither a whole trip) and not two (pull-ups'
    rules counted the unfinished and the unstarted half)."""
    poses, times, ids, bottom = _five_squats_with_a_loss()
    config = CountingConfig(count_unstarted=pull_up_rules, count_unfinished=pull_up_rules)
    reps = analyse_sequence(poses, times, rest_signal("squat", poses), config, segments=ids).repetitions
    assert len(reps) == 5 and all(r.finished for r in reps)
    assert reps[1].start_s < times[bottom] < reps[1].end_s and 1.0 < reps[1].duration_s < 1.6


def test_a_shot_change_or_a_long_absence_ends_the_trip_under_way():
    """A cut to another shot in the middle of a squat, or the person gone for longer than ``max_gap_s``:
    the squat under way is not counted (nothing says it came back up in the same place)."""
    poses, times, ids, bottom = _five_squats_with_a_loss()
    rest = rest_signal("squat", poses)
    shots = (np.arange(len(times)) >= bottom).astype(int)
    assert len(analyse_sequence(poses, times, rest, segments=ids, shots=shots).repetitions) == 4
    gone, gone_times, gone_ids, _ = _five_squats_with_a_loss(frames_lost=20)  # 0.67 s: back standing
    rest = rest_signal("squat", gone)
    reps = analyse_sequence(gone, gone_times, rest, CountingConfig(max_gap_s=0.5), segments=gone_ids).repetitions
    assert len(reps) == 4 and len(analyse_sequence(gone, gone_times, rest, segments=gone_ids).repetitions) == 5


def test_a_bout_shorter_than_min_bout_s_is_left_out():
    """A 0.3 s bout under its own id between two short absences, half a squat down: scaled to its own
    range it is a whole trip down, and the person standing after the absence its return; with
    ``min_bout_s`` 0 that is counted."""
    t = np.arange(4 * 30) / 30
    depths = np.concatenate([np.zeros(30), np.full(20, np.nan), 0.5 * t[:9] / t[8], np.full(20, np.nan),
                             0.5 - 0.5 * np.cos(2 * np.pi * t[:60] / 2.0)])  # fmt: skip
    poses = squat_sequence(depths, noise_px=1.0)
    times = np.arange(len(depths)) / 30
    ids = np.repeat([0, 1, 2, 3, 4], [30, 20, 9, 20, 60])
    rest = rest_signal("squat", poses)
    lenient = CountingConfig(count_unstarted=True, count_unfinished=True)
    assert len(analyse_sequence(poses, times, rest, lenient, segments=ids).repetitions) == 1
    short_too = CountingConfig(count_unstarted=True, count_unfinished=True, min_bout_s=0.0)
    assert len(analyse_sequence(poses, times, rest, short_too, segments=ids).repetitions) == 2


@pytest.mark.parametrize("fragment_frames", [9, 14, 20])  # 0.3 s and 0.47 s: left out; 0.67 s: counted
def test_a_fragment_left_out_does_not_lengthen_the_absence(fragment_frames):
    """At the bottom of the 2nd of five squats: 0.3 s without pose, a fragment under its own id, 0.3 s
    without pose, then a third id. The poses are never more than ``max_gap_s`` apart, so the squat goes
    on whether the fragment is counted in or left out (it was lost when the fragment's 0.47 s were
    added to the absence)."""
    t = np.arange(30 + 5 * 60) / 30
    depths = np.concatenate([np.zeros(30), 0.5 - 0.5 * np.cos(2 * np.pi * t[:300] / 2.0)])
    bottom = 30 + 90
    ids = np.zeros(len(depths), int)
    depths[bottom : bottom + 9] = np.nan
    ids[bottom + 9 : bottom + 9 + fragment_frames] = 1
    depths[bottom + 9 + fragment_frames : bottom + 18 + fragment_frames] = np.nan
    ids[bottom + 18 + fragment_frames :] = 2
    poses, times = squat_sequence(depths, noise_px=2.0), np.arange(len(depths)) / 30
    assert len(analyse_sequence(poses, times, rest_signal("squat", poses), segments=ids).repetitions) == 5


def test_a_repetition_ends_in_the_bout_it_came_back_in():
    """Two squats and a third that comes back only to 3/4 of the rest level under id 0, then 5 s standing
    still under id 1 (too little motion: left out), then squats under id 2: the third ends under id 0
    (its end was looked for across the still bout, into id 2's first frame: a 6.7 s squat)."""
    s = np.arange(180) / 30

    def squats(frames):
        return 0.5 - 0.5 * np.cos(2 * np.pi * s[:frames] / 2.0)

    first = np.concatenate([np.zeros(30), squats(120), squats(50), np.full(8, squats(51)[-1])])
    depths = np.concatenate([first, np.zeros(150), np.zeros(30), squats(180)])
    ids = np.repeat([0, 1, 2], [len(first), 150, 210])
    poses, times = squat_sequence(depths, noise_px=1.0), np.arange(len(depths)) / 30
    reps = analyse_sequence(poses, times, rest_signal("squat", poses), segments=ids).repetitions
    assert len(reps) == 6
    assert all(ids[r.start_frame] == ids[r.end_frame] for r in reps), [(r.start_s, r.end_s) for r in reps]
    assert reps[2].end_frame < len(first) and reps[2].duration_s < 2.5


def test_track_ids_and_shots_must_be_whole_numbers():
    poses = squat_sequence(np.zeros(30))
    times = np.arange(30) / 30
    with pytest.raises(ValueError, match="shots to hold whole numbers"):
        analyse_sequence(poses, times, shots=np.full(30, np.nan))
    with pytest.raises(ValueError, match="segments to hold whole numbers"):
        analyse_sequence(poses, times, segments=np.linspace(0, 1, 30))
    assert analyse_sequence(poses, times, segments=np.zeros(30), shots=[0] * 30).repetitions == []
