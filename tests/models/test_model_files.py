import hashlib

import pytest

from blazepose.models import (
    MODEL_SHA256,
    MODELS_DIR,
    ModelFileError,
    companion_folder,
    converted_model_bytes,
    int8_model_bytes,
    landmark_model_name,
    verified_model_bytes,
)


@pytest.mark.parametrize("name", sorted(MODEL_SHA256))
def test_vendored_models_match_their_published_sha256(name):
    data = verified_model_bytes(name)
    assert hashlib.sha256(data).hexdigest() == MODEL_SHA256[name]
    assert (MODELS_DIR / name).stat().st_size == len(data)


def test_models_readme_lists_every_file_with_its_hash():
    readme = (MODELS_DIR / "README.md").read_text()
    for name, digest in MODEL_SHA256.items():
        assert name in readme and digest in readme
    assert "Apache" in readme


def test_corrupt_model_is_refused_with_name_and_expected_hash(tmp_path):
    name = "pose_landmark_lite.tflite"
    data = bytearray((MODELS_DIR / name).read_bytes())
    data[1000] ^= 0xFF
    (tmp_path / name).write_bytes(bytes(data))
    with pytest.raises(ModelFileError) as err:
        verified_model_bytes(name, tmp_path)
    assert name in str(err.value) and MODEL_SHA256[name] in str(err.value)


def test_missing_model_is_refused_with_name_and_expected_hash(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        verified_model_bytes("pose_detection.tflite", tmp_path)
    assert "pose_detection.tflite" in str(err.value)
    assert MODEL_SHA256["pose_detection.tflite"] in str(err.value)


def test_unknown_model_name_is_refused():
    with pytest.raises(KeyError):
        verified_model_bytes("other.tflite")


@pytest.mark.parametrize("bad", [3, -1, 1.0, "1", True, None])
def test_landmark_model_name_rejects_bad_complexity(bad):
    with pytest.raises(ValueError, match="model_complexity"):
        landmark_model_name(bad)


@pytest.mark.parametrize(
    ("kind", "load"),
    [
        ("onnx", lambda: converted_model_bytes("pose_landmark_lite.tflite", "onnx")),
        ("int8", lambda: int8_model_bytes("pose_landmark_lite.tflite")),
    ],
)
def test_model_files_of_a_package_not_installed_name_the_package_to_install(kind, load, monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    hidden = f"blazepose_models_{kind}"
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == hidden else real_find_spec(n, *a))
    package = f"blazepose-models-{kind}"
    with pytest.raises(FileNotFoundError, match=rf"pip install {package} .*packages/{package}"):
        load()
    with pytest.raises(FileNotFoundError, match=f"blazepose-models-{kind}"):
        companion_folder(kind)


def test_the_main_package_ships_only_the_four_official_models():
    shipped = sorted(p.name for p in MODELS_DIR.rglob("*") if p.suffix in (".tflite", ".onnx"))
    assert shipped == sorted(MODEL_SHA256)
