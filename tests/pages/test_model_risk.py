"""The Risk tab of the Model page: the owner answers, a risk manager overrides, others read."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from core.demo.risk import DEMO_ANSWERS
from core.services.inventory import edit_card
from core.services.permissions import OPERATOR
from core.services.policy import ensure_shipped_pack
from core.services.risk import current_risk, find_model

pytestmark = pytest.mark.sqlite_only

MODEL_PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "model.py")
INVENTORY_PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "inventory.py")


@pytest.fixture
def owned(session: Session, demo_models) -> int:  # type: ignore[no-untyped-def]
    ensure_shipped_pack(session)
    model_id = find_model(session, "credit-gbm").id
    edit_card(session=session, actor=OPERATOR, model_id=model_id, changes={"owner": "olivia"})
    session.commit()
    return model_id  # type: ignore[return-value]


def _open(at, name: str):  # type: ignore[no-untyped-def]
    at.switch_page(MODEL_PAGE).run()
    picker = at.selectbox(key="model_pick")
    picker.select_index(list(picker.options).index(name)).run()
    return at


def _metric(at, label: str) -> str:  # type: ignore[no-untyped-def]
    return next(m.value for m in at.metric if m.label == label)


def test_owner_assesses_and_risk_manager_overrides(signed_in, owned: int, session: Session) -> None:  # type: ignore[no-untyped-def]
    at = _open(signed_in("model_owner"), "credit-gbm")
    assert not at.exception
    assert any("Not assessed yet" in i.value for i in at.info)
    for qid, value in DEMO_ANSWERS["credit-gbm"][0].items():
        at.selectbox(key=f"risk_{owned}_{qid}").set_value(value)
    at.button(key=f"FormSubmitter:risk_form_{owned}-Assess").click().run()
    assert not at.exception
    risk = current_risk(session, owned)
    assert risk["current"]["tier"] == "high" and risk["current"]["assessed_by"] == "olivia"
    assert _metric(at, "Tier") == "high"
    session.rollback()  # end the read, so the page's write does not wait on it

    at = _open(signed_in("risk_manager"), "credit-gbm")
    at.selectbox(key=f"risk_override_tier_{owned}").set_value("critical")
    at.text_area(key=f"risk_override_why_{owned}").input("Public-facing champion.")
    at.button(key=f"FormSubmitter:risk_override_{owned}-Override").click().run()
    assert not at.exception
    assert _metric(at, "Tier") == "critical (override; computed high)"
    history = next(d.value for d in at.dataframe if "Computed tier" in d.value.columns)
    assert list(history["Overrides"]) == ["critical by rita: Public-facing champion."]
    session.rollback()

    inventory = signed_in("sme")
    inventory.switch_page(INVENTORY_PAGE).run()
    assert not inventory.exception, inventory.exception
    table = inventory.dataframe[0].value.set_index("name")
    assert table.loc["credit-gbm", "risk_tier"] == "critical (override; computed high)"
    assert not table.loc["credit-gbm", "overdue"] and not table.loc["credit-gbm", "needs_review"]
    assert table.loc["credit-logit", "risk_tier"] == "not assessed"


def test_override_without_justification_is_refused_and_others_only_read(
    signed_in, owned: int, session: Session
) -> None:  # type: ignore[no-untyped-def]
    at = _open(signed_in("risk_manager"), "credit-gbm")
    for qid, value in DEMO_ANSWERS["credit-logit"][0].items():
        at.selectbox(key=f"risk_{owned}_{qid}").set_value(value)
    at.button(key=f"FormSubmitter:risk_form_{owned}-Assess").click().run()
    at.button(key=f"FormSubmitter:risk_override_{owned}-Override").click().run()
    assert [e.value for e in at.error] == [
        "An override needs a written justification; give --justification TEXT."
    ]
    assert current_risk(session, owned)["current"]["overrides"] == []
    session.rollback()

    sme = _open(signed_in("sme"), "credit-gbm")
    assert not sme.exception
    assert not [s for s in sme.selectbox if str(s.key).startswith(f"risk_{owned}_")]
    answers = next(d.value for d in sme.dataframe if "Answer" in d.value.columns)
    assert len(answers) == 16
