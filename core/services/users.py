"""User administration: add, list, change roles, deactivate, unlock. Users are never deleted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from core.errors import InputProblems, NotFound
from core.services.audit import append_event
from core.services.auth import Role, check_roles, hash_password, require_role, roles_of
from core.tables import User, UserRole, utcnow

__all__ = [
    "UserPublic",
    "add_user",
    "deactivate_user",
    "get_user",
    "list_users",
    "reactivate_user",
    "set_roles",
    "unlock_user",
]

MIN_PASSWORD = 10
DUPLICATE = "The username {username!r} is taken; choose another username."
USERNAME_SHAPE = (
    "The username {username!r} is not usable; use 2–64 letters, digits, dots, dashes or "
    "underscores."
)
SHORT_PASSWORD = f"The password is shorter than {MIN_PASSWORD} characters; choose a longer one."
NO_ROLE = "A user needs at least one role; give one with --role (e.g. --role sme)."
UNKNOWN_USER = "No user is called {username!r}; check the name with `gatehouse user list`."


@dataclass(frozen=True)
class UserPublic:
    """What may be shown of a user (no hash)."""

    id: int
    username: str
    display_name: str
    email: str | None
    roles: tuple[str, ...]
    is_active: bool
    locked: bool

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "roles": list(self.roles)}


def _public(session: Session, user: User) -> UserPublic:
    assert user.id is not None
    locked = user.locked_until is not None and user.locked_until > utcnow()
    return UserPublic(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        roles=tuple(sorted(roles_of(session, user))),
        is_active=user.is_active,
        locked=locked,
    )


def _check_admin(session: Session, actor: User | None, action: str) -> None:
    # actor None: the operator at the command line, who holds the database itself.
    if actor is not None:
        require_role(session, actor, action, Role.admin)


def get_user(*, session: Session, username: str) -> User:
    """The user with that username, or NotFound."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(UNKNOWN_USER.format(username=username))
    return user


def add_user(
    *,
    session: Session,
    actor: User | None,
    username: str,
    password: str | None,
    roles: Iterable[str],
    display_name: str | None = None,
    email: str | None = None,
) -> User:
    """Create a user with roles; every problem with the input is reported at once.

    ``password`` None makes an SSO-only account (it can sign in only through the identity provider).
    """
    _check_admin(session, actor, "add users")
    roles = sorted(set(roles))
    username = username.strip()
    problems = check_roles(roles)
    if not roles:
        problems.append(NO_ROLE)
    if not (2 <= len(username) <= 64) or not all(c.isalnum() or c in "._-" for c in username):
        problems.append(USERNAME_SHAPE.format(username=username))
    elif session.exec(select(User.id).where(User.username == username)).first() is not None:
        problems.append(DUPLICATE.format(username=username))
    if password is not None and len(password) < MIN_PASSWORD:
        problems.append(SHORT_PASSWORD)
    if problems:
        raise InputProblems(problems)
    user = User(
        username=username,
        display_name=(display_name or username).strip(),
        email=email.strip().lower() if email else None,
        password_hash=hash_password(password) if password is not None else None,
    )
    session.add(user)
    try:
        session.flush()
    except sa.exc.IntegrityError as err:  # a concurrent add of the same name
        raise InputProblems([DUPLICATE.format(username=username)]) from err
    for role in roles:
        session.add(UserRole(user_id=user.id, role=role))  # type: ignore[arg-type]
    append_event(
        session=session,
        actor=actor,
        action="user_added",
        subject_type="user",
        subject_id=str(user.id),
        details={"username": username, "roles": roles, "display_name": user.display_name},
    )
    return user


def list_users(*, session: Session, actor: User | None) -> list[UserPublic]:
    """Every user, active or not, by username. Admins and auditors (and the operator) may list."""
    if actor is not None:
        require_role(session, actor, "list users", Role.admin, Role.auditor)
    users = session.exec(select(User).order_by(User.username)).all()
    return [_public(session, u) for u in users]


def set_roles(*, session: Session, actor: User | None, username: str, roles: Iterable[str]) -> None:
    """Replace a user's roles (recorded with old and new)."""
    _check_admin(session, actor, "change roles")
    roles = sorted(set(roles))
    problems = check_roles(roles) + ([] if roles else [NO_ROLE])
    if problems:
        raise InputProblems(problems)
    user = get_user(session=session, username=username)
    old = sorted(roles_of(session, user))
    for row in session.exec(select(UserRole).where(UserRole.user_id == user.id)).all():
        session.delete(row)
    session.flush()
    for role in roles:
        session.add(UserRole(user_id=user.id, role=role))  # type: ignore[arg-type]
    append_event(
        session=session,
        actor=actor,
        action="roles_changed",
        subject_type="user",
        subject_id=str(user.id),
        details={"old": old, "new": roles},
    )


def _set_active(session: Session, actor: User | None, username: str, active: bool) -> None:
    _check_admin(session, actor, "deactivate users" if not active else "reactivate users")
    user = get_user(session=session, username=username)
    if actor is not None and actor.id == user.id and not active:
        raise InputProblems(["You cannot deactivate your own account; ask another admin."])
    user.is_active = active
    user.deactivated_at = None if active else utcnow()
    session.add(user)
    append_event(
        session=session,
        actor=actor,
        action="user_reactivated" if active else "user_deactivated",
        subject_type="user",
        subject_id=str(user.id),
    )


def deactivate_user(*, session: Session, actor: User | None, username: str) -> None:
    """Stop a user from signing in; their past actions stay attributed to them."""
    _set_active(session, actor, username, False)


def reactivate_user(*, session: Session, actor: User | None, username: str) -> None:
    """Let a deactivated user sign in again."""
    _set_active(session, actor, username, True)


def unlock_user(*, session: Session, actor: User | None, username: str) -> None:
    """Clear a lockout after failed sign-ins."""
    _check_admin(session, actor, "unlock users")
    user = get_user(session=session, username=username)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    append_event(
        session=session,
        actor=actor,
        action="user_unlocked",
        subject_type="user",
        subject_id=str(user.id),
    )
