"""The audit trail: append-only, hash-chained events, and a check that the chain is intact."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
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
_quote = encode_basestring
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


def _occurred(value: datetime | str) -> str:
    """An event time as canonical JSON spells it. SQLite's column is read as its stored text
    (UTC, "YYYY-MM-DD HH:MM:SS.ffffff"), which saves parsing a datetime per event."""
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " ":
            return value.replace(" ", "T") + "Z"
        value = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _fast_canonical(
    occurred: datetime | str, actor_id: int | None, actor: str, action: str,
    subject_type: str, subject_id: str, details: str,
) -> str:  # fmt: skip
    # The canonical JSON of an event body, assembled as text: ``details`` is stored as canonical
    # JSON already, so parsing and re-serialising it (the slow path) would give the same text.
    # ``_quote`` is the string encoder json.dumps(ensure_ascii=False) itself uses, without the
    # cost of building an encoder per call.
    return (
        f'{{"action":{_quote(action)},'
        f'"actor":{_quote(actor)},'
        f'"actor_id":{"null" if actor_id is None else int(actor_id)},'
        f'"details":{details},'
        f'"occurred_at":"{_occurred(occurred)}",'
        f'"subject_id":{_quote(subject_id)},'
        f'"subject_type":{_quote(subject_type)}}}'
    )


def _slow_hash(session: Session, prev: str, event_id: int, fast: str) -> str:
    # Details stored in another (equivalent) spelling: judge by the canonical form of the event
    # read whole, its time a datetime again.
    event = session.get(AuditEvent, event_id)
    try:
        return event_hash(prev, _body(event)) if event is not None else fast
    except ValueError:
        return fast


#: The columns verify reads, in the order it unpacks them.
_VERIFY_COLUMNS = (
    "id", "occurred_at", "actor_id", "actor", "action", "subject_type", "subject_id", "details",
    "prev_hash", "hash",
)  # fmt: skip


def verify_chain(*, session: Session, batch: int = 20000) -> ChainCheck:
    """Recompute every hash in order; report the first event that was altered, removed or forged.

    Reads plain rows in id order, a batch at a time, so a million events verify in seconds.
    """
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    sqlite = session.get_bind().dialect.name == "sqlite"
    columns = [
        sa.type_coerce(table.c[n], sa.String).label(n) if n == "occurred_at" and sqlite
        else table.c[n]
        for n in _VERIFY_COLUMNS
    ]  # fmt: skip
    sha256 = hashlib.sha256
    prev, count, last_id = GENESIS, 0, 0
    while True:
        rows = session.execute(
            sa.select(*columns).where(table.c.id > last_id).order_by(table.c.id).limit(batch)
        ).all()
        if not rows:
            return ChainCheck(events=count, intact=True, first_bad_id=None, problem=None)
        for (
            event_id,
            occurred,
            actor_id,
            actor,
            action,
            stype,
            sid,
            details,
            prev_hash,
            got,
        ) in rows:
            if prev_hash != prev:
                return ChainCheck(
                    count,
                    False,
                    event_id,
                    f"Event {event_id} does not follow the event before it.",
                    expected_hash=prev,
                    found_hash=prev_hash,
                )
            body = _fast_canonical(occurred, actor_id, actor, action, stype, sid, details)
            expected = sha256((prev + body).encode()).hexdigest()
            if (
                expected != got
                and (expected := _slow_hash(session, prev, event_id, expected)) != got
            ):
                return ChainCheck(
                    count,
                    False,
                    event_id,
                    f"Event {event_id} was changed after it was written.",
                    expected_hash=expected,
                    found_hash=got,
                )
            prev, count, last_id = got, count + 1, event_id


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
