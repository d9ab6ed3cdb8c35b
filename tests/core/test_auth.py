"""Passwords, lockout, single sign-on, sessions and permission checks, against a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.config import get_settings, reset_settings
from core.errors import AuthenticationFailed, InputProblems, PermissionDenied
from core.services.audit import verify_chain
from core.services.auth import (
    HASHING_PROFILES,
    authenticate,
    end_session,
    exchange_ticket,
    hash_password,
    resolve_session,
    sign_in_with_sso,
    start_session,
    verify_password,
)
from core.services.permissions import OPERATOR, require_role
from core.services.users import add_user, deactivate_user, list_users, set_roles, unlock_user
from core.tables import AuditEvent, User, UserSession, utcnow

PASSWORD = "correct horse battery"
REFUSED = (
    "Sign-in refused: the username or password is wrong, or the account is locked or "
    "deactivated; check both, and after 5 failed tries wait 15 minutes or ask an admin to "
    "unlock it."
)


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
    configured = HASHING_PROFILES[get_settings().password_hashing]
    assert (
        PasswordHasher.from_parameters(configured).check_needs_rehash(user.password_hash or "")
        is False
    )


@pytest.mark.parametrize(
    ("profile", "params"), [("", "m=65536,t=3,p=4"), ("owasp", "m=19456,t=2,p=1")]
)
def test_the_default_hashing_is_rfc_9106_and_owasp_is_its_minimum(
    profile: str, params: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEHOUSE_PASSWORD_HASHING", profile)
    reset_settings()
    try:
        made = hash_password(PASSWORD)
        assert made.startswith(f"$argon2id$v=19${params}$")
        assert verify_password(PASSWORD, made) == (True, None)
    finally:
        monkeypatch.undo()
        reset_settings()


def test_an_unknown_hashing_profile_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEHOUSE_PASSWORD_HASHING", "md5")
    reset_settings()
    try:
        with pytest.raises(
            ValueError, match="GATEHOUSE_PASSWORD_HASHING='md5' is not one of rfc9106, owasp"
        ):
            get_settings()
    finally:
        monkeypatch.undo()
        reset_settings()


def _refusal(session: Session, username: str, password: str) -> AuthenticationFailed:
    with pytest.raises(AuthenticationFailed) as info:
        authenticate(session=session, username=username, password=password)
    session.rollback()  # as the edge does: the refusal was committed by core all the same
    return info.value


def _refusals(session: Session) -> list[tuple[str, dict[str, object]]]:
    import json

    rows = session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.action).in_(["sign_in_failed", "sign_in_refused"]))
        .order_by(col(AuditEvent.id))
    ).all()
    return [(e.action, json.loads(e.details)) for e in rows]


def test_unknown_wrong_locked_and_deactivated_get_one_answer(session: Session) -> None:
    # The caller cannot tell which it was; the audit trail can.
    vera = _user(session)
    _user(session, "dora")
    deactivate_user(session=session, actor=OPERATOR, username="dora")
    add_user(session=session, actor=OPERATOR, username="ssoli", password=None, roles=["sme"])
    session.commit()
    answers = [
        _refusal(session, "nobody", "whatever"),
        _refusal(session, "vera", "wrong"),
        _refusal(session, "dora", PASSWORD),  # right password, deactivated
        _refusal(session, "dora", "wrong"),
        _refusal(session, "ssoli", "whatever"),  # no password: single sign-on only
    ]
    for _ in range(4):
        answers.append(_refusal(session, "vera", "wrong"))
    answers.append(_refusal(session, "vera", PASSWORD))  # right password, locked
    assert {(type(a), str(a)) for a in answers} == {(AuthenticationFailed, REFUSED)}
    reasons = [(action, d["reason"]) for action, d in _refusals(session)]
    assert reasons == [
        ("sign_in_refused", "unknown user"),
        ("sign_in_failed", "wrong password"),
        ("sign_in_refused", "deactivated"),
        ("sign_in_failed", "wrong password"),
        ("sign_in_refused", "no password: single sign-on only"),
        *[("sign_in_failed", "wrong password")] * 4,
        ("sign_in_refused", "locked"),
    ]
    session.refresh(vera)
    assert vera.failed_logins == 6  # five wrong passwords and the attempt while locked


def test_lockout_after_repeated_failures_and_unlock(session: Session) -> None:
    user = _user(session)
    for expected in range(1, 5):
        _refusal(session, "vera", "bad")
        session.refresh(user)
        assert (user.failed_logins, user.locked_until) == (expected, None)
    _refusal(session, "vera", "bad")
    session.refresh(user)
    assert user.locked_until is not None and user.locked_until > utcnow() + timedelta(minutes=14)
    locked_until = user.locked_until
    _refusal(session, "vera", PASSWORD)  # even the right password, while locked
    session.refresh(user)
    assert (user.failed_logins, user.locked_until) == (6, locked_until)  # counted, not extended
    last = _refusals(session)[-2:]
    assert last[0][1]["locked_until"] == locked_until.isoformat().replace("+00:00", "Z")
    assert last[1][1]["reason"] == "locked"
    unlock_user(session=session, actor=OPERATOR, username="vera")
    session.commit()
    assert authenticate(session=session, username="vera", password=PASSWORD).id == user.id
    session.commit()
    session.refresh(user)
    assert user.failed_logins == 0


def test_a_lock_ends_when_its_time_is_up(session: Session) -> None:
    user = _user(session)
    for _ in range(5):
        _refusal(session, "vera", "bad")
    session.refresh(user)
    user.locked_until = utcnow() - timedelta(seconds=1)
    session.add(user)
    session.commit()
    assert authenticate(session=session, username="vera", password=PASSWORD).id == user.id
    session.commit()
    session.refresh(user)
    assert (user.failed_logins, user.locked_until) == (0, None)


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
    assert str(_refusal(session, "vera", PASSWORD)) == REFUSED
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


def test_sso_sign_in_opens_a_session_and_its_sign_out_is_recorded(session: Session) -> None:
    add_user(
        session=session,
        actor=OPERATOR,
        username="sue",
        password=None,
        roles=["sme"],
        email="Sue@Example.org",
    )
    session.commit()
    start = sign_in_with_sso(session=session, email=" SUE@example.org ", issuer="https://idp")
    session.commit()
    row = session.get(UserSession, start.session_id)
    assert row is not None and row.method == "sso" and row.revoked_at is None
    user = resolve_session(session=session, session_id=start.session_id)
    assert user is not None and user.username == "sue"
    cookie = exchange_ticket(session=session, ticket=start.ticket)
    session.commit()
    assert cookie is not None and resolve_session(session=session, cookie=cookie) == user
    end_session(session=session, session_id=start.session_id)
    session.commit()
    assert resolve_session(session=session, cookie=cookie) is None
    events = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    assert [(e.action, e.actor) for e in events][-2:] == [("sign_in", "sue"), ("sign_out", "sue")]
    import json

    details = json.loads(events[-2].details)
    assert details == {"method": "sso", "issuer": "https://idp", "session": start.session_id}


def test_sso_without_exactly_one_active_user_is_refused_and_recorded(session: Session) -> None:
    for name in ("ann", "ann2"):
        add_user(session=session, actor=OPERATOR, username=name, password=None, roles=["sme"],
                 email="ann@example.org")  # fmt: skip
    add_user(session=session, actor=OPERATOR, username="bo", password=None, roles=["sme"],
             email="bo@example.org")  # fmt: skip
    deactivate_user(session=session, actor=OPERATOR, username="bo")
    session.commit()
    cases = {
        "nobody@example.org": "Your single sign-on account nobody@example.org has no active "
        "Gatehouse user; ask an admin to add one with that e-mail address.",
        "bo@example.org": "Your single sign-on account bo@example.org has no active Gatehouse "
        "user; ask an admin to add one with that e-mail address.",
        "ann@example.org": "Your single sign-on account ann@example.org matches several active "
        "Gatehouse users; ask an admin to keep that e-mail address on one of them.",
        "": "Your single sign-on account (no e-mail) has no active Gatehouse user; ask an admin "
        "to add one with that e-mail address.",
    }
    for email, message in cases.items():
        with pytest.raises(AuthenticationFailed) as info:
            sign_in_with_sso(session=session, email=email, issuer="https://idp")
        session.rollback()
        assert info.value.problems == [message]
    assert session.exec(select(UserSession)).all() == []
    refused = session.exec(
        select(AuditEvent.subject_id).where(AuditEvent.action == "sign_in_refused")
    ).all()
    assert refused == ["nobody@example.org", "bo@example.org", "ann@example.org", "(no e-mail)"]
