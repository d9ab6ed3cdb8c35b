"""How the report writes values: estimates with intervals, UTC times, a dash for nothing.

Filters return plain text; Jinja2's autoescaping makes it safe where it lands.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

__all__ = ["DASH", "FILTERS", "estimate", "number", "text", "utc"]

DASH = "—"


def text(value: Any) -> str:
    """A stored value as one line of text; lists joined, nothing as a dash."""
    if value is None or value == "" or value == []:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, list | tuple):
        return ", ".join(text(v) for v in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {text(v)}" for k, v in value.items())
    if isinstance(value, float):
        return number(value)
    return str(value)


def utc(value: Any) -> str:
    """``2026-12-02 14:30:05 UTC`` from a datetime or an ISO string."""
    if value is None or value == "":
        return DASH
    when = (
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if isinstance(value, str)
        else value
    )
    return f"{when:%Y-%m-%d %H:%M:%S} UTC"


def date(value: Any) -> str:
    """``2026-12-02`` from a datetime or an ISO string."""
    return DASH if not value else utc(value)[:10]


def number(value: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals (integers as they are)."""
    if value is None:
        return DASH
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{float(value):.{digits}f}"


def estimate(value: Mapping[str, Any] | None, digits: int = 3) -> str:
    """``0.812 (0.790–0.830)``: the value and its 95% interval."""
    point = (value or {}).get("value")
    if point is None:
        return "undefined"
    lower, upper = (value or {}).get("lower"), (value or {}).get("upper")
    if lower is None or upper is None:
        return f"{point:.{digits}f}"
    return f"{point:.{digits}f} ({lower:.{digits}f}–{upper:.{digits}f})"


def percent(value: Any) -> str:
    return DASH if value is None else f"{100 * float(value):.0f}%"


def words(value: Any) -> str:
    """An identifier in words: ``business_scoping`` → "business scoping"."""
    return text(value).replace("_", " ")


FILTERS: dict[str, Callable[..., str]] = {
    "text": text,
    "utc": utc,
    "date": date,
    "num": number,
    "est": estimate,
    "pct": percent,
    "words": words,
}
