"""The package's house plan: which folder may import which, and what importing ``blazepose`` loads."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "blazepose"

# Each subpackage may import only from subpackages of a lower layer (never
# from its own layer, so no two subpackages can import each other). The
# package root (``blazepose/__init__.py``, ``__main__.py``) re-exports lazily
# and may name anything.
LAYERS = {
    "models": 0,  # the vendored model files and their hashes
    "backends": 0,  # inference engines behind one seam
    "core": 1,  # the pipeline and PoseEstimator
    "draw": 2,  # skeletons, overlays, 3D plots from a PoseResult
    "io": 2,  # photos, videos, cameras, landmark files
    "solutions": 3,  # the legacy mp.solutions.pose drop-in
    "tasks": 4,  # PoseLandmarker, MediaPipe Tasks' API
    "evaluation": 5,  # metrics, reports, the MediaPipe comparison
    "fitness": 5,  # classification and repetition counting
    "runner": 5,  # batches of files, workers, clusters
    "web": 6,  # the HTTP API and the browser demo
    "cli": 7,  # the command, one module per verb
}


def subpackage_of(module: str) -> str | None:
    """``blazepose.core.crop`` -> ``core``; None for the package root and non-blazepose modules."""
    parts = module.split(".")
    if parts[0] != "blazepose" or len(parts) < 2 or parts[1] in ("__init__", "__main__"):
        return None
    return parts[1]


def imports_of(path: Path) -> set[str]:
    """Every ``blazepose...`` module a file imports, at the top or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import; write the absolute blazepose.* path")
    return {name for name in found if name.split(".")[0] == "blazepose"}


def import_graph(package: Path) -> dict[tuple[str, str], list[str]]:
    """(importing subpackage, imported subpackage) -> the files that make that edge."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        module = ".".join(("blazepose", *path.relative_to(package).with_suffix("").parts))
        source = subpackage_of(module)
        if source is None or path.parent == package:
            continue
        for name in imports_of(path):
            target = subpackage_of(name)
            if target is not None and target != source:
                edges.setdefault((source, target), []).append(str(path.relative_to(package)))
    return edges


def layering_violations(edges: dict[tuple[str, str], list[str]], layers: dict[str, int]) -> list[str]:
    """Edges that go up or sideways, and subpackages missing from ``layers``."""
    problems = []
    for (source, target), files in sorted(edges.items()):
        if source not in layers or target not in layers:
            problems.append(f"{source} -> {target}: add the unknown subpackage to LAYERS ({files[0]})")
        elif layers[target] >= layers[source]:
            problems.append(f"{source} (layer {layers[source]}) imports {target} (layer {layers[target]}): {files}")
    return problems


def test_every_folder_imports_only_lower_layers():
    edges = import_graph(PACKAGE)
    assert edges, "no imports between subpackages were found: the scan itself is broken"
    assert layering_violations(edges, LAYERS) == []


def test_every_subpackage_has_a_layer():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders <= set(LAYERS), f"subpackages without a layer: {sorted(folders - set(LAYERS))}"


def test_core_imports_nothing_built_on_it():
    edges = import_graph(PACKAGE)
    assert {target for source, target in edges if source == "core"} <= {"backends", "models"}


@pytest.mark.parametrize(
    "edges, complaint",
    [
        ({("core", "io"): ["core/x.py"]}, "core (layer 1) imports io (layer 2)"),
        ({("io", "draw"): ["io/x.py"]}, "io (layer 2) imports draw (layer 2)"),
        ({("tasks", "solutions"): ["t.py"], ("solutions", "tasks"): ["s.py"]}, "solutions (layer 3) imports tasks"),
        ({("core", "gadgets"): ["core/x.py"]}, "add the unknown subpackage"),
    ],
)
def test_the_check_catches_wrong_directions(edges, complaint):
    problems = layering_violations(edges, LAYERS)
    assert any(complaint in p for p in problems), problems


def test_the_scan_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from blazepose.io.video import VideoSource\n    import blazepose.draw\n")
    assert imports_of(module) >= {"blazepose.io.video", "blazepose.draw"}


def test_importing_blazepose_loads_no_heavy_library():
    code = (
        "import sys, blazepose; blazepose.__version__; "
        "print(sorted(m for m in ('cv2', 'av', 'matplotlib', 'numpy', 'fastapi', 'ray', 'ai_edge_litert') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_the_apis_load_no_video_plotting_or_web_library():
    code = (
        "import sys, blazepose; blazepose.PoseEstimator; blazepose.PoseLandmarker; blazepose.solutions; "
        "print(sorted(m for m in ('av', 'matplotlib', 'fastapi', 'ray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
