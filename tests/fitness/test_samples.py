"""Training samples from folders of photos per class and from labelled video frames (real models)."""

import shutil

import numpy as np
import pytest

from blazepose.fitness.classifier import PoseClassifier
from blazepose.fitness.samples import poses_from_labelled_video, poses_from_photo_folders, read_frame_labels
from conftest import SHARED_DATA

COCO = SHARED_DATA / "images" / "coco"
CLIP = SHARED_DATA / "exercise" / "squats" / "squat_9.mp4"


@pytest.mark.skipif(not COCO.is_dir(), reason=f"needs the shared photos at {COCO}")
def test_samples_from_photo_folders(tmp_path):
    photos = sorted(COCO.glob("*.jpg"))[:4]
    for k, photo in enumerate(photos):
        (tmp_path / f"class{k % 2}").mkdir(exist_ok=True)
        shutil.copy(photo, tmp_path / f"class{k % 2}" / photo.name)
    (tmp_path / "class0" / "notes.txt").write_text("not a photo")
    samples = poses_from_photo_folders(tmp_path, model_complexity=0)
    assert 1 <= len(samples) <= 4
    assert {name for name, _, _ in samples} <= {p.name for p in photos}
    assert all(cls in ("class0", "class1") and pose.shape == (33, 3) for _, cls, pose in samples)
    with pytest.raises(ValueError, match="class folders holding photos"):
        poses_from_photo_folders(tmp_path / "class0")


@pytest.mark.skipif(not CLIP.is_file(), reason=f"needs the shared exercise clip {CLIP}")
def test_samples_from_labelled_video_frames(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("frame,class\n0,squats_up\n1,squats_up\n2,\n40,squats_down\n41,squats_down\n")
    frame_labels = read_frame_labels(labels)
    assert frame_labels == {0: "squats_up", 1: "squats_up", 40: "squats_down", 41: "squats_down"}
    samples = poses_from_labelled_video(CLIP, frame_labels, model_complexity=0)
    assert [(name, cls) for name, cls, _ in samples] == [
        ("squat_9.mp4#0", "squats_up"), ("squat_9.mp4#1", "squats_up"),
        ("squat_9.mp4#40", "squats_down"), ("squat_9.mp4#41", "squats_down"),
    ]  # fmt: skip
    classifier = PoseClassifier.from_labelled_poses(samples, top_by_max=4, top_by_mean=2)
    assert classifier.votes(samples[0][2], exclude=0) == {"squats_up": 1, "squats_down": 1}
    assert np.all(np.isfinite(classifier.landmarks_px))
    labels.write_text("frame,class\n")
    assert read_frame_labels(labels) == {}  # a header only
    labels.write_text("frame,class\n1,up\nx,down\n")
    with pytest.raises(ValueError, match="expected 'frame,class' with a frame number"):
        read_frame_labels(labels)


def test_a_table_other_than_frame_labels_is_refused(tmp_path):
    """The shared clips' repetition labels (frame,time,label) would make one class per time stamp."""
    labels = tmp_path / "squat.csv"
    labels.write_text("frame,time,label\n0,0.0,1\n1,0.033,\n")
    with pytest.raises(ValueError, match=r"squat.csv:1: expected the header 'frame,class' or a first label"):
        read_frame_labels(labels)
    labels.write_text("Frame, Class\n3,up\n")
    assert read_frame_labels(labels) == {3: "up"}
    labels.write_text("3,up\n4,down\n")
    assert read_frame_labels(labels) == {3: "up", 4: "down"}
    labels.write_text("\ufeffframe,class\n5,up\n", encoding="utf-8")  # as spreadsheets save it
    assert read_frame_labels(labels) == {5: "up"}


@pytest.mark.skipif(not CLIP.is_file(), reason=f"needs the shared exercise clip {CLIP}")
def test_labels_the_video_cannot_give_are_counted_in_a_warning_or_an_error():
    beyond = r"squat_9.mp4: 2 labelled frame\(s\) beyond its \d+ frames left out \(first: 5000\)"
    with pytest.warns(UserWarning, match=beyond):
        samples = poses_from_labelled_video(CLIP, {0: "up", 5000: "up", 5001: "down"}, model_complexity=0)
    assert [name for name, _, _ in samples] == ["squat_9.mp4#0"]
    none = r"squat_9.mp4: expected a pose on some of its 1 labelled frame\(s\), got none"
    with pytest.raises(ValueError, match=none):
        poses_from_labelled_video(CLIP, {5000: "up"}, model_complexity=0)
