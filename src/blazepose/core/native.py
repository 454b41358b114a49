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
    try:
        return importlib.import_module("blazepose.core._native")
    except ImportError:
        if use:
            raise ImportError(
                "blazepose was installed without its compiled kernels (blazepose.core._native); "
                "reinstall it where a C compiler is available"
            ) from None
        return None
