"""Builds the optional compiled kernels; everything else is in pyproject.toml.

When no C compiler is at hand the build goes on without it and blazepose
uses its numpy path, which gives the same results more slowly.
"""

import sys

from setuptools import Extension, setup

# A fused multiply-add would round the crop's position sums differently;
# without errno, lrint compiles to one instruction (rounding unchanged). The crop may split its rows
# over POSIX threads.
flags = [] if sys.platform == "win32" else ["-O3", "-ffp-contract=off", "-fno-math-errno", "-pthread"]
link_flags = [] if sys.platform == "win32" else ["-pthread"]

setup(
    ext_modules=[
        Extension(
            "blazepose.core._native",
            ["src/blazepose/core/_native.c"],
            extra_compile_args=flags,
            extra_link_args=link_flags,
            optional=True,
        ),
    ]
)
