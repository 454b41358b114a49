"""Converts the vendored .tflite models to ONNX, with provenance and sha256, into packages/blazepose-models-onnx.

Run it in a separate environment that has TensorFlow (tf2onnx needs it;
the library itself does not):

    python3 -m venv .venv-convert
    .venv-convert/bin/pip install tensorflow-cpu tf2onnx onnx onnxruntime
    .venv-convert/bin/python scripts/convert_onnx.py

Steps per model:
1. The person detector stores 38 of its weight tensors sparse (float16 with
   a DENSIFY op, which tf2onnx does not take). TensorFlow's own LiteRT
   interpreter computes each DENSIFY output; the model is rewritten with
   those dense values stored as constants and the DENSIFY ops removed
   (TensorFlow's flatbuffer_utils read and write the file). The weights'
   values are unchanged.
2. tf2onnx converts the .tflite file (opset below).
3. The landmark models get a symbolic batch dimension ``N`` on their input
   and outputs (their graphs compute every item independently), so ONNX
   Runtime can run several crops in one call; the detector keeps batch 1
   (its graph reshapes to a fixed batch).
4. ONNX Runtime runs the converted file beside TensorFlow's interpreter on
   random inputs; the largest difference is written to the manifest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "src" / "blazepose" / "models"
OPSET = 17
NAMES = ("pose_detection", "pose_landmark_lite", "pose_landmark_full", "pose_landmark_heavy")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def densified(tflite_path: Path) -> tuple[bytes, int]:
    """The model with every DENSIFY op replaced by its output stored dense; and how many were replaced."""
    import tensorflow as tf
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(tflite_path))
    graph = model.subgraphs[0]

    def is_densify(op) -> bool:
        code = model.operatorCodes[op.opcodeIndex]
        return max(code.builtinCode, code.deprecatedBuiltinCode) == schema.BuiltinOperator.DENSIFY

    ops = [op for op in graph.operators if is_densify(op)]
    if not ops:
        return tflite_path.read_bytes(), 0
    # Without the default XNNPACK delegate, which would take DENSIFY and its
    # DEQUANTIZE over and leave their output tensors unwritten.
    interpreter = tf.lite.Interpreter(
        model_path=str(tflite_path),
        experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
    shape = interpreter.get_input_details()[0]["shape"]
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], np.zeros(shape, np.float32))
    interpreter.invoke()
    for op in ops:
        out = op.outputs[0]
        dense = interpreter.get_tensor(out)
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(dense.tobytes(), np.uint8)
        model.buffers.append(buffer)
        graph.tensors[out].buffer = len(model.buffers) - 1
        graph.tensors[op.inputs[0]].sparsity = None
        graph.tensors[op.inputs[0]].buffer = 0  # the sparse data: no op reads it any more
    graph.operators = [op for op in graph.operators if not is_densify(op)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dense.tflite"
        flatbuffer_utils.write_model(model, str(path))
        return path.read_bytes(), len(ops)


def to_onnx(tflite_bytes: bytes, batch_dynamic: bool):
    import tf2onnx

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(tflite_bytes)
        onnx_model, _ = tf2onnx.convert.from_tflite(str(path), opset=OPSET)
    if batch_dynamic:
        for value in [*onnx_model.graph.input, *onnx_model.graph.output]:
            value.type.tensor_type.shape.dim[0].dim_param = "N"
        free_batch_in_reshapes(onnx_model)
    store_weights_as_float16(onnx_model)
    return onnx_model


def store_weights_as_float16(onnx_model) -> None:
    """Stores float32 constants that float16 holds exactly (all the weights: the models ship them as float16)
    as float16, each followed by a Cast back to float32, which ONNX Runtime folds when it loads the model.
    The file is half the size; every value the graph computes with is unchanged."""
    from onnx import TensorProto, helper, numpy_helper

    graph = onnx_model.graph
    casts = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT:
            continue
        value = numpy_helper.to_array(init)
        half = value.astype(np.float16)
        if value.size < 16 or not np.array_equal(half.astype(np.float32), value):
            continue
        name = init.name
        init.CopyFrom(numpy_helper.from_array(half, f"{name}__f16"))
        casts.append(helper.make_node("Cast", [f"{name}__f16"], [name], to=TensorProto.FLOAT, name=f"{name}__cast"))
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)


def free_batch_in_reshapes(onnx_model) -> None:
    """Makes every Reshape keep its input's first (batch) dimension: a target ``(1, ...)`` becomes ``(0, ...)``.

    tf2onnx writes the shapes it saw at batch 1; in ONNX a 0 in a Reshape
    target copies that dimension from the input. The batch-3 check in
    :func:`largest_difference` shows the result right.
    """
    from onnx import numpy_helper

    targets = {node.input[1] for node in onnx_model.graph.node if node.op_type == "Reshape"}
    for init in onnx_model.graph.initializer:
        if init.name in targets:
            shape = numpy_helper.to_array(init).copy()
            if shape.ndim == 1 and shape.size and shape[0] == 1:
                shape[0] = 0
                init.CopyFrom(numpy_helper.from_array(shape, init.name))


def largest_difference(tflite_bytes: bytes, onnx_bytes: bytes, batch: int) -> float:
    """Largest |ONNX Runtime - TF interpreter| over every output, relative to each output's range
    (at least 1: the presence score is one value in [0, 1]), on random inputs."""
    import onnxruntime as ort
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_content=tflite_bytes)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (batch, *inp["shape"][1:])).astype(np.float32)
    got = session.run(None, {session.get_inputs()[0].name: x})
    worst = 0.0
    for i in range(batch):
        interpreter.set_tensor(inp["index"], x[i : i + 1])
        interpreter.invoke()
        expected = [interpreter.get_tensor(o["index"]) for o in interpreter.get_output_details()]
        for want in expected:
            match = [g[i : i + 1] for g in got if g.shape[1:] == want.shape[1:]]
            diff = min(float(np.abs(m - want).max()) for m in match)
            worst = max(worst, diff / max(float(np.ptp(want)), 1.0))
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "packages" / "blazepose-models-onnx" / "src" / "blazepose_models_onnx"
    )
    args = parser.parse_args()
    import onnx
    import tensorflow as tf
    import tf2onnx

    sys.path.insert(0, str(ROOT / "src"))
    from blazepose.models import MODEL_SHA256

    args.out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in NAMES:
        source = MODELS / f"{name}.tflite"
        source_bytes = source.read_bytes()
        if sha256(source_bytes) != MODEL_SHA256[source.name]:
            raise SystemExit(f"{source} is not the vendored file")
        dense, replaced = densified(source)
        batch_dynamic = name != "pose_detection"
        onnx_bytes = to_onnx(dense, batch_dynamic).SerializeToString()
        onnx.checker.check_model(onnx.load_from_string(onnx_bytes))
        (args.out / f"{name}.onnx").write_bytes(onnx_bytes)
        diff = largest_difference(source_bytes, onnx_bytes, 3 if batch_dynamic else 1)
        files[f"{name}.onnx"] = {
            "sha256": sha256(onnx_bytes),
            "source": source.name,
            "source_sha256": MODEL_SHA256[source.name],
            "densified_ops": replaced,
            "batch": "N (symbolic)" if batch_dynamic else 1,
            "max_relative_difference_vs_tflite": float(f"{diff:.3g}"),
        }
        print(name, files[f"{name}.onnx"], flush=True)
    manifest = {
        "made_by": "scripts/convert_onnx.py",
        "converter": f"tf2onnx {tf2onnx.__version__} (opset {OPSET}), tensorflow {tf.__version__}, "
        f"onnx {onnx.__version__}",
        "python": platform.python_version(),
        "licence": "Apache-2.0: derived from Google's MediaPipe Pose models (see ../README.md)",
        "files": files,
    }
    (args.out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
