# Sourced by the other scripts: makes .venv on first use and installs the
# project into it with the extras named in $EXTRAS (comma-separated).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${BLAZEPOSE_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating the virtual environment $VENV (first use)..." >&2
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
STAMP="$VENV/.installed-${EXTRAS//,/-}"
# Reinstalled when the packaging or the compiled kernels' source changed.
# The ONNX and int8 model files are packages of their own (packages/): installed from here, not from an index.
COMPANIONS=("$ROOT/packages/blazepose-models-onnx" "$ROOT/packages/blazepose-models-int8")
stale() {
    for f in pyproject.toml setup.py src/blazepose/core/_native.c packages/*/pyproject.toml; do
        [ "$ROOT/$f" -nt "$STAMP" ] && return 0
    done
    return 1
}
if [ ! -f "$STAMP" ] || stale; then
    echo "Installing blazepose[$EXTRAS] and its model packages into $VENV..." >&2
    "$VENV/bin/python" -m pip install --quiet "${COMPANIONS[@]}" -e "$ROOT[$EXTRAS]"
    touch "$STAMP"
fi
