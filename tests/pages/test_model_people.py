"""The card editor cannot be used to take over a model: people follow the inventory's rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from core.services.inventory import edit_card, model_choices, model_overview
from core.services.inventory.card import PEOPLE_NOT_ALLOWED
from core.services.users import get_user

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "model.py")


def test_a_developer_cannot_make_herself_owner_and_validator_through_the_card_editor(
    signed_in,
    demo_models,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    model_id = {name: i for i, name in model_choices(session=session)}["credit-gbm"]
    # Olivia owns the production model; Devi developed it.
    edit_card(session=session, actor=get_user(session=session, username="ada"),
              model_id=model_id, changes={"owner": "olivia", "developer": "devi"})  # fmt: skip
    session.commit()

    at = signed_in("developer").switch_page(PAGE).run()
    picker = at.selectbox(key="model_pick")
    picker.select_index(list(picker.options).index("credit-gbm")).run()
    at.selectbox(key=f"card_{model_id}_owner").set_value("devi")
    at.selectbox(key=f"card_{model_id}_validator").set_value("devi")
    at.button(key=f"FormSubmitter:card_{model_id}-Save card").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        PEOPLE_NOT_ALLOWED.format(who="devi", fields="owner, validator", model="credit-gbm")
    ]
    session.expire_all()
    after = model_overview(session=session, model_id=model_id)
    assert (after.owner, after.developer, after.validator) == ("olivia", "devi", None)
