"""Logs on standard error with time and level; GATEHOUSE_LOG_FORMAT=json gives one object a line."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest

from core.logging_setup import configure_logging

TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO|WARNING|ERROR) core\.services\.jobs: .+$"
)


@pytest.fixture(autouse=True)
def _restore_root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), logging.getLogger("core").level
    yield
    root.handlers[:] = handlers
    logging.getLogger("core").setLevel(level)


def _log_some() -> None:
    log = logging.getLogger("core.services.jobs")
    log.debug("not shown at INFO")
    log.info("Job %s started", 7)
    try:
        raise RuntimeError("the model said no")
    except RuntimeError:
        log.exception("Job %s failed", 7)


def test_text_lines_carry_time_and_level(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GATEHOUSE_LOG_FORMAT", raising=False)
    configure_logging()
    _log_some()
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert TEXT_LINE.match(lines[0]) and lines[0].endswith("INFO core.services.jobs: Job 7 started")
    assert TEXT_LINE.match(lines[1]) and " ERROR " in lines[1]
    assert lines[-1] == "RuntimeError: the model said no"


def test_json_is_one_object_per_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEHOUSE_LOG_FORMAT", "json")
    configure_logging()
    configure_logging()  # idempotent: still one handler, one line per record
    _log_some()
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(r["level"], r["logger"], r["message"]) for r in records] == [
        ("INFO", "core.services.jobs", "Job 7 started"),
        ("ERROR", "core.services.jobs", "Job 7 failed"),
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", records[0]["time"])
    assert records[1]["traceback"].endswith("RuntimeError: the model said no")


def test_an_unknown_format_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEHOUSE_LOG_FORMAT", "xml")
    with pytest.raises(ValueError) as err:
        configure_logging()
    assert str(err.value) == (
        "GATEHOUSE_LOG_FORMAT='xml' is not a log format; set it to one of ['text', 'json']."
    )
