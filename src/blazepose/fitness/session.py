"""Repetitions of whole pose sequences: per track id, from live results or from landmark files.

:func:`analyse` recognises the exercise (unless given), counts its
repetitions with :mod:`~blazepose.fitness.periodic` (or with a k-NN pose
classifier) and measures the main joint's angle range in each.
:class:`RepTracker` feeds it from :class:`~blazepose.PoseResult` objects of a
video, one sequence per track id, forgetting tracks gone for longer than
``id_memory`` frames.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from blazepose.core.topology import PoseLandmark as L
from blazepose.fitness.angles import joint_angles, pose_result
from blazepose.fitness.classifier import PoseClassifier
from blazepose.fitness.counter import RepetitionCounter
from blazepose.fitness.periodic import CountingConfig, Repetition, analyse_sequence, check_times
from blazepose.fitness.recognition import (
    canonical_exercise,
    recognise_exercise,
    sequence_features,
    side_mean,
)
from blazepose.fitness.smoothing import EMAVoteSmoothing

# The joint whose angle is reported per repetition, and is straight at rest.
MAIN_JOINT = {"squat": "knee", "push-up": "elbow", "pull-up": "elbow", "dip": "elbow"}
# Where a repetition counts: back at rest (standing up, arms locked out) by default; a pull-up counts
# at the top (chin over the bar), so a trip counts once it reaches the far side, even one whose start
# was not seen or that has not come back.
COUNTING = {"pull-up": CountingConfig(count_unfinished=True, count_unstarted=True)}


@dataclass
class PoseSequence:
    """One person's poses over time; frames where they were not seen hold NaN. ``track_ids``: the pose
    tracker's id of each frame's pose (-1: none given), and ``shots``: each frame's shot of the video
    (:class:`~blazepose.fitness.shots.ShotCuts`; 0: none given); bouts are counted apart where either
    changes. ``dropped_frames``, ``dropped_seen``: frames dropped from its start (live counting) and how
    many of them held a pose."""

    times_s: list[float] = field(default_factory=list)
    landmarks_px: list[np.ndarray] = field(default_factory=list)
    world_landmarks: list[np.ndarray] = field(default_factory=list)
    track_ids: list[int] = field(default_factory=list)
    shots: list[int] = field(default_factory=list)
    dropped_frames: int = 0
    dropped_seen: int = 0

    def append(
        self,
        time_s: float,
        landmarks_px: np.ndarray | None,
        world_landmarks: np.ndarray | None,
        track_id: int = -1,
        shot: int = 0,
    ) -> None:
        time_s = float(time_s)
        if not np.isfinite(time_s) or (self.times_s and time_s <= self.times_s[-1]):
            last = self.times_s[-1] if self.times_s else None
            raise ValueError(f"expected finite, strictly increasing times, got {time_s} after {last}")
        missing = np.full((33, 3), np.nan)
        px = missing if landmarks_px is None else np.asarray(landmarks_px, np.float64)
        world = missing if world_landmarks is None else np.asarray(world_landmarks, np.float64)
        if px.shape != (33, 3) or world.shape != (33, 3):
            raise ValueError(f"expected landmarks of shape (33, 3) or None, got {px.shape} and {world.shape}")
        self.times_s.append(time_s)
        self.landmarks_px.append(px)
        self.world_landmarks.append(world)
        self.track_ids.append(int(track_id))
        self.shots.append(int(shot))

    def __len__(self) -> int:
        return len(self.times_s)

    def seen_frames(self) -> int:
        """Frames with a pose, dropped ones included."""
        return self.dropped_seen + sum(bool(np.isfinite(p[0, 0])) for p in self.landmarks_px)

    def drop_first(self, frames: int) -> None:
        """Forgets the first ``frames`` frames (their count is kept in ``dropped_frames``)."""
        frames = min(max(int(frames), 0), len(self))
        self.dropped_seen += sum(bool(np.isfinite(p[0, 0])) for p in self.landmarks_px[:frames])
        self.dropped_frames += frames
        for values in (self.times_s, self.landmarks_px, self.world_landmarks, self.track_ids, self.shots):
            del values[:frames]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(times (T,), landmarks_px (T, 33, 3), world_landmarks (T, 33, 3))``."""
        if not self.times_s:
            return np.zeros(0), np.zeros((0, 33, 3)), np.zeros((0, 33, 3))
        return np.array(self.times_s), np.stack(self.landmarks_px), np.stack(self.world_landmarks)


@dataclass(frozen=True)
class RepRow:
    """One repetition in a report; angles in degrees."""

    start_s: float
    end_s: float
    duration_s: float
    angle_min: float
    angle_max: float
    angle_range: float
    finished: bool = True


@dataclass(frozen=True)
class RepReport:
    """The repetitions of one sequence.

    Attributes:
        exercise: The exercise (given or recognised), ``"none"`` if nothing was recognised.
        main_joint: The joint measured in ``reps`` (``knee`` or ``elbow``; for other exercises the
            one that moved most).
        reps: The repetitions, in time order.
        times_s: (T,) frame times.
        phase: (T,) 1 at rest, 0 at the far side, NaN without pose (k-NN counting: the smoothed
            votes of the counted class, inverted and scaled to [0, 1]).
        angle: (T,) the main joint's angle (mean of both sides).
    """

    exercise: str
    main_joint: str
    reps: list[RepRow]
    times_s: np.ndarray
    phase: np.ndarray
    angle: np.ndarray

    @property
    def count(self) -> int:
        return len(self.reps)

    def count_at(self, time_s: float) -> int:
        """Repetitions finished by ``time_s``."""
        return sum(r.end_s <= time_s for r in self.reps)

    def as_dict(self) -> dict:
        """The report as JSON-ready values (an angle not measured, NaN in ``reps``, is None)."""
        rows = [{k: _json_number(v) for k, v in vars(r).items()} for r in self.reps]
        return {"exercise": self.exercise, "main_joint": self.main_joint, "count": self.count, "reps": rows}


def _json_number(value: object) -> object:
    if not isinstance(value, float):
        return value
    return round(value, 3) if np.isfinite(value) else None


def analyse(
    sequence: PoseSequence,
    exercise: str = "auto",
    config: CountingConfig | None = None,
    classifier: PoseClassifier | None = None,
    count_class: str | None = None,
) -> RepReport:
    """Recognises (if ``exercise == "auto"``) and counts the repetitions of one sequence.

    Args:
        sequence: The poses.
        exercise: ``auto``, one of squat, push-up, pull-up, dip (or a spelling such as ``Squats`` or
            ``pushup``), or any other name (counted with no training; its main joint is the one that
            moves most).
        config: Training-free counting parameters (default: :data:`COUNTING` of the exercise).
        classifier: Count with this k-NN classifier instead (MediaPipe's method: EMA-smoothed votes
            of ``count_class`` entering above 6 and leaving below 4 of 10).
        count_class: The class of the far position; default the ``*_down`` class whose name starts
            with the exercise's (``squats_down`` for squat), else the only ``*_down`` class (a
            ValueError when there are several and none is the exercise's).
    """
    if not isinstance(sequence, PoseSequence):
        raise TypeError(f"expected a PoseSequence, got {type(sequence).__name__}")
    exercise = check_counting(exercise, config, classifier, count_class)
    times, px, world = sequence.arrays()
    check_times(times, len(times))  # (seconds: a unit error would count nothing, silently)
    angles = joint_angles(world) if len(times) else {}
    recognised = exercise == "auto"
    if recognised:
        exercise = recognise_exercise(sequence_features(px, world)) if len(times) else "none"
    joint = MAIN_JOINT.get(exercise) or _most_moving_joint(angles)
    angle = side_mean(angles, joint) if angles else np.zeros(0)
    if exercise == "none":
        return RepReport("none", joint, [], times, np.full(len(times), np.nan), angle)
    if classifier is not None:
        phase, reps = _count_with_classifier(classifier, count_class or _far_class(classifier, exercise), times, px)
    else:
        config = config or COUNTING.get(exercise, CountingConfig())
        ids, shots = (np.asarray(k, np.int64) if len(k) == len(times) else None
                      for k in (sequence.track_ids, sequence.shots))  # fmt: skip
        result = analyse_sequence(px, times, rest_signal(exercise, px), config, ids, shots)
        phase, reps = result.phase, result.repetitions
        if recognised and not reps and result.range_torso < config.min_range_torso:
            # Too little motion to be an exercise (range_torso is the longest bout's: a long still bout
            # must not call "none" the repetitions counted in a shorter one after an absence).
            exercise = "none"
    return RepReport(exercise, joint, [_row(r, angle) for r in reps], times, phase, angle)


def check_counting(
    exercise: str, config: CountingConfig | None, classifier: PoseClassifier | None, count_class: str | None
) -> str:
    """Checks the counting options of :func:`analyse` and :class:`RepTracker`; the exercise's canonical name.

    Raises:
        TypeError: an option of the wrong type.
        ValueError: an empty exercise, a ``count_class`` without a classifier or not among its
            classes, or a given exercise whose class the classifier cannot tell (see :func:`analyse`).
    """
    exercise = canonical_exercise(exercise)
    if config is not None and not isinstance(config, CountingConfig):
        raise TypeError(f"expected a CountingConfig or None, got {type(config).__name__}")
    if classifier is not None and not isinstance(classifier, PoseClassifier):
        raise TypeError(
            f"expected a PoseClassifier or None (blazepose.fitness.default_classifier() for ML Kit's push-up and "
            f"squat classes), got {classifier!r}"
        )
    if count_class is not None and not isinstance(count_class, str):
        raise TypeError(f"expected a class name or None for count_class, got {count_class!r}")
    if count_class is not None and classifier is None:
        raise ValueError(f"count_class {count_class!r} needs a classifier (it names one of its classes)")
    if classifier is not None and count_class is not None and count_class not in classifier.class_names:
        raise ValueError(f"expected a count class among {classifier.class_names}, got {count_class!r}")
    if classifier is not None and count_class is None and exercise not in ("auto", "none"):
        _far_class(classifier, exercise)
    return exercise


def _far_class(classifier: PoseClassifier, exercise: str) -> str:
    """The classifier's ``*_down`` class named after the exercise (``pushups_down`` for push-up), else its only one.

    Raises:
        ValueError: none is named after the exercise and there are several (counting another
            exercise's class would give a count that means nothing).
    """
    down = [c for c in classifier.class_names if c.endswith("_down")]
    key = exercise.replace("-", "").replace("_", "").lower()
    named = [c for c in down if c.replace("_", "").lower().startswith(key)]
    if named or len(down) == 1:
        return (named or down)[0]
    raise ValueError(f"the classifier has no *_down class for {exercise!r} (classes {classifier.class_names}); "
                     "give the class to count (count_class, --count-class)")  # fmt: skip


def rest_signal(exercise: str, landmarks_px: np.ndarray) -> np.ndarray | None:
    """A signal that is largest at the exercise's rest position, None for exercises not known.

    At rest the body is farthest from what holds it: the hips from the feet (squat), the
    shoulders from the hands (push-up, pull-up, dip), measured vertically in the image.
    """
    p = np.asarray(landmarks_px, np.float64)
    if exercise == "squat":
        return (p[:, L.LEFT_ANKLE, 1] + p[:, L.RIGHT_ANKLE, 1] - p[:, L.LEFT_HIP, 1] - p[:, L.RIGHT_HIP, 1]) / 2
    if exercise in ("push-up", "pull-up", "dip"):
        wrists = (p[:, L.LEFT_WRIST, 1] + p[:, L.RIGHT_WRIST, 1]) / 2
        return np.abs(wrists - (p[:, L.LEFT_SHOULDER, 1] + p[:, L.RIGHT_SHOULDER, 1]) / 2)
    return None


def _most_moving_joint(angles: dict[str, np.ndarray]) -> str:
    if not angles:
        return "knee"
    spread = {j: np.nanstd(side_mean(angles, j)) if np.any(np.isfinite(side_mean(angles, j))) else 0.0
              for j in ("elbow", "shoulder", "hip", "knee")}  # fmt: skip
    return max(spread, key=lambda j: spread[j])


def _row(rep: Repetition, angle: np.ndarray) -> RepRow:
    part = angle[rep.start_frame : rep.end_frame + 1]
    part = part[np.isfinite(part)]
    lo, hi = (float(part.min()), float(part.max())) if len(part) else (float("nan"), float("nan"))
    return RepRow(rep.start_s, rep.end_s, rep.duration_s, lo, hi, hi - lo, rep.finished)


def _count_with_classifier(classifier: PoseClassifier, name: str, times: np.ndarray, px: np.ndarray):
    """The k-NN count of class ``name`` (one of the classifier's: :func:`check_counting` saw to it)."""
    smoothing, counter = EMAVoteSmoothing(), RepetitionCounter(name)
    phase = np.full(len(times), np.nan)
    reps: list[Repetition] = []
    start = 0
    for i, pose in enumerate(px):
        if not np.all(np.isfinite(pose)):
            continue
        votes = smoothing({k: float(v) for k, v in classifier.votes(pose).items()})
        was_in, before = counter.in_pose, counter.count
        counter(votes)
        phase[i] = 1 - min(votes.get(name, 0.0) / classifier.top_by_mean, 1.0)
        if counter.in_pose and not was_in:
            start = i
        if counter.count > before:
            reps.append(Repetition(float(times[start]), float(times[i]), start, i))
    return phase, reps


class RepTracker:
    """Keeps a :class:`PoseSequence` per track id from a video's results and reports their repetitions.

    Args:
        id_memory: Frames after which a track not seen any more is forgotten (its report dropped).
        exercise, config, classifier, count_class: As in :func:`analyse`.
        one_person: Every pose is the same person's (a stream followed with ``num_poses=1``): one
            sequence, keyed by the first track id seen, never forgotten, so that a person who leaves the
            frame and comes back under a new track id (the pose tracker gives a new one after its own
            ``id_memory``) keeps one count. A frame with more than one pose is then a ValueError.
        horizon_s: Live counting (cameras, streams): each report re-analyses only a recent window of
            each sequence, at least this long, freezing the repetitions that ended before it and
            dropping its older frames (:class:`~blazepose.fitness.live.LiveWindow`), so that a report
            costs the same however long the stream has run. None (default): the whole sequence.
    """

    def __init__(self, id_memory: int = 30, exercise: str = "auto", config: CountingConfig | None = None,
                 classifier: PoseClassifier | None = None, count_class: str | None = None,
                 one_person: bool = False, horizon_s: float | None = None) -> None:  # fmt: skip
        exercise = check_counting(exercise, config, classifier, count_class)
        if isinstance(id_memory, bool) or not isinstance(id_memory, (int, np.integer)):
            raise TypeError(f"expected id_memory as a whole number of frames, got {id_memory!r}")
        if id_memory < 0:
            raise ValueError(f"expected id_memory >= 0 frames, got {id_memory}")
        self.id_memory = id_memory
        self.exercise, self.config, self.classifier, self.count_class = exercise, config, classifier, count_class
        self.one_person = one_person
        if horizon_s is not None and not (np.isfinite(horizon_s) and horizon_s > 0):
            raise ValueError(f"expected a finite horizon_s > 0 seconds or None, got {horizon_s}")
        self.horizon_s = horizon_s
        self._windows: dict = {}  # horizon_s: track -> its LiveWindow
        self._person: int | None = None  # one_person: the key of the only sequence
        self.sequences: dict[int, PoseSequence] = {}
        self._last_seen: dict[int, int] = {}
        self._times: list[float] = []
        self._frame = -1

    def update(self, result, time_s: float, shot: int = 0) -> None:
        """Adds one frame: a :class:`~blazepose.PoseResult` (or a PoseLandmarkerResult, via ``.result``) and,
        for a video with cuts, its shot (:class:`~blazepose.fitness.shots.ShotCuts`)."""
        result = pose_result(result)
        time_s = float(time_s)
        if not np.isfinite(time_s) or (self._times and time_s <= self._times[-1]):
            last = self._times[-1] if self._times else None
            raise ValueError(f"expected finite, strictly increasing times, got {time_s} after {last}")
        px, world = result.landmarks_px, result.world_landmarks
        seen = {int(t): k for k, t in enumerate(result.track_ids)}
        if self.one_person and seen:
            if len(result.track_ids) > 1:
                raise ValueError(f"expected at most one pose per frame with one_person, got {len(result.track_ids)}")
            self._person = next(iter(seen)) if self._person is None else self._person
            seen = {self._person: 0}
        self._frame += 1
        for track in seen:
            if track not in self.sequences:
                self.sequences[track] = PoseSequence()
                for t in self._times[: self._frame] if self.horizon_s is None else ():
                    self.sequences[track].append(t, None, None)
            self._last_seen[track] = self._frame
        self._times = self._times[-1:] if self.horizon_s is not None else self._times  # live: the last only
        self._times.append(float(time_s))
        for track, sequence in list(self.sequences.items()):
            if self._frame - self._last_seen[track] > self.id_memory and not self.one_person:
                del self.sequences[track], self._last_seen[track]
                self._windows.pop(track, None)
                continue
            if track in seen:
                k = seen[track]
                sequence.append(time_s, px[k], world[k], int(result.track_ids[k]), shot)
            else:
                sequence.append(time_s, None, None, shot=shot)

    def reports(self) -> dict[int, RepReport]:
        """Track id -> the report of its sequence so far (with ``horizon_s``: its frozen repetitions and
        those of its recent window, whose frames the report's arrays hold)."""
        if self.horizon_s is not None:
            from blazepose.fitness.live import LiveWindow

            for track in self.sequences:
                if track not in self._windows:
                    self._windows[track] = LiveWindow(self.horizon_s, self.exercise, self.config, self.classifier,
                                                      self.count_class)  # fmt: skip
            return {track: self._windows[track].report(seq) for track, seq in self.sequences.items()}
        return {
            track: analyse(seq, self.exercise, self.config, self.classifier, self.count_class)
            for track, seq in self.sequences.items()
        }


def sequences_from_records(records, one_person: bool = False) -> dict[int, PoseSequence]:
    """Landmark file records (:func:`blazepose.io.landmark_files.load_landmarks`) -> a sequence per track id
    (one sequence for all if ``one_person``: see :class:`RepTracker`).

    Records without a time (photos) are taken 1/30 s apart. ``blazepose run`` writes each frame's
    container time, which some files repeat: a time not after the last is nudged 1 microsecond past
    it, as the pipeline itself was fed. Times that go back by more than a millisecond (a file edited
    or joined badly: every frame after is then squeezed against the last good time) are nudged too,
    with a ``UserWarning``.
    """
    tracker = RepTracker(id_memory=10**9, one_person=one_person)
    last_s = None
    back, largest = 0, 0.0
    for n, record in enumerate(records):
        time_s = record.timestamp_ms / 1000 if record.timestamp_ms is not None else n / 30
        if last_s is not None and time_s <= last_s:
            if last_s - time_s > 1e-3:
                back, largest = back + 1, max(largest, last_s - time_s)
            time_s = last_s + 1e-6
        tracker.update(record.result, time_s)
        last_s = time_s
    if back:
        warnings.warn(
            f"{back} frame time(s) went back (by up to {largest:.3f} s) and were moved just after the frame "
            "before; the count from there on may be wrong",
            stacklevel=2,
        )
    return tracker.sequences
