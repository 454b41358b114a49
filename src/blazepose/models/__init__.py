"""The vendored model files: where they are and whether they are intact."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np

MODELS_DIR = Path(__file__).resolve().parent

DETECTOR_MODEL = "pose_detection.tflite"
LANDMARK_MODELS = {
    0: "pose_landmark_lite.tflite",
    1: "pose_landmark_full.tflite",
    2: "pose_landmark_heavy.tflite",
}

MODEL_SHA256 = {
    "pose_detection.tflite": "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    "pose_landmark_lite.tflite": "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
    "pose_landmark_full.tflite": "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    "pose_landmark_heavy.tflite": "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
}


class ModelFileError(ValueError):
    """A model file is present but is not the official file it should be."""


def verified_model_bytes(name: str, models_dir: Path | None = None) -> bytes:
    """Reads a vendored model file after checking it against its known sha256.

    Args:
        name: File name, one of ``MODEL_SHA256``.
        models_dir: Folder to read from (the package's own by default).

    Returns:
        The file's contents, hash-checked (read once, so what was checked is
        what gets loaded).

    Raises:
        KeyError: ``name`` is not one of the official model files.
        FileNotFoundError: the file is missing.
        ModelFileError: the file's sha256 differs from the official one.
    """
    if name not in MODEL_SHA256:
        raise KeyError(f"unknown model file {name!r}; expected one of {sorted(MODEL_SHA256)}")
    expected = MODEL_SHA256[name]
    path = (models_dir or MODELS_DIR) / name
    if not path.is_file():
        raise FileNotFoundError(
            f"model file {name} is missing at {path} (expected sha256 {expected}); "
            "reinstall blazepose or see models/README.md for where it comes from"
        )
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ModelFileError(
            f"model file {name} at {path} is corrupt or not the official file: sha256 {actual}, expected {expected}"
        )
    return data


def landmark_model_name(model_complexity: int) -> str:
    """Returns the landmark model file for a model complexity (0, 1 or 2)."""
    valid = isinstance(model_complexity, (int, np.integer)) and not isinstance(model_complexity, bool)
    if not valid or int(model_complexity) not in LANDMARK_MODELS:  # 1.0 and "1" name no model either
        raise ValueError(f"model_complexity must be 0 (lite), 1 (full) or 2 (heavy), got {model_complexity!r}")
    return LANDMARK_MODELS[int(model_complexity)]


CONVERTED_FORMATS = ("onnx",)
"""Formats the vendored models are converted to (by scripts/convert_onnx.py)."""

COMPANION_PACKAGES = {"onnx": "blazepose-models-onnx", "int8": "blazepose-models-int8"}
"""Model files kept out of this package (so that it stays small), by kind -> the package that holds them."""


def companion_folder(kind: str) -> Path:
    """The folder of the installed package holding the ``kind`` model files (``onnx`` or ``int8``).

    Raises:
        KeyError: unknown kind.
        FileNotFoundError: that package is not installed (the message says how to install it).
    """
    distribution = COMPANION_PACKAGES[kind]
    module = distribution.replace("-", "_")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the {kind} model files are in a package of their own: pip install {distribution} "
            f"(from a clone of the repository: pip install ./packages/{distribution})"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def converted_model_bytes(name: str, fmt: str, models_dir: Path | None = None) -> bytes:
    """Reads a vendored model's converted file after checking it against the sha256 in its folder's manifest.

    Args:
        name: The vendored file's name, one of ``MODEL_SHA256`` (``pose_landmark_full.tflite``).
        fmt: One of :data:`CONVERTED_FORMATS`; the file is ``<fmt>/<stem>.<fmt>``.
        models_dir: Folder whose ``<fmt>/`` subfolder to read from (default:
            the installed ``blazepose-models-<fmt>`` package's folder).

    Raises:
        KeyError: unknown model or format.
        FileNotFoundError: the converted file, its manifest or its package is missing.
        ModelFileError: the file's sha256 differs from the manifest's, or the
            manifest says it was made from another file than the vendored one.
    """
    if name not in MODEL_SHA256 or fmt not in CONVERTED_FORMATS:
        raise KeyError(
            f"no converted {fmt!r} file for {name!r}; formats: {CONVERTED_FORMATS}, models: {sorted(MODEL_SHA256)}"
        )
    folder = models_dir / fmt if models_dir is not None else companion_folder(fmt)
    return _manifest_checked_bytes(folder, f"{Path(name).stem}.{fmt}", name, f"scripts/convert_{fmt}.py")


INT8_FOLDER = "int8"
"""Kind (and ``models_dir`` subfolder) of the int8 models made by scripts/quantize_int8.py."""


def int8_model_bytes(name: str, models_dir: Path | None = None) -> bytes:
    """Reads a vendored model's int8 ``.tflite`` after checking it against the sha256 in its ``MANIFEST.json``.

    Args:
        name: The vendored file's name, one of ``MODEL_SHA256`` (``pose_landmark_full.tflite``);
            its int8 file has the same name.
        models_dir: Folder whose ``int8/`` subfolder to read from (default:
            the installed ``blazepose-models-int8`` package's folder).

    Raises:
        KeyError: unknown model.
        FileNotFoundError: the int8 file, its manifest or its package is missing.
        ModelFileError: the file's sha256 differs from the manifest's, or the
            manifest says it was made from another file than the vendored one.
    """
    if name not in MODEL_SHA256:
        raise KeyError(f"no int8 file for {name!r}; models: {sorted(MODEL_SHA256)}")
    folder = models_dir / INT8_FOLDER if models_dir is not None else companion_folder(INT8_FOLDER)
    return _manifest_checked_bytes(folder, name, name, "scripts/quantize_int8.py")


def _manifest_checked_bytes(folder: Path, file_name: str, source: str, script: str) -> bytes:
    """``folder/file_name``'s bytes, checked against ``folder/MANIFEST.json`` (its sha256 and its source's)."""
    manifest_path = folder / "MANIFEST.json"
    path = folder / file_name
    label = f"{folder.name}/{file_name}"
    if not path.is_file() or not manifest_path.is_file():
        raise FileNotFoundError(
            f"model {label} or its manifest is missing under {folder}; "
            f"make it with {script} (see the README.md beside it)"
        )
    entry = json.loads(manifest_path.read_text())["files"].get(file_name)
    if entry is None:
        raise ModelFileError(f"{manifest_path} does not list {file_name}")
    if entry["source_sha256"] != MODEL_SHA256[source]:
        raise ModelFileError(f"{label} was made from another file than the vendored {source}")
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != entry["sha256"]:
        raise ModelFileError(f"model {path} is corrupt: sha256 {actual}, manifest says {entry['sha256']}")
    return data
