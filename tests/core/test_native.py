"""The compiled kernels give the numpy code's values bit for bit."""

from __future__ import annotations

import sys
import types

import cv2
import numpy as np
import pytest

import blazepose.core.native as native_module
from blazepose.core.crop import REPLICATE, ZERO, Cropper, FixedPointMaps, box_points, value_table
from blazepose.core.landmarks import decode_pose, refine_with_heatmap
from blazepose.core.native import native_kernels
from blazepose.core.roi import NormRect, PixelRect

kernels = native_kernels()
needs_kernels = pytest.mark.skipif(kernels is None, reason="blazepose.core._native was not built (no C compiler)")


def _photo(rng: np.random.Generator) -> np.ndarray:
    noise = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
    # Smooth enough that interpolation matters, with full-range detail left.
    return cv2.resize(cv2.GaussianBlur(noise, (7, 7), 0), (640, 360), interpolation=cv2.INTER_CUBIC)


@needs_kernels
def test_native_crop_equals_numpy_crop():
    rng = np.random.default_rng(7)
    image = _photo(rng)
    checked = 0
    for i in range(120):
        size = int(rng.choice([256, 224, 130, 64, 16]))
        value_range = [(0.0, 1.0), (-1.0, 1.0), (0.0, 255.0)][i % 3]
        border = (ZERO, REPLICATE)[i % 2]
        side = rng.uniform(2, 1500) if i % 10 else rng.uniform(1e5, 1e8)  # also regions far beyond int16
        rect = PixelRect(
            rng.uniform(-200, 850), rng.uniform(-200, 560), side, side * rng.uniform(0.3, 3), rng.uniform(-7, 7)
        )
        source = (image, image[::-1, :, ::-1], image[10:13, 5:9])[i % 3]  # strided and tiny images too
        ours, region = Cropper(size, value_range, border, native=True)(source, rect)
        reference, reference_region = Cropper(size, value_range, border, native=False)(source, rect)
        np.testing.assert_array_equal(ours, reference, err_msg=f"case {i}: {rect}")
        assert region == reference_region
        checked += 1
    assert checked == 120


@needs_kernels
@pytest.mark.parametrize("simd", [True, False])
def test_a_crop_split_over_threads_equals_the_crop_on_one(simd):
    """Rows in bands on several threads (32 rows or more a band): the same bytes as one thread's crop,
    on the vector and the scalar code, regions inside, across and outside the image."""
    assert kernels.warp_threads() >= (2 if sys.platform != "win32" else 1)
    rng = np.random.default_rng(11)
    image = _photo(rng)
    table = value_table(0.0, 1.0)
    helper_sets = {threads: kernels.CropHelpers(threads) for threads in (2, 3, 8)}
    for i in range(60):
        size = int(rng.choice([256, 224, 97, 64, 31]))
        rect = PixelRect(rng.uniform(-200, 850), rng.uniform(-200, 560), rng.uniform(2, 1500), rng.uniform(2, 1500),
                         rng.uniform(-7, 7))  # fmt: skip
        corners = np.array([[0, size], [0, 0], [size, 0], [size, size]], np.float32)
        transform = cv2.getPerspectiveTransform(box_points(rect), corners)
        _, inverse = cv2.invert(transform)
        one = np.full((size, size, 3), np.nan, np.float32)
        kernels.warp_to_tensor(image, inverse, size, bool(i % 2), table, one, simd)
        for threads, helpers in helper_sets.items():
            split = np.full((size, size, 3), np.nan, np.float32)
            kernels.warp_to_tensor(image, inverse, size, bool(i % 2), table, split, simd, helpers)
            np.testing.assert_array_equal(split, one, err_msg=f"case {i}, {threads} threads")
    assert not np.isnan(one).any()  # every value written
    if sys.platform != "win32":
        assert [h.started for h in helper_sets.values()] == [1, 2, 7]  # kept from crop to crop
    for helpers in helper_sets.values():
        helpers.close()
        assert helpers.started == 0


@needs_kernels
def test_native_refinement_equals_numpy_refinement():
    rng = np.random.default_rng(8)
    for i in range(200):
        heatmap = rng.normal(rng.uniform(-8, 3), rng.uniform(0.5, 6), (64, 64, 39)).astype(np.float32)
        landmarks = rng.uniform(-0.2, 1.2, (39, 5)).astype(np.float32)
        if i % 4 == 0:  # exactly on cell edges and the heatmap's borders
            landmarks[:, :2] = rng.integers(-1, 66, (39, 2)) / 64
        ours = refine_with_heatmap(landmarks, heatmap, native=True)
        reference = refine_with_heatmap(landmarks, heatmap, native=False)
        np.testing.assert_array_equal(ours, reference, err_msg=f"case {i}")
    # Both moved the landmarks, so the comparison compared refinements.
    assert not np.array_equal(ours[:, :2], landmarks[:, :2])


@needs_kernels
def test_native_refinement_leaves_its_input_alone():
    # For (N, 2) float32 landmarks, ascontiguousarray gave the caller's own array to the in-place kernel.
    rng = np.random.default_rng(4)
    landmarks = rng.uniform(0.2, 0.8, (39, 2)).astype(np.float32)
    before = landmarks.copy()
    heatmap = rng.normal(0, 3, (64, 64, 39)).astype(np.float32)
    refined = refine_with_heatmap(landmarks, heatmap, native=True)
    np.testing.assert_array_equal(landmarks, before)
    assert refined.tobytes() == refine_with_heatmap(landmarks, heatmap, native=False).tobytes()


PADDINGS = [
    (0.0, 0.0, 0.0, 0.0),
    (0.0, 0.125, 0.0, 0.125),
    (0.0, 2.9802322387695312e-08, 0.0, 2.9802322387695312e-08),
    (5.960464477539063e-08, 0.0, 5.960464477539063e-08, 0.0),
    (0.21875, 0.0, 0.21875, 0.0),
    (0.0, 0.3330000042915344, 0.0, 0.3330000042915344),
    (0.01, 0.02, 0.03, 0.04),
]


@needs_kernels
def test_native_pose_decoding_equals_numpy_decoding():
    rng = np.random.default_rng(9)
    for i in range(300):
        raw = rng.normal(128, 80, 195).astype(np.float32)
        raw.reshape(39, 5)[:, 3:] = rng.normal(0, 12, (39, 2))  # logits, some far beyond expf's range
        if i % 5 == 0:
            raw.reshape(39, 5)[:, 3:] *= 20
        heatmap = rng.normal(rng.uniform(-8, 3), rng.uniform(0.5, 6), (64, 64, 39)).astype(np.float32)
        world = rng.normal(0, 0.4, 117).astype(np.float32)
        roi = NormRect(*rng.uniform(-0.5, 1.5, 2), *rng.uniform(0.01, 3, 2), rng.uniform(-7, 7))
        # Tracked regions are square but for float32 rounding: a third of the dance video's crops have a top and
        # bottom padding of 1 or 2 float32 ulps of 0.5 (before, those went to the numpy code).
        padding = PADDINGS[i % len(PADDINGS)]
        ours = decode_pose(raw, heatmap, world, roi, padding, native=True)
        reference = decode_pose(raw, heatmap, world, roi, padding, native=False)
        for a, b in zip(ours, reference, strict=True):
            assert a.dtype == b.dtype == np.float32 and a.shape == b.shape
            assert a.tobytes() == b.tobytes(), f"case {i}"


@needs_kernels
def test_pose_decoding_keeps_to_pythons_trigonometry_where_the_c_library_is_not_loaded(monkeypatch):
    # The compiled decoding takes cosf and sinf from the C library; where Python cannot load them (cos32
    # then rounds math.cos), the numpy stages serve, so that both paths give the same landmarks.
    from blazepose.core import landmarks

    def refuse(*args: object) -> None:
        raise AssertionError("the compiled decoding was used")

    built = native_kernels()
    monkeypatch.setattr(landmarks, "C_TRIGONOMETRY", False)
    fake = types.SimpleNamespace(decode_pose_in_region=refuse, refine_with_heatmap=built.refine_with_heatmap)
    monkeypatch.setattr(landmarks, "native_kernels", lambda native=None: fake)
    rng = np.random.default_rng(2)
    raw = rng.normal(128, 80, 195).astype(np.float32)
    heatmap = rng.normal(0, 2, (64, 64, 39)).astype(np.float32)
    world = rng.normal(0, 0.4, 117).astype(np.float32)
    roi = NormRect(0.4, 0.6, 0.3, 0.5, 1.2)
    ours = landmarks.decode_pose(raw, heatmap, world, roi, (0.0, 0.0, 0.0, 0.0))
    monkeypatch.undo()
    reference = landmarks.decode_pose(raw, heatmap, world, roi, (0.0, 0.0, 0.0, 0.0), native=False)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(ours, reference, strict=True))


@needs_kernels
def test_native_kernels_refuse_wrong_buffers():
    image = np.zeros((8, 8, 3), np.uint8)
    inverse = np.eye(3)
    table = value_table(0.0, 1.0)
    out = np.zeros((4, 4, 3), np.float32)
    with pytest.raises(TypeError, match="image: expected items of format 'B'"):
        kernels.warp_to_tensor(image.astype(np.float32), inverse, 4, True, table, out)
    with pytest.raises(ValueError, match="out must hold"):
        kernels.warp_to_tensor(image, inverse, 5, True, table, out)
    with pytest.raises(ValueError, match="1 to 4 channels"):
        kernels.warp_to_tensor(np.zeros((8, 8, 5), np.uint8), inverse, 4, True, table, out)
    with pytest.raises(ValueError, match="threads: expected 1 or more, got 0"):
        kernels.CropHelpers(0)
    with pytest.raises(TypeError, match="helpers: expected a CropHelpers or None, got int"):
        kernels.warp_to_tensor(image, inverse, 4, True, table, out, True, 2)
    with pytest.raises(ValueError, match="crop threads must be an int >= 1, got 0"):
        Cropper(4, (0.0, 1.0), ZERO, threads=0)
    with pytest.raises(ValueError, match="expected"):
        kernels.refine_with_heatmap(np.zeros((3, 2), np.float32), np.zeros((4, 4, 2), np.float32), 3, 0.5)


_HUGE_SIZE_CALL = """
import numpy as np
from blazepose.core import _native
try:
    _native.warp_to_tensor(np.zeros((4, 4, 4), np.uint8), np.eye(3), 1 << 30, False,
                           np.arange(256, dtype=np.float32), np.empty(0, np.float32))
except ValueError as error:
    print("ValueError:", error)
"""


@needs_kernels
def test_native_crop_refuses_a_size_whose_byte_count_overflows():
    # size * size * 4 channels * 4 bytes is 2**64 for size 2**30: wrapped to 0, it matched an empty out
    # and the kernel wrote past it. In a child process, so that a crash fails this test only.
    import subprocess

    done = subprocess.run([sys.executable, "-c", _HUGE_SIZE_CALL], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"the kernel crashed (exit {done.returncode}): {done.stderr[-500:]}"
    assert done.stdout.startswith("ValueError: out must hold"), done.stdout


def test_an_older_build_of_the_kernels_is_not_used(monkeypatch):
    # An in-place build left from before decode_pose, one_euro_step and alignment_rect existed made every
    # frame fail with AttributeError; now it is passed over (the numpy code runs) or named when required.
    import types

    from blazepose.core.roi import roi_from_points

    points = np.array([[0.5, 0.5], [0.5, 0.3]], np.float32)
    expected = roi_from_points(points, 640, 480)
    older = types.ModuleType("blazepose.core._native")
    older.warp_to_tensor = lambda *args: None  # type: ignore[attr-defined]
    older.refine_with_heatmap = lambda *args: None  # type: ignore[attr-defined]
    _install_kernels(monkeypatch, older)
    assert native_kernels() is None
    older.decode_pose = lambda *args: None  # type: ignore[attr-defined]  # its name before it took the padding
    assert native_kernels() is None
    missing = "simd_path, warp_threads, decode_pose_in_region, smoother_step"
    with pytest.raises(ImportError, match=f"older build without {missing}"):
        native_kernels(True)
    assert roi_from_points(points, 640, 480) == expected


def _install_kernels(monkeypatch: pytest.MonkeyPatch, module: object) -> None:
    """Makes ``module`` (None: no build) what importing blazepose.core._native gives, in a process that has
    not found a complete build yet (native_kernels keeps the first one it finds)."""
    monkeypatch.setattr(native_module, "_complete_build", None)
    monkeypatch.setitem(sys.modules, "blazepose.core._native", module)


def test_native_required_but_missing_is_an_import_error(monkeypatch):
    _install_kernels(monkeypatch, None)  # as if it were not built
    assert native_kernels() is None
    with pytest.raises(ImportError, match="without its compiled kernels"):
        Cropper(16, (0.0, 1.0), ZERO, native=True)


def _opencv4_positions(inverse: np.ndarray, size: int, tile: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV 4's warpPerspective source positions, one pixel at a time."""
    coords = np.zeros((size, size, 2), np.int64)
    fractions = np.zeros((size, size), np.int64)
    m = inverse.reshape(-1)
    for y in range(size):
        for start in range(0, size, tile):
            x_base = m[0] * start + m[1] * y + m[2]
            y_base = m[3] * start + m[4] * y + m[5]
            w_base = m[6] * start + m[7] * y + m[8]
            for i in range(min(tile, size - start)):
                w = w_base + m[6] * i
                w = 32.0 / w if w else 0.0
                fixed = [
                    round(min(max((base + step * i) * w, -(2.0**31)), 2.0**31 - 1))
                    for base, step in ((x_base, m[0]), (y_base, m[3]))
                ]
                coords[y, start + i] = [min(max(v >> 5, -32768), 32767) for v in fixed]
                fractions[y, start + i] = (fixed[1] & 31) * 32 + (fixed[0] & 31)
    return coords, fractions


@pytest.mark.parametrize("scale", [1.7, 3e4])  # ordinary, and positions beyond float32's exact range
def test_fixed_point_maps_follow_opencv4_pixel_by_pixel(scale):
    angle = 0.3
    c, s = np.cos(angle), np.sin(angle)
    inverse = np.array([[scale * c, -scale * s, 40.3], [scale * s, scale * c, -7.9], [1e-9, -2e-9, 1.0]])
    transform = np.linalg.inv(inverse)
    coords, fractions = FixedPointMaps(80).compute(transform)  # two tiles per row
    _, opencv_inverse = cv2.invert(transform)
    expected_coords, expected_fractions = _opencv4_positions(opencv_inverse, 80)
    np.testing.assert_array_equal(coords, expected_coords)
    np.testing.assert_array_equal(fractions, expected_fractions)


@needs_kernels
def test_pipeline_gives_the_same_poses_without_kernels(astronaut, monkeypatch):
    from blazepose import PoseEstimator

    frames = [astronaut, np.ascontiguousarray(astronaut[:, ::-1]), astronaut]
    with PoseEstimator(model_complexity=0, enable_segmentation=True) as fast:
        expected = [fast.process(f) for f in frames]
    _install_kernels(monkeypatch, None)
    with PoseEstimator(model_complexity=0, enable_segmentation=True) as plain:
        assert plain._landmarker._cropper._kernel is None
        got = [plain.process(f) for f in frames]
    assert all(r.num_poses == 1 for r in expected)
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_array_equal(a.landmarks, b.landmarks)
        np.testing.assert_array_equal(a.world_landmarks, b.world_landmarks)
        np.testing.assert_array_equal(a.segmentation_mask, b.segmentation_mask)


class _CopyingOnly:
    """An engine without ``run_in_place``: the landmark model must copy its input and outputs."""

    def __init__(self, model):
        self._model = model
        self.input_shape = model.input_shape
        self.output_shapes = model.output_shapes

    def run(self, tensor, outputs=None):
        return self._model.run(tensor, outputs)

    def close(self):
        self._model.close()


def test_in_place_and_copying_engines_give_the_same_poses(astronaut):
    from blazepose.backends import load_model
    from blazepose.core.landmarker import LandmarkModel
    from blazepose.models import verified_model_bytes

    data = verified_model_bytes("pose_landmark_full.tflite")
    in_place = LandmarkModel(load_model(data, num_threads=1))
    copying = LandmarkModel(_CopyingOnly(load_model(data, num_threads=1)))
    assert in_place._in_place is not None and copying._in_place is None
    rng = np.random.default_rng(4)
    for i in range(6):
        roi = NormRect(*rng.uniform(0.3, 0.7, 2), *rng.uniform(0.5, 1.2, 2), rng.uniform(-1, 1))
        a = in_place.run(astronaut, roi, 0.0, with_mask=True)
        b = copying.run(astronaut, roi, 0.0, with_mask=True)
        assert a is not None and b is not None
        for field in ("landmarks", "world", "mask_logits"):
            assert getattr(a, field).tobytes() == getattr(b, field).tobytes(), f"region {i}: {field}"
        assert a.score == b.score and a.crop == b.crop


@needs_kernels
@pytest.mark.parametrize("params", [(0.05, 80.0, 1.0), (0.01, 10.0, 1.0), (0.1, 40.0, 1.0), (1.7, 0.0, 0.3)])
def test_native_one_euro_filter_equals_numpy_filter(params):
    from blazepose.core.filters import OneEuroFilter

    rng = np.random.default_rng(int(params[1]))
    native, reference = OneEuroFilter(*params, native=True), OneEuroFilter(*params, native=False)
    assert native._kernels is not None and reference._kernels is None
    t = 0
    for i in range(400):
        if i == 200:
            native.reset(), reference.reset()
        t += int(rng.choice([33_333, 16_667, 1, 250_000, 0 if i % 50 == 7 else 40_000]))
        x = (rng.normal(0, 1, (33, 3)) * rng.choice([1e-3, 1.0, 500.0])).astype(np.float32)
        scale = float(rng.choice([1.0, 1 / 37.0, 1 / 900.0]))
        a, b = native.apply(x, t, scale), reference.apply(x, t, scale)
        assert a.dtype == b.dtype == np.float32 and a.tobytes() == b.tobytes(), f"step {i}"
    assert native.frequency == reference.frequency


@needs_kernels
@pytest.mark.parametrize("params", ["image", "world", "aux"])
def test_landmark_smoother_in_one_call_equals_its_filters_one_by_one(params):
    # LandmarkSmoother's usual step is one compiled call (the visibility's low-pass and the One Euro step);
    # the first samples, repeated, earlier or zero times and tiny objects go through the filters one by one.
    from blazepose.core import filters

    chosen = {
        "image": filters.IMAGE_LANDMARK_FILTER,
        "world": filters.WORLD_LANDMARK_FILTER,
        "aux": filters.AUX_LANDMARK_FILTER,
    }[params]
    rng = np.random.default_rng(len(params))
    native, reference = filters.LandmarkSmoother(chosen), filters.LandmarkSmoother(chosen)
    reference.coords._kernels = None
    assert native.coords._kernels is not None
    calls = []
    native_kernels_used = native.coords._kernels
    native.coords._kernels = types.SimpleNamespace(  # counts the calls that carry a visibility
        smoother_step=lambda *a: calls.append(len(a[4]) > 0) or native_kernels_used.smoother_step(*a),
    )
    t, count = 0, 33
    for i in range(300):
        if i in (150, 220):
            native.reset(), reference.reset()
            count = 33 if i == 150 else 2  # after a reset, any number of landmarks
        t += int(rng.choice([33_333, 16_667, 1, 0 if i % 40 == 9 else 40_000, -5 if i % 60 == 13 else 33_000]))
        xyz = (rng.normal(0, 1, (count, 3)) * rng.choice([1e-3, 1.0, 500.0])).astype(np.float32)
        visibility = rng.uniform(-5, 5, count).astype(np.float32)
        scale = None if not chosen.scale_by_object else float(rng.choice([200.0, 37.5, 1e-7]))
        a = native.apply(xyz, visibility, t, scale)
        b = reference.apply(xyz, visibility, t, scale)
        for x, y in zip(a, b, strict=True):
            assert x.dtype == y.dtype == np.float32 and x.tobytes() == y.tobytes(), f"step {i}"
    assert native.coords.frequency == reference.coords.frequency
    assert sum(calls) > 150  # most steps took the one call


@needs_kernels
def test_native_one_euro_filter_takes_fortran_ordered_samples():
    # Its outputs were made with empty_like(x): for an F-ordered x they were F-ordered too, and the
    # compiled step refused them ("ndarray is not C-contiguous") from the second sample on.
    from blazepose.core.filters import OneEuroFilter

    rng = np.random.default_rng(5)
    native, reference = OneEuroFilter(1.0, 0.1, 1.0, native=True), OneEuroFilter(1.0, 0.1, 1.0, native=False)
    for t in range(1, 4):
        x = np.asfortranarray(rng.normal(0, 1, (33, 3)).astype(np.float32))
        assert native.apply(x, 33_333 * t).tobytes() == reference.apply(x, 33_333 * t).tobytes()


@needs_kernels
def test_native_region_geometry_equals_numpy_geometry(monkeypatch):
    import struct

    from blazepose.core import roi

    rng = np.random.default_rng(10)
    cases = []
    for i in range(2000):
        points = rng.uniform(-0.5, 1.5, (2, 2))
        if i % 4 == 0:
            points = points.astype(np.float32)  # as the landmarks come
        if i % 97 == 0:
            points[1] = points[0]  # coincident points: a region of size 0
        if i % 13 == 0:
            points[1, 0] = points[0, 0]  # exactly vertical, where atan2 is at its branch
        w, h = int(rng.integers(1, 5000)), int(rng.integers(1, 5000))
        cases.append((points, w, h))

    def answers():
        return [
            (roi.rect_from_alignment_points(p[0], p[1], w, h), roi.roi_from_points(p, w, h), roi.object_scale(p, w, h))
            for p, w, h in cases
        ]

    native = answers()
    monkeypatch.setattr(roi, "native_kernels", lambda: None)
    reference = answers()
    bits = struct.Struct("d").pack
    for i, (a, b) in enumerate(zip(native, reference, strict=True)):
        flat_a = [*a[0], *a[1], a[2]]
        flat_b = [*b[0], *b[1], b[2]]
        assert all(type(x) is float for x in flat_a + flat_b)
        assert [bits(x) for x in flat_a] == [bits(x) for x in flat_b], f"case {i}: {cases[i]}"
