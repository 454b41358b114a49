"""The optional compiled kernels (``blazepose.core._native``).

They are built from ``_native.c`` when the package is installed with a C
compiler at hand, and give the same values as the numpy code they replace,
faster. Without them everything works, more slowly.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def native_kernels(use: bool | None = None) -> ModuleType | None:
    """The compiled kernels to use, or None for the numpy code.

    Args:
        use: True requires them, False declines them, None takes them when built.

    Raises:
        ImportError: ``use`` is True and they were not built.
    """
    if use is False:
        return None
    if _complete_build is not None:  # found before: no import machinery on every frame
        return _complete_build
    try:
        module = importlib.import_module("blazepose.core._native")
    except ImportError:
        if use:
            raise ImportError(
                "blazepose was installed without its compiled kernels (blazepose.core._native); "
                "reinstall it where a C compiler is available"
            ) from None
        return None
    if module is _complete_build:
        return module
    missing = [name for name in KERNEL_FUNCTIONS if not hasattr(module, name)]
    if missing:  # built from an older _native.c (an in-place build left behind after an update)
        if use:
            raise ImportError(
                f"blazepose.core._native is an older build without {', '.join(missing)}; rebuild it "
                "(python setup.py build_ext --inplace, or reinstall blazepose)"
            )
        return None
    _remember_complete(module)
    return module


KERNEL_FUNCTIONS = (
    "warp_to_tensor",
    "simd_path",
    "warp_threads",
    "refine_with_heatmap",
    "decode_pose_in_region",
    "smoother_step",
    "alignment_rect",
    "decode_detections",
    "weighted_nms",
    "CropHelpers",
)
"""What the pipeline uses in blazepose.core._native; a build lacking one is not used."""

_complete_build: ModuleType | None = None


def _remember_complete(module: ModuleType) -> None:
    global _complete_build
    _complete_build = module
