"""The audit trail: append-only, hash-chained events, and a check that the chain is intact."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.services.permissions import Actor
from core.tables import AuditEvent, utcnow

__all__ = [
    "GENESIS",
    "ChainCheck",
    "append_event",
    "canonical_json",
    "event_hash",
    "event_records",
    "events_for",
    "verify_chain",
]

GENESIS = "0" * 64
# Any fixed number: the advisory lock that serialises appends on PostgreSQL.
_PG_APPEND_LOCK = 0x6A7E_4A05


def _canonical(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"Cannot hash the non-finite number {value!r}; store it as null.")
        return float(f"{value:.15g}")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("Cannot hash a naive datetime; use a timezone-aware UTC time.")
        return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no spaces, 15 significant digits for floats and UTC ISO times.

    The same content always gives the same text, so its hash identifies the content.
    """
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    """SHA-256 of the previous hash and the event's canonical JSON."""
    return hashlib.sha256((prev_hash + canonical_json(body)).encode()).hexdigest()


def _body(event: Any) -> dict[str, Any]:
    return {
        "occurred_at": event.occurred_at,
        "actor": event.actor,
        "actor_id": event.actor_id,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "details": json.loads(event.details),
    }


def append_event(
    *,
    session: Session,
    actor: Actor | None,
    action: str,
    subject_type: str,
    subject_id: str | int,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction (it lands with the change).

    ``actor`` is the acting user or ``OPERATOR`` (recorded as "operator"); None means the system
    itself (migrations, background jobs re-queueing work).
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_APPEND_LOCK})
    tip = session.exec(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()  # type: ignore[union-attr]
    event = AuditEvent(
        occurred_at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor=actor.username if actor is not None else "system",
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        details=canonical_json(dict(details or {})),
        prev_hash=tip or GENESIS,
        hash="",
    )
    event.hash = event_hash(event.prev_hash, _body(event))
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainCheck:
    """Outcome of checking the audit chain: how many events, and the first broken one if any."""

    events: int
    intact: bool
    first_bad_id: int | None
    problem: str | None
    expected_hash: str | None = None
    found_hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "intact": self.intact,
            "first_bad_id": self.first_bad_id,
            "problem": self.problem,
            "expected_hash": self.expected_hash,
            "found_hash": self.found_hash,
        }


def _fast_canonical(row: Any) -> str:
    # The canonical JSON of an event body, assembled as text: ``details`` is stored as canonical
    # JSON already, so parsing and re-serialising it (the slow path) would give the same text.
    occurred = row.occurred_at.astimezone(UTC).isoformat(timespec="microseconds")
    return (
        f'{{"action":{json.dumps(row.action, ensure_ascii=False)},'
        f'"actor":{json.dumps(row.actor, ensure_ascii=False)},'
        f'"actor_id":{"null" if row.actor_id is None else int(row.actor_id)},'
        f'"details":{row.details},'
        f'"occurred_at":"{occurred.replace("+00:00", "Z")}",'
        f'"subject_id":{json.dumps(row.subject_id, ensure_ascii=False)},'
        f'"subject_type":{json.dumps(row.subject_type, ensure_ascii=False)}}}'
    )


def _row_hash(prev: str, row: Any) -> str:
    fast = hashlib.sha256((prev + _fast_canonical(row)).encode()).hexdigest()
    if fast == row.hash:
        return fast
    try:  # details stored in another (equivalent) spelling: judge by the canonical form
        return event_hash(prev, _body(row))
    except ValueError:
        return fast


def verify_chain(*, session: Session, batch: int = 20000) -> ChainCheck:
    """Recompute every hash in order; report the first event that was altered, removed or forged.

    Reads plain rows in id order, a batch at a time, so a million events verify in seconds.
    """
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    prev, count, last_id = GENESIS, 0, 0
    while True:
        rows = session.execute(
            sa.select(table).where(table.c.id > last_id).order_by(table.c.id).limit(batch)
        ).all()
        if not rows:
            return ChainCheck(events=count, intact=True, first_bad_id=None, problem=None)
        for row in rows:
            if row.prev_hash != prev:
                return ChainCheck(
                    count,
                    False,
                    row.id,
                    f"Event {row.id} does not follow the event before it.",
                    expected_hash=prev,
                    found_hash=row.prev_hash,
                )
            if (expected := _row_hash(prev, row)) != row.hash:
                return ChainCheck(
                    count,
                    False,
                    row.id,
                    f"Event {row.id} was changed after it was written.",
                    expected_hash=expected,
                    found_hash=row.hash,
                )
            prev, count, last_id = row.hash, count + 1, row.id


def events_for(
    *, session: Session, subject_type: str, subject_ids: list[str], limit: int = 200
) -> list[AuditEvent]:
    """The newest events about some subjects (e.g. a model and its versions), newest first."""
    if not subject_ids:
        return []
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id.in_(subject_ids))  # type: ignore[attr-defined]
            .order_by(AuditEvent.id.desc())  # type: ignore[union-attr]
            .limit(limit)
        ).all()
    )


def event_records(*, session: Session, sequences: list[int]) -> list[dict[str, Any]]:
    """Events by sequence number, oldest first, each whole: its hashed body, hash and prev_hash.

    Enough for anyone to recompute ``hash`` from ``prev_hash`` and the body with no database
    (``event_hash``), which is how a report proves the events it prints.
    """
    if not sequences:
        return []
    rows = session.exec(
        select(AuditEvent).where(col(AuditEvent.id).in_(sequences)).order_by(col(AuditEvent.id))
    ).all()
    return [
        {"sequence": row.id, "body": _body(row), "prev_hash": row.prev_hash, "hash": row.hash}
        for row in rows
    ]
