"""``$BLAZEPOSE_QUIET_ENGINES``: LiteRT's one start-up notice (C++, on file descriptor 2) dropped, nothing else."""

import os
import subprocess
import sys

from blazepose.backends import QUIET_VARIABLE, engine_notices_quiet

NOTICE = "Created TensorFlow Lite XNNPACK delegate for CPU."
LOAD = """
import os, sys
from blazepose.backends import load_model
from blazepose.models import verified_model_bytes
print("before", file=sys.stderr, flush=True)
load_model(verified_model_bytes("pose_detection.tflite"), num_threads=1)
os.write(2, b"native line after\\n")
print("after", file=sys.stderr, flush=True)
"""


def stderr_of_a_fresh_process(quiet: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k != QUIET_VARIABLE}
    if quiet:
        env[QUIET_VARIABLE] = "1"
    run = subprocess.run([sys.executable, "-c", LOAD], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stderr


def test_the_notice_is_dropped_and_the_rest_of_stderr_kept_in_order():
    plain = stderr_of_a_fresh_process(quiet=False)
    assert NOTICE in plain  # the control: LiteRT prints it once per process (else this test shows nothing)
    quiet = stderr_of_a_fresh_process(quiet=True)
    assert NOTICE not in quiet
    assert quiet.splitlines() == [line for line in plain.splitlines() if NOTICE not in line]
    assert quiet.splitlines() == ["before", "native line after", "after"]


def test_the_context_sets_the_variable_and_puts_back_what_was_there(monkeypatch):
    monkeypatch.delenv(QUIET_VARIABLE, raising=False)
    with engine_notices_quiet():
        assert os.environ[QUIET_VARIABLE] == "1"
    assert QUIET_VARIABLE not in os.environ
    monkeypatch.setenv(QUIET_VARIABLE, "0")
    with engine_notices_quiet(False):
        assert os.environ[QUIET_VARIABLE] == "0"
    with engine_notices_quiet():
        assert os.environ[QUIET_VARIABLE] == "1"
    assert os.environ[QUIET_VARIABLE] == "0"


THREADS = """
import os, sys, threading
from blazepose.backends import load_model
from blazepose.models import verified_model_bytes
data = verified_model_bytes("pose_detection.tflite")
before = os.fstat(2)
go = threading.Barrier(4)
def load():
    go.wait(timeout=30)
    for _ in range(3):
        load_model(data, num_threads=1).close()
threads = [threading.Thread(target=load) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join(timeout=60)
after = os.fstat(2)
assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino), "fd 2 left pointing elsewhere"
print("still stderr", file=sys.stderr, flush=True)
"""


def test_models_loaded_by_several_threads_at_once_leave_stderr_where_it_was():
    env = {**os.environ, QUIET_VARIABLE: "1"}
    run = subprocess.run([sys.executable, "-c", THREADS], capture_output=True, text=True, env=env, timeout=180)
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines() == ["still stderr"]
