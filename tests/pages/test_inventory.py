"""The Inventory page: the table, filters, "as of" and a failing page number are handled."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "inventory.py")


def test_inventory_lists_filters_and_goes_back_in_time(signed_in, demo_models) -> None:  # type: ignore[no-untyped-def]
    at = signed_in("sme")
    at.switch_page(PAGE).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["name"]) == ["credit-forest", "credit-gbm", "credit-logit"]
    assert dict(zip(table["name"], table["stage"], strict=True))["credit-gbm"] == "production"
    assert "3 models match" in at.caption[0].value

    at.multiselect(key="inv_stages").select("production").run()
    assert list(at.dataframe[0].value["name"]) == ["credit-gbm"]
    at.multiselect(key="inv_stages").unselect("production").run()
    at.text_input(key="inv_text").input("logistic").run()
    assert list(at.dataframe[0].value["name"]) == ["credit-logit"]

    at.text_input(key="inv_text").input("").run()
    at.date_input(key="inv_as_of").set_value(date.today() - timedelta(days=1)).run()
    assert not at.exception
    assert "0 models match" in at.caption[0].value  # nothing was registered yesterday
    assert "as it stood" in at.info[0].value


def test_a_typed_as_of_date_applies_and_a_picked_one_is_written_into_the_box(
    signed_in,
    demo_models,  # type: ignore[no-untyped-def]
) -> None:
    at = signed_in("sme")
    at.switch_page(PAGE).run()
    assert "3 models match" in at.caption[0].value
    yesterday = date.today() - timedelta(days=1)

    # Typed (a text box applies on Enter), in any of the unambiguous forms.
    for typed in (yesterday.isoformat(), f"{yesterday:%Y/%m/%d}", f"{yesterday:%d %B %Y}"):
        at.text_input(key="inv_as_of_text").input(typed).run()
        assert not at.exception
        assert "0 models match" in at.caption[0].value, typed
        assert f"end of {yesterday:%d %B %Y}" in at.info[0].value
        assert at.date_input(key="inv_as_of").value == yesterday  # the calendar follows

    at.text_input(key="inv_as_of_text").input("").run()
    assert "3 models match" in at.caption[0].value and not at.info

    # Picked from the calendar: the day lands in the box and applies.
    at.date_input(key="inv_as_of").set_value(date.today()).run()
    assert at.text_input(key="inv_as_of_text").value == date.today().isoformat()
    assert "3 models match" in at.caption[0].value and "as it stood" in at.info[0].value
    at.date_input(key="inv_as_of").set_value(yesterday).run()
    assert "0 models match" in at.caption[0].value


def test_a_date_that_cannot_be_read_says_how_to_type_it(signed_in, demo_models) -> None:  # type: ignore[no-untyped-def]
    at = signed_in("sme")
    at.switch_page(PAGE).run()
    at.text_input(key="inv_as_of_text").input("30/11/2026").run()
    assert not at.exception
    assert at.error[0].value.startswith(
        "As of (end of day, UTC); empty for now: '30/11/2026' is not a date; type it as YYYY-MM-DD"
    )
    assert "3 models match" in at.caption[0].value  # treated as empty: the inventory now
    tomorrow = date.today() + timedelta(days=1)
    at.text_input(key="inv_as_of_text").input(tomorrow.isoformat()).run()
    assert f"{tomorrow.isoformat()} is after {date.today().isoformat()}" in at.error[0].value


def test_every_column_is_shown_until_the_reader_hides_it_and_then_it_says_so(
    signed_in, demo_models
) -> None:  # type: ignore[no-untyped-def]
    at = signed_in("risk_manager")
    at.switch_page(PAGE).run()
    columns = list(at.dataframe[0].value.columns)
    # What a reviewer asks first comes right after the name, long text last.
    assert columns[:8] == [
        "open", "name", "stage", "risk_tier", "version", "next_review", "open_findings",
        "gate_status",
    ]  # fmt: skip
    assert columns[-1] == "purpose" and not any("Hidden" in c.value for c in at.caption)
    at.multiselect(key="inv_columns").unselect("purpose").unselect("owner").run()
    assert not at.exception
    assert {"purpose", "owner"}.isdisjoint(at.dataframe[0].value.columns)
    assert any(c.value == "Hidden columns: Owner, Purpose." for c in at.caption)
