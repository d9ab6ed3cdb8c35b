"""The findings register: a finding's current state, and the append-only history of its changes."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.db.types import UTCDateTime, utcnow, when_column

#: Tables the database keeps append-only (triggers of migration 0010).
FINDINGS_APPEND_ONLY = ("finding_change",)


class Finding(SQLModel, table=True):
    """A problem raised on a version of a model: its current state, kept small for fast lists.

    Every change to it is also a ``FindingChange`` row and an audit event; ``revision`` grows
    with each change so two people editing at once cannot both win silently.
    """

    __tablename__ = "finding"
    __table_args__ = (
        sa.Index("ix_finding_status_severity", "status", "severity"),
        sa.Index("ix_finding_model_status", "model_id", "status"),
        sa.Index("ix_finding_version_status", "version_id", "status"),
        sa.Index("ix_finding_type_raised", "type", "raised_at"),
        sa.Index("ix_finding_due", "status", "due_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id")
    version_id: int = Field(foreign_key="model_version.id")
    type: str = Field(max_length=32)
    severity: str = Field(max_length=16)
    status: str = Field(max_length=16)
    description: str = Field(sa_type=sa.Text)
    evidence_json: str = Field(default="[]", sa_type=sa.Text)
    remediation_plan: str = Field(default="", sa_type=sa.Text)
    owner_id: int | None = Field(default=None, foreign_key="user.id")
    due_date: date | None = Field(default=None, sa_column=sa.Column(sa.Date(), nullable=True))
    raised_by: int | None = Field(default=None, foreign_key="user.id")
    raised_by_name: str = Field(default="", max_length=200)
    raised_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = when_column(nullable=True)
    revision: int = Field(default=1)


class FindingChange(SQLModel, table=True):
    """Append-only: one change to a finding (its raising included), with what changed.

    ``changes_json`` maps each changed field to ``[old, new]``. A signing act (closing or
    accepting the risk of a high or critical finding) also keeps the printed name, role,
    meaning and the SHA-256 of the manifest signed, as shown to the signer.
    """

    __tablename__ = "finding_change"
    __table_args__ = (sa.UniqueConstraint("finding_id", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    finding_id: int = Field(foreign_key="finding.id")
    revision: int
    action: str = Field(max_length=16)
    changes_json: str = Field(default="{}", sa_type=sa.Text)
    status_after: str = Field(max_length=16)
    comment: str = Field(default="", sa_type=sa.Text)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    actor_name: str = Field(default="", max_length=200)
    signed: bool = Field(default=False)
    role: str = Field(default="", max_length=32)
    meaning: str = Field(default="", sa_type=sa.Text)
    manifest_json: str = Field(default="", sa_type=sa.Text)
    manifest_sha256: str = Field(default="", max_length=64)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
