#!/usr/bin/env bash
# Runs blazepose on a photo it ships with (scikit-image's public-domain
# astronaut) and writes the landmarks and an annotated image, setting up
# .venv on first use.
#   scripts/demo.sh [--out DIR] [--model-complexity 0|1|2] [--image PATH]
EXTRAS="demo"
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
exec "$VENV/bin/blazepose" demo "$@"
