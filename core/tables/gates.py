"""Lifecycle gates per version, every act on them (signatures included), and waivers."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.db.types import UTCDateTime, utcnow, when_column


class Gate(SQLModel, table=True):
    """One lifecycle gate of one version: its current state, kept small and derived from acts.

    ``spec_json`` is the gate as the governing policy defined it when it opened (RACI, approvers,
    evidence); ``revision`` grows with every act so concurrent signers cannot both close it.
    """

    __tablename__ = "gate"
    __table_args__ = (
        sa.UniqueConstraint("version_id", "gate_id"),
        sa.Index("ix_gate_state_updated", "state", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="model_version.id", index=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    gate_id: str = Field(max_length=32)
    position: int
    state: str = Field(max_length=16)
    round: int = Field(default=1)
    revision: int = Field(default=0)
    spec_json: str = Field(sa_type=sa.Text)
    policy_version: int | None = Field(default=None)
    tier: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    submitted_at: datetime | None = when_column(nullable=True)
    due_at: datetime | None = when_column(nullable=True)
    closed_at: datetime | None = when_column(nullable=True)
    stale_reason: str = Field(default="", sa_type=sa.Text)


class GateAct(SQLModel, table=True):
    """Append-only: one act on a gate. A signing act carries the manifest it signed.

    The printed name, role, meaning and UTC time are stored as they were shown to the signer,
    so the signature reads the same years later whatever happens to the account.
    """

    __tablename__ = "gate_act"
    __table_args__ = (
        sa.Index("ix_gate_act_gate_round", "gate_pk", "round"),
        # Covers the dashboard's time-to-approval query (core.services.kpis.approvals).
        sa.Index("ix_gate_act_gate_times", "gate_pk", "act", "state_after", "round", "signed_at"),
        # One approval per person per round, whatever races: the database refuses a second.
        sa.Index(
            "uq_gate_act_one_approval",
            "gate_pk",
            "round",
            "actor_id",
            unique=True,
            sqlite_where=sa.text("act = 'approve'"),
            postgresql_where=sa.text("act = 'approve'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    gate_pk: int = Field(foreign_key="gate.id")
    version_id: int = Field(foreign_key="model_version.id", index=True)
    round: int
    act: str = Field(max_length=16)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    printed_name: str = Field(default="", max_length=200)
    role: str = Field(default="", max_length=32)
    opinion: str | None = Field(default=None, max_length=16)
    meaning: str = Field(default="", sa_type=sa.Text)
    comment: str = Field(default="", sa_type=sa.Text)
    manifest_json: str = Field(default="", sa_type=sa.Text)
    manifest_sha256: str = Field(default="", max_length=64)
    state_after: str = Field(max_length=16)
    signed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Waiver(SQLModel, table=True):
    """Append-only: a risk manager's signed act letting a named failed check pass until expiry."""

    __tablename__ = "waiver"
    __table_args__ = (sa.Index("ix_waiver_version_gate", "version_id", "gate_id"),)

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="model_version.id")
    gate_id: str = Field(max_length=32)
    check_name: str = Field(max_length=200)
    justification: str = Field(sa_type=sa.Text)
    controls: str = Field(sa_type=sa.Text)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    act_id: int = Field(foreign_key="gate_act.id")
    signed_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
