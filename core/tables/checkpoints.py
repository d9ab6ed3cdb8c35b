"""Signed audit checkpoints: statements of (event count, head hash, Merkle root, time)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.db.types import UTCDateTime, utcnow


class AuditCheckpoint(SQLModel, table=True):
    """One signed checkpoint of the audit trail; append-only like the events it vouches for.

    ``statement_json`` is the canonical JSON that was signed; ``signature`` is the installation
    key's Ed25519 signature of it, base64.
    """

    __tablename__ = "audit_checkpoint"

    id: int | None = Field(default=None, primary_key=True)
    event_count: int = Field(index=True)
    head_hash: str = Field(max_length=64)
    merkle_root: str = Field(max_length=64)
    key_fingerprint: str = Field(max_length=64)
    statement_json: str = Field(sa_type=sa.Text)
    signature: str = Field(max_length=128)
    reason: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
