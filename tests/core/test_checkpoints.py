"""The audit trail proves itself: edits, deletions, reordering and rewrites are all detected,
and a signed checkpoint catches what recomputing the hashes alone cannot."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlmodel import Session, select

from core.cli import main
from core.services.audit import GENESIS, _body, append_event, event_hash
from core.services.checkpoints import (
    BAD_SIGNATURE,
    HEAD_CHANGED,
    OTHER_KEY,
    TRUNCATED,
    Checkpoint,
    chain_hashes,
    ensure_daily_checkpoint,
    take_checkpoint,
    verify_trail,
)
from core.services.permissions import OPERATOR
from core.services.signing import fingerprint, installation_key, load_public_key, public_key_pem
from core.tables import AuditCheckpoint, AuditEvent


def _events(session: Session, n: int) -> None:
    for i in range(n):
        append_event(
            session=session,
            actor=None,
            action="test_event",
            subject_type="test",
            subject_id=i,
            details={"n": i, "note": f"event {i}"},
        )
    session.commit()


def _unguard(session: Session, table: str = "audit_event") -> None:
    # What a database owner could do: switch the append-only guard off.
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sa.text(f"DROP TRIGGER {table}_no_update"))
        session.execute(sa.text(f"DROP TRIGGER {table}_no_delete"))
    else:
        session.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))


def _ids(session: Session) -> list[int]:
    return [i for i in session.exec(select(AuditEvent.id).order_by(AuditEvent.id)).all() if i]


def test_an_untouched_trail_verifies_and_extends_its_checkpoint(session: Session) -> None:
    _events(session, 5)
    checkpoint = take_checkpoint(session=session, actor=OPERATOR)
    session.commit()
    _events(session, 3)
    result = verify_trail(session=session, actor=OPERATOR, checkpoint=checkpoint)
    assert result.intact, result.problems
    assert result.events == 9  # 5 + the checkpoint's own event + 3
    assert result.head_hash == chain_hashes(session)[-1]
    assert result.checkpoint_events == 5
    stored = session.exec(select(AuditCheckpoint)).one()
    assert stored.event_count == 5 and stored.head_hash == chain_hashes(session)[4]


def test_an_edited_event_is_the_first_broken_link(session: Session) -> None:
    _events(session, 4)
    target = _ids(session)[1]
    update = sa.update(AuditEvent).where(AuditEvent.id == target).values(actor="mallory")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        session.execute(update)
    session.rollback()
    _unguard(session)
    session.execute(update)
    session.commit()
    result = verify_trail(session=session, actor=OPERATOR)
    assert not result.intact
    assert result.first_bad_id == target
    stored = session.get(AuditEvent, target)
    assert stored is not None and result.found_hash == stored.hash
    assert result.expected_hash == event_hash(stored.prev_hash, _body(stored))
    assert result.expected_hash != result.found_hash


def test_deleting_or_reordering_events_breaks_the_chain(session: Session) -> None:
    _events(session, 5)
    ids = _ids(session)
    _unguard(session)
    session.execute(sa.delete(AuditEvent).where(AuditEvent.id == ids[2]))
    session.commit()
    result = verify_trail(session=session, actor=OPERATOR)
    assert not result.intact and result.first_bad_id == ids[3]

    # Reorder: swap the contents of two events (every column but the id).
    a, b = (session.get(AuditEvent, i) for i in (ids[0], ids[1]))
    assert a is not None and b is not None
    cols = ("occurred_at", "actor", "action", "subject_type", "subject_id", "details")
    va, vb = ({c: getattr(e, c) for c in cols} for e in (a, b))
    session.execute(sa.update(AuditEvent).where(AuditEvent.id == ids[0]).values(**vb))
    session.execute(sa.update(AuditEvent).where(AuditEvent.id == ids[1]).values(**va))
    session.commit()
    assert verify_trail(session=session, actor=OPERATOR).first_bad_id == ids[0]


def _rewrite_chain(session: Session, *, drop_last: int = 0, change: int | None = None) -> None:
    """Rewrite every hash from the genesis, as someone holding the database could."""
    ids = _ids(session)
    for event_id in ids[len(ids) - drop_last :] if drop_last else []:
        session.execute(sa.delete(AuditEvent).where(AuditEvent.id == event_id))
    session.execute(
        sa.update(AuditEvent).values(
            prev_hash=sa.cast(AuditEvent.id, sa.String).concat("x"),
            hash=sa.cast(AuditEvent.id, sa.String).concat("y"),
        )
    )
    prev = GENESIS
    for event in session.exec(select(AuditEvent).order_by(AuditEvent.id)).all():
        if change is not None and event.id == ids[change]:
            event.details = json.dumps({"n": -1}, separators=(",", ":"))
        body = _body(event)
        new = event_hash(prev, body)
        session.execute(
            sa.update(AuditEvent)
            .where(AuditEvent.id == event.id)
            .values(prev_hash=prev, hash=new, details=event.details)
        )
        prev = new
    session.commit()


def test_a_rewritten_or_truncated_chain_is_caught_by_the_checkpoint(session: Session) -> None:
    _events(session, 6)
    checkpoint = take_checkpoint(session=session, actor=OPERATOR)
    session.commit()
    _unguard(session)
    _rewrite_chain(session, change=2)
    assert verify_trail(session=session, actor=OPERATOR).intact  # the hashes alone look fine
    result = verify_trail(session=session, actor=OPERATOR, checkpoint=checkpoint)
    assert not result.intact
    count = checkpoint.statement["event_count"]
    assert result.problems[0] == HEAD_CHANGED.format(
        count=count,
        found=chain_hashes(session)[count - 1],
        expected=checkpoint.statement["head_hash"],
    )

    _rewrite_chain(session, drop_last=4)
    result = verify_trail(session=session, actor=OPERATOR, checkpoint=checkpoint)
    assert result.problems == [TRUNCATED.format(events=3, count=6)]


def test_an_altered_checkpoint_or_a_foreign_key_is_refused(
    session: Session, tmp_path: Path
) -> None:
    _events(session, 3)
    checkpoint = take_checkpoint(session=session, actor=OPERATOR)
    session.commit()
    forged = Checkpoint(
        {**checkpoint.statement, "event_count": 2}, checkpoint.signature, checkpoint.public_key
    )
    assert verify_trail(session=session, actor=OPERATOR, checkpoint=forged).problems == [
        BAD_SIGNATURE
    ]
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = Ed25519PrivateKey.generate().public_key()
    other_pem = other.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    signer = fingerprint(load_public_key(public_key_pem()))
    result = verify_trail(
        session=session, actor=OPERATOR, checkpoint=checkpoint, public_key=other_pem
    )
    assert result.problems == [
        OTHER_KEY.format(found=signer[:16], expected=fingerprint(other)[:16])
    ]


def test_a_daily_checkpoint_is_taken_once_a_day(session: Session) -> None:
    _events(session, 2)
    assert ensure_daily_checkpoint(session)
    session.commit()
    assert not ensure_daily_checkpoint(session)
    assert len(session.exec(select(AuditCheckpoint)).all()) == 1


def _read_key(data_dir: str, queue: multiprocessing.Queue[str]) -> None:  # type: ignore[type-arg]
    import os

    os.environ["GATEHOUSE_DATA_DIR"] = data_dir
    from core.config import reset_settings

    reset_settings()
    queue.put(public_key_pem())


@pytest.mark.sqlite_only  # no database: processes racing to create the key file
def test_processes_starting_together_share_one_signing_key(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_read_key, args=(str(tmp_path / "fresh"), queue)) for _ in range(8)]
    for p in procs:
        p.start()
    keys = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert len(set(keys)) == 1 and keys[0].startswith("-----BEGIN PUBLIC KEY-----")
    assert not list((tmp_path / "fresh").glob(".signing-*"))  # no temporary files left


def test_cli_verify_checkpoint_key_and_export(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"GATEHOUSE_USER": ""}
    assert runner.invoke(main, ["init", "--json"], env=env).exit_code == 0
    added = runner.invoke(
        main, ["user", "add", "ada", "--role", "admin"], input="a long enough password\n", env=env
    )
    assert added.exit_code == 0, added.stderr
    out = tmp_path / "cp.json"
    made = runner.invoke(main, ["audit", "checkpoint", "--out", str(out), "--json"], env=env)
    assert made.exit_code == 0, made.stderr
    key = runner.invoke(main, ["audit", "key"], env=env)
    key_file = tmp_path / "key.pem"
    key_file.write_text(key.stdout)
    ok = runner.invoke(
        main,
        ["audit", "verify", "--checkpoint", str(out), "--public-key", str(key_file), "--json"],
        env=env,
    )
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    data = json.loads(ok.stdout)
    assert (
        data["intact"]
        and data["checkpoint_events"] == json.loads(out.read_text())["statement"]["event_count"]
    )
    tampered = json.loads(out.read_text())
    tampered["statement"]["event_count"] = 0
    out.write_text(json.dumps(tampered))
    bad = runner.invoke(main, ["audit", "verify", "--checkpoint", str(out)], env=env)
    assert bad.exit_code == 1 and BAD_SIGNATURE in bad.stdout
    lines = runner.invoke(main, ["audit", "export", "--json"], env=env).stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    assert [e["action"] for e in events][-2:] == ["user_added", "audit_checkpoint"]
    assert events[-1]["hash"] == events[-1]["hash"] and events[1]["prev_hash"] == events[0]["hash"]
    later = runner.invoke(main, ["audit", "export", "--since", "2999-01-01", "--json"], env=env)
    assert later.exit_code == 0 and later.stdout == ""
    assert installation_key() is not None


def test_the_fast_verifier_reads_every_event_as_the_canonical_form_does(session: Session) -> None:
    from core.services.audit import _body, _fast_canonical, _occurred, canonical_json

    for details in (
        {},
        {"name": "Zoë 李 مرحبا", "ratio": 0.1, "big": 1e-7, "n": 3, "none": None},
        {"nested": {"b": [1.5, "x"], "a": True}, "when": "2026-12-02T10:00:00Z"},
    ):
        append_event(
            session=session,
            actor=None,
            action='odd "text"',
            subject_type="t",
            subject_id="é",
            details=details,
        )
    session.commit()
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    for row in session.execute(sa.select(table)).all():
        fast = _fast_canonical(
            row.occurred_at, row.actor_id, row.actor, row.action, row.subject_type,
            row.subject_id, row.details,
        )  # fmt: skip
        assert fast == canonical_json(_body(row))
        # SQLite's stored text for the time reads as the datetime does.
        assert _occurred(f"{row.occurred_at:%Y-%m-%d %H:%M:%S.%f}") == _occurred(row.occurred_at)
    assert verify_trail(session=session, actor=OPERATOR).intact
