"""Passwords, lockout, sessions and permission checks, against a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from core.errors import AccountLocked, AuthenticationFailed, InputProblems, PermissionDenied
from core.services.audit import verify_chain
from core.services.auth import (
    authenticate,
    end_session,
    exchange_ticket,
    hash_password,
    require_role,
    resolve_session,
    start_session,
    verify_password,
)
from core.services.permissions import OPERATOR
from core.services.users import add_user, deactivate_user, list_users, set_roles, unlock_user
from core.tables import AuditEvent, User, UserSession, utcnow

PASSWORD = "correct horse battery"


def _user(session: Session, name: str = "vera", *roles: str) -> User:
    user = add_user(
        session=session,
        actor=OPERATOR,
        username=name,
        password=PASSWORD,
        roles=roles or ("validator",),
    )
    session.commit()
    return user


def test_hash_is_argon2id_and_verifies() -> None:
    h = hash_password(PASSWORD)
    assert h.startswith("$argon2id$")
    assert verify_password(PASSWORD, h) == (True, None)
    assert verify_password("wrong", h) == (False, None)
    assert verify_password(PASSWORD, "not a hash") == (False, None)


def test_old_parameters_are_upgraded_on_sign_in(session: Session) -> None:
    from argon2 import PasswordHasher

    user = _user(session)
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    session.add(user)
    session.commit()
    authenticate(session=session, username="vera", password=PASSWORD)
    session.commit()
    session.refresh(user)
    assert PasswordHasher().check_needs_rehash(user.password_hash or "") is False


def test_wrong_password_and_unknown_user_give_the_same_sentence(session: Session) -> None:
    _user(session)
    with pytest.raises(AuthenticationFailed) as wrong:
        authenticate(session=session, username="vera", password="nope")
    with pytest.raises(AuthenticationFailed) as unknown:
        authenticate(session=session, username="nobody", password="nope")
    assert str(wrong.value) == str(unknown.value)


def test_lockout_after_repeated_failures_and_unlock(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _user(session)
    for _ in range(4):
        with pytest.raises(AuthenticationFailed) as info:
            authenticate(session=session, username="vera", password="bad")
        assert not isinstance(info.value, AccountLocked)
    with pytest.raises(AccountLocked, match="locked after 5 failed sign-ins"):
        authenticate(session=session, username="vera", password="bad")
    # Even the right password is refused while locked.
    with pytest.raises(AccountLocked):
        authenticate(session=session, username="vera", password=PASSWORD)
    session.refresh(user)
    assert user.locked_until is not None and user.locked_until > utcnow() + timedelta(minutes=14)
    unlock_user(session=session, actor=OPERATOR, username="vera")
    session.commit()
    assert authenticate(session=session, username="vera", password=PASSWORD).id == user.id
    session.commit()
    session.refresh(user)
    assert user.failed_logins == 0


def test_session_ticket_cookie_round_trip_and_sign_out(session: Session) -> None:
    user = _user(session)
    start = start_session(session=session, user=user)
    session.commit()
    cookie = exchange_ticket(session=session, ticket=start.ticket)
    session.commit()
    assert cookie is not None
    assert exchange_ticket(session=session, ticket=start.ticket) is None  # one use only
    assert resolve_session(session=session, cookie=cookie).id == user.id  # type: ignore[union-attr]
    assert resolve_session(session=session, cookie=cookie[:-2] + "xx") is None  # forged
    end_session(session=session, cookie=cookie)
    session.commit()
    assert resolve_session(session=session, cookie=cookie) is None


def test_expired_ticket_and_session_are_refused(session: Session) -> None:
    user = _user(session)
    start = start_session(session=session, user=user)
    row = session.get(UserSession, start.session_id)
    assert row is not None
    row.ticket_expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert exchange_ticket(session=session, ticket=start.ticket) is None
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert resolve_session(session=session, session_id=start.session_id) is None


def test_deactivated_user_loses_sessions_and_cannot_sign_in(session: Session) -> None:
    user = _user(session)
    start = start_session(session=session, user=user)
    session.commit()
    deactivate_user(session=session, actor=OPERATOR, username="vera")
    session.commit()
    assert resolve_session(session=session, session_id=start.session_id) is None
    with pytest.raises(AuthenticationFailed, match="deactivated"):
        authenticate(session=session, username="vera", password=PASSWORD)
    assert session.get(User, user.id) is not None  # never deleted


def test_permission_errors_come_from_core_services(session: Session) -> None:
    sme = _user(session, "sam", "sme")
    admin = _user(session, "ada", "admin")
    with pytest.raises(PermissionDenied, match="sam may not add users: it needs the role admin"):
        add_user(session=session, actor=sme, username="x1", password=PASSWORD, roles=["sme"])
    with pytest.raises(PermissionDenied):
        set_roles(session=session, actor=sme, username="sam", roles=["admin"])
    with pytest.raises(PermissionDenied):
        list_users(session=session, actor=sme)
    with pytest.raises(PermissionDenied):
        deactivate_user(session=session, actor=sme, username="ada")
    session.rollback()
    add_user(session=session, actor=admin, username="x1", password=PASSWORD, roles=["auditor"])
    session.commit()
    auditor = session.exec(select(User).where(User.username == "x1")).one()
    assert [u.username for u in list_users(session=session, actor=auditor)] == ["ada", "sam", "x1"]
    require_role(session, admin, "anything", "admin")


def test_bad_user_input_lists_every_problem_and_writes_nothing(session: Session) -> None:
    _user(session)
    before = session.exec(select(AuditEvent)).all()
    with pytest.raises(InputProblems) as info:
        add_user(
            session=session, actor=OPERATOR, username="vera", password="short", roles=["wizard"]
        )
    session.rollback()
    problems = info.value.problems
    assert any("Unknown role 'wizard'" in p for p in problems)
    assert any("username 'vera' is taken" in p for p in problems)
    assert any("shorter than 10 characters" in p for p in problems)
    assert session.exec(select(AuditEvent)).all() == before


def test_every_account_change_is_in_an_intact_chain(session: Session) -> None:
    _user(session)
    set_roles(session=session, actor=OPERATOR, username="vera", roles=["validator", "sme"])
    session.commit()
    with pytest.raises(AuthenticationFailed):
        authenticate(session=session, username="vera", password="bad")
    actions = session.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["user_added", "roles_changed", "sign_in_failed"]
    check = verify_chain(session=session)
    assert check.intact and check.events == 3
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "roles_changed")).one()
    forged = event.details.replace("sme", "admin")
    update = sa.update(AuditEvent).where(AuditEvent.id == event.id).values(details=forged)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        session.execute(update)
    session.rollback()
    # Someone with the database owner's rights can switch the guard off; the chain still tells.
    _drop_append_only_guard(session, "audit_event")
    session.execute(update)
    session.commit()
    broken = verify_chain(session=session)
    assert not broken.intact and broken.first_bad_id == event.id


def _drop_append_only_guard(session: Session, table: str) -> None:
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sa.text(f"DROP TRIGGER {table}_no_update"))
    else:
        session.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))
