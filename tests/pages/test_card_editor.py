"""The card editor: dates are date pickers, people are pickers of existing users, and what is
stored keeps its form (``YYYY-MM-DD`` text, usernames)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from core.services.inventory import card_history, current_card, edit_card, model_choices
from core.services.permissions import OPERATOR
from core.services.users import deactivate_user, get_user
from core.tables import User
from tests.pages.conftest import texts

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "model.py")


def _prepared(session: Session) -> int:
    model_id = {name: i for i, name in model_choices(session=session)}["credit-gbm"]
    edit_card(
        session=session, actor=get_user(session=session, username="ada"), model_id=model_id,
        changes={"owner": "olivia", "developer": "devi", "validation_done": "2026-03-31",
                 "validity_horizon": "12 months"},
    )  # fmt: skip
    session.commit()
    return model_id


def _open(at, name: str):  # type: ignore[no-untyped-def]
    at.switch_page(PAGE).run()
    picker = at.selectbox(key="model_pick")
    picker.select_index(list(picker.options).index(name)).run()
    return at


def test_dates_are_pickers_and_people_pick_existing_users(
    signed_in, demo_models, session: Session
) -> None:  # type: ignore[no-untyped-def]
    model_id = _prepared(session)
    at = _open(signed_in("model_owner"), "credit-gbm")
    assert not at.exception
    key = f"card_{model_id}_"
    assert at.date_input(key=key + "validation_done").value == date(2026, 3, 31)
    assert at.date_input(key=key + "validation_planned").value is None
    # Text that is no date is shown and kept until a date is picked.
    assert at.date_input(key=key + "validity_horizon").value is None
    assert "Stored as text: 12 months; picking a date replaces it." in texts(at)

    owner = at.selectbox(key=key + "owner")
    assert owner.value == "olivia"
    # Every active user, whoever the fixtures added.
    users = session.exec(select(User).where(col(User.is_active))).all()
    assert set(owner.options) == {"—"} | {f"{u.display_name} ({u.username})" for u in users}
    session.rollback()  # end the reads, which hold SQLite's lock
    assert at.selectbox(key=key + "validator").value == ""
    assert not any(t.key and t.key.startswith(key + "valid") for t in at.text_area)

    at.date_input(key=key + "validation_planned").set_value(date(2026, 9, 30))
    at.selectbox(key=key + "validator").set_value("victor")
    at.button(key=f"FormSubmitter:card_{model_id}-Save card").click().run()
    assert not at.exception and not at.error

    card = current_card(session=session, model_id=model_id)
    assert card["validation_planned"] == "2026-09-30"  # stored as the text fields stored it
    assert card["validator"] == "victor"
    assert (card["validation_done"], card["validity_horizon"]) == ("2026-03-31", "12 months")
    assert set(card_history(session=session, model_id=model_id)[0].changes) == {
        "validation_planned",
        "validator",
    }
    session.rollback()

    at.date_input(key=key + "validity_horizon").set_value(date(2027, 3, 31))
    at.button(key=f"FormSubmitter:card_{model_id}-Save card").click().run()
    assert not at.exception
    assert current_card(session=session, model_id=model_id)["validity_horizon"] == "2027-03-31"


def test_a_person_no_longer_active_stays_named_until_changed(
    signed_in, demo_models, session: Session
) -> None:  # type: ignore[no-untyped-def]
    model_id = _prepared(session)
    deactivate_user(session=session, actor=OPERATOR, username="devi")
    session.commit()
    at = _open(signed_in("admin"), "credit-gbm")
    developer = at.selectbox(key=f"card_{model_id}_developer")
    assert developer.value == "devi" and "devi (not active)" in developer.options
    at.text_area(key=f"card_{model_id}_kpis").input("Default rate below 2%")
    at.button(key=f"FormSubmitter:card_{model_id}-Save card").click().run()
    assert not at.exception and not at.error
    card = current_card(session=session, model_id=model_id)
    assert (card["developer"], card["kpis"]) == ("devi", "Default rate below 2%")
    assert set(card_history(session=session, model_id=model_id)[0].changes) == {"kpis"}
