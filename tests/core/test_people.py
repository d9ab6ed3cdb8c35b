"""Who a card's people pickers offer: active users, to those who may edit a card."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from core.errors import PermissionDenied
from core.services.people import Person, card_people
from core.services.permissions import OPERATOR
from core.services.users import add_user, deactivate_user, get_user


def test_active_users_by_username_for_card_editors_only(session: Session) -> None:
    for username, name, role in (
        ("zoe", "Zoe Owner", "model_owner"),
        ("bob", "bob", "developer"),
        ("sam", "Sam Expert", "sme"),
        ("gone", "Gone Away", "validator"),
    ):
        add_user(session=session, actor=OPERATOR, username=username, password="a long password 1",
                 roles=[role], display_name=name)  # fmt: skip
    deactivate_user(session=session, actor=OPERATOR, username="gone")
    session.flush()
    people = card_people(session=session, actor=get_user(session=session, username="zoe"))
    assert people == [Person("bob", "bob"), Person("sam", "Sam Expert"), Person("zoe", "Zoe Owner")]
    assert [p.label for p in people] == ["bob", "Sam Expert (sam)", "Zoe Owner (zoe)"]
    with pytest.raises(PermissionDenied) as err:
        card_people(session=session, actor=get_user(session=session, username="sam"))
    assert "choose the people on a model card" in err.value.problems[0]
