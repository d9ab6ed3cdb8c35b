"""The model sandbox's helper processes end with the process that uses them.

A stopping process stops its sandboxed model code on purpose (a distinct sentence, not a limit),
and a caller killed outright takes its fork server and the child it was running along, instead
of leaving the model running for nobody.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from core.files.sandbox import STOPPED, SandboxStopped, run_limited, stop_children

ROOT = Path(__file__).resolve().parents[2]
PATIENCE = 120.0  # a busy machine may need it; every wait polls and ends when the state arrives

CALLER = """
import threading, time
from core.files.sandbox import run_limited
threading.Thread(target=run_limited, args=(time.sleep, 600), daemon=True).start()
time.sleep(600)
"""


def _marked(mark: str) -> list[int]:
    """Running (not zombie) processes whose environment carries ``mark``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if state != "Z" and mark.encode() in environ:
            found.append(int(entry.name))
    return found


def _wait_for(what: str, check: object) -> None:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_stopped_children_say_so_and_the_caller_carries_on() -> None:
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            run_limited(time.sleep, 600, what="the slow model")
        except BaseException as err:
            outcome.append(err)

    caller = threading.Thread(target=call)
    caller.start()
    _wait_for("the child to start and be stopped", lambda: stop_children() == 1)
    caller.join(PATIENCE)
    assert not caller.is_alive()
    (err,) = outcome
    assert isinstance(err, SandboxStopped)
    assert err.problems == [STOPPED.format(what="the slow model")]
    assert run_limited(abs, -3) == 3  # the fork server still serves


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc; the death signal is Linux's")
def test_a_caller_killed_outright_takes_its_sandbox_along() -> None:
    mark = f"GATEHOUSE_SANDBOX_TEST={uuid.uuid4().hex}"
    env = {**os.environ, mark.partition("=")[0]: mark.partition("=")[2]}
    caller = subprocess.Popen(
        [sys.executable, "-c", CALLER], cwd=ROOT, env=env, start_new_session=True
    )
    try:
        # The caller, its fork server and the child running the model.
        _wait_for("the sandbox to run", lambda: len(_marked(mark)) >= 3)
        caller.send_signal(signal.SIGKILL)
        caller.wait(PATIENCE)
        _wait_for("the fork server and its child to end", lambda: _marked(mark) == [])
    finally:
        for pid in _marked(mark):
            os.kill(pid, signal.SIGKILL)
        if caller.poll() is None:
            caller.kill()
            caller.wait()
