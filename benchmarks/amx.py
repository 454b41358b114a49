"""Refusing this process Intel AMX, so that XNNPACK runs int8 models on its AVX-512 VNNI kernels.

    PYTHONPATH=src .venv/bin/python benchmarks/amx.py    # checks the refusal in a child process

XNNPACK asks Linux for AMX (``arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)``)
when it first starts and, if the request fails, leaves its AMX kernels
alone. On the Intel Xeon of docs/throughput.md its AMX int8 kernels are
slower than its AVX-512 VNNI ones, and LiteRT's Python API has no switch for
the choice. :func:`refuse_amx` makes the request fail: a seccomp filter on
every thread of the process answers that one call with ``EPERM`` and lets
every other system call through. It cannot be undone, children inherit it,
and it takes AMX from everything in the process (OpenVINO's bfloat16 too),
so it is a benchmark's switch (``throughput.py --refuse-amx``), not the
library's; it must come before the first model is loaded.
"""

from __future__ import annotations

import ctypes
import platform
import subprocess
import sys
from pathlib import Path

ARCH_REQ_XCOMP_PERM = 0x1023
XFEATURE_XTILEDATA = 18
_SYS_ARCH_PRCTL = 158  # x86-64
_SYS_SECCOMP = 317
_AUDIT_ARCH_X86_64 = 0xC000003E
_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_TSYNC = 1
_RET_ALLOW = 0x7FFF0000
_RET_EPERM = 0x00050000 | 1
_LOAD_WORD, _JUMP_IF_EQUAL, _RETURN = 0x20, 0x15, 0x06  # BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_RET|BPF_K
_ARCH_AT, _NR_AT, _ARG0_AT = 4, 0, 16  # offsets in struct seccomp_data (arg0's low word, little-endian)


class _Instruction(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Instruction))]


def refuse_amx() -> None:
    """Makes every later AMX permission request of this process fail with ``EPERM``.

    Raises:
        OSError: not Linux on x86-64, or the kernel refused the filter.
    """
    if sys.platform != "linux" or platform.machine() != "x86_64":
        raise OSError(f"refuse_amx needs Linux on x86-64, this is {sys.platform} on {platform.machine()}")
    # Jumps count the instructions skipped: (jump if true, jump if false).
    program = [
        _Instruction(_LOAD_WORD, 0, 0, _ARCH_AT),
        _Instruction(_JUMP_IF_EQUAL, 0, 5, _AUDIT_ARCH_X86_64),  # another ABI: allow
        _Instruction(_LOAD_WORD, 0, 0, _NR_AT),
        _Instruction(_JUMP_IF_EQUAL, 0, 3, _SYS_ARCH_PRCTL),  # another call: allow
        _Instruction(_LOAD_WORD, 0, 0, _ARG0_AT),
        _Instruction(_JUMP_IF_EQUAL, 0, 1, ARCH_REQ_XCOMP_PERM),  # another arch_prctl: allow
        _Instruction(_RETURN, 0, 0, _RET_EPERM),
        _Instruction(_RETURN, 0, 0, _RET_ALLOW),
    ]
    instructions = (_Instruction * len(program))(*program)
    filter_program = _Program(len(program), instructions)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    flags = _SECCOMP_FILTER_FLAG_TSYNC  # every thread of the process, not only this one
    if libc.syscall(_SYS_SECCOMP, _SECCOMP_SET_MODE_FILTER, flags, ctypes.byref(filter_program)) != 0:
        raise OSError(ctypes.get_errno(), "seccomp filter refused")


def amx_request_result() -> int:
    """The errno of an AMX permission request made now (0: granted)."""
    libc = ctypes.CDLL(None, use_errno=True)
    ok = libc.syscall(_SYS_ARCH_PRCTL, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0
    return 0 if ok else ctypes.get_errno()


def _check() -> int:
    code = "import sys; sys.path.insert(0, {!r}); import amx; amx.refuse_amx(); print(amx.amx_request_result())"
    here = str(Path(__file__).resolve().parent)
    child = subprocess.run([sys.executable, "-c", code.format(here)], capture_output=True, text=True, timeout=60)
    refused = child.stdout.strip()
    print(f"AMX request in a child with the filter: errno {refused or child.stderr.strip()} (1 = EPERM, refused)")
    print(f"AMX request here, without it: errno {amx_request_result()} (0 = granted; other: no AMX on this CPU)")
    return 0 if refused == "1" else 1


if __name__ == "__main__":
    sys.exit(_check())
