"""LiteRT (``ai-edge-litert``) engine with the XNNPACK CPU delegate."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from blazepose.backends import QUIET_VARIABLE

T = TypeVar("T")

BATCH_INTERPRETERS_KEPT = 8
"""Batch sizes whose resized interpreter :meth:`LiteRTModel.run_batch` keeps (each holds its own activations:
a StreamBatch of many streams sees many sizes)."""


class LiteRTModel:
    """A ``.tflite`` model run by the LiteRT interpreter."""

    def __init__(self, model: bytes, num_threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.num_threads = num_threads
        """Threads given to the interpreter (None: LiteRT's own choice)."""
        self._model = model
        self._batched: dict[int, Any] = {}  # by batch size, least recently used first
        self._interpreter = Interpreter(model_content=model, num_threads=num_threads)
        _quietly(self._interpreter.allocate_tensors)
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

    def run_in_place(
        self,
        fill: Callable[[np.ndarray], None],
        use: Callable[[list[np.ndarray | None]], T],
        outputs: Sequence[int],
    ) -> T:
        """Runs the model with ``fill`` writing into the interpreter's input and ``use`` reading its outputs
        where they lie (see :class:`blazepose.backends.InPlaceModel`): no input or output copies.

        Raises:
            RuntimeError: ``fill`` or ``use`` kept a view of the interpreter's
                memory from an earlier run (LiteRT refuses to invoke then).
        """
        interpreter = self._interpreter
        view = interpreter.tensor(self._input_index)()
        try:
            fill(view)
        except BaseException as error:
            _forget_views(error)
            raise
        finally:
            del view  # LiteRT invokes only when no view of its memory is left
        interpreter.invoke()
        views: list[np.ndarray | None] = [None] * len(self._output_indices)
        for k in outputs:
            views[k] = interpreter.tensor(self._output_indices[k])()
        try:
            return use(views)
        except BaseException as error:
            _forget_views(error)
            raise
        finally:
            views.clear()

    def run_batch(self, batch: np.ndarray, outputs: Sequence[int] | None = None) -> list[np.ndarray | None]:
        """Runs the model on ``N`` inputs stacked on the first axis, in one invocation.

        A second interpreter with its input resized to ``N`` is made the
        first time each ``N`` is seen (and kept, for the
        ``BATCH_INTERPRETERS_KEPT`` sizes used last). Each item's outputs are
        the same bits as :meth:`run` on that item alone (XNNPACK computes
        the items independently; tests/backends checks it).

        Raises:
            ValueError: wrong input shape or dtype, or a model whose graph
                fixes the batch size (such as the person detector).
        """
        one = self.input_shape[1:]
        if batch.ndim != len(self.input_shape) or batch.shape[1:] != one or batch.dtype != np.float32:
            raise ValueError(f"batch must be float32 (N, {', '.join(map(str, one))}), got {batch.dtype} {batch.shape}")
        n = batch.shape[0]
        if n == 1:
            return self.run(batch, outputs)
        interpreter = self._batched.pop(n, None)
        if interpreter is None:
            interpreter = self._resized(n)
            while len(self._batched) >= BATCH_INTERPRETERS_KEPT:
                del self._batched[next(iter(self._batched))]  # the least recently used size
        self._batched[n] = interpreter
        interpreter.set_tensor(self._input_index, batch)
        interpreter.invoke()
        wanted = range(len(self._output_indices)) if outputs is None else outputs
        result: list[np.ndarray | None] = [None] * len(self._output_indices)
        for k in wanted:
            result[k] = interpreter.get_tensor(self._output_indices[k])
        return result

    def _resized(self, n: int) -> Any:
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_content=self._model, num_threads=self.num_threads)
        interpreter.resize_tensor_input(self._input_index, [n, *self.input_shape[1:]])
        try:
            _quietly(interpreter.allocate_tensors)
        except (RuntimeError, ValueError) as e:
            raise ValueError(f"this model does not take a batch of {n}: {e}") from None
        shapes = [tuple(int(d) for d in o["shape"]) for o in interpreter.get_output_details()]
        if any(s[0] != n or s[1:] != one[1:] for s, one in zip(shapes, self.output_shapes, strict=True)):
            raise ValueError(f"this model does not take a batch of {n}: its outputs would be {shapes}")
        return interpreter

    def close(self) -> None:
        self._interpreter = None
        self._batched.clear()


_STDERR_SWAP = threading.Lock()
"""Held while file descriptor 2 is swapped for a temporary file: two threads swapping at once would leave
fd 2 pointing at the first one's file (the second saves it as "the original")."""

DELEGATE_NOTICE = b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
"""What LiteRT's C++ logger writes to stderr (file descriptor 2) once per process, on the first interpreter."""


def _quietly(make: Callable[[], T]) -> T:
    """``make()``; under ``$BLAZEPOSE_QUIET_ENGINES=1`` without LiteRT's delegate notice (written when an
    interpreter allocates its tensors): file descriptor 2 goes to a temporary file meanwhile, and everything
    else written there (other threads' messages, warnings) is written to stderr after, in order."""
    if os.environ.get(QUIET_VARIABLE) != "1":
        return make()
    with _STDERR_SWAP, tempfile.TemporaryFile() as captured:  # one swap at a time: fd 2 is the process's
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            return make()
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().splitlines(keepends=True) if line.strip() != DELEGATE_NOTICE]
            data = b"".join(kept)
            while data:
                data = data[os.write(2, data) :]


def _forget_views(error: BaseException) -> None:
    """Clears the locals of the finished frames ``error``'s traceback holds (a callback's views of the
    interpreter's buffers among them), so that a caller keeping the error does not block every later run."""
    import traceback

    traceback.clear_frames(error.__traceback__)
