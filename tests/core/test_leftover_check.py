"""The test run fails when it leaves a Gatehouse server or worker running (tests/conftest.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
# A stand-in for a forgotten server: a process whose command line names streamlit.
LEAKY = """
import subprocess, sys

def test_starts_a_server_and_forgets_it():
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "streamlit"],
                     start_new_session=True)
"""
TIDY = """
import subprocess, sys

def test_starts_a_server_and_stops_it():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "streamlit"])
    proc.terminate()
    proc.wait()
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    # The inner run is a run of its own, not a parallel worker of this one: its own mark, so its
    # check never sees (or stops) this run's processes, and its own end-of-run check.
    for name in ("GATEHOUSE_TEST_RUN", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT"):
        monkeypatch.delenv(name, raising=False)
    # The leaky run's server never ends on its own: a short grace finds it as surely as 15 s.
    monkeypatch.setenv("GATEHOUSE_TEST_LEFTOVER_GRACE", "2")
    pytester.makeconftest("from tests.conftest import pytest_sessionfinish  # noqa: F401\n")
    return pytester


def test_a_run_that_leaves_a_server_running_fails_and_stops_it(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_leaky=LEAKY)
    result = inner.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*The tests left Gatehouse processes running:*", "*streamlit*"])
    pid = int(re.search(r"pid (\d+):", result.stdout.str()).group(1))  # type: ignore[union-attr]
    assert _ended(pid)  # the check stopped it


def _ended(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")  # killed; only waiting for a parent to collect its exit status


def test_a_run_that_stops_what_it_started_passes(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_tidy=TIDY)
    result = inner.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    assert "left Gatehouse processes" not in result.stdout.str()
