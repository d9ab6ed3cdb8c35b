"""My reviews: reviewers land on what waits for them, oldest first, and read their inbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from core.rules.gates import plan_from_pack_tier
from core.services.gates import open_gates

REVIEWS = str(Path(__file__).resolve().parents[2] / "pages" / "reviews.py")
pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

TIER = {
    "gates": [
        {
            "id": "business_scoping",
            "responsible": ["model_owner"],
            "accountable": "risk_manager",
            "informed": ["validator"],
        },
    ]
}


def test_a_reviewer_lands_on_my_reviews_with_the_waiting_gate(
    signed_in, demo_models: dict[str, int], session: Session
) -> None:  # type: ignore[no-untyped-def]
    open_gates(
        session=session,
        version_id=demo_models["credit-logit"],
        plan=plan_from_pack_tier(TIER),
        policy_version=1,
        tier="low",
    )
    session.commit()
    at = signed_in("model_owner")
    assert not at.exception
    assert any("1 gate waits for you" in i.value for i in at.info)  # said on the dashboard
    at.switch_page(REVIEWS).run()
    assert [t.value for t in at.title] == ["My reviews"]
    table = at.dataframe[0].value
    assert list(table["Model"]) == ["credit-logit"] and list(table["Gate"]) == ["Business scoping"]
    assert list(table["Your part"]) == ["submit (as model owner)"]


def test_nothing_waiting_says_so(signed_in, demo_models: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    at = signed_in("validator")
    at.switch_page(REVIEWS).run()
    assert [t.value for t in at.title] == ["My reviews"]
    assert [s.value for s in at.success] == ["Nothing waits for you."]
