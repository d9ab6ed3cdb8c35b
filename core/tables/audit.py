"""The append-only, hash-chained audit trail."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.db.types import UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    """One append-only, hash-chained record of something that happened.

    ``hash`` = SHA-256 over ``prev_hash`` and the canonical JSON of the event; ``prev_hash`` is
    unique, so two writers can never both extend the same tip (the chain cannot fork).
    """

    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_event_subject", "subject_type", "subject_id"),)

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)
    subject_type: str = Field(max_length=32)
    subject_id: str = Field(max_length=64)
    details: str = Field(sa_type=sa.Text)
    prev_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
