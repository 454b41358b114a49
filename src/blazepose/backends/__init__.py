"""The inference seam: a model engine that runs one float32 tensor in, several out.

The pipeline talks only to :class:`InferenceModel`. LiteRT (XNNPACK) is the
default engine; other engines plug in by name in :func:`load_model` and are
imported only when chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

DEFAULT_BACKEND = "litert"
BACKENDS = ("litert",)


class InferenceModel(Protocol):
    """A loaded model with a single float32 input."""

    input_shape: tuple[int, ...]
    """Shape of the input tensor, for example ``(1, 256, 256, 3)``."""

    output_shapes: tuple[tuple[int, ...], ...]
    """Shapes of the outputs, in the order :meth:`run` returns them."""

    def run(self, tensor: np.ndarray, outputs: Sequence[int] | None = None) -> list[np.ndarray | None]:
        """Runs the model on one input tensor.

        Returns:
            The outputs (copies), in model order; only those listed in
            ``outputs`` (positions) when given, the others None.
        """
        ...

    def close(self) -> None:
        """Frees the engine's resources."""
        ...


def load_model(model: bytes, backend: str = DEFAULT_BACKEND, num_threads: int | None = None) -> InferenceModel:
    """Loads a ``.tflite`` model into the named engine.

    Args:
        model: The model file's bytes.
        backend: Engine name, one of :data:`BACKENDS`.
        num_threads: CPU threads for the engine; None lets it choose.

    Raises:
        ValueError: unknown backend or bad thread count.
    """
    if num_threads is not None and (
        isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1
    ):
        raise ValueError(f"num_threads must be a positive int or None, got {num_threads!r}")
    if backend == "litert":
        from blazepose.backends.litert import LiteRTModel

        return LiteRTModel(model, num_threads=num_threads)
    raise ValueError(f"unknown inference backend {backend!r}; expected one of {BACKENDS}")
