"""Audit events as plain records with their place in the chain, for SIEM tools and examiners."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from core.tables import AuditEvent

__all__ = ["export_events"]


def export_events(
    *, session: Session, since: datetime | None = None, batch: int = 5000
) -> Iterator[dict[str, Any]]:
    """Every event (from ``since`` on), oldest first, with its sequence number in the chain.

    The sequence is the event's 1-based position in the chain, the number that checkpoints and
    inclusion proofs speak of (row ids may have gaps).
    """
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    query = sa.select(table).order_by(table.c.id)
    before = 0
    if since is not None:
        query = query.where(table.c.occurred_at >= since)
        first = session.execute(
            sa.select(sa.func.min(table.c.id)).where(table.c.occurred_at >= since)
        ).scalar()
        if first is None:
            return
        before = session.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.id < first)
        ).scalar_one()
    rows = session.execute(query.execution_options(yield_per=batch))
    for sequence, row in enumerate(rows, start=before + 1):
        yield {
            "sequence": sequence,
            "id": row.id,
            "occurred_at": row.occurred_at.isoformat(),
            "actor": row.actor,
            "actor_id": row.actor_id,
            "action": row.action,
            "subject_type": row.subject_type,
            "subject_id": row.subject_id,
            "details": json.loads(row.details),
            "prev_hash": row.prev_hash,
            "hash": row.hash,
        }
