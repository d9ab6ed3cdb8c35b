"""Passwords, sign-in with lockout, browser sessions, and role checks.

Every service calls ``require_role`` with the acting user, so a rule holds whatever page or
command makes the call.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeSerializer
from sqlmodel import Session, select

from core.config import get_settings
from core.errors import AccountLocked, AuthenticationFailed, PermissionDenied
from core.services.audit import append_event
from core.tables import User, UserRole, UserSession, utcnow

__all__ = [
    "COOKIE_NAME",
    "Role",
    "SessionStart",
    "authenticate",
    "end_session",
    "exchange_ticket",
    "hash_password",
    "require_role",
    "resolve_session",
    "roles_of",
    "start_session",
    "verify_password",
]

COOKIE_NAME = "gatehouse_session"
TICKET_SECONDS = 60

WRONG_CREDENTIALS = "Unknown username or wrong password; check both and try again."
LOCKED = (
    "The account {username!r} is locked after {n} failed sign-ins until {until} UTC; wait, or ask "
    "an admin to unlock it."
)
INACTIVE = "The account {username!r} is deactivated; ask an admin to reactivate it."
NOT_ALLOWED = "{who} may not {action}: it needs the role {needed}, and {who} has {held}."


class Role(StrEnum):
    """Organisational roles. ``auditor`` reads everything and changes nothing."""

    admin = "admin"
    model_owner = "model_owner"
    developer = "developer"
    validator = "validator"
    risk_manager = "risk_manager"
    sme = "sme"
    compliance = "compliance"
    ml_engineer = "ml_engineer"
    auditor = "auditor"


ROLES = tuple(r.value for r in Role)

# argon2id with the library's defaults (RFC 9106 low-memory profile).
_hasher = PasswordHasher()
# Verified against for unknown users, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> tuple[bool, str | None]:
    """Whether the password matches, and a fresh hash when the stored one uses old parameters."""
    try:
        _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False, None
    return True, hash_password(password) if _hasher.check_needs_rehash(password_hash) else None


def roles_of(session: Session, user: User) -> set[str]:
    """The roles a user holds."""
    return set(session.exec(select(UserRole.role).where(UserRole.user_id == user.id)).all())


def require_role(session: Session, user: User, action: str, *allowed: str) -> None:
    """Raise PermissionDenied unless the user is active and holds one of ``allowed``."""
    if not user.is_active:
        raise PermissionDenied(INACTIVE.format(username=user.username))
    held = roles_of(session, user)
    if held.isdisjoint(allowed):
        raise PermissionDenied(
            NOT_ALLOWED.format(
                who=user.username,
                action=action,
                needed=" or ".join(sorted(allowed)),
                held=", ".join(sorted(held)) or "no role",
            )
        )


def authenticate(*, session: Session, username: str, password: str) -> User:
    """Check a password sign-in, counting failures and locking the account after too many.

    The failure count and lock are committed even though the sign-in is refused.
    """
    settings = get_settings()
    user = session.exec(select(User).where(User.username == username.strip())).first()
    if user is None or user.password_hash is None:
        verify_password(password, _DUMMY_HASH)
        append_event(
            session=session,
            actor=None,
            action="sign_in_refused",
            subject_type="user",
            subject_id=username.strip()[:64],
            details={"reason": "unknown user"},
        )
        session.commit()
        raise AuthenticationFailed(WRONG_CREDENTIALS)
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked(
            LOCKED.format(
                username=user.username,
                n=settings.lockout_threshold,
                until=user.locked_until.strftime("%Y-%m-%d %H:%M"),
            )
        )
    ok, new_hash = verify_password(password, user.password_hash)
    if not ok:
        user.failed_logins += 1
        details: dict[str, object] = {"failed_logins": user.failed_logins}
        if user.failed_logins >= settings.lockout_threshold:
            user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
            details["locked_until"] = user.locked_until
        session.add(user)
        append_event(
            session=session,
            actor=None,
            action="sign_in_failed",
            subject_type="user",
            subject_id=str(user.id),
            details=details,
        )
        session.commit()
        if user.locked_until is not None and user.locked_until > now:
            raise AccountLocked(
                LOCKED.format(
                    username=user.username,
                    n=settings.lockout_threshold,
                    until=user.locked_until.strftime("%Y-%m-%d %H:%M"),
                )
            )
        raise AuthenticationFailed(WRONG_CREDENTIALS)
    if not user.is_active:
        raise AuthenticationFailed(INACTIVE.format(username=user.username))
    user.failed_logins = 0
    user.locked_until = None
    if new_hash:
        user.password_hash = new_hash
    session.add(user)
    return user


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().secret_key, salt="gatehouse-session")


@dataclass(frozen=True)
class SessionStart:
    """A new sign-in: its database id and the one-time ticket the browser swaps for a cookie."""

    session_id: int
    ticket: str


def start_session(*, session: Session, user: User, method: str = "password") -> SessionStart:
    """Open a browser session for a signed-in user, with a one-time ticket valid for a minute."""
    now = utcnow()
    ticket = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,  # type: ignore[arg-type]
        token_hash=_sha(secrets.token_urlsafe(32)),  # replaced when the ticket is exchanged
        ticket_hash=_sha(ticket),
        ticket_expires_at=now + timedelta(seconds=TICKET_SECONDS),
        method=method,
        created_at=now,
        expires_at=now + timedelta(hours=get_settings().session_hours),
    )
    session.add(row)
    session.flush()
    append_event(
        session=session,
        actor=user,
        action="sign_in",
        subject_type="user",
        subject_id=str(user.id),
        details={"method": method, "session": row.id},
    )
    assert row.id is not None
    return SessionStart(session_id=row.id, ticket=ticket)


def exchange_ticket(*, session: Session, ticket: str) -> str | None:
    """Swap a one-time ticket for the signed cookie value; None when unknown, used or expired."""
    row = session.exec(select(UserSession).where(UserSession.ticket_hash == _sha(ticket))).first()
    now = utcnow()
    if row is None or row.revoked_at is not None or row.ticket_expires_at is None:
        return None
    if row.ticket_expires_at < now:
        return None
    token = secrets.token_urlsafe(32)
    row.token_hash = _sha(token)
    row.ticket_hash = None
    row.ticket_expires_at = None
    session.add(row)
    return _serializer().dumps(token)


def _row_for_cookie(session: Session, cookie: str | None) -> UserSession | None:
    if not cookie:
        return None
    try:
        token = _serializer().loads(cookie)
    except BadSignature:
        return None
    if not isinstance(token, str):
        return None
    return session.exec(select(UserSession).where(UserSession.token_hash == _sha(token))).first()


def resolve_session(
    *, session: Session, cookie: str | None = None, session_id: int | None = None
) -> User | None:
    """The active user behind a cookie (or a session id), or None when signed out or expired."""
    row = (
        _row_for_cookie(session, cookie)
        if cookie is not None
        else (session.get(UserSession, session_id) if session_id is not None else None)
    )
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.is_active else None


def end_session(
    *, session: Session, cookie: str | None = None, session_id: int | None = None
) -> None:
    """Sign out: the session is revoked in the database, so its cookie is worthless everywhere."""
    row = (
        _row_for_cookie(session, cookie)
        if cookie is not None
        else (session.get(UserSession, session_id) if session_id is not None else None)
    )
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = utcnow()
    session.add(row)
    user = session.get(User, row.user_id)
    append_event(
        session=session,
        actor=user,
        action="sign_out",
        subject_type="user",
        subject_id=str(row.user_id),
        details={"session": row.id},
    )


def check_roles(roles: Iterable[str]) -> list[str]:
    """Problems with a list of role names (unknown ones), as sentences."""
    return [
        f"Unknown role {r!r}; choose from: {', '.join(ROLES)}." for r in roles if r not in ROLES
    ]
