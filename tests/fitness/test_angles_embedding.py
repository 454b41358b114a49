"""Joint angles and MediaPipe's pose embedding, on poses with known answers."""

import numpy as np
import pytest

from blazepose.core.topology import PoseLandmark as L
from blazepose.fitness.angles import angle_at, joint_angles
from blazepose.fitness.embedding import EMBEDDING_PAIRS, mirrored, normalize_pose, pose_embedding


def test_angle_at_right_straight_and_degenerate():
    assert angle_at([1, 0], [0, 0], [0, 1]) == pytest.approx(90)
    assert angle_at([-1, 0, 0], [0, 0, 0], [2, 0, 0]) == pytest.approx(180)
    assert np.isnan(angle_at([0, 0], [0, 0], [0, 1]))


def test_joint_angles_in_pixels_not_normalized_units():
    p = np.zeros((33, 3))
    p[L.LEFT_SHOULDER], p[L.LEFT_ELBOW], p[L.LEFT_WRIST] = (0.5, 0.0, 0), (0.5, 0.5, 0), (0.75, 0.5, 0)
    # In a 200 x 100 (h x w) image the forearm is 25 px across and the upper arm 100 px down: still 90 degrees.
    assert joint_angles(p, image_size=(200, 100))["left_elbow"] == pytest.approx(90)
    with pytest.raises(ValueError, match=r"\(\.\.\., 33, 2 or 3\)"):
        joint_angles(np.zeros((32, 3)))


def _pose() -> np.ndarray:
    """Hip centre (120, 200), shoulder centre (120, 100): torso 100 px, so the size is 2.5 x 100 = 250."""
    p = np.tile([120.0, 200.0, 0.0], (33, 1))
    p[L.LEFT_HIP], p[L.RIGHT_HIP] = (100, 200, 0), (140, 200, 0)
    p[L.LEFT_SHOULDER], p[L.RIGHT_SHOULDER] = (100, 100, 0), (140, 100, 0)
    p[L.LEFT_WRIST] = (120, 0, 50)  # 200 px from the hip centre: less than 250
    return p


def test_normalization_uses_hip_centre_and_torso_times_2_5():
    n = normalize_pose(_pose())
    assert n[L.LEFT_WRIST] == pytest.approx([0, -80, 20])  # (0, -200, 50) / 250 * 100
    far = _pose()
    far[L.RIGHT_ANKLE] = (120, 600, 0)  # 400 px away: the size becomes 400
    assert normalize_pose(far)[L.RIGHT_ANKLE] == pytest.approx([0, 100, 0])


def test_embedding_of_a_synthetic_pose():
    e = pose_embedding(_pose())
    assert e.shape == (len(EMBEDDING_PAIRS), 3) == (23, 3)
    assert e[0] == pytest.approx([0, -40, 0])  # hips centre -> shoulders centre
    assert e[13] == pytest.approx([8, -80, 20])  # left hip (100, 200) -> left wrist (120, 0, 50)
    assert e[17] == pytest.approx(e[13])  # the guide lists hip -> wrist twice
    assert e[21] == pytest.approx([0, 80, -20])  # left wrist (120, 0, 50) -> right wrist (at the hip centre)


def test_embedding_is_scale_and_translation_invariant_and_mirrors_to_negated_x():
    p = _pose()
    moved = p * 3 + (50, -20, 0)
    np.testing.assert_allclose(pose_embedding(moved), pose_embedding(p), atol=1e-9)
    np.testing.assert_allclose(pose_embedding(mirrored(p)), pose_embedding(p) * (-1, 1, 1), atol=1e-9)
