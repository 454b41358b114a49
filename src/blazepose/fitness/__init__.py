"""Fitness on top of the pose pipeline: joint angles, pose classification and repetition counting.

- :mod:`~blazepose.fitness.angles`: joint angles, 2D and from world landmarks;
- :mod:`~blazepose.fitness.embedding`, :mod:`~blazepose.fitness.classifier`,
  :mod:`~blazepose.fitness.smoothing`, :mod:`~blazepose.fitness.counter`:
  MediaPipe's Pose Classification (k-NN, EMA, two-threshold counter);
- :mod:`~blazepose.fitness.periodic`: counting with no training;
- :mod:`~blazepose.fitness.recognition`: squat, push-up, pull-up, dip or none;
- :mod:`~blazepose.fitness.session`: whole sequences, per track id;
- :mod:`~blazepose.fitness.shots`: hard cuts in a video, where counting starts a new bout.
"""

from blazepose.fitness.angles import joint_angles, result_angles
from blazepose.fitness.classifier import PoseClassifier, default_classifier
from blazepose.fitness.counter import RepetitionCounter
from blazepose.fitness.embedding import pose_embedding
from blazepose.fitness.periodic import CountingConfig, analyse_sequence
from blazepose.fitness.recognition import recognise_exercise, sequence_features
from blazepose.fitness.session import PoseSequence, RepReport, RepTracker, analyse, sequences_from_records
from blazepose.fitness.shots import ShotCuts
from blazepose.fitness.smoothing import EMAVoteSmoothing

__all__ = [
    "CountingConfig", "EMAVoteSmoothing", "PoseClassifier", "PoseSequence", "RepReport", "RepTracker",
    "RepetitionCounter", "ShotCuts", "analyse", "analyse_sequence", "default_classifier", "joint_angles",
    "pose_embedding", "recognise_exercise", "result_angles", "sequence_features", "sequences_from_records",
]  # fmt: skip
