"""LiteRT (``ai-edge-litert``) engine with the XNNPACK CPU delegate."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class LiteRTModel:
    """A ``.tflite`` model run by the LiteRT interpreter."""

    def __init__(self, model: bytes, num_threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.num_threads = num_threads
        """Threads given to the interpreter (None: LiteRT's own choice)."""
        self._interpreter = Interpreter(model_content=model, num_threads=num_threads)
        self._interpreter.allocate_tensors()
        (inp,) = self._interpreter.get_input_details()
        if inp["dtype"] != np.float32:
            raise ValueError(f"expected a float32 model input, got {inp['dtype']}")
        self._input_index = int(inp["index"])
        self.input_shape = tuple(int(d) for d in inp["shape"])
        outputs = self._interpreter.get_output_details()
        self._output_indices = [int(o["index"]) for o in outputs]
        self.output_shapes = tuple(tuple(int(d) for d in o["shape"]) for o in outputs)

    def run(self, tensor: np.ndarray, outputs: Sequence[int] | None = None) -> list[np.ndarray | None]:
        if tensor.shape != self.input_shape or tensor.dtype != np.float32:
            raise ValueError(f"model input must be float32 {self.input_shape}, got {tensor.dtype} {tensor.shape}")
        self._interpreter.set_tensor(self._input_index, tensor)
        self._interpreter.invoke()
        wanted = range(len(self._output_indices)) if outputs is None else outputs
        result: list[np.ndarray | None] = [None] * len(self._output_indices)
        for k in wanted:
            result[k] = self._interpreter.get_tensor(self._output_indices[k])
        return result

    def close(self) -> None:
        self._interpreter = None
