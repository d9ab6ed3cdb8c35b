"""The limited child process: a model that allocates too much, loops or crashes is stopped and
reported in one sentence, and the calling process carries on."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io

from core.config import reset_settings
from core.errors import InputProblems
from core.files.artifacts import ModelLimitExceeded, load_artifact
from core.files.sandbox import CPU_EXCEEDED, CRASHED, KILLED, MEMORY_EXCEEDED, run_limited

HOG = "tests.core.test_sandbox.Hog"
SPINNER = "tests.core.test_sandbox.Spinner"


def allocate_ten_gigabytes() -> int:
    return len(bytearray(10 * 2**30))


def spin() -> None:
    while True:
        pass


def crash() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def kill_itself() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def refuse() -> None:
    raise InputProblems(["First sentence.", "Second sentence."])


def double(value: int, progress: Any = None) -> int:
    if progress is not None:
        progress(0.5, "halfway")
    return value * 2


class Hog:
    """A type an admin trusted by mistake: rebuilding it from a file allocates 10 GB."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.buffer = np.ones(10 * 2**30, dtype=np.uint8)


class Spinner:
    """Rebuilding it from a file never ends."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        spin()


def test_a_function_that_allocates_too_much_is_stopped_in_one_sentence() -> None:
    with pytest.raises(ModelLimitExceeded) as caught:
        run_limited(allocate_ten_gigabytes, memory_mb=200, what="the test model")
    assert caught.value.problems == [MEMORY_EXCEEDED.format(what="the test model", mb=200)]
    assert run_limited(double, 21) == 42  # the caller (and the server) carry on


def test_a_function_that_loops_is_stopped_at_its_cpu_limit() -> None:
    with pytest.raises(ModelLimitExceeded) as caught:
        run_limited(spin, cpu_seconds=1, what="the test model")
    assert caught.value.problems == [CPU_EXCEEDED.format(what="the test model", seconds=1)]


def test_a_crash_becomes_a_sentence() -> None:
    with pytest.raises(ModelLimitExceeded) as caught:
        run_limited(crash, what="the test model")
    assert caught.value.problems == [CRASHED.format(what="the test model", reason="SIGSEGV")]


def test_a_killed_child_becomes_a_sentence() -> None:
    with pytest.raises(ModelLimitExceeded) as caught:
        run_limited(kill_itself, memory_mb=300, cpu_seconds=5, what="the test model")
    assert caught.value.problems == [KILLED.format(what="the test model", mb=300, seconds=5)]


def test_domain_errors_come_back_whole_and_progress_is_relayed() -> None:
    with pytest.raises(InputProblems) as caught:
        run_limited(refuse)
    assert caught.value.problems == ["First sentence.", "Second sentence."]
    seen: list[tuple[float, str]] = []
    assert run_limited(double, 4, progress=lambda f, m: seen.append((f, m))) == 8
    assert seen == [(0.5, "halfway")]


@pytest.mark.parametrize(
    ("kind", "setting", "expected"),
    [
        (Hog, ("GATEHOUSE_MODEL_MEMORY_MB", "300"), MEMORY_EXCEEDED.format(what="{what}", mb=300)),
        (
            Spinner,
            ("GATEHOUSE_MODEL_CPU_SECONDS", "1"),
            CPU_EXCEEDED.format(what="{what}", seconds=1),
        ),
    ],
    ids=["allocates", "loops"],
)
def test_a_model_file_that_exhausts_its_limits_is_refused_and_the_caller_survives(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: type,
    setting: tuple[str, str],
    expected: str,
) -> None:
    path = tmp_path / "model.skops"
    hostile = kind.__new__(kind)
    hostile.size = 1  # a state to set, so skops calls __setstate__ when rebuilding it
    skops.io.dump({"model": hostile}, path)
    monkeypatch.setenv(*setting)
    reset_settings()
    try:
        with pytest.raises(ModelLimitExceeded) as caught:
            load_artifact(path, extra_trusted=[HOG, SPINNER])
    finally:
        monkeypatch.undo()
        reset_settings()
    assert caught.value.problems == [expected.format(what="the model file model.skops")]
    assert os.getpid() > 0 and run_limited(double, 1) == 2
