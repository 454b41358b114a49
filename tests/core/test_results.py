import numpy as np
import pytest

from blazepose.core.results import PoseResult


def _result(n=2, h=4, w=6, **over):
    z = np.zeros
    kw = dict(
        landmarks=z((n, 33, 3), np.float32),
        world_landmarks=z((n, 33, 3), np.float32),
        visibility=z((n, 33), np.float32),
        presence=z((n, 33), np.float32),
        pose_scores=z((n,), np.float32),
        rois=z((n, 5), np.float32),
        image_size=(h, w),
        segmentation_masks=z((n, h, w), np.float32),
    )
    kw.update(over)
    return PoseResult(**kw)


def test_valid_result_and_derived_views():
    r = _result(landmarks=np.full((2, 33, 3), 0.5, np.float32))
    assert len(r) == r.num_poses == 2
    np.testing.assert_allclose(r.landmarks_px[0, 0], [3.0, 2.0, 3.0])
    assert r.track_ids.tolist() == [0, 1]
    assert r.segmentation_mask.shape == (4, 6)


def test_empty_result():
    r = PoseResult.empty((4, 6), with_masks=True)
    assert len(r) == 0 and r.segmentation_mask.shape == (4, 6) and r.segmentation_mask.max() == 0
    assert PoseResult.empty((4, 6), with_masks=False).segmentation_mask is None


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("visibility", np.zeros((2, 32), np.float32), ValueError),
        ("world_landmarks", np.zeros((2, 33, 3), np.float64), TypeError),
        ("segmentation_masks", np.zeros((2, 5, 6), np.float32), ValueError),
        ("rois", [[0, 0, 0, 0, 0]] * 2, TypeError),
        ("track_ids", np.zeros(2, np.int32), TypeError),
    ],
)
def test_result_is_shape_and_type_checked(field, value, error):
    with pytest.raises(error, match=field):
        _result(**{field: value})
