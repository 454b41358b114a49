#!/usr/bin/env bash
# Runs the whole test suite, setting up .venv on first use.
#   scripts/test.sh [pytest arguments]
# WITH_MEDIAPIPE=1 also installs MediaPipe 0.10.14 (Python <= 3.12) so that
# the parity tests compare against it live, not only against the recorded
# reference outputs in ../shared/data/reference.
EXTRAS="test"
if [ "${WITH_MEDIAPIPE:-0}" = "1" ]; then EXTRAS="test,reference"; fi
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$ROOT"
exec "$VENV/bin/python" -m pytest "$@"
