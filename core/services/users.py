"""User administration: add, list, change roles, deactivate, unlock. Users are never deleted.

Every change is checked (admins, or the operator), flushed with its audit event, and committed
by the edge. The last active admin keeps the admin role and stays active, so Gatehouse always
has someone who can administer it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.errors import InputProblems, NotFound
from core.services.audit import append_event
from core.services.auth import hash_password, verify_password
from core.services.permissions import (
    ADMIN_ROLES,
    USER_LIST_ROLES,
    Actor,
    Role,
    check_roles,
    require_role,
    roles_of,
)
from core.tables import User, UserRole, utcnow

__all__ = [
    "DEMO_EMAIL_DOMAIN",
    "DEMO_PASSWORD",
    "RoleChange",
    "UserPublic",
    "add_user",
    "deactivate_user",
    "demo_accounts_with_published_password",
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
SELF_DEACTIVATE = "You cannot deactivate your own account; ask another admin."
LAST_ADMIN_ROLE = (
    "{username} is the last active admin; give another user the admin role before removing it "
    "from {username}."
)
LAST_ADMIN_DEACTIVATE = (
    "{username} is the last active admin; give another user the admin role before deactivating "
    "{username}."
)
#: The demo's published password, and the e-mail domain that marks the accounts the demo made.
DEMO_PASSWORD = "gatehouse-demo"  # noqa: S105 (documented demo credential)
DEMO_EMAIL_DOMAIN = "demo.gatehouse.example"
# password hash -> whether it is the published password. A hash never changes meaning, so the
# answer holds for the life of the process and each hash costs one argon2 check at most.
_PUBLISHED: dict[str, bool] = {}

# Any fixed number: the advisory lock that serialises admin-count checks on PostgreSQL (SQLite
# serialises every writer already), so two admins demoting each other cannot both succeed.
_PG_ADMIN_LOCK = 0x6A7E_AD01


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


@dataclass(frozen=True)
class RoleChange:
    """What a role change did: the user, and their roles before and after."""

    username: str
    old: tuple[str, ...]
    new: tuple[str, ...]


def _check_admin(session: Session, actor: Actor, action: str) -> None:
    require_role(session, actor, action, *ADMIN_ROLES)


def _is_last_active_admin(session: Session, user: User) -> bool:
    """Whether the user is an active admin and no other active user is (under a lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_ADMIN_LOCK})
        session.refresh(user)  # as committed by whoever held the lock before
    if not user.is_active or Role.admin not in roles_of(session, user):
        return False
    others = session.exec(
        select(sa.func.count())
        .select_from(UserRole)
        .join(User, col(User.id) == col(UserRole.user_id))
        .where(UserRole.role == Role.admin, col(User.is_active), col(User.id) != user.id)
    ).one()
    return others == 0


def get_user(*, session: Session, username: str) -> User:
    """The user with that username, or NotFound."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(UNKNOWN_USER.format(username=username))
    return user


def add_user(
    *,
    session: Session,
    actor: Actor,
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


def list_users(*, session: Session, actor: Actor) -> list[UserPublic]:
    """Every user, active or not, by username. Admins and auditors (and the operator) may list."""
    require_role(session, actor, "list users", *USER_LIST_ROLES)
    users = session.exec(select(User).order_by(User.username)).all()
    return [_public(session, u) for u in users]


def set_roles(*, session: Session, actor: Actor, username: str, roles: Iterable[str]) -> RoleChange:
    """Replace a user's roles (recorded with old and new); the last active admin stays admin."""
    _check_admin(session, actor, "change roles")
    roles = sorted(set(roles))
    problems = check_roles(roles) + ([] if roles else [NO_ROLE])
    if problems:
        raise InputProblems(problems)
    user = get_user(session=session, username=username)
    if Role.admin not in roles and _is_last_active_admin(session, user):
        raise InputProblems([LAST_ADMIN_ROLE.format(username=user.username)])
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
    return RoleChange(username=user.username, old=tuple(old), new=tuple(roles))


def _set_active(session: Session, actor: Actor, username: str, active: bool) -> None:
    _check_admin(session, actor, "deactivate users" if not active else "reactivate users")
    user = get_user(session=session, username=username)
    if not active and actor.id is not None and actor.id == user.id:
        raise InputProblems([SELF_DEACTIVATE])
    if not active and _is_last_active_admin(session, user):
        raise InputProblems([LAST_ADMIN_DEACTIVATE.format(username=user.username)])
    user.is_active = active
    user.deactivated_at = None if active else utcnow()
    session.add(user)
    session.flush()  # the user's row before the audit lock, as sign-in takes them
    append_event(
        session=session,
        actor=actor,
        action="user_reactivated" if active else "user_deactivated",
        subject_type="user",
        subject_id=str(user.id),
    )


def deactivate_user(*, session: Session, actor: Actor, username: str) -> None:
    """Stop a user from signing in; their past actions stay attributed to them."""
    _set_active(session, actor, username, False)


def reactivate_user(*, session: Session, actor: Actor, username: str) -> None:
    """Let a deactivated user sign in again."""
    _set_active(session, actor, username, True)


def unlock_user(*, session: Session, actor: Actor, username: str) -> None:
    """Clear a lockout after failed sign-ins."""
    _check_admin(session, actor, "unlock users")
    user = get_user(session=session, username=username)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    session.flush()  # the user's row before the audit lock, as sign-in takes them
    append_event(
        session=session,
        actor=actor,
        action="user_unlocked",
        subject_type="user",
        subject_id=str(user.id),
    )


def demo_accounts_with_published_password(*, session: Session) -> list[str]:
    """Usernames of active demo accounts that still sign in with the published demo password.

    Demo accounts are those with an e-mail at ``DEMO_EMAIL_DOMAIN``. While any is active, the app
    shows a banner: anyone who read the README can sign in as them. Cheap on every page run:
    one query, and an argon2 check only for a hash not seen before in this process.
    """
    rows = session.exec(
        select(User.username, User.password_hash)
        .where(
            col(User.is_active), col(User.email).endswith("@" + DEMO_EMAIL_DOMAIN, autoescape=True)
        )
        .order_by(col(User.username))
    ).all()
    names = []
    for username, password_hash in rows:
        if password_hash is None:
            continue
        if password_hash not in _PUBLISHED:
            _PUBLISHED[password_hash] = verify_password(DEMO_PASSWORD, password_hash)[0]
        if _PUBLISHED[password_hash]:
            names.append(username)
    return names
