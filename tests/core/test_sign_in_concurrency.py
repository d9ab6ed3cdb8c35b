"""Sign-in and the signing key under concurrency: real processes against real databases.

Each child process starts on its own interpreter state (forkserver), waits at a barrier with the
others, then acts at once, as separate app processes or CLI runs would.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from core.config import reset_settings
from core.errors import AuthenticationFailed
from core.services.audit import verify_chain
from core.services.permissions import OPERATOR
from core.services.users import add_user
from core.tables import AuditEvent, User, utcnow

PASSWORD = "correct horse battery"
# Forty on PostgreSQL; SQLite has one writer at a time, so more than a few there would test its
# 30 s busy timeout on a loaded machine rather than the counting.
GUESSERS = {"postgresql": 40, "sqlite": 8}
THRESHOLD = 5
KEY_READERS = 12
REFUSED = (
    "Sign-in refused: the username or password is wrong, or the account is locked or "
    "deactivated; check both, and after 5 failed tries wait 15 minutes or ask an admin to "
    "unlock it."
)


def _context() -> Any:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["core.services.auth", "core.db"])
    return ctx


def _guess(url: str, barrier: Any, results: Any) -> None:
    from core.db import session_scope
    from core.services.auth import authenticate

    os.environ["GATEHOUSE_DATABASE_URL"] = url
    reset_settings()
    barrier.wait(timeout=300)
    try:
        with session_scope() as session:
            authenticate(session=session, username="vera", password="a wrong guess")
        results.put("signed in")
    except AuthenticationFailed as err:
        results.put(str(err))
    except Exception as err:  # reported, so the test fails instead of waiting for an answer
        results.put(f"error: {err!r}")


def _read_key(data_dir: str, barrier: Any, results: Any) -> None:
    from core.config import get_settings

    os.environ.pop("GATEHOUSE_SECRET_KEY", None)
    os.environ["GATEHOUSE_DATA_DIR"] = data_dir
    reset_settings()
    barrier.wait(timeout=300)
    results.put(get_settings().secret_key)


def _run_together(target: Callable[..., None], n: int, *args: Any) -> list[str]:
    ctx = _context()
    barrier, results = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, barrier, results)) for _ in range(n)]
    for proc in procs:
        proc.start()
    out = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    assert [proc.exitcode for proc in procs] == [0] * n
    return out


def test_concurrent_wrong_passwords_are_each_counted_and_lock(
    session: Session, db_url: str
) -> None:
    n = GUESSERS[session.get_bind().dialect.name]
    add_user(session=session, actor=OPERATOR, username="vera", password=PASSWORD, roles=["sme"])
    session.commit()
    answers = _run_together(_guess, n, db_url)
    assert answers == [REFUSED] * n
    session.expire_all()
    vera = session.exec(select(User).where(User.username == "vera")).one()
    assert vera.failed_logins == n
    assert vera.locked_until is not None and vera.locked_until > utcnow()
    events = session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.action).in_(["sign_in_failed", "sign_in_refused"]))
        .order_by(col(AuditEvent.id))
    ).all()
    details = [(e.action, json.loads(e.details)) for e in events]
    # One by one: every count from 1 to n once, and only the first five checked a password.
    assert [d["failed_logins"] for _, d in details] == list(range(1, n + 1))
    wrong, locked = ("sign_in_failed", "wrong password"), ("sign_in_refused", "locked")
    assert [(a, d["reason"]) for a, d in details] == [wrong] * THRESHOLD + [locked] * (
        n - THRESHOLD
    )
    check = verify_chain(session=session)
    assert check.intact and check.events == n + 1


def test_twelve_processes_on_a_fresh_data_folder_read_one_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    keys = _run_together(_read_key, KEY_READERS, str(data_dir))
    assert len(set(keys)) == 1 and len(keys[0]) >= 64
    assert (data_dir / "secret.key").read_text() == keys[0]
    assert sorted(p.name for p in data_dir.iterdir()) == ["secret.key"]  # no temporary file left
    assert (data_dir / "secret.key").stat().st_mode & 0o777 == 0o600


def test_an_empty_key_file_is_refused_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Left by an older version's race: signing cookies with an empty key would be worse.
    from core.config import get_settings

    (tmp_path / "secret.key").write_text("")
    monkeypatch.delenv("GATEHOUSE_SECRET_KEY", raising=False)
    monkeypatch.setenv("GATEHOUSE_DATA_DIR", str(tmp_path))
    reset_settings()
    with pytest.raises(ValueError) as info:
        _ = get_settings().secret_key
    reset_settings()
    assert str(info.value) == (
        f"The cookie-signing key file {tmp_path / 'secret.key'} is empty; delete it and start "
        "Gatehouse again to create a new one (everyone signs in again), or set "
        "GATEHOUSE_SECRET_KEY."
    )
