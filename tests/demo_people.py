"""The demo's users, added through the real service with the demo's published password."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from core.demo.seed import DEMO_PASSWORD, DEMO_USERS
from core.services.permissions import OPERATOR
from core.services.users import add_user

__all__ = ["add_demo_users"]


def add_demo_users(
    session: Session, display: Callable[[str, str], str] = lambda name, _role: name
) -> dict[str, str]:
    """Add every demo user (``display(name, role)`` gives the printed name) and commit; maps
    each role to the first demo user holding it."""
    for username, name, role in DEMO_USERS:
        add_user(
            session=session,
            actor=OPERATOR,
            username=username,
            password=DEMO_PASSWORD,
            roles=[role],
            display_name=display(name, role),
        )
    session.commit()
    return {role: username for username, _, role in reversed(DEMO_USERS)}
