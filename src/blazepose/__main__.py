import signal
import sys

# Until a command installs its own handling: Ctrl-C or SIGTERM while Python
# imports end quietly with 128 + the signal's number (nothing was written yet).
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
try:
    from blazepose.cli import main
except KeyboardInterrupt:
    sys.exit(130)

sys.exit(main())  # main() leaves the signals ignored once the command is over
