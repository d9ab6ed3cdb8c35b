"""Who may be named on a model card: the existing, active users, for the card editor's pickers.

The card names a model's owner, developer and validator by username; a picker of existing users
keeps people from typing names that do not exist. Listing every account with its roles stays
with admins and auditors (``core.services.users.list_users``); the card editor sees only
usernames and display names, and only those who may edit a card see them at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from core.services.permissions import CARD_ROLES, PEOPLE_ROLES, Actor, require_role
from core.tables import User

__all__ = ["Person", "card_people"]


@dataclass(frozen=True)
class Person:
    """A user as a card picker offers them."""

    username: str
    display_name: str

    @property
    def label(self) -> str:
        """``Victor Validator (victor)``; the username alone when it is the display name."""
        if self.display_name in ("", self.username):
            return self.username
        return f"{self.display_name} ({self.username})"


def card_people(*, session: Session, actor: Actor) -> list[Person]:
    """Every active user, by username, for naming a model's owner, developer and validator.

    For those who may edit a card (its text or its people); others are refused.
    """
    require_role(session, actor, "choose the people on a model card", *CARD_ROLES, *PEOPLE_ROLES)
    rows = session.exec(
        select(User.username, User.display_name)
        .where(col(User.is_active).is_(True))
        .order_by(col(User.username))
    ).all()
    return [Person(username=u, display_name=d or "") for u, d in rows]
