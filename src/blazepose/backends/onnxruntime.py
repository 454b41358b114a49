"""ONNX Runtime engine (the ``onnxruntime`` extra), on the models converted by scripts/convert_onnx.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

PROVIDERS = {
    "onnxruntime": "CPUExecutionProvider",
    "onnxruntime-cuda": "CUDAExecutionProvider",
    "onnxruntime-tensorrt": "TensorrtExecutionProvider",
}
"""Backend name -> the ONNX Runtime execution provider it asks for (the CPU provider backs the others)."""


def _fixed(shape: Sequence[Any]) -> tuple[int, ...]:
    """A model's shape with symbolic dimensions (the batch) read as 1."""
    return tuple(d if isinstance(d, int) else 1 for d in shape)


class OnnxRuntimeModel:
    """An ONNX model run by an ONNX Runtime session.

    Args:
        model: The ``.onnx`` file's bytes.
        num_threads: Intra-op threads (None: ONNX Runtime's choice).
        backend: One of :data:`PROVIDERS`, naming the execution provider.

    Raises:
        RuntimeError: onnxruntime is not installed.
        ValueError: the provider is not available in the installed
            onnxruntime (for example CUDA without ``onnxruntime-gpu``).
    """

    def __init__(self, model: bytes, num_threads: int | None = None, backend: str = "onnxruntime") -> None:
        try:
            import onnxruntime as ort
        except ImportError as e:
            from blazepose.backends import ENGINE_PACKAGES

            raise RuntimeError(f"backend {backend!r} needs ONNX Runtime: {ENGINE_PACKAGES[backend][1]}") from e
        provider = PROVIDERS[backend]
        available = ort.get_available_providers()
        if provider not in available:
            raise ValueError(f"backend {backend!r} needs ONNX Runtime's {provider}; this install has {available}")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.inter_op_num_threads = 1
        if num_threads is not None:
            options.intra_op_num_threads = num_threads
        self.num_threads = num_threads
        # CUDA's TF32 convolutions (ONNX Runtime's default on Ampere and later) move landmarks by pixels: off.
        chosen = (provider, {"use_tf32": "0"}) if provider == "CUDAExecutionProvider" else provider
        providers = [provider] if provider == "CPUExecutionProvider" else [chosen, "CPUExecutionProvider"]
        self._session = ort.InferenceSession(model, options, providers=providers)
        if provider not in self._session.get_providers():
            # ONNX Runtime falls back to the CPU when a provider's libraries (CUDA, cuDNN, TensorRT) fail to load.
            raise ValueError(
                f"backend {backend!r}: ONNX Runtime could not start its {provider} (its libraries did not load; "
                f"see ONNX Runtime's requirements for it); the session has only {self._session.get_providers()}"
            )
        (inp,) = self._session.get_inputs()
        if inp.type != "tensor(float)":
            raise ValueError(f"expected a float32 model input, got {inp.type}")
        self._input_name = inp.name
        self.input_shape = _fixed(inp.shape)
        self.batch_dynamic = not isinstance(inp.shape[0], int)
        outputs = self._session.get_outputs()
        self._output_names = [o.name for o in outputs]
        self.output_shapes = tuple(_fixed(o.shape) for o in outputs)

    def run(self, tensor: np.ndarray, outputs: Sequence[int] | None = None) -> list[np.ndarray | None]:
        if tensor.shape != self.input_shape or tensor.dtype != np.float32:
            raise ValueError(f"model input must be float32 {self.input_shape}, got {tensor.dtype} {tensor.shape}")
        return self._run(tensor, outputs)

    def run_batch(self, batch: np.ndarray, outputs: Sequence[int] | None = None) -> list[np.ndarray | None]:
        one = self.input_shape[1:]
        if batch.ndim != len(self.input_shape) or batch.shape[1:] != one or batch.dtype != np.float32:
            raise ValueError(f"batch must be float32 (N, {', '.join(map(str, one))}), got {batch.dtype} {batch.shape}")
        if batch.shape[0] != 1 and not self.batch_dynamic:
            raise ValueError(f"this model does not take a batch of {batch.shape[0]}: its batch size is fixed")
        return self._run(batch, outputs)

    def _run(self, tensor: np.ndarray, outputs: Sequence[int] | None) -> list[np.ndarray | None]:
        wanted = list(range(len(self._output_names))) if outputs is None else list(outputs)
        values = self._session.run([self._output_names[k] for k in wanted], {self._input_name: tensor})
        result: list[np.ndarray | None] = [None] * len(self._output_names)
        for k, value in zip(wanted, values, strict=True):
            result[k] = np.asarray(value)
        return result

    def close(self) -> None:
        self._session = None
