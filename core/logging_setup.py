"""Logs to standard error with time and level; one JSON object per line for log collectors.

GATEHOUSE_LOG_FORMAT   "text" (default) or "json"
GATEHOUSE_LOG_LEVEL    DEBUG, INFO (default), WARNING, ERROR

Process supervisors (systemd's journal, container runtimes) collect standard error, so that is
where every Gatehouse process logs: the CLI, `gatehouse worker` and the app server.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

__all__ = ["FORMATS", "JsonFormatter", "TextFormatter", "configure_logging"]

FORMATS = ("text", "json")
BAD_FORMAT = "GATEHOUSE_LOG_FORMAT={value!r} is not a log format; set it to one of {formats}."
BAD_LEVEL = (
    "GATEHOUSE_LOG_LEVEL={value!r} is not a log level; set it to DEBUG, INFO, WARNING or ERROR."
)
_MARK = "_gatehouse_handler"


def _timestamp(record: logging.LogRecord) -> str:
    when = datetime.fromtimestamp(record.created, tz=UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """``2026-12-02T13:45:00.123Z INFO core.services.jobs: message`` (UTC)."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: time, level, logger, message (and traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
            "thread": record.threadName,
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the current ``sys.stderr``, even when a caller swapped it after set-up."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging() -> None:
    """Send this process's logs to standard error in the configured format (idempotent).

    Raises ValueError with a sentence when the format or level is not one Gatehouse knows.
    """
    style = (os.environ.get("GATEHOUSE_LOG_FORMAT") or "text").strip().lower()
    if style not in FORMATS:
        raise ValueError(BAD_FORMAT.format(value=style, formats=list(FORMATS)))
    level_name = (os.environ.get("GATEHOUSE_LOG_LEVEL") or "INFO").strip().upper()
    level = logging.getLevelNamesMapping().get(level_name)
    if level is None:
        raise ValueError(BAD_LEVEL.format(value=level_name))
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
    handler = _StandardError()
    handler.setFormatter(JsonFormatter() if style == "json" else TextFormatter())
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    for name in ("core", "app"):
        logging.getLogger(name).setLevel(level)
