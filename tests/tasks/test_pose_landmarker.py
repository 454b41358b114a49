"""The Tasks-style PoseLandmarker: modes, options, timestamps, boxes, several people."""

import re
import threading

import numpy as np
import pytest

from blazepose import (
    BaseOptions,
    Image,
    ImageFormat,
    PoseLandmarker,
    PoseLandmarkerOptions,
    RunningMode,
)
from blazepose.core.roi import NormRect, rect_iou
from blazepose.evaluation.parity import read_frames
from conftest import NEEDS_SHARED, SHARED_VIDEO


def _video(**kw):
    return PoseLandmarker.create_from_options(PoseLandmarkerOptions(running_mode=RunningMode.VIDEO, **kw))


def test_image_mode_result_shapes(astronaut):
    options = PoseLandmarkerOptions(output_segmentation_masks=True)
    with PoseLandmarker.create_from_options(options) as landmarker:
        r = landmarker.detect(Image(ImageFormat.SRGB, astronaut))
    assert len(r.pose_landmarks) == len(r.pose_world_landmarks) == 1
    nose = r.pose_landmarks[0][0]
    assert nose.HasField("presence") and 0.5 < nose.presence <= 1 and 0.5 < nose.visibility <= 1
    mask = r.segmentation_masks[0].numpy_view()
    assert mask.shape == (512, 512, 1) and mask.dtype == np.float32  # as MediaPipe 1.2.2's
    assert r.result.landmarks.shape == (1, 33, 3) and r.track_ids == [int(r.result.track_ids[0])]


@pytest.mark.parametrize(
    "name", ["min_pose_detection_confidence", "min_pose_presence_confidence", "min_tracking_confidence"]
)
def test_bad_confidences_are_named_as_the_caller_named_them(name):
    with pytest.raises(ValueError, match=f"^{name} must be in"):
        PoseLandmarker(PoseLandmarkerOptions(**{name: float("nan")}))


def test_no_pose_gives_no_mask_list_as_mediapipe():
    options = PoseLandmarkerOptions(output_segmentation_masks=True, model_complexity=0)
    with PoseLandmarker.create_from_options(options) as landmarker:
        r = landmarker.detect(np.zeros((100, 100, 3), np.uint8))
    assert r.pose_landmarks == [] and r.pose_world_landmarks == [] and r.segmentation_masks is None


def test_model_path_names_the_model():
    with PoseLandmarker.create_from_model_path("models/pose_landmarker_heavy.task") as landmarker:
        assert landmarker._estimator.model_complexity == 2
    with pytest.raises(FileNotFoundError, match="no such file"):  # as MediaPipe: its name says no model either
        PoseLandmarker.create_from_model_path("pose.task")
    with pytest.raises(ValueError, match="contradicts"):
        PoseLandmarker(PoseLandmarkerOptions(base_options=BaseOptions("lite"), model_complexity=2))


def test_only_the_file_name_names_the_model_and_paths_may_be_path_like():
    from pathlib import Path

    from blazepose.tasks.options import complexity_from_path

    assert complexity_from_path("/home/me/full-body-tracker/models/pose_landmarker_heavy.task") == 2
    assert complexity_from_path("/opt/lite-app/pose_landmarker_full.task") == 1
    assert complexity_from_path(Path("/opt/heavy/pose_landmarker_lite.task")) == 0
    with pytest.raises(FileNotFoundError, match="no such file"):
        complexity_from_path("/models/lite/pose.task")
    with pytest.raises(TypeError, match="str or path-like, got int"):
        complexity_from_path(2)  # type: ignore[arg-type]


@pytest.mark.parametrize("complexity", [0, 1, 2])
def test_a_bundle_whose_name_says_no_model_is_opened_to_see_which_it_holds(tmp_path, complexity):
    # MediaPipe's guide saves its download as pose_landmarker.task: that name was refused.
    import zipfile

    from blazepose.models import landmark_model_name, verified_model_bytes

    bundle = tmp_path / "pose_landmarker.task"
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("pose_detector.tflite", verified_model_bytes("pose_detection.tflite"))
        z.writestr("pose_landmarks_detector.tflite", verified_model_bytes(landmark_model_name(complexity)))
    with PoseLandmarker.create_from_model_path(str(bundle)) as landmarker:
        assert landmarker._estimator.model_complexity == complexity
    (tmp_path / "other.task").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not a pose_landmarker bundle of an official model"):
        PoseLandmarker.create_from_model_path(str(tmp_path / "other.task"))


def test_the_guide_s_module_paths_and_an_image_that_keeps_its_own_pixels(astronaut):
    import blazepose as mp
    from blazepose.tasks.python import BaseOptions as GuideBaseOptions
    from blazepose.tasks.python import vision

    assert mp.tasks.vision.PoseLandmarker is vision.PoseLandmarker is PoseLandmarker
    assert mp.tasks.BaseOptions is GuideBaseOptions is BaseOptions
    assert mp.ImageFormat.SRGB == 1 and mp.ImageFormat.VEC32F1 == 9  # MediaPipe's numbers
    frame = astronaut.copy()
    image = mp.Image(image_format=mp.ImageFormat.SRGB, data=frame)
    frame[:] = 0  # a reused frame buffer: MediaPipe's Image holds a copy
    assert image.numpy_view().max() > 0 and image.channels == 3
    with PoseLandmarker.create_from_options(vision.PoseLandmarkerOptions()) as landmarker:
        assert len(landmarker.detect(image).pose_landmarks) == 1


def test_mode_and_callback_checks_use_mediapipe_messages(astronaut):
    with pytest.raises(ValueError, match="live stream mode, a user-defined result callback must be provided"):
        PoseLandmarker(PoseLandmarkerOptions(running_mode=RunningMode.LIVE_STREAM))
    with pytest.raises(ValueError, match="should not be provided"):
        PoseLandmarker(PoseLandmarkerOptions(result_callback=lambda *a: None))
    with PoseLandmarker(PoseLandmarkerOptions()) as landmarker:
        with pytest.raises(
            ValueError, match=re.escape("not initialized with the video mode. Current running mode:image mode")
        ):
            landmarker.detect_for_video(astronaut, 0)
        with pytest.raises(ValueError, match="not initialized with the live stream mode"):
            landmarker.detect_async(astronaut, 0)
    with pytest.raises(ValueError, match="closed"):
        landmarker.detect(astronaut)


def test_video_timestamps_errors_and_recovery(astronaut):
    with _video() as landmarker:
        first = landmarker.detect_for_video(astronaut, 1000)
        for bad in (1000, 999):
            with pytest.raises(ValueError, match="Input timestamp must be monotonically increasing"):
                landmarker.detect_for_video(astronaut, bad)
        again = landmarker.detect_for_video(astronaut, 1033)
        assert again.track_ids == first.track_ids  # still tracking the same person
        assert landmarker.detect_for_video(astronaut).result.timestamp_us == 1_033_000 + 33_333


def test_smoothing_can_be_turned_off(astronaut):
    shifted = np.roll(astronaut, 6, axis=0)
    out = {}
    for smooth in (True, False):
        with _video(smooth_landmarks=smooth) as landmarker:
            landmarker.detect_for_video(astronaut, 0)
            out[smooth] = landmarker.detect_for_video(shifted, 33).result.landmarks
    assert not np.array_equal(out[True], out[False])


def test_external_boxes_replace_the_detector(astronaut):
    with PoseLandmarker(PoseLandmarkerOptions(num_poses=2)) as landmarker:
        r = landmarker.detect(astronaut, boxes=[[60, 20, 380, 512]])
        assert landmarker.detector_runs == 0 and len(r.pose_landmarks) == 1
        # The final region comes from a second pass on the first pass's alignment points.
        with PoseLandmarker(PoseLandmarkerOptions()) as detected:
            by_detector = detected.detect(astronaut).result
        np.testing.assert_allclose(r.result.landmarks_px[0, :11, :2], by_detector.landmarks_px[0, :11, :2], atol=15.0)
        nose_y = r.pose_landmarks[0][0].y * 512
        assert 100 < nose_y < 160
        assert landmarker.detect(astronaut, boxes=np.zeros((0, 4))).pose_landmarks == []
        for bad, message in (([[10, 10, 5, 20]], "inverted"), ([[1, 2, 3]], "shape"), ([[0, 0, np.inf, 1]], "finite")):
            with pytest.raises(ValueError, match=message):
                landmarker.detect(astronaut, boxes=bad)


def test_boxes_of_tracked_people_start_no_new_track(astronaut):
    with _video(num_poses=3) as landmarker:
        first = landmarker.detect_for_video(astronaut, 0, boxes=[[60, 20, 380, 512]])
        second = landmarker.detect_for_video(astronaut, 33, boxes=[[60, 20, 380, 512], [70, 30, 390, 512]])
    assert first.track_ids == second.track_ids and len(second.track_ids) == 1


def test_one_instance_refuses_a_second_thread_inside_a_call(astronaut):
    inside, release = threading.Event(), threading.Event()

    class SlowImage(Image):
        def numpy_view(self):
            inside.set()
            release.wait(10)
            return super().numpy_view()

    with PoseLandmarker(PoseLandmarkerOptions()) as landmarker:
        worker = threading.Thread(target=landmarker.detect, args=(SlowImage(ImageFormat.SRGB, astronaut),))
        worker.start()
        assert inside.wait(10)
        with pytest.raises(RuntimeError, match="one PoseLandmarker per thread"):
            landmarker.detect(astronaut)
        release.set()
        worker.join()
        assert len(landmarker.detect(astronaut).pose_landmarks) == 1  # usable afterwards


def test_separate_instances_in_threads_agree_with_one_thread(astronaut):
    frames = [np.roll(astronaut, 3 * i, axis=1) for i in range(6)]

    def run() -> list[np.ndarray]:
        with _video() as landmarker:
            return [landmarker.detect_for_video(f, 33 * i).result.landmarks for i, f in enumerate(frames)]

    expected = run()
    results: dict[int, list[np.ndarray]] = {}
    threads = [threading.Thread(target=lambda k=k: results.__setitem__(k, run())) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(3):
        for a, b in zip(results[k], expected, strict=True):
            np.testing.assert_array_equal(a, b)


def _detect_in_child(image: np.ndarray) -> np.ndarray:
    with PoseLandmarker(PoseLandmarkerOptions(model_complexity=0)) as landmarker:
        return landmarker.detect(image).result.landmarks


def test_separate_instances_in_processes_agree(astronaut):
    import multiprocessing

    expected = _detect_in_child(astronaut)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        outputs = pool.map(_detect_in_child, [np.array(astronaut)] * 2)
    for out in outputs:
        np.testing.assert_array_equal(out, expected)


@NEEDS_SHARED
def test_one_pose_video_mode_equals_the_legacy_api():
    from blazepose.solutions.pose import Pose

    with _video() as landmarker, Pose() as legacy:
        for frame in read_frames(SHARED_VIDEO):
            ours = landmarker.detect_for_video(frame)  # stepped at 30 fps, as the legacy API
            theirs = legacy.process(frame)
            assert (theirs.pose_landmarks is None) == (not ours.pose_landmarks)
            if theirs.pose_landmarks is None:
                continue
            a = np.array([[p.x, p.y, p.z, p.visibility] for p in ours.pose_landmarks[0]])
            b = np.array([[p.x, p.y, p.z, p.visibility] for p in theirs.pose_landmarks.landmark])
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


@NEEDS_SHARED
def test_several_people_on_the_dance_video():
    ref = np.load(SHARED_VIDEO.parent.parent / "reference" / "dance_720p.c1.npz")["landmarks"]
    main_ids, runs = [], []
    with _video(num_poses=4) as landmarker:
        for i, frame in enumerate(read_frames(SHARED_VIDEO)):
            before = landmarker.detector_runs
            r = landmarker.detect_for_video(frame, i * 20)
            runs.append(landmarker.detector_runs > before)
            rois = [NormRect(*roi) for roi in r.result.rois]
            for a in range(len(rois)):
                for b in range(a + 1, len(rois)):
                    assert rect_iou(rois[a], rois[b], 1280, 720) < 0.5
            # The main dancer is the pose nearest the legacy API's single pose.
            gaps = [np.abs(r.result.landmarks[k, :, :2] - ref[i, :, :2]).mean() for k in range(len(rois))]
            assert min(gaps) < 0.03  # the dancer is always among them
            main_ids.append(r.track_ids[int(np.argmin(gaps))])
    assert len(set(main_ids)) == 1
    assert np.mean(runs[10:]) <= 0.25


@pytest.mark.parametrize(("memory", "same_id"), [(15, True), (0, False)])
def test_a_briefly_lost_pose_gets_its_id_back(astronaut, memory, same_id):
    blank = np.zeros_like(astronaut)
    with PoseLandmarker(PoseLandmarkerOptions(running_mode=RunningMode.VIDEO)) as landmarker:
        landmarker._estimator.id_memory = memory
        before = landmarker.detect_for_video(astronaut, 0).track_ids
        assert landmarker.detect_for_video(blank, 33).track_ids == []
        after = landmarker.detect_for_video(astronaut, 66).track_ids
    assert (after == before) is same_id


def test_results_are_mediapipe_s_dataclasses(astronaut):
    # (Landmarks were protobuf-like objects: dataclasses.asdict and json.dumps of it failed.)
    import dataclasses
    import json

    with PoseLandmarker.create_from_options(PoseLandmarkerOptions()) as landmarker:
        result = landmarker.detect(astronaut)
    nose = result.pose_landmarks[0][0]
    assert [f.name for f in dataclasses.fields(nose)] == ["x", "y", "z", "visibility", "presence", "name"]
    as_dict = dataclasses.asdict(result)
    assert list(as_dict) == ["pose_landmarks", "pose_world_landmarks", "segmentation_masks"]
    assert as_dict["pose_landmarks"][0][0] == {"x": nose.x, "y": nose.y, "z": nose.z, "visibility": nose.visibility,
                                              "presence": nose.presence, "name": None}  # fmt: skip
    json.dumps(as_dict)
    assert nose.x == float(result.result.landmarks[0, 0, 0])  # the arrays stay with the result


def test_a_bundle_s_bytes_and_mediapipe_s_delegate_option(tmp_path):
    import zipfile

    from blazepose.models import landmark_model_name, verified_model_bytes

    bundle = tmp_path / "b.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("pose_landmarks_detector.tflite", verified_model_bytes(landmark_model_name(2)))
    options = PoseLandmarkerOptions(base_options=BaseOptions(model_asset_buffer=bundle.read_bytes(),
                                                             delegate=BaseOptions.Delegate.CPU))  # fmt: skip
    with PoseLandmarker.create_from_options(options) as landmarker:
        assert landmarker._estimator.model_complexity == 2
    with pytest.raises(ValueError, match="not both"):
        PoseLandmarker(PoseLandmarkerOptions(base_options=BaseOptions("lite", model_asset_buffer=b"x")))
    with pytest.raises(ValueError, match="onnxruntime-cuda"):
        PoseLandmarker(PoseLandmarkerOptions(base_options=BaseOptions(delegate=BaseOptions.Delegate.GPU)))


def test_srgba_and_gray8_images_are_taken_as_mediapipe_takes_them(astronaut):
    import blazepose as mp

    gray = np.ascontiguousarray(astronaut.mean(axis=2).astype(np.uint8))
    rgba = np.concatenate([astronaut, np.full((*astronaut.shape[:2], 1), 255, np.uint8)], axis=2)
    with PoseLandmarker.create_from_options(PoseLandmarkerOptions()) as landmarker:
        plain = landmarker.detect(astronaut).result
        with_alpha = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGBA, data=rgba)).result
        from_gray = landmarker.detect(mp.Image(image_format=mp.ImageFormat.GRAY8, data=gray)).result
        gray_rgb = landmarker.detect(np.repeat(gray[..., None], 3, axis=2)).result
        with pytest.raises(ValueError, match="expected an SRGB, SRGBA or GRAY8 image, got VEC32F1"):
            landmarker.detect(mp.Image(image_format=mp.ImageFormat.VEC32F1, data=gray.astype(np.float32)))
    np.testing.assert_array_equal(with_alpha.landmarks, plain.landmarks)
    np.testing.assert_array_equal(from_gray.landmarks, gray_rgb.landmarks)
    assert len(from_gray) == 1


def test_image_data_is_checked_and_held_as_mediapipe_holds_it():
    import blazepose as mp

    rgb = np.zeros((4, 5, 3), np.uint8)
    assert mp.Image(image_format=1, data=rgb).image_format is mp.ImageFormat.SRGB  # MediaPipe takes the number
    assert mp.Image(mp.ImageFormat.SRGB, np.zeros((4, 5, 4), np.uint8)).numpy_view().shape == (4, 5, 3)
    assert mp.Image(mp.ImageFormat.VEC32F1, np.zeros((4, 5), np.float32)).numpy_view().shape == (4, 5, 1)
    assert mp.Image(mp.ImageFormat.SRGB, np.asfortranarray(rgb)).numpy_view().flags.c_contiguous
    for fmt, data in [(mp.ImageFormat.SRGB, np.zeros((4, 5), np.uint8)), (mp.ImageFormat.SRGB, rgb.astype(np.float32)),
                      (mp.ImageFormat.VEC32F1, np.zeros((4, 5), np.float64))]:  # fmt: skip
        with pytest.raises(ValueError, match=f"{fmt.name} data must be"):
            mp.Image(fmt, data)


def test_a_damaged_bundle_and_the_landmark_fields_kept_from_earlier_results(tmp_path):
    import dataclasses
    import zipfile

    from blazepose import PoseLandmarkerResult
    from blazepose.models import landmark_model_name, verified_model_bytes
    from blazepose.tasks.landmarks import NormalizedLandmark

    bundle = tmp_path / "pose_landmarker.task"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("pose_landmarks_detector.tflite", verified_model_bytes(landmark_model_name(0)))
    data = bytearray(bundle.read_bytes())
    data[200:4000] = bytes(3800)  # the compressed model damaged: zlib's own error type came through
    bundle.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="is not a pose_landmarker bundle"):
        PoseLandmarker(PoseLandmarkerOptions(base_options=BaseOptions(str(bundle))))
    landmark = NormalizedLandmark(0.5, 0.5, 0.0, 0.9, 0.8)
    landmark.ClearField("presence")
    assert not landmark.HasField("presence") and vars(landmark)["visibility"] == 0.9
    result = PoseLandmarkerResult([[landmark]], [], None, result="arrays")
    assert result.result == "arrays" and "result" not in dataclasses.asdict(result)


def test_a_tasks_result_draws_as_mediapipe_1_2_2_draws_it(astronaut):
    # 1.2.2's drawing takes a pose's list of landmarks and Connection objects: 'list' has no 'landmark'.
    from blazepose.solutions.landmark_list import landmark_list_from_arrays
    from blazepose.tasks.python.vision import PoseLandmark, PoseLandmarksConnections, drawing_styles, drawing_utils

    with PoseLandmarker.create_from_options(PoseLandmarkerOptions()) as landmarker:
        result = landmarker.detect(astronaut)
    style = drawing_styles.get_default_pose_landmarks_style()
    tasks_drawn, legacy_drawn = astronaut[..., ::-1].copy(), astronaut[..., ::-1].copy()
    drawing_utils.draw_landmarks(tasks_drawn, result.pose_landmarks[0], PoseLandmarksConnections.POSE_LANDMARKS,
                                 landmark_drawing_spec=style)  # fmt: skip
    arrays = result.result
    legacy = landmark_list_from_arrays(arrays.landmarks[0], arrays.visibility[0], arrays.presence[0])
    pairs = [(c.start, c.end) for c in PoseLandmarksConnections.POSE_LANDMARKS]
    drawing_utils.draw_landmarks(legacy_drawn, legacy, pairs, landmark_drawing_spec=style)
    assert (tasks_drawn != astronaut[..., ::-1]).any()
    np.testing.assert_array_equal(tasks_drawn, legacy_drawn)
    from blazepose import POSE_CONNECTIONS

    assert PoseLandmark.LEFT_SHOULDER == 11 and len(PoseLandmarksConnections.POSE_LANDMARKS) == 35
    assert {(c.start, c.end) for c in PoseLandmarksConnections.POSE_LANDMARKS} == set(POSE_CONNECTIONS)


def test_one_channel_images_and_world_landmarks_are_held_as_mediapipe_holds_them(astronaut):
    import blazepose as mp
    from blazepose.tasks.landmarks import Landmark, NormalizedLandmark

    gray = mp.Image(image_format=mp.ImageFormat.GRAY8, data=np.zeros((4, 5), np.uint8))
    assert gray.numpy_view().shape == (4, 5, 1)
    with PoseLandmarker.create_from_options(PoseLandmarkerOptions()) as landmarker:
        world = landmarker.detect(astronaut).pose_world_landmarks[0][0]
    assert isinstance(world, Landmark) and not isinstance(world, NormalizedLandmark)  # two classes, as in 1.2.2
