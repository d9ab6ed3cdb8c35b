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
