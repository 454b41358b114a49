import signal
import sys

# Until a command installs its own handling: Ctrl-C or SIGTERM while Python
# imports end quietly with 128 + the signal's number (nothing was written yet).
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
try:
    from blazepose.cli import main
except KeyboardInterrupt:
    sys.exit(130)

status = main()
# The run is over and its files are closed: a signal from here on must not turn
# it into a killed process (interpreter shutdown gives handled signals their
# default action back, but leaves ignored ones ignored).
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
sys.exit(status)
