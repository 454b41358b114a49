"""Makes the int8 models (packages/blazepose-models-int8) from the vendored ones, calibrated on the pipeline's crops.

Two steps, in two environments (the quantizer needs protobuf 7, which
mediapipe 0.10.14 in the project's environment cannot share):

    # 1. the calibration inputs, made by the float32 pipeline (project environment)
    PYTHONPATH=src .venv/bin/python scripts/quantize_int8.py collect --out out/int8/calibration.npz
    # 2. quantize (a separate environment with the quantizer)
    python3 -m venv /work/venv-quant
    /work/venv-quant/bin/pip install ai-edge-quantizer==0.10.0 nncf==3.4.0 openvino==2026.4.1
    /work/venv-quant/bin/python scripts/quantize_int8.py quantize --calibration out/int8/calibration.npz

``collect`` runs ``PoseEstimator`` (LiteRT, float32) on photos and video
frames and records every tensor that goes into the detector (the 224x224
letterboxed image, values in [-1, 1]) and into each landmark model (the
aligned 256x256 crop, values in [0, 1]): the inputs the int8 models will
see. Sources (none of them used to measure the int8 models' accuracy):

- the 29 shared photos (``images/``), static mode;
- LSP im0001..im0500 (every ``--lsp-step``-th), static mode; im0501..im1000,
  where PCK is measured, are left out;
- the first half of ``coco_mini`` (by sorted file name), static mode, up to
  5 people; the second half, where COCO AP is measured, is left out;
- the dance video and one clip per exercise folder in video mode (tracking:
  crops from the previous frame's landmarks), every ``--video-step``-th frame
  recorded.

``quantize`` makes, per model, a static int8 ``.tflite`` (ai-edge-quantizer's
static recipe: int8 activations calibrated on the recorded inputs, int8
per-channel weights; float32 input and outputs, so the pipeline feeds it as
before) that LiteRT's XNNPACK runs with its int8 kernels. The ops chosen by
``FLOAT_BELOW`` and ``FLOAT_FIRST_OPS`` stay float. ``MANIFEST.json`` records
each file's sha256, its source and the source's sha256, the tool and its
version and the calibration set.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "src" / "blazepose" / "models"
OUT_DIR = ROOT / "packages" / "blazepose-models-int8" / "src" / "blazepose_models_int8"
DATA = ROOT.parent / "shared" / "data"
DETECTOR = "pose_detection"
LANDMARKS = {0: "pose_landmark_lite", 1: "pose_landmark_full", 2: "pose_landmark_heavy"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Step 1: calibration inputs ---------------------------------------------------


class Recorder:
    """Wraps an engine and keeps a copy of every input it runs (one tensor per item)."""

    def __init__(self, model, keep: list[np.ndarray]) -> None:
        self._model = model
        self.keep = keep
        self.recording = True
        self.input_shape = model.input_shape
        self.output_shapes = model.output_shapes

    def run(self, tensor, outputs=None):
        if self.recording:
            self.keep.append(np.array(tensor[0], np.float32, copy=True))
        return self._model.run(tensor, outputs)

    def run_batch(self, batch, outputs=None):
        if self.recording:
            self.keep.extend(np.array(t, np.float32, copy=True) for t in batch)
        return self._model.run_batch(batch, outputs)

    def close(self) -> None:
        self._model.close()


def calibration_photos(lsp_step: int) -> list[Path]:
    photos = sorted((DATA / "images").glob("*/*.jpg"))
    photos += [DATA / "lsp" / "images" / f"im{i:04d}.jpg" for i in range(1, 501, lsp_step)]
    coco = sorted((DATA / "coco_mini" / "images").iterdir())
    return photos + coco[: len(coco) // 2]


def calibration_clips() -> list[Path]:
    clips = [DATA / "video" / "dance_720p.avi"]
    for folder in sorted((DATA / "exercise").iterdir()):
        found = sorted(folder.glob("*.mp4"))
        if found:
            clips.append(found[0])
    return clips


def collect(args: argparse.Namespace) -> int:
    from blazepose.core.estimator import PoseEstimator
    from blazepose.io.photos import read_photo
    from blazepose.io.video import VideoSource

    photos, clips = calibration_photos(args.lsp_step), calibration_clips()
    images = [read_photo(str(p)) for p in photos]
    detector_inputs: list[np.ndarray] = []
    tensors: dict[str, np.ndarray] = {}
    for complexity, name in LANDMARKS.items():
        crops: list[np.ndarray] = []
        for static, max_poses in ((True, 5),):
            with PoseEstimator(static_image_mode=static, model_complexity=complexity, max_poses=max_poses) as est:
                det = est._detector._model = Recorder(est._detector._model, detector_inputs)
                det.recording = complexity == 0  # the detector's inputs do not depend on the landmark model
                est._landmarker._model = Recorder(est._landmarker._model, crops)
                for image in images:
                    est.process(image)
        for clip in clips:
            with PoseEstimator(model_complexity=complexity) as est:
                det = est._detector._model = Recorder(est._detector._model, detector_inputs)
                lm = est._landmarker._model = Recorder(est._landmarker._model, crops)
                source = VideoSource(str(clip))
                for i, frame in enumerate(source.frames()):
                    if i >= args.max_frames:
                        break
                    det.recording = complexity == 0 and i % args.video_step == 0
                    lm.recording = i % args.video_step == 0
                    est.process(frame.rgb, round(frame.timestamp_ms))
                source.close()
        tensors[name] = np.stack(crops)
        print(f"{name}: {len(crops)} crops", file=sys.stderr)
    tensors[DETECTOR] = np.stack(detector_inputs)
    print(f"{DETECTOR}: {len(detector_inputs)} inputs", file=sys.stderr)
    sources = [str(p.relative_to(DATA)) for p in photos + clips]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, sources=np.array(sources), **tensors)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


# Step 2: quantize ---------------------------------------------------------------


def folded(data: bytes) -> tuple[bytes, int]:
    """The model with its constant DEQUANTIZE (float16 weights) and DENSIFY (sparse weights) ops computed and stored.

    The quantizer needs float32 constant weights. LiteRT's reference
    kernels compute each such op's output once; the op is removed and its
    output becomes a constant holding those values (the same numbers the
    original graph computes at run time). Repeated until none is left (a
    DENSIFY feeds a DEQUANTIZE). Returns the new model and how many ops were
    folded.
    """
    total = 0
    while True:
        data, count = _fold_once(data)
        total += count
        if not count:
            return data, total


def _fold_once(data: bytes) -> tuple[bytes, int]:
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(data))
    graph = model.subgraphs[0]
    foldable = {schema.BuiltinOperator.DEQUANTIZE, schema.BuiltinOperator.DENSIFY}

    def code(op) -> int:
        c = model.operatorCodes[op.opcodeIndex]
        return max(c.builtinCode, c.deprecatedBuiltinCode)

    def constant(t: int) -> bool:
        b = graph.tensors[t].buffer
        return b > 0 and model.buffers[b].data is not None and len(model.buffers[b].data) > 0

    targets = [op for op in graph.operators if code(op) in foldable and all(constant(i) for i in op.inputs)]
    if not targets:
        return data, 0
    interpreter = Interpreter(
        model_content=data,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        experimental_preserve_all_tensors=True,
    )
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    interpreter.set_tensor(inp["index"], np.zeros(inp["shape"], np.float32))
    interpreter.invoke()
    replaced: set[int] = set()
    for op in targets:
        (out,) = op.outputs
        value = np.ascontiguousarray(interpreter.get_tensor(out))
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(value.tobytes(), np.uint8)
        model.buffers.append(buffer)
        graph.tensors[out].buffer = len(model.buffers) - 1
        replaced.update(op.inputs)
    graph.operators = [op for op in graph.operators if not any(op is t for t in targets)]
    used = {i for op in graph.operators for i in [*op.inputs, *op.outputs] if i >= 0}
    used |= set(graph.inputs) | set(graph.outputs)
    for t in replaced - used:  # the float16 / sparse originals, now unused
        model.buffers[graph.tensors[t].buffer].data = None
    keep = sorted(used)
    index = {old: new for new, old in enumerate(keep)}
    graph.tensors = [graph.tensors[i] for i in keep]

    def remap(ids) -> list[int]:
        return [index[i] if i >= 0 else i for i in ids]

    for op in graph.operators:
        op.inputs, op.outputs = remap(op.inputs), remap(op.outputs)
    graph.inputs, graph.outputs = remap(graph.inputs), remap(graph.outputs)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model)), len(targets)


def with_signature(data: bytes) -> tuple[bytes, list[str]]:
    """The model with a ``serving_default`` signature (the quantizer needs one; the vendored files have none).

    Returns the new model and the scope (output tensor names, ``;``-joined,
    as the quantizer names them) of each op, with the op's output spatial
    size (H*W, 1 for non-image outputs).
    """
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(data))
    graph = model.subgraphs[0]

    def tensor_map(index: int, key: str):
        entry = schema.TensorMapT()
        entry.name = key.encode()
        entry.tensorIndex = index
        return entry

    signature = schema.SignatureDefT()
    signature.signatureKey = b"serving_default"
    signature.subgraphIndex = 0
    signature.inputs = [tensor_map(i, f"input_{k}") for k, i in enumerate(graph.inputs)]
    signature.outputs = [tensor_map(i, f"output_{k}") for k, i in enumerate(graph.outputs)]
    model.signatureDefs = [signature]
    scopes = []
    for op in graph.operators:
        shape = list(graph.tensors[op.outputs[0]].shape)
        spatial = shape[1] * shape[2] if len(shape) == 4 else 1
        names = ";".join(graph.tensors[o].name.decode() for o in op.outputs)
        scopes.append((names + ";", spatial))
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model)), scopes


FLOAT_BELOW = {DETECTOR: 0, **{name: 8 * 8 for name in LANDMARKS.values()}}
"""Ops whose output is at most this many pixels (H*W) stay float32.

In the landmark models these are the backbone's 8x8 to 1x1 stages and the
regression heads (landmarks, world landmarks, presence): little work, and
int8 there cost accuracy. The detector is int8 throughout (its recall and
PCK did not drop)."""
FLOAT_FIRST_OPS = {DETECTOR: 0, **{name: 5 for name in LANDMARKS.values()}}
"""The first ops of the graph that stay float32: in the landmark models the
input convolution and the first block (pad, 3x3 conv, depthwise conv, two
1x1 convs at 128x128), where int8 cost most of the accuracy. LSP PCK@0.2 of
lite (float32 73.18, float32 detector in every case): all int8 68.9; ops
<= 16x16 float 71.9; plus these first ops 73.06 (1.26x); ops <= 8x8 and
these first ops 72.71 (1.47x faster than float32, bare model, 1 thread)."""
ALGORITHM = "OCTAV"
"""ai-edge-quantizer's range algorithm (OCTAV clips outliers to minimise the
mean squared error; on lite, ops <= 16x16 float: PCK 71.9 against 71.8 with min-max)."""
CALIBRATION_ITEMS = 200
"""Calibration inputs per model (drawn at random, seed 0, from those recorded)."""


def quantize_one(name: str, inputs: np.ndarray) -> tuple[bytes, dict]:
    import re

    from ai_edge_quantizer import quantizer, recipe
    from ai_edge_quantizer.algorithm_manager import AlgorithmName
    from ai_edge_quantizer.qtyping import TFLOperationName

    source = (MODELS / f"{name}.tflite").read_bytes()
    flat, folded_ops = folded(source)
    data, scopes = with_signature(flat)
    q = quantizer.Quantizer(bytearray(data))
    q.load_quantization_recipe(recipe.static_wi8_ai8(AlgorithmName(ALGORITHM)))
    for io in (TFLOperationName.INPUT, TFLOperationName.OUTPUT):  # float32 in and out, as the originals
        q.update_quantization_recipe(".*", io, algorithm_key=AlgorithmName.NO_QUANTIZE)
    kept_float = [
        scope for k, (scope, spatial) in enumerate(scopes) if spatial <= FLOAT_BELOW[name] or k < FLOAT_FIRST_OPS[name]
    ]
    for scope in kept_float:  # computed in float32, weights stored as float16 (as in the originals)
        pattern = "^" + re.escape(scope) + "$"
        q.update_quantization_recipe(pattern, TFLOperationName.ALL_SUPPORTED, algorithm_key=AlgorithmName.NO_QUANTIZE)
        for op in (TFLOperationName.CONV_2D, TFLOperationName.DEPTHWISE_CONV_2D):
            q.add_weight_only_config(pattern, op, 16, algorithm_key=AlgorithmName.FLOAT_CASTING)
    picked = np.random.default_rng(0).choice(len(inputs), min(CALIBRATION_ITEMS, len(inputs)), replace=False)
    calibration = q.calibrate({"serving_default": [{"input_0": inputs[i][None]} for i in sorted(picked)]})
    result = q.quantize(calibration, enable_progress_report=False)
    quantized = bytes(result.quantized_model)
    entry = {
        "source": f"{name}.tflite",
        "source_sha256": sha256(source),
        "folded_constant_ops": folded_ops,
        "ops": len(scopes),
        "ops_kept_float32": len(kept_float),
        "calibration_inputs": len(picked),
    }
    return quantized, entry


def quantize(args: argparse.Namespace) -> int:
    from importlib.metadata import version

    recorded = np.load(args.calibration)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in (DETECTOR, *LANDMARKS.values()):
        data, entry = quantize_one(name, recorded[name])
        file_name = f"{name}.tflite"
        (OUT_DIR / file_name).write_bytes(data)
        files[file_name] = {"sha256": sha256(data), "bytes": len(data), **entry}
        print(
            f"{file_name}: {len(data)} bytes, {entry['ops_kept_float32']} of {entry['ops']} ops float", file=sys.stderr
        )
    manifest = {
        "made_by": "scripts/quantize_int8.py",
        "tool": f"ai-edge-quantizer {version('ai-edge-quantizer')} (static int8: int8 per-channel weights, "
        f"int8 per-tensor activations, {ALGORITHM} ranges; float32 input and outputs), "
        f"ai-edge-litert {version('ai-edge-litert')}",
        "python": platform.python_version(),
        "licence": "Apache-2.0: derived from Google's MediaPipe Pose models (see ../README.md)",
        "calibration": {
            "inputs": "the float32 pipeline's own model inputs (224x224 letterboxed images, 256x256 aligned crops)",
            "sources": [str(s) for s in recorded["sources"]],
            "held_out": "LSP im0501-im1000 and coco_mini's second half (where accuracy is measured)",
        },
        "files": files,
    }
    (OUT_DIR / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {OUT_DIR}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", required=True)
    c = sub.add_parser("collect", help="record the float32 pipeline's model inputs")
    c.add_argument("--out", type=Path, default=ROOT / "out" / "int8" / "calibration.npz")
    c.add_argument("--lsp-step", type=int, default=4, help="every n-th of LSP im0001..im0500")
    c.add_argument("--video-step", type=int, default=6, help="every n-th video frame")
    c.add_argument("--max-frames", type=int, default=240, help="frames per clip")
    q = sub.add_parser("quantize", help="make the int8 files from the recorded inputs")
    q.add_argument("--calibration", type=Path, default=ROOT / "out" / "int8" / "calibration.npz")
    args = parser.parse_args(argv)
    return collect(args) if args.step == "collect" else quantize(args)


if __name__ == "__main__":
    sys.exit(main())
