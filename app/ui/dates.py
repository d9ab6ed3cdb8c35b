"""Dates people type or pick: one parser for typed days, and a day control that applies on Enter.

Streamlit's date field takes a typed date only when the focus leaves the whole field: typing a
date and pressing Enter applies nothing, so a person who types rather than picks sees no
change. ``typed_day_input`` therefore reads the day from a text box (applied on Enter, like
every text box) and offers the calendar beside it; a picked day is written into the box.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import streamlit as st

from app.ui.text import escape_markdown

__all__ = ["NOT_A_DAY", "TOO_LATE", "parse_day", "stored_day", "typed_day_input"]

NOT_A_DAY = "{label}: {text!r} is not a date; type it as YYYY-MM-DD, for example {example}."
TOO_LATE = "{label}: {day} is after {latest}; type a date up to {latest}."
_NUMERIC = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\s*$|^\s*(\d{4})(\d{2})(\d{2})\s*$")
_WORDS = ("%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y", "%B %d, %Y", "%b %d, %Y")


def parse_day(text: str) -> date:
    """A typed day: ``2026-11-30``, ``2026/11/30``, ``20261130``, ``30 November 2026``.

    Day-first and month-first numeric forms (``30/11/2026``, ``11/30/2026``) are refused rather
    than guessed: the same digits name two different days. Raises ValueError.
    """
    if match := _NUMERIC.match(text):
        year, month, day = (int(g) for g in match.groups() if g is not None)
        return date(year, month, day)
    for form in _WORDS:
        try:
            return datetime.strptime(" ".join(text.split()), form).date()
        except ValueError:
            continue
    raise ValueError(text)


def stored_day(value: object) -> date | None:
    """A stored card value as a day, when it is one (``"2026-06-30"``); else None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return parse_day(value)
        except ValueError:
            return None
    return None


def _picked(text_key: str, pick_key: str) -> None:
    day = st.session_state.get(pick_key)
    st.session_state[text_key] = day.isoformat() if isinstance(day, date) else ""


def typed_day_input(
    label: str, *, key: str, latest: date | None = None, container: Any = None
) -> date | None:
    """A day typed (applied on Enter) or picked from a calendar; None while the box is empty.

    ``key`` is the calendar's widget key; the text box uses ``key + "_text"``. A day that cannot
    be read, or is after ``latest``, is said in one sentence and treated as empty.
    """
    where: Any = container or st
    text_key = f"{key}_text"
    text = str(st.session_state.get(text_key) or "")
    day: date | None = None
    problem = ""
    if text.strip():
        try:
            day = parse_day(text)
        except ValueError:
            example = (latest or date.today()).isoformat()
            problem = NOT_A_DAY.format(label=label, text=text.strip(), example=example)
        if day is not None and latest is not None and day > latest:
            problem = TOO_LATE.format(label=label, day=day.isoformat(), latest=latest.isoformat())
            day = None
    typed, calendar = where.columns([4, 1], vertical_alignment="bottom")
    typed.text_input(label, key=text_key, placeholder="YYYY-MM-DD; Enter applies it")
    # The calendar shows the typed day; it is set before the widget exists, as Streamlit asks.
    st.session_state[key] = day
    on_pick: Callable[..., None] = _picked
    with calendar.popover("Pick", icon=":material/calendar_month:", width="stretch"):
        st.date_input(
            label, key=key, max_value=latest, on_change=on_pick, args=(text_key, key),
            label_visibility="collapsed",
        )  # fmt: skip
    if problem:
        where.error(escape_markdown(problem), icon=":material/error:")
    return day
