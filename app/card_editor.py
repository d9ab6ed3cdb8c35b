"""The model card editor's fields: dates are date pickers, people are pickers of existing users.

Stored values keep their form: a date is stored as ``YYYY-MM-DD`` text and a person as a
username, exactly as the text fields stored them. A date field whose stored text is not a date
("12 months") shows that text and keeps it until a date is picked; a person no longer active
stays offered while they are the one named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st
import yaml

from app.ui import DASH, escape_markdown
from app.ui.dates import stored_day
from core.rules.card_fields import CARD_DATE_FIELDS as DATE_FIELDS
from core.services.inventory.card import PEOPLE_FIELDS
from core.services.people import Person

__all__ = ["as_text", "card_changes", "card_inputs"]


def as_text(value: object) -> str:
    """A card value as one line of text (lists joined; lists of mappings as YAML)."""
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        return yaml.safe_dump(value, sort_keys=False, allow_unicode=True).strip()
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


def _date_input(label: str, value: object, widget: str) -> str | None:
    """The day as stored text; None when nothing was picked and the stored text is no date."""
    day = stored_day(value)
    picked = st.date_input(label, value=day, key=widget, min_value=None, max_value=None)
    if day is None and as_text(value):
        st.caption(
            f"Stored as text: {escape_markdown(as_text(value))}; picking a date replaces it."
        )
        if picked is None:
            return None  # untouched: the stored text stays
    return picked.isoformat() if picked is not None else ""  # type: ignore[union-attr]


def _person_input(label: str, value: object, widget: str, people: Sequence[Person]) -> str:
    current = as_text(value)
    labels = {p.username: p.label for p in people}
    options = ["", *labels]
    if current and current not in labels:  # named, but not active now: still the one named
        options.append(current)
        labels[current] = f"{current} (not active)"
    return str(
        st.selectbox(
            label,
            options,
            index=options.index(current) if current in options else 0,
            key=widget,
            format_func=lambda u: labels.get(u, DASH) if u else DASH,
        )
    )


def card_inputs(
    model_id: int, card: Mapping[str, Any], fields: Mapping[str, str], people: Sequence[Person]
) -> dict[str, str | None]:
    """Inside the card form: one input per field, keyed ``card_<model>_<field>``.

    Returns each field's new text (None: a date field left as stored text).
    """
    edits: dict[str, str | None] = {}
    for key, label in fields.items():
        widget = f"card_{model_id}_{key}"
        if key in DATE_FIELDS:
            edits[key] = _date_input(label, card.get(key), widget)
        elif key in PEOPLE_FIELDS:
            edits[key] = _person_input(label, card.get(key), widget, people)
        else:
            edits[key] = st.text_area(label, value=as_text(card.get(key)), key=widget, height=68)
    return edits


def card_changes(edits: Mapping[str, str | None], card: Mapping[str, Any]) -> dict[str, Any]:
    """Only the fields the person changed; a day equal to the stored day is no change."""
    changes: dict[str, Any] = {}
    for key, new in edits.items():
        old = card.get(key)
        if new is None:
            continue
        same_day = stored_day(old) is not None and stored_day(new) == stored_day(old)
        if key in DATE_FIELDS and new and same_day:
            continue
        if new != as_text(old):
            changes[key] = new
    return changes
