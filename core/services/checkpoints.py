"""Signed checkpoints of the audit trail, and proof that today's trail extends one.

Recomputing every hash shows that no event was edited in place, but someone with the database
could rewrite the whole chain, or cut its newest events, and recompute every hash. A checkpoint
closes that gap: the installation key signs (event count, head hash, Merkle root of the event
hashes, time). Later, ``verify_trail`` proves the current trail still holds those first N events
unchanged; a rewritten or truncated trail no longer matches the signed statement.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from core.errors import InputProblems
from core.rules.merkle import merkle_root
from core.services.audit import append_event, canonical_json, verify_chain
from core.services.permissions import AUDIT_ROLES, Actor, require_role
from core.services.signing import (
    fingerprint,
    installation_key,
    load_public_key,
    public_key_pem,
    sign,
    verify_signature,
)
from core.tables import AuditCheckpoint, AuditEvent, utcnow

__all__ = [
    "CHECKPOINT_KIND",
    "Checkpoint",
    "TrailVerification",
    "chain_hashes",
    "ensure_daily_checkpoint",
    "latest_checkpoint",
    "system_checkpoint",
    "take_checkpoint",
    "trail_extends",
    "verify_trail",
]

CHECKPOINT_KIND = "gatehouse.audit-checkpoint/1"
NOT_A_CHECKPOINT = (
    "The file is not a Gatehouse checkpoint (it needs `statement`, `signature` and `public_key`); "
    "pass a file written by `gatehouse audit checkpoint`."
)
BAD_SIGNATURE = "The checkpoint's signature does not match its statement: the file was altered."
OTHER_KEY = (
    "The checkpoint was signed by key {found}, not by the key given ({expected}); "
    "check which installation wrote it."
)
TRUNCATED = (
    "The trail holds {events} events but the checkpoint vouches for {count}: events were removed."
)
HEAD_CHANGED = (
    "Event {count} of the trail has hash {found}, but the checkpoint signed {expected}: "
    "the trail was rewritten."
)
ROOT_CHANGED = (
    "The first {count} events no longer give the Merkle root the checkpoint signed: "
    "the trail was rewritten."
)


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement about the trail, in the form written to a checkpoint file."""

    statement: dict[str, Any]
    signature: str
    public_key: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "statement": self.statement,
            "signature": self.signature,
            "public_key": self.public_key,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Checkpoint:
        try:
            statement = dict(data["statement"])
            if statement.get("kind") != CHECKPOINT_KIND:
                raise KeyError("kind")
            return cls(statement, str(data["signature"]), str(data["public_key"]))
        except (KeyError, TypeError, ValueError) as err:
            raise InputProblems([NOT_A_CHECKPOINT]) from err


@dataclass(frozen=True)
class TrailVerification:
    """The outcome of verifying the trail: count and head, or what is wrong."""

    events: int
    head_hash: str | None
    intact: bool
    first_bad_id: int | None = None
    expected_hash: str | None = None
    found_hash: str | None = None
    problems: list[str] = field(default_factory=list)
    checkpoint_events: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "head_hash": self.head_hash,
            "intact": self.intact,
            "first_bad_id": self.first_bad_id,
            "expected_hash": self.expected_hash,
            "found_hash": self.found_hash,
            "problems": list(self.problems),
            "checkpoint_events": self.checkpoint_events,
        }


def chain_hashes(session: Session, *, upto: int | None = None) -> list[str]:
    """Every event hash in chain order (the first ``upto`` when given)."""
    query = sa.select(AuditEvent.__table__.c.hash).order_by(AuditEvent.__table__.c.id)  # type: ignore[attr-defined]
    if upto is not None:
        query = query.limit(upto)
    return [row[0] for row in session.execute(query)]


def _root(hashes: list[str]) -> str:
    return merkle_root([bytes.fromhex(h) for h in hashes]).hex()


def take_checkpoint(*, session: Session, actor: Actor, reason: str = "manual") -> Checkpoint:
    """Sign (event count, head hash, Merkle root, time), store it, and record that it was taken."""
    require_role(session, actor, "take an audit checkpoint", *AUDIT_ROLES)
    return _checkpoint(session, actor, reason)


def system_checkpoint(session: Session, reason: str) -> Checkpoint:
    """A checkpoint the system takes itself: the daily one, and one at every approval."""
    return _checkpoint(session, None, reason)


def _checkpoint(session: Session, actor: Actor | None, reason: str) -> Checkpoint:
    hashes = chain_hashes(session)
    public = installation_key().public_key()
    head = hashes[-1] if hashes else ""
    statement: dict[str, Any] = {
        "kind": CHECKPOINT_KIND,
        "event_count": len(hashes),
        "head_hash": head,
        "merkle_root": _root(hashes),
        "key_fingerprint": fingerprint(public),
        "created_at": utcnow(),
    }
    text = canonical_json(statement)
    signature = sign(text.encode())
    row = AuditCheckpoint(
        event_count=len(hashes),
        head_hash=head,
        merkle_root=statement["merkle_root"],
        key_fingerprint=statement["key_fingerprint"],
        statement_json=text,
        signature=signature,
        reason=reason,
    )
    session.add(row)
    session.flush()
    append_event(
        session=session,
        actor=actor,
        action="audit_checkpoint",
        subject_type="audit",
        subject_id=str(row.id),
        details={"event_count": len(hashes), "head_hash": head, "reason": reason},
    )
    return Checkpoint(json.loads(text), signature, public_key_pem())


def latest_checkpoint(session: Session) -> Checkpoint | None:
    """The newest stored checkpoint, as it would be written to a file."""
    row = session.exec(
        select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)  # type: ignore[union-attr]
    ).first()
    if row is None:
        return None
    return Checkpoint(json.loads(row.statement_json), row.signature, public_key_pem())


def ensure_daily_checkpoint(session: Session, *, every: timedelta = timedelta(days=1)) -> bool:
    """Take a checkpoint when the newest is older than ``every`` (or there is none); True if taken."""
    newest = session.exec(select(sa.func.max(AuditCheckpoint.created_at))).first()
    if newest is not None and utcnow() - newest < every:
        return False
    system_checkpoint(session, "daily")
    return True


def _check_against(checkpoint: Checkpoint, hashes: list[str], public_pem: str | None) -> list[str]:
    problems: list[str] = []
    signer = load_public_key(checkpoint.public_key, source="The checkpoint's public key")
    if public_pem is not None:
        expected = load_public_key(public_pem)
        if fingerprint(expected) != fingerprint(signer):
            return [
                OTHER_KEY.format(
                    found=fingerprint(signer)[:16], expected=fingerprint(expected)[:16]
                )
            ]
    if not verify_signature(
        signer, canonical_json(checkpoint.statement).encode(), checkpoint.signature
    ):
        return [BAD_SIGNATURE]
    count = int(checkpoint.statement["event_count"])
    if len(hashes) < count:
        return [TRUNCATED.format(events=len(hashes), count=count)]
    head = checkpoint.statement.get("head_hash")
    if count and hashes[count - 1] != head:
        problems.append(HEAD_CHANGED.format(count=count, found=hashes[count - 1], expected=head))
    if _root(hashes[:count]) != checkpoint.statement.get("merkle_root"):
        problems.append(ROOT_CHANGED.format(count=count))
    return problems


def trail_extends(session: Session, checkpoint: Checkpoint, public_key: str) -> list[str]:
    """Problems (none when it does) with the claim that today's trail extends ``checkpoint``.

    For a report verified against the database: every role may verify a report, so this reads
    no event, only the hashes (the whole trail stays for ``AUDIT_ROLES``).
    """
    return _check_against(checkpoint, chain_hashes(session), public_key)


def verify_trail(
    *,
    session: Session,
    actor: Actor,
    checkpoint: Checkpoint | None = None,
    public_key: str | None = None,
) -> TrailVerification:
    """Recompute the chain; with a checkpoint, also prove the trail extends what it signed.

    ``public_key`` (PEM) pins the key the checkpoint must be signed by; without it, the key in
    the checkpoint file is used, which proves integrity of the file but not who wrote it.
    """
    require_role(session, actor, "verify the audit trail", *AUDIT_ROLES)
    check = verify_chain(session=session)
    hashes = chain_hashes(session)
    problems = [check.problem] if check.problem else []
    if checkpoint is not None:
        problems += _check_against(checkpoint, hashes, public_key)
    return TrailVerification(
        events=len(hashes),
        head_hash=hashes[-1] if hashes else None,
        intact=not problems,
        first_bad_id=check.first_bad_id,
        expected_hash=check.expected_hash,
        found_hash=check.found_hash,
        problems=problems,
        checkpoint_events=int(checkpoint.statement["event_count"]) if checkpoint else None,
    )
