"""The inference seam: a model engine that runs one float32 tensor in, several out.

The pipeline talks only to :class:`InferenceModel`. LiteRT (XNNPACK) is the
default engine; other engines plug in by name in :func:`load_model` and are
imported only when chosen.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol, TypeVar

import numpy as np

DEFAULT_BACKEND = "litert"
MODEL_FORMATS = {
    "litert": "tflite",
    "onnxruntime": "onnx",
    "onnxruntime-cuda": "onnx",
    "onnxruntime-tensorrt": "onnx",
    "openvino": "tflite",
}
"""Engine name -> the model files it reads: the vendored ``.tflite`` or a converted format."""
BACKENDS = tuple(MODEL_FORMATS)
PRECISIONS = ("float32", "int8", "bfloat16")
"""Model precisions: the official float32 models (default); int8 files (made by scripts/quantize_int8.py); or
the official models computed in bfloat16 by an engine on a CPU that has it (AMX or AVX-512 BF16)."""
DEFAULT_PRECISION = "float32"
INT8_BACKENDS = ("litert",)
"""Engines that have int8 model files (static int8 ``.tflite``, run by XNNPACK's int8 kernels)."""
BFLOAT16_BACKENDS = ("openvino",)
"""Engines that compute the official models in bfloat16 (OpenVINO, on CPUs with native bfloat16)."""
PRECISION_BACKENDS = {"int8": INT8_BACKENDS, "bfloat16": BFLOAT16_BACKENDS}
"""Reduced precision -> the engines that offer it."""
MAX_DEFAULT_THREADS = 4
"""Cap on the default thread count: beyond four threads these small models gain little."""


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

    def run_batch(self, batch: np.ndarray, outputs: Sequence[int] | None = None) -> list[np.ndarray | None]:
        """Runs the model on ``N`` inputs stacked on the first axis (``(N, *input_shape[1:])``).

        Returns:
            The outputs with ``N`` on their first axis, as :meth:`run`.

        Raises:
            ValueError: the model cannot take a batch of ``N``.
        """
        ...

    def close(self) -> None:
        """Frees the engine's resources."""
        ...


T = TypeVar("T")


class InPlaceModel(Protocol):
    """An engine that also lets the caller write its input and read its outputs where they lie (no copies).

    Engines may offer :meth:`run_in_place` beside :class:`InferenceModel`'s
    methods; the pipeline uses it where it is offered (LiteRT does) and
    :meth:`InferenceModel.run` otherwise, with the same results.
    """

    def run_in_place(
        self,
        fill: Callable[[np.ndarray], None],
        use: Callable[[list[np.ndarray | None]], T],
        outputs: Sequence[int],
    ) -> T:
        """Runs the model once on an input written in place.

        Args:
            fill: Writes the input into the array it is given (the engine's
                own input buffer, of ``input_shape``); it must not keep it.
            use: Reads the outputs (positions in ``outputs`` hold the
                engine's own buffers, the others None) and returns what it
                needs from them, copied: the buffers are overwritten by the
                next run.
            outputs: The outputs to give ``use``.

        Returns:
            What ``use`` returned.
        """
        ...


def available_cores() -> int:
    """CPU cores this process may run on (its affinity where the OS tells it, else the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no sched_getaffinity
        return max(1, os.cpu_count() or 1)


THREADS_VARIABLE = "BLAZEPOSE_NUM_THREADS"
"""Environment variable that sets the default thread count (for example 1 on a machine shared with other work)."""

MAX_THREADS = 1024
"""Most inference threads taken (XNNPACK fails to prepare its graph with tens of thousands)."""


QUIET_VARIABLE = "BLAZEPOSE_QUIET_ENGINES"
"""Environment variable: ``1`` drops the engines' own start-up notices from stderr (LiteRT's "INFO: Created
TensorFlow Lite XNNPACK delegate for CPU.", printed by its C++ logger, which Python cannot silence);
``blazepose`` commands set it under ``--quiet``, for their worker processes too."""


@contextmanager
def engine_notices_quiet(quiet: bool = True) -> Iterator[None]:
    """Sets :data:`QUIET_VARIABLE` while the block runs (when ``quiet``), and puts back what was there."""
    if not quiet:
        yield
        return
    before = os.environ.get(QUIET_VARIABLE)
    os.environ[QUIET_VARIABLE] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(QUIET_VARIABLE, None)
        else:
            os.environ[QUIET_VARIABLE] = before


def default_num_threads() -> int:
    """Inference threads used when the caller gives none.

    ``$BLAZEPOSE_NUM_THREADS`` when set, else the available cores, at most
    :data:`MAX_DEFAULT_THREADS`. On cores busy with other work, more threads
    can be slower than one (each waits for the others).

    Raises:
        ValueError: ``$BLAZEPOSE_NUM_THREADS`` is not a positive integer.

    XNNPACK splits each layer's outputs between threads without changing
    the order of any sum, so every thread count gives the same bits
    (tests/backends/test_backends.py checks it on all four models).
    """
    value = os.environ.get(THREADS_VARIABLE, "").strip()
    if value:
        if not value.isdigit() or not 1 <= int(value) <= MAX_THREADS:
            raise ValueError(f"{THREADS_VARIABLE} must be an integer in 1..{MAX_THREADS}, got {value!r}")
        return int(value)
    return min(available_cores(), MAX_DEFAULT_THREADS)


def resolve_num_threads(num_threads: int | None) -> int:
    """The thread count to use: ``num_threads`` when given (checked), else :func:`default_num_threads`.

    Raises:
        ValueError: ``num_threads`` is not an int in 1..MAX_THREADS or None.
    """
    if num_threads is None:
        return default_num_threads()
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or not 1 <= num_threads <= MAX_THREADS:
        raise ValueError(f"num_threads must be an int in 1..{MAX_THREADS} or None, got {num_threads!r}")
    return num_threads


def engine_threads(model: object) -> int:
    """The CPU threads a loaded engine was given (its ``num_threads``), 1 when it does not say."""
    threads = getattr(model, "num_threads", None)
    return threads if isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1 else 1


def model_format(backend: str) -> str:
    """The model file format the named engine reads (``tflite``, ``onnx``).

    Raises:
        ValueError: unknown backend.
    """
    if backend not in MODEL_FORMATS:
        raise ValueError(f"unknown inference backend {backend!r}; expected one of {BACKENDS}")
    return MODEL_FORMATS[backend]


def check_precision(precision: str, backend: str | None = DEFAULT_BACKEND) -> str:
    """Checks a model precision against the engine that will run it (None: only the precision's name).

    Returns:
        ``precision``.

    Raises:
        ValueError: unknown precision or backend, ``"int8"`` with an engine
            that has no int8 model files, or ``"bfloat16"`` with an engine
            that does not compute in it.
    """
    if backend is not None:
        model_format(backend)
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    engines = PRECISION_BACKENDS.get(precision, BACKENDS)
    if backend is not None and backend not in engines:
        offered = "has model files" if precision == "int8" else "is computed"
        raise ValueError(
            f"precision {precision!r} {offered} only for backend {' or '.join(map(repr, engines))}, "
            f"got backend {backend!r}"
        )
    return precision


def precision_backend(precision: str) -> str:
    """The engine that runs ``precision`` unless told otherwise: the first that offers a reduced precision,
    else :data:`DEFAULT_BACKEND`."""
    return PRECISION_BACKENDS[precision][0] if precision in PRECISION_BACKENDS else DEFAULT_BACKEND


def precision_unavailable(precision: str, backend: str) -> str | None:
    """Why ``precision`` cannot run on this machine's CPU with the named engine (checked), or None.

    Only ``"bfloat16"`` depends on the CPU: it asks OpenVINO (imported
    here) whether the CPU computes bfloat16 natively. Without that OpenVINO
    would quietly compute in float32, as slow as the default.

    Raises:
        ValueError: as :func:`check_precision`.
    """
    check_precision(precision, backend)
    if precision != "bfloat16" or backend_unavailable(backend):
        return None
    from blazepose.backends.openvino import bfloat16_unsupported

    return bfloat16_unsupported()


ENGINE_PACKAGES = {
    "litert": ("ai_edge_litert", "pip install ai-edge-litert"),
    "openvino": ("openvino", "pip install 'blazepose[openvino]'"),
    "onnxruntime": ("onnxruntime", "pip install 'blazepose[onnxruntime]'"),
    "onnxruntime-cuda": ("onnxruntime", "pip install 'blazepose[gpu]' (onnxruntime-gpu, in place of onnxruntime)"),
    "onnxruntime-tensorrt": ("onnxruntime", "pip install 'blazepose[gpu]' (onnxruntime-gpu) and NVIDIA TensorRT"),
}
"""Engine name -> the Python module it needs and how to install it."""


def backend_unavailable(backend: str) -> str | None:
    """Why the named engine cannot run here (its package or ONNX Runtime execution provider is missing), or None.

    Loads no model; imports ONNX Runtime to ask for its providers when an
    ``onnxruntime`` engine is named.

    Raises:
        ValueError: unknown backend.
    """
    model_format(backend)
    module, install = ENGINE_PACKAGES[backend]
    if importlib.util.find_spec(module) is None:
        return f"backend {backend!r} needs the {module} package: {install}"
    if module == "onnxruntime":
        import onnxruntime as ort

        from blazepose.backends.onnxruntime import PROVIDERS

        available = ort.get_available_providers()
        if PROVIDERS[backend] not in available:
            provider = PROVIDERS[backend]
            return f"backend {backend!r} needs ONNX Runtime's {provider}; this install has {available}: {install}"
    return None


def load_model(
    model: bytes, backend: str = DEFAULT_BACKEND, num_threads: int | None = None, bfloat16: bool = False
) -> InferenceModel:
    """Loads a model into the named engine.

    Args:
        model: The model file's bytes, in the engine's :func:`model_format`.
        backend: Engine name, one of :data:`BACKENDS`.
        num_threads: CPU threads for the engine; None: :func:`default_num_threads`.
        bfloat16: Compute in bfloat16 (an engine of :data:`BFLOAT16_BACKENDS`).

    Raises:
        ValueError: unknown backend, bad thread count, or ``bfloat16`` with
            an engine that does not offer it.
        RuntimeError: ``bfloat16`` on a CPU that does not compute it.
    """
    threads = resolve_num_threads(num_threads)
    if bfloat16:
        check_precision("bfloat16", backend)
    if backend == "litert":
        from blazepose.backends.litert import LiteRTModel

        return LiteRTModel(model, num_threads=threads)
    if backend == "openvino":
        from blazepose.backends.openvino import OpenVINOModel

        return OpenVINOModel(model, num_threads=threads, bfloat16=bfloat16)
    if backend in MODEL_FORMATS and MODEL_FORMATS[backend] == "onnx":
        from blazepose.backends.onnxruntime import OnnxRuntimeModel

        return OnnxRuntimeModel(model, num_threads=threads, backend=backend)
    raise ValueError(f"unknown inference backend {backend!r}; expected one of {BACKENDS}")
