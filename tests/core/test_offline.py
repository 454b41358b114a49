"""Whole clips offline: the backward pass and the zero-lag smoother."""

import cv2
import numpy as np
import pytest

from blazepose.core.estimator import PoseEstimator
from blazepose.core.offline import OfflineSettings, Sample, smooth_tracks, track_clip, zero_lag_smooth
from blazepose.core.roi import NormRect


def zoom_in_clip(astronaut: np.ndarray, frames: int = 12) -> tuple[list[np.ndarray], list[int], list[tuple]]:
    """The astronaut growing from 60 to 236 px in a 640x360 frame: too small for
    the detector at first. Returns the frames, the person's side and top-left corner."""
    out, sides, corners = [], [], []
    for i in range(frames):
        side = 60 + 16 * i
        canvas = np.full((360, 640, 3), 40, np.uint8)
        canvas[20 : 20 + side, 300 : 300 + side] = cv2.resize(astronaut, (side, side), interpolation=cv2.INTER_AREA)
        out.append(canvas)
        sides.append(side)
        corners.append((300, 20))
    return out, sides, corners


def test_backward_pass_fills_the_early_frames_with_the_same_id(astronaut):
    frames, sides, corners = zoom_in_clip(astronaut)
    with PoseEstimator(model_complexity=1) as live:
        found_live = [len(live.process(f)) > 0 for f in frames]
    first_found = found_live.index(True)
    assert first_found >= 3  # the live tracker (MediaPipe's) misses the first frames
    settings = OfflineSettings(smooth=False)
    results = track_clip(frames, model_complexity=1, accuracy="fast", settings=settings)
    assert len(results) == len(frames)
    ids = {tuple(r.track_ids.tolist()) for r in results}
    assert ids == {(int(results[-1].track_ids[0]),)}  # one person, one id, on every frame
    with PoseEstimator(static_image_mode=True, model_complexity=1) as still:
        nose = still.process(astronaut).landmarks_px[0, 0, :2] / 512
    for r, side, corner in zip(results[:first_found], sides, corners, strict=False):
        expected = nose * side + corner
        assert np.linalg.norm(r.landmarks_px[0, 0, :2] - expected) < 0.1 * side
    without = track_clip(
        frames, model_complexity=1, accuracy="fast", settings=OfflineSettings(backfill=False, smooth=False)
    )
    assert [len(r) > 0 for r in without] == found_live


def test_track_clip_needs_frames_it_can_decode_twice(astronaut):
    with pytest.raises(TypeError, match="decodes the clip afresh"):
        track_clip(iter([astronaut]), model_complexity=0)


def test_track_clip_refuses_masks_it_would_compute_and_drop(astronaut):
    with pytest.raises(ValueError, match="no segmentation masks; enable_segmentation=True is not accepted"):
        track_clip([astronaut], model_complexity=0, enable_segmentation=True)


def test_high_accuracy_settings_are_checked_when_made():
    from blazepose.core.high_accuracy import HighAccuracySettings

    with pytest.raises(TypeError, match="high_accuracy must be a HighAccuracySettings or None, got"):
        PoseEstimator(static_image_mode=True, model_complexity=0, accuracy="high", high_accuracy={"recall": 1})
    with pytest.raises(ValueError, match="used with accuracy='high' only"):
        PoseEstimator(model_complexity=0, high_accuracy=HighAccuracySettings())


def _track(values: np.ndarray) -> list[dict[int, Sample]]:
    """A one-pose track whose every landmark coordinate follows ``values`` (T,)."""
    out = []
    for v in values:
        xyz = np.full((33, 3), v, np.float32)
        out.append({3: Sample(xyz, np.ones(33, np.float32), np.ones(33, np.float32), xyz.copy(), 1.0,
                              NormRect(0.5, 0.5, 0.2, 0.2, 0.0))})  # fmt: skip
    return out


def test_forward_backward_smoother_has_no_lag_on_a_ramp():
    times = [i * 1000 / 30 for i in range(90)]
    ramp = np.linspace(0.2, 0.8, 90)
    tracks = _track(ramp)
    smooth_tracks(tracks, times, (480, 640), OfflineSettings())
    smoothed = np.array([t[3].landmarks[0, 0] for t in tracks])
    np.testing.assert_allclose(smoothed, ramp, atol=1e-5)  # every frame, the ends included
    # A fast ramp (the moving cutoff) and a ramp that starts from rest: still no lag.
    fast = np.linspace(0, 600, 90)[:, None, None] * np.ones((1, 2, 2))
    np.testing.assert_allclose(zero_lag_smooth(fast, 30.0, np.full(90, 100.0), OfflineSettings()), fast, atol=1e-6)


def test_forward_backward_smoother_reduces_noise_on_a_still_pose():
    rng = np.random.default_rng(0)
    noisy = 0.5 + rng.normal(0, 0.001, 150)  # 0.5% of the body (0.2 of the image)
    tracks = _track(noisy)
    smooth_tracks(tracks, [i * 1000 / 30 for i in range(150)], (480, 640), OfflineSettings())
    smoothed = np.array([t[3].landmarks[5, 1] for t in tracks])
    world = np.array([t[3].world[5, 1] for t in tracks])
    assert np.std(smoothed - 0.5) < 0.4 * np.std(noisy - 0.5)
    assert np.std(world - 0.5) < 0.4 * np.std(noisy - 0.5)
    assert abs(smoothed.mean() - noisy.mean()) < 1e-3


def test_a_track_lost_and_found_again_keeps_one_id(astronaut):
    from blazepose.core.offline import _samples, backfill

    frames = [astronaut] * 8
    with PoseEstimator(static_image_mode=True, model_complexity=0) as still:
        seen = _samples(still.process(astronaut))[0]
    # Forward: id 1 on frames 0-2, nothing on 3-5 (lost), id 2 on 6-7 (found again).
    tracks = [{1: seen} if f < 3 else {2: seen} if f > 5 else {} for f in range(8)]
    with PoseEstimator(model_complexity=0) as estimator:
        backfill(estimator, ((f, image, f * 33.3) for f, image in enumerate(frames)), tracks, 60, 1)
    assert [sorted(frame) for frame in tracks] == [[1]] * 8


def test_backward_pass_respects_max_poses_and_stops_at_the_clip_start(astronaut):
    from blazepose.core.offline import _samples, backfill

    with PoseEstimator(static_image_mode=True, model_complexity=0) as still:
        seen = _samples(still.process(astronaut))[0]
    other = Sample(seen.landmarks, seen.visibility, seen.presence, seen.world, 0.9, NormRect(0.1, 0.1, 0.1, 0.1, 0.0))
    tracks = [{5: other}, {5: other}, {}, {}, {7: seen}]
    with PoseEstimator(model_complexity=0) as estimator:
        backfill(estimator, ((f, astronaut, f * 33.3) for f in range(5)), tracks, 60, 1)
    # Frames 2 and 3 filled; frames 0 and 1 already hold max_poses poses.
    assert [sorted(frame) for frame in tracks] == [[5], [5], [7], [7], [7]]
