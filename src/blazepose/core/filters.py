"""Time-driven filters for landmarks: low-pass, One Euro, and the pose's smoother.

Every filter takes the caller's timestamps (integer microseconds); nothing
here reads a clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from blazepose.core.native import native_kernels

MIN_OBJECT_SCALE = 1e-6
VISIBILITY_ALPHA = 0.1


class LowPassFilter:
    """Exponential smoothing of a float32 array: ``y = alpha * x + (1 - alpha) * y_prev``.

    The first value passes through unchanged. The state is float32 and each
    step is rounded as MediaPipe's filter rounds it.
    """

    def __init__(self, alpha: float | None = None) -> None:
        self.alpha = alpha
        self.raw: np.ndarray | None = None
        self.value: np.ndarray | None = None

    def apply(self, x: np.ndarray, alpha: float | np.ndarray | None = None) -> np.ndarray:
        a = self.alpha if alpha is None else alpha
        x = np.asarray(x, np.float32)
        if self.value is None:
            out = x.copy()
        else:
            if a is None:
                raise ValueError("LowPassFilter needs an alpha")
            a32 = np.float32(a)
            out = ((a32 * x).astype(np.float64) + (1.0 - np.float64(a32)) * self.value).astype(np.float32)
        self.raw = x.copy()
        self.value = out
        return out

    def reset(self) -> None:
        self.raw = None
        self.value = None


class OneEuroFilter:
    """The One Euro filter (Casiez et al., CHI 2012) over an array of values.

    The cutoff frequency grows with the filtered speed of the signal, so slow
    motion is smoothed hard and fast motion follows closely. All elements
    share one clock.

    Args:
        min_cutoff: Cutoff frequency (Hz) at rest.
        beta: How fast the cutoff grows with speed.
        derivate_cutoff: Cutoff frequency (Hz) for the speed estimate.
        frequency: Sampling rate (Hz) assumed until two timestamps are seen.
        native: Whether to use the compiled kernel once the filter has a
            previous value (same values); None uses it when built.
    """

    def __init__(
        self,
        min_cutoff: float,
        beta: float,
        derivate_cutoff: float,
        frequency: float = 30.0,
        native: bool | None = None,
    ) -> None:
        if min_cutoff <= 0 or derivate_cutoff <= 0 or frequency <= 0:
            raise ValueError(
                f"cutoffs and frequency must be > 0, got min_cutoff={min_cutoff}, "
                f"derivate_cutoff={derivate_cutoff}, frequency={frequency}"
            )
        # MediaPipe keeps these options as float and widens them to double.
        self.min_cutoff = float(np.float32(min_cutoff))
        self.beta = float(np.float32(beta))
        self.derivate_cutoff = float(np.float32(derivate_cutoff))
        self._initial_frequency = frequency
        self._kernels = native_kernels(native)
        self.reset()

    def reset(self) -> None:
        self.frequency = self._initial_frequency
        self._last_time_us: int | None = None
        self._x = LowPassFilter()
        self._dx = LowPassFilter()

    def _alpha(self, cutoff: np.ndarray | float) -> np.ndarray | float:
        te = 1.0 / self.frequency
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / te)

    def apply(self, x: np.ndarray, timestamp_us: int, value_scale: float = 1.0) -> np.ndarray:
        """Filters one sample (float32 values).

        A timestamp not after the previous one returns ``x`` unfiltered and
        leaves the state as it was. A timestamp of 0 does not update the
        sampling rate (as in MediaPipe).
        """
        x = np.asarray(x, np.float32, order="C")  # the compiled step takes C-ordered arrays
        if self._last_time_us is not None and timestamp_us <= self._last_time_us:
            return x.copy()
        if self._last_time_us is not None and self._last_time_us != 0 and timestamp_us != 0:
            self.frequency = 1.0 / (((timestamp_us - self._last_time_us) * 1000) * 1e-9)
        self._last_time_us = timestamp_us
        x_filter, speed_filter = self._x, self._dx
        if (
            self._kernels is not None
            and x_filter.raw is not None
            and x_filter.value is not None
            and speed_filter.value is not None
            and x.shape == x_filter.raw.shape == x_filter.value.shape == speed_filter.value.shape
        ):
            # The steps below in one compiled call (same values).
            speed, smoothed_speed, out = np.empty_like(x), np.empty_like(x), np.empty_like(x)
            self._kernels.one_euro_step(
                np.ascontiguousarray(x),
                np.ascontiguousarray(x_filter.raw),
                np.ascontiguousarray(x_filter.value),
                np.ascontiguousarray(speed_filter.value),
                float(value_scale),
                self.frequency,
                self.min_cutoff,
                self.beta,
                self.derivate_cutoff,
                speed,
                smoothed_speed,
                out,
            )
            speed_filter.raw, speed_filter.value = speed, smoothed_speed
            x_filter.raw, x_filter.value = x.copy(), out
            return out
        if self._x.raw is None:
            dx = np.zeros(x.shape, np.float64)
        else:
            dx = (x.astype(np.float64) - self._x.raw) * value_scale * self.frequency
        edx = self._dx.apply(dx.astype(np.float32), self._alpha(self.derivate_cutoff))
        cutoff = self.min_cutoff + self.beta * np.abs(edx.astype(np.float64))
        return self._x.apply(x, np.asarray(self._alpha(cutoff), np.float32))


@dataclass(frozen=True)
class OneEuroParams:
    """Parameters of one landmark set's One Euro filter."""

    min_cutoff: float
    beta: float
    derivate_cutoff: float = 1.0
    scale_by_object: bool = True


# MediaPipe Pose's filters (pose_landmark_filtering graph).
IMAGE_LANDMARK_FILTER = OneEuroParams(min_cutoff=0.05, beta=80.0)
AUX_LANDMARK_FILTER = OneEuroParams(min_cutoff=0.01, beta=10.0)
WORLD_LANDMARK_FILTER = OneEuroParams(min_cutoff=0.1, beta=40.0, scale_by_object=False)


class LandmarkSmoother:
    """Smooths one set of landmarks over time: visibility by a low-pass
    filter, coordinates by a One Euro filter.

    For image landmarks the coordinates are filtered in pixels (``x * W,
    y * H, z * W``) and the speed is divided by the object's size in pixels,
    so that smoothing does not depend on how large the person is in the
    frame.
    """

    def __init__(self, params: OneEuroParams, visibility_alpha: float = VISIBILITY_ALPHA) -> None:
        self.params = params
        self.visibility = LowPassFilter(visibility_alpha)
        self.coords = OneEuroFilter(params.min_cutoff, params.beta, params.derivate_cutoff)

    def reset(self) -> None:
        self.visibility.reset()
        self.coords.reset()

    def apply(
        self,
        xyz: np.ndarray,
        visibility: np.ndarray,
        timestamp_us: int,
        object_scale: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Filters one frame.

        Args:
            xyz: (K, 3) coordinates (pixels for image landmarks, metres for
                world landmarks).
            visibility: (K,) visibility.
            timestamp_us: Frame time in microseconds.
            object_scale: Object size in pixels; needed when the filter scales
                by the object.

        Returns:
            Filtered ``(xyz, visibility)``, float32.
        """
        stepped = self._step_in_one_call(xyz, visibility, timestamp_us, object_scale)
        if stepped is not None:
            return stepped
        vis = self.visibility.apply(visibility)
        value_scale = 1.0
        if self.params.scale_by_object:
            if object_scale is None:
                raise ValueError("this filter needs the object scale")
            if np.float32(object_scale) < np.float32(MIN_OBJECT_SCALE):
                return np.asarray(xyz, np.float32), vis
            value_scale = float(np.float32(1) / np.float32(object_scale))
        return self.coords.apply(xyz, timestamp_us, value_scale), vis

    def _step_in_one_call(
        self, xyz: np.ndarray, visibility: np.ndarray, timestamp_us: int, object_scale: float | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The usual step (both filters with a previous value of the same shape, a later timestamp, a usable
        object scale) in one compiled call, with the values of the filters' own steps; None otherwise (no
        kernels, or a case those steps handle: the first samples, a repeated time, a tiny object)."""
        coords, vis_filter = self.coords, self.visibility
        kernels, last = coords._kernels, coords._last_time_us
        x_filter, speed_filter = coords._x, coords._dx
        if (
            kernels is None
            or last is None
            or timestamp_us <= last
            or vis_filter.alpha is None
            or vis_filter.value is None
            or x_filter.raw is None
            or x_filter.value is None
            or speed_filter.value is None
        ):
            return None
        value_scale = 1.0
        if self.params.scale_by_object:
            if object_scale is None or np.float32(object_scale) < np.float32(MIN_OBJECT_SCALE):
                return None
            value_scale = float(np.float32(1) / np.float32(object_scale))
        x = np.array(xyz, np.float32, order="C")  # copies: the filters keep them as their raw values
        vis = np.array(visibility, np.float32, order="C")
        if not (x.shape == x_filter.raw.shape == x_filter.value.shape == speed_filter.value.shape) or (
            vis.shape != vis_filter.value.shape
        ):
            return None
        if last != 0 and timestamp_us != 0:
            coords.frequency = 1.0 / (((timestamp_us - last) * 1000) * 1e-9)
        coords._last_time_us = timestamp_us
        speed, smoothed_speed, out, vis_out = np.empty_like(x), np.empty_like(x), np.empty_like(x), np.empty_like(vis)
        kernels.smoother_step(
            x,
            x_filter.raw,
            x_filter.value,
            speed_filter.value,
            vis,
            vis_filter.value,
            value_scale,
            coords.frequency,
            coords.min_cutoff,
            coords.beta,
            coords.derivate_cutoff,
            float(vis_filter.alpha),
            speed,
            smoothed_speed,
            out,
            vis_out,
        )
        speed_filter.raw, speed_filter.value = speed, smoothed_speed
        x_filter.raw, x_filter.value = x, out
        vis_filter.raw, vis_filter.value = vis, vis_out
        return out, vis_out
