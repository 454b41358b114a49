"""OpenVINO engine (the ``openvino`` extra), reading the vendored ``.tflite`` files directly."""

from __future__ import annotations

import ctypes
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np


def _openvino() -> Any:
    """The openvino module.

    Raises:
        RuntimeError: openvino is not installed.
    """
    try:
        import openvino as ov
    except ImportError as e:
        raise RuntimeError("backend 'openvino' needs OpenVINO: pip install 'blazepose[openvino]'") from e
    return ov


def cpu_capabilities(core: Any | None = None) -> list[str]:
    """What OpenVINO's CPU plugin says this CPU computes natively (``FP32``, ``BF16``, ``INT8``...).

    Args:
        core: An ``openvino.Core`` to ask (None: a new one).

    Raises:
        RuntimeError: openvino is not installed.
    """
    with signal_stack_kept():
        core = _openvino().Core() if core is None else core
        return [str(c) for c in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")]


def bfloat16_unsupported(core: Any | None = None) -> str | None:
    """Why this CPU cannot compute in bfloat16 (as OpenVINO's CPU plugin, through ``core``, sees it), or None
    when it can."""
    capabilities = cpu_capabilities(core)
    if "BF16" in capabilities:
        return None
    return (
        "precision 'bfloat16' needs a CPU that computes bfloat16 (Intel AMX or AVX-512 BF16); "
        f"OpenVINO finds only {', '.join(capabilities)} on this one"
    )


class OpenVINOModel:
    """A ``.tflite`` model compiled by OpenVINO for the CPU, in float32 or (asked for) bfloat16.

    OpenVINO would otherwise compute in bfloat16 on CPUs that have it, far
    from LiteRT's answers; ``INFERENCE_PRECISION_HINT`` keeps float32 unless
    ``bfloat16`` is asked for, and then only where the CPU computes it
    (OpenVINO would quietly fall back to float32 elsewhere).

    Args:
        model: The ``.tflite`` file's bytes.
        num_threads: Inference threads (None: OpenVINO's choice).
        bfloat16: Compute in bfloat16 (Intel AMX or AVX-512 BF16 needed).

    Raises:
        RuntimeError: openvino is not installed, or ``bfloat16`` on a CPU
            that does not compute it.
    """

    def __init__(self, model: bytes, num_threads: int | None = None, bfloat16: bool = False) -> None:
        ov = _openvino()
        with signal_stack_kept():
            self._core = ov.Core()
        if bfloat16 and (why := bfloat16_unsupported(self._core)):
            raise RuntimeError(why)
        with signal_stack_kept():
            with tempfile.TemporaryDirectory() as folder:  # OpenVINO reads .tflite models from files only
                path = Path(folder) / "model.tflite"
                path.write_bytes(model)
                self._model = self._core.read_model(str(path))
        self.num_threads = num_threads
        self._config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": "bf16" if bfloat16 else "f32"}
        if num_threads is not None:
            self._config["INFERENCE_NUM_THREADS"] = num_threads
        self.input_shape = tuple(int(d) for d in self._model.inputs[0].get_shape())
        self.output_shapes = tuple(tuple(int(d) for d in o.get_shape()) for o in self._model.outputs)
        self._requests: dict[int, Any] = {1: self._compile(self._model)}

    def _compile(self, model: Any) -> Any:
        with signal_stack_kept():
            return self._core.compile_model(model, "CPU", self._config).create_infer_request()

    def run(self, tensor: np.ndarray, outputs: Sequence[int] | None = None) -> list[np.ndarray | None]:
        if tensor.shape != self.input_shape or tensor.dtype != np.float32:
            raise ValueError(f"model input must be float32 {self.input_shape}, got {tensor.dtype} {tensor.shape}")
        return self._run(self._requests[1], tensor, outputs)

    def run_batch(self, batch: np.ndarray, outputs: Sequence[int] | None = None) -> list[np.ndarray | None]:
        one = self.input_shape[1:]
        if batch.ndim != len(self.input_shape) or batch.shape[1:] != one or batch.dtype != np.float32:
            raise ValueError(f"batch must be float32 (N, {', '.join(map(str, one))}), got {batch.dtype} {batch.shape}")
        n = batch.shape[0]
        request = self._requests.get(n)
        if request is None:
            model = self._model.clone()
            try:
                model.reshape({model.inputs[0]: [n, *one]})
            except RuntimeError as e:
                raise ValueError(f"this model does not take a batch of {n}: {e}") from None
            shapes = [tuple(int(d) for d in o.get_shape()) for o in model.outputs]
            if any(s[0] != n or s[1:] != o[1:] for s, o in zip(shapes, self.output_shapes, strict=True)):
                raise ValueError(f"this model does not take a batch of {n}: its outputs would be {shapes}")
            request = self._requests[n] = self._compile(model)
        return self._run(request, batch, outputs)

    def _run(self, request: Any, tensor: np.ndarray, outputs: Sequence[int] | None) -> list[np.ndarray | None]:
        request.infer({0: tensor})
        wanted = range(len(self.output_shapes)) if outputs is None else outputs
        result: list[np.ndarray | None] = [None] * len(self.output_shapes)
        for k in wanted:
            result[k] = np.array(request.get_output_tensor(k).data, np.float32, copy=True)
        return result

    def close(self) -> None:
        self._requests.clear()


class _SignalStack(ctypes.Structure):
    """Linux's ``stack_t``."""

    _fields_ = [("ss_sp", ctypes.c_void_p), ("ss_flags", ctypes.c_int), ("ss_size", ctypes.c_size_t)]


@contextmanager
def signal_stack_kept() -> Iterator[None]:
    """Gives the calling thread back its alternate signal stack after the block (Linux).

    OpenVINO's CPU plugin, when it starts, installs an alternate signal stack
    on the thread that loads it and frees that memory when it is unloaded
    (the last engine gone) without removing it. Python's signal handlers run
    on the alternate stack, so the next Ctrl-C or SIGTERM that reached the
    thread killed the process with SIGSEGV instead of raising
    KeyboardInterrupt (seen with openvino 2026.x; tests/backends/test_other_engines.py).
    """
    libc = _libc()
    saved = _SignalStack()
    if libc is None or libc.sigaltstack(None, ctypes.byref(saved)) != 0:
        yield
        return
    try:
        yield
    finally:
        libc.sigaltstack(ctypes.byref(saved), None)


def _libc() -> Any:
    """The C library, where its ``stack_t`` is :class:`_SignalStack` (Linux), else None."""
    return ctypes.CDLL(None) if sys.platform.startswith("linux") else None
