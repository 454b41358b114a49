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


_NO_VALUES = np.empty(0, np.float32)
"""No visibility for the compiled One Euro step: the step alone."""


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
        if not self._advance(timestamp_us):
            return x.copy()
        if self._can_step_compiled(x):
            out, _ = self._step_compiled(x.copy(), float(value_scale))  # the steps below, same values
            return out
        if self._x.raw is None:
            dx = np.zeros(x.shape, np.float64)
        else:
            dx = (x.astype(np.float64) - self._x.raw) * value_scale * self.frequency
        edx = self._dx.apply(dx.astype(np.float32), self._alpha(self.derivate_cutoff))
        cutoff = self.min_cutoff + self.beta * np.abs(edx.astype(np.float64))
        return self._x.apply(x, np.asarray(self._alpha(cutoff), np.float32))

    def _advance(self, timestamp_us: int) -> bool:
        """Moves the clock to a new sample's time, the sampling rate from the step (not across a timestamp
        of 0, as in MediaPipe); False, changing nothing, for a time not after the previous one."""
        last = self._last_time_us
        if last is not None and timestamp_us <= last:
            return False
        if last is not None and last != 0 and timestamp_us != 0:
            self.frequency = 1.0 / (((timestamp_us - last) * 1000) * 1e-9)
        self._last_time_us = timestamp_us
        return True

    def _can_step_compiled(self, x: np.ndarray) -> bool:
        """Whether :meth:`_step_compiled` can take ``x``: the kernels built, and a previous value of its shape."""
        x_filter, speed_filter = self._x, self._dx
        return (
            self._kernels is not None
            and x_filter.raw is not None
            and x_filter.value is not None
            and speed_filter.value is not None
            and x.shape == x_filter.raw.shape == x_filter.value.shape == speed_filter.value.shape
        )

    def _step_compiled(
        self,
        x: np.ndarray,
        value_scale: float,
        visibility: np.ndarray = _NO_VALUES,
        visibility_filter: LowPassFilter | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """A step after :meth:`_advance`, in one compiled call with the numpy steps' values; with
        ``visibility`` and its low-pass filter (which has a previous value of its shape), that filter's step
        in the same call (a landmark smoother's).

        Args:
            x: C-ordered float32 sample, kept as the filter's raw value (a copy nobody else holds).
            value_scale: What the speed is multiplied by.
            visibility: C-ordered float32 values, kept likewise.
            visibility_filter: Their low-pass filter.

        Returns:
            The filtered sample and the filtered visibility (empty without one).
        """
        assert self._kernels is not None
        x_filter, speed_filter = self._x, self._dx
        if visibility_filter is None:
            previous, alpha, visibility_out = _NO_VALUES, 1.0, _NO_VALUES
        else:
            assert visibility_filter.value is not None and visibility_filter.alpha is not None
            previous, alpha = visibility_filter.value, float(visibility_filter.alpha)
            visibility_out = np.empty_like(visibility)
        speed, smoothed_speed, out = np.empty_like(x), np.empty_like(x), np.empty_like(x)
        self._kernels.smoother_step(
            x,
            x_filter.raw,
            x_filter.value,
            speed_filter.value,
            visibility,
            previous,
            value_scale,
            self.frequency,
            self.min_cutoff,
            self.beta,
            self.derivate_cutoff,
            alpha,
            speed,
            smoothed_speed,
            out,
            visibility_out,
        )
        speed_filter.raw, speed_filter.value = speed, smoothed_speed
        x_filter.raw, x_filter.value = x, out
        if visibility_filter is not None:
            visibility_filter.raw, visibility_filter.value = visibility, visibility_out
        return out, visibility_out


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
        value_scale = self._value_scale(object_scale)
        if value_scale is not None:
            stepped = self._step_in_one_call(xyz, visibility, timestamp_us, value_scale)
            if stepped is not None:
                return stepped
        vis = self.visibility.apply(visibility)
        if value_scale is None:
            if object_scale is None:
                raise ValueError("this filter needs the object scale")
            return np.asarray(xyz, np.float32), vis
        return self.coords.apply(xyz, timestamp_us, value_scale), vis

    def _value_scale(self, object_scale: float | None) -> float | None:
        """What the coordinates' speed is multiplied by: 1, or for a filter scaled by the object one over
        its size in float32; None where that size is missing or below ``MIN_OBJECT_SCALE``."""
        if not self.params.scale_by_object:
            return 1.0
        if object_scale is None or np.float32(object_scale) < np.float32(MIN_OBJECT_SCALE):
            return None
        return float(np.float32(1) / np.float32(object_scale))

    def _step_in_one_call(
        self, xyz: np.ndarray, visibility: np.ndarray, timestamp_us: int, value_scale: float
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Both filters' step in one compiled call where both have a previous value of the sample's shape and
        the time is after the previous one; None, changing nothing, otherwise (the filters' own steps take it)."""
        coords, vis_filter = self.coords, self.visibility
        if coords._kernels is None or vis_filter.alpha is None or vis_filter.value is None:
            return None
        x = np.array(xyz, np.float32, order="C")  # copies: the filters keep them as their raw values
        vis = np.array(visibility, np.float32, order="C")
        if vis.shape != vis_filter.value.shape or not coords._can_step_compiled(x) or not coords._advance(timestamp_us):
            return None
        return coords._step_compiled(x, value_scale, vis, vis_filter)
