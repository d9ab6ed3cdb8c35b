"""Text for where it lands: user text escaped, estimates, statuses, values, and a dash for nothing.

User text (model, column, group and display names, notes) reaches three kinds of place:
Markdown (``st.markdown``, captions, alerts, tab and widget labels), HTML (plotly labels and
hovers) and plain cells (dataframes, selectbox options). ``escape_for`` is the one helper that
makes it literal in each; ``plain_text`` turns a stored value into what a cell shows.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

__all__ = [
    "DASH",
    "GROUP_COLUMNS",
    "INTERVAL_COLUMN",
    "SPACE_NAMES",
    "STATUS_BADGES",
    "STATUS_WORDS",
    "UNDEFINED",
    "escape_for",
    "escape_html",
    "escape_label",
    "escape_markdown",
    "format_change",
    "format_estimate",
    "format_value",
    "plain_text",
    "sentence_case",
    "space_name",
    "status_badge",
    "status_word",
    "threshold_text",
]

DASH = "—"
UNDEFINED = "undefined"
STATUS_WORDS = {
    "pass": "pass",
    "fail": "fail",
    "insufficient_data": "insufficient data",
    "inconclusive": "inconclusive",
}
# Coloured badges in markdown (Streamlit's directive syntax; material icons ship with Streamlit).
STATUS_BADGES = {
    "pass": ":green-badge[:material/check: pass]",
    "fail": ":red-badge[:material/close: fail]",
    "insufficient_data": ":orange-badge[:material/help: insufficient data]",
    "inconclusive": ":orange-badge[:material/help: inconclusive]",
}
INTERVAL_COLUMN = "Measured (95% interval)"
#: Columns of a fairness group table, in order (classification, then regression metrics).
GROUP_COLUMNS = {
    "base_rate": "Base rate",
    "selection_rate": "Selection rate",
    "selection_rate_ratio": "Ratio to reference",
    "accuracy": "Accuracy",
    "true_positive_rate": "True-positive rate",
    "false_positive_rate": "False-positive rate",
    "false_negative_rate": "False-negative rate",
    "precision": "Precision",
    "mean_prediction": "Mean prediction",
    "mean_absolute_error": "Mean absolute error",
}
SPACE_NAMES = {"log_odds": "log-odds", "probability": "probability", "raw": "raw model output"}

# Characters that Markdown, Streamlit's directives (:red[...]) or KaTeX ($) read as syntax
# anywhere; CommonMark lets every one of them be backslash-escaped.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>#|~$])")
# What starts a list, quote or heading at the start of a text.
_LEADING = re.compile(r"^(\d+)([.)])|^([-+=])")
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")

Place = Literal["markdown", "label", "html", "plain"]


def escape_for(text: object, where: Place = "markdown") -> str:
    """User text shown literally where it lands.

    ``markdown``: st.markdown, captions, alerts (line breaks kept as spaces, so no heading or
    list can start); ``label``: tab, metric and widget labels (Markdown too, on one line);
    ``html``: plotly titles, ticks and hovers; ``plain``: dataframe cells and select options,
    which show text as it is (``None`` becomes a dash).
    """
    if where == "plain":
        return plain_text(text)
    value = DASH if text is None else str(text)
    if where == "html":
        return html.escape(value)
    value = _MARKDOWN.sub(r"\\\1", _NEWLINES.sub(" ", value).strip())
    return _LEADING.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", value)


def escape_markdown(text: object) -> str:
    """Text shown literally in Markdown, whatever characters it holds."""
    return escape_for(text, "markdown")


def escape_label(text: object) -> str:
    """Text shown literally in a widget, tab or metric label."""
    return escape_for(text, "label")


def escape_html(text: object) -> str:
    """Text shown literally in plotly's HTML-flavoured labels."""
    return escape_for(text, "html")


def plain_text(value: Any) -> str:
    """A stored value as a table cell shows it: a dash for nothing, lists joined, no repr."""
    # NaN and pandas' NaT (a datetime) are the only values unequal to themselves.
    if value is None or value == "" or (isinstance(value, float | datetime) and value != value):
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}" + (" UTC" if value.tzinfo else "")
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(plain_text(v) for v in value) or DASH
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {plain_text(v)}" for k, v in value.items()) or DASH
    if isinstance(value, float):
        return format_value(value)
    return str(value)


def format_estimate(
    estimate: Mapping[str, Any] | None, *, digits: int = 3, undefined: str = UNDEFINED
) -> str:
    """``0.812 (0.79–0.83)``: the value and its interval; ``undefined`` when there is no value."""
    value = (estimate or {}).get("value")
    if value is None:
        return undefined
    text = f"{value:.{digits}f}"
    lower, upper = (estimate or {}).get("lower"), (estimate or {}).get("upper")
    if lower is None or upper is None:
        return text
    return f"{text} ({lower:.{digits - 1}f}–{upper:.{digits - 1}f})"


def format_change(new: Mapping[str, Any] | None, old: Mapping[str, Any] | None) -> str:
    """The change of a point estimate, signed (``+0.012``); undefined if either side is."""
    a, b = (new or {}).get("value"), (old or {}).get("value")
    return UNDEFINED if a is None or b is None else f"{a - b:+.3f}"


def status_word(status: str | None) -> str:
    return STATUS_WORDS.get(status or "", "no checks")


def status_badge(status: str | None) -> str:
    """The status as a coloured markdown badge."""
    return STATUS_BADGES.get(status or "", ":gray-badge[no checks]")


def threshold_text(check: Mapping[str, Any]) -> str:
    sign = "≥" if check.get("direction") == "at_least" else "≤"
    return f"{sign} {check['threshold']:g}"


def sentence_case(label: str) -> str:
    return label[:1].upper() + label[1:]


def space_name(space: str) -> str:
    """The output space in words: "log-odds", "probability" or "raw model output"."""
    return SPACE_NAMES.get(space, space)


def format_value(value: Any) -> str:
    """A feature value as a person writes it: 0.62, 54,585, 41, south, missing."""
    if value is None:
        return "missing"
    if isinstance(value, float | int) and not isinstance(value, bool):
        number = float(value)
        if number.is_integer() and abs(number) < 1e15:
            return f"{int(number):,}"
        return f"{number:,.0f}" if abs(number) >= 1000 else f"{number:.3g}"
    return str(value)
