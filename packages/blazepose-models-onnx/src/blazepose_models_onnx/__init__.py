"""ONNX conversions of the four official MediaPipe Pose (BlazePose) models, read by blazepose's onnxruntime engines.

The files lie beside this module, with MANIFEST.json (each file's sha256, its
source model and that model's sha256) and README.md (how they were made, by
scripts/convert_onnx.py in the blazepose repository). blazepose checks the sha256
before loading; this package has no code of its own.
"""

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
"""The folder holding the model files and MANIFEST.json."""
