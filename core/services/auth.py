"""Passwords, sign-in with lockout, single sign-on, and browser sessions.

Roles and permission checks live in ``core.services.permissions``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeSerializer
from sqlmodel import Session, col, select

from core.config import get_settings
from core.errors import AuthenticationFailed
from core.services.audit import append_event
from core.tables import User, UserSession, UTCDateTime, utcnow

__all__ = [
    "COOKIE_NAME",
    "NO_SSO_ACCOUNT",
    "SIGN_IN_REFUSED",
    "SSO_AMBIGUOUS",
    "SessionStart",
    "authenticate",
    "end_session",
    "exchange_ticket",
    "hash_password",
    "resolve_session",
    "sign_in_with_sso",
    "start_session",
    "verify_password",
]

COOKIE_NAME = "gatehouse_session"
TICKET_SECONDS = 60

# One answer for an unknown user, a wrong password, a locked and a deactivated account, so the
# sign-in form never confirms that a username exists; the audit trail records the real reason.
SIGN_IN_REFUSED = (
    "Sign-in refused: the username or password is wrong, or the account is locked or "
    "deactivated; check both, and after {n} failed tries wait {minutes:g} minutes or ask an "
    "admin to unlock it."
)
NO_SSO_ACCOUNT = (
    "Your single sign-on account {email} has no active Gatehouse user; ask an admin to add one "
    "with that e-mail address."
)
SSO_AMBIGUOUS = (
    "Your single sign-on account {email} matches several active Gatehouse users; ask an admin to "
    "keep that e-mail address on one of them."
)

# argon2id parameters by GATEHOUSE_PASSWORD_HASHING: RFC 9106's low-memory profile (the
# library's default) or OWASP's minimum (m=19 MiB, t=2, p=1). Each hash records its parameters,
# so either verifies any stored hash; a sign-in rehashes a password made with the other one.
HASHING_PROFILES = {
    "rfc9106": profiles.RFC_9106_LOW_MEMORY,
    "owasp": dataclasses.replace(
        profiles.RFC_9106_LOW_MEMORY, time_cost=2, memory_cost=19_456, parallelism=1
    ),
}


@functools.cache
def _hasher(profile: str) -> tuple[PasswordHasher, str]:
    """The hasher of a profile, and a hash of a random password that unknown users are verified
    against, so a wrong username costs as long as a wrong password."""
    hasher = PasswordHasher.from_parameters(HASHING_PROFILES[profile])
    return hasher, hasher.hash(secrets.token_urlsafe(16))


def _current() -> tuple[PasswordHasher, str]:
    return _hasher(get_settings().password_hashing)


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _current()[0].hash(password)


def verify_password(password: str, password_hash: str) -> tuple[bool, str | None]:
    """Whether the password matches, and a fresh hash when the stored one uses other parameters."""
    hasher = _current()[0]
    try:
        hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False, None
    return True, hash_password(password) if hasher.check_needs_rehash(password_hash) else None


def _refusal() -> AuthenticationFailed:
    settings = get_settings()
    return AuthenticationFailed(
        SIGN_IN_REFUSED.format(n=settings.lockout_threshold, minutes=settings.lockout_minutes)
    )


def _count_failure(session: Session, user: User, now: datetime) -> tuple[int, datetime | None]:
    """Add one failed sign-in in a single UPDATE ... RETURNING; lock at the threshold.

    An account already locked stays locked until its time runs out (failures do not extend it).
    """
    settings = get_settings()
    until = now + timedelta(minutes=settings.lockout_minutes)
    unlocked = sa.or_(col(User.locked_until).is_(None), col(User.locked_until) <= now)
    reaches = col(User.failed_logins) + 1 >= settings.lockout_threshold
    stmt = (
        sa.update(User)
        .where(col(User.id) == user.id)
        .values(
            failed_logins=col(User.failed_logins) + 1,
            locked_until=sa.case(
                (sa.and_(reaches, unlocked), sa.literal(until, UTCDateTime())),
                else_=col(User.locked_until),
            ),
        )
        .returning(col(User.failed_logins), col(User.locked_until))
    )
    count, locked_until = session.execute(
        stmt, execution_options={"synchronize_session": False}
    ).one()
    return int(count), locked_until


def _record_refusal(
    session: Session, subject: str, action: str, details: Mapping[str, Any]
) -> AuthenticationFailed:
    append_event(
        session=session,
        actor=None,
        action=action,
        subject_type="user",
        subject_id=subject[:64],
        details=details,
    )
    session.commit()  # the edge rolls back on the error: the refusal must be kept now
    return _refusal()


def authenticate(*, session: Session, username: str, password: str) -> User:
    """Check a password sign-in, counting failures and locking the account after too many.

    An unknown user, a wrong password, a locked and a deactivated account all get the same
    ``SIGN_IN_REFUSED``; the audit trail records which it was (``sign_in_failed`` for a wrong
    password, ``sign_in_refused`` with a reason otherwise). The user's row stays locked from
    reading the failure count to writing it (``FOR NO KEY UPDATE`` on PostgreSQL, the write lock
    on SQLite) and the count is raised in one ``UPDATE ... RETURNING``, so concurrent guesses are
    counted one by one and no more than ``lockout_threshold`` passwords are checked before the
    lock. Every refused attempt on an existing account counts, locked ones included.

    Exception to the transaction rule: a refusal (count, lock and event) is committed here before
    it is raised, since the edge rolls back on errors. A success only flushes, and keeps the row
    locked until the caller's commit: sign in in a short transaction of its own.
    """
    name = username.strip()
    user = session.exec(
        select(User)
        .where(User.username == name)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).first()
    if user is None or user.password_hash is None:
        verify_password(password, _current()[1])
        reason = "unknown user" if user is None else "no password: single sign-on only"
        subject = name if user is None else str(user.id)
        raise _record_refusal(session, subject, "sign_in_refused", {"reason": reason})
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        count, until = _count_failure(session, user, now)
        details = {"reason": "locked", "failed_logins": count, "locked_until": until}
        refusal = _record_refusal(session, str(user.id), "sign_in_refused", details)
        verify_password(password, _current()[1])  # a locked account answers as slowly as any
        raise refusal
    ok, new_hash = verify_password(password, user.password_hash)
    if not ok:
        count, until = _count_failure(session, user, now)
        details = {"reason": "wrong password", "failed_logins": count}
        if until is not None and until > now:
            details["locked_until"] = until
        raise _record_refusal(session, str(user.id), "sign_in_failed", details)
    if not user.is_active:
        raise _record_refusal(session, str(user.id), "sign_in_refused", {"reason": "deactivated"})
    if user.failed_logins or user.locked_until is not None or new_hash:
        user.failed_logins = 0
        user.locked_until = None
        if new_hash:
            user.password_hash = new_hash
        session.add(user)
        session.flush()
    return user


def sign_in_with_sso(*, session: Session, email: str, issuer: str) -> SessionStart:
    """Open a session for the one active user whose e-mail the identity provider vouched for.

    The session row and its ``sign_in`` event are like a password sign-in's (method "sso"), so
    signing out is recorded the same way. Exception to the transaction rule: a refusal (no such
    user, or several) is recorded and committed before it is raised.
    """
    email = email.strip().lower()
    found = (
        session.exec(
            select(User)
            .where(User.email == email, col(User.is_active))
            .order_by(col(User.id))
            .limit(2)
        ).all()
        if email
        else []
    )
    if len(found) != 1:
        shown = email or "(no e-mail)"
        message = (NO_SSO_ACCOUNT if not found else SSO_AMBIGUOUS).format(email=shown)
        reason = "no active user with that e-mail" if not found else "several users share it"
        append_event(
            session=session,
            actor=None,
            action="sign_in_refused",
            subject_type="user",
            subject_id=shown[:64],
            details={"method": "sso", "issuer": issuer, "reason": reason},
        )
        session.commit()
        raise AuthenticationFailed(message)
    return start_session(session=session, user=found[0], method="sso", details={"issuer": issuer})


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().secret_key, salt="gatehouse-session")


@dataclass(frozen=True)
class SessionStart:
    """A new sign-in: its database id and the one-time ticket the browser swaps for a cookie."""

    session_id: int
    ticket: str


def start_session(
    *,
    session: Session,
    user: User,
    method: str = "password",
    details: Mapping[str, Any] | None = None,
) -> SessionStart:
    """Open a browser session for a signed-in user, with a one-time ticket valid for a minute.

    ``details`` adds to the ``sign_in`` event (e.g. the identity provider).
    """
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
        details={**(details or {}), "method": method, "session": row.id},
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
