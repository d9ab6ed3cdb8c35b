"""The Model page's gate status: the header figure and the Gates tab, as the core reads them."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from core.services.gate_status import gate_status, mark_gate_stale
from tests.pages.test_model import _open
from tests.pages.test_model_risk import INVENTORY_PAGE

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both


def _gates_table(at):  # type: ignore[no-untyped-def]
    return next(d.value for d in at.dataframe if {"Gate", "State", "Approvals"} <= set(d.value))


def test_the_model_page_shows_each_gate_and_which_one_went_stale(
    signed_in, demo_models: dict[str, int], session: Session
) -> None:  # type: ignore[no-untyped-def]
    version_id = demo_models["credit-gbm"]
    expected = gate_status(session=session, version_id=version_id)
    session.rollback()
    at = _open(signed_in("sme"), "credit-gbm")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Gates"] == "all approved"
    table = _gates_table(at)
    assert list(table["Gate"]) == [g.title for g in expected.gates]
    assert set(table["State"]) == {"approved"}

    # A monitoring threshold reopens the first gate: the page says which gate is stale.
    first = expected.gates[0]
    assert mark_gate_stale(session, version_id, first.gate_id, "a threshold was crossed")
    session.commit()
    at.run()
    assert {m.label: m.value for m in at.metric}["Gates"] == "stale"
    table = _gates_table(at).set_index("Gate")
    assert table.loc[first.title, "State"] == "stale"
    assert any(f"{first.title.lower()} gate (stale)" in link.label for link in at.get("page_link"))


def test_the_inventory_shows_the_gate_status_of_each_current_version(
    signed_in, demo_models: dict[str, int]
) -> None:  # type: ignore[no-untyped-def]
    at = signed_in("sme")
    at.switch_page(INVENTORY_PAGE).run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("name")
    assert table.loc["credit-gbm", "gate_status"] == "all approved"  # signed off by the fixture
    assert table.loc["credit-logit", "gate_status"] == "not opened"  # not assessed yet
