""" "Open" in the inventory and on the dashboard opens the model in the same browser tab.

A link column would open a new tab; the tables instead react to a selected Open cell and
switch page in this tab, with ``?model=`` in the URL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from core.services.inventory import model_choices

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

INVENTORY = str(Path(__file__).resolve().parents[2] / "pages" / "inventory.py")


def _no_link_columns(at: AppTest) -> None:
    for frame in at.dataframe:
        config = json.loads(frame.proto.columns or "{}")
        kinds = {str((c.get("type_config") or {}).get("type")) for c in config.values()}
        assert "link" not in kinds, "a link column opens a new browser tab"


def _select(at: AppTest, key: str, row: int, column: str) -> AppTest:
    at.session_state[key] = {"selection": {"rows": [], "columns": [], "cells": [[row, column]]}}
    return at.run()


def test_open_in_the_inventory_switches_to_the_model_in_this_tab(
    signed_in, demo_models, session: Session
) -> None:  # type: ignore[no-untyped-def]
    at = signed_in("sme").switch_page(INVENTORY).run()
    assert not at.exception
    _no_link_columns(at)
    table = at.dataframe[0].value
    assert set(table["open"]) == {"Open"}
    row = list(table["name"]).index("credit-logit")

    # Selecting another cell (to read or copy it) stays on the inventory.
    _select(at, "inv_table", row, "purpose")
    assert [t.value for t in at.title] == ["Inventory"]

    _select(at, "inv_table", row, "open")
    assert not at.exception
    assert [t.value for t in at.title] == ["credit-logit"]
    assert at.query_params["model"] == str(model_ids(session)["credit-logit"])

    # Back on the inventory, the old selection does not send the person away again.
    at.switch_page(INVENTORY).run()
    assert [t.value for t in at.title] == ["Inventory"]


def model_ids(session: Session) -> dict[str, int]:
    ids = {name: i for i, name in model_choices(session=session)}
    session.rollback()  # end the read, which holds SQLite's lock
    return ids


def test_open_on_the_dashboard_switches_to_the_model_in_this_tab(
    signed_in, demo_models, session: Session
) -> None:  # type: ignore[no-untyped-def]
    at = signed_in("sme")
    assert [t.value for t in at.title] == ["Dashboard"]
    _no_link_columns(at)
    table = next(d.value for d in at.dataframe if d.key == "dash_table")
    row = list(table["Model"]).index("credit-forest")
    _select(at, "dash_table", row, "Model")
    assert not at.exception
    assert [t.value for t in at.title] == ["credit-forest"]
    assert at.query_params["model"] == str(model_ids(session)["credit-forest"])
