"""Immutable evidence about versions, and the background jobs that compute it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.db.types import UTCDateTime, utcnow, when_column
from core.domain import EvidenceKind, JobState

EVIDENCE_KINDS = tuple(kind.value for kind in EvidenceKind)
JOB_STATES = tuple(state.value for state in JobState)


class Evidence(SQLModel, table=True):
    """Computed evidence about a model version: immutable, content-addressed, reproducible.

    ``sha256`` is the SHA-256 of the canonical JSON of kind, version, inputs (the artifact's and
    datasets' content hashes), configuration (seed included), environment and results, so the
    same computation in the same environment always names the same row, and a sign-off that
    cites the hash cites these exact numbers. Rows are never updated or deleted (the database
    refuses it).
    """

    __tablename__ = "evidence"
    __table_args__ = (sa.Index("ix_evidence_version_kind", "version_id", "kind", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="model_version.id")
    kind: str = Field(max_length=32)
    sha256: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    status: str | None = Field(default=None, max_length=24)
    inputs_json: str = Field(sa_type=sa.Text)
    config_json: str = Field(sa_type=sa.Text)
    environment_json: str = Field(sa_type=sa.Text)
    results_json: str = Field(sa_type=sa.Text)
    computed_by: int | None = Field(default=None, foreign_key="user.id")
    computed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    seconds: float = Field(default=0.0)


class Job(SQLModel, table=True):
    """A piece of long work (e.g. SHAP) queued for any app process or `gatehouse worker`.

    Workers claim the oldest queued job under a row lock (``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL, the write lock on SQLite) with a fresh ``lease_token``, report progress, and
    finish with the evidence they stored or the error they met, while they still hold the
    lease. A running job whose heartbeat stops is re-queued.
    """

    __tablename__ = "job"
    __table_args__ = (
        sa.Index("ix_job_state_id", "state", "id"),
        sa.Index("ix_job_version_kind", "version_id", "kind", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    version_id: int | None = Field(default=None, foreign_key="model_version.id")
    params_json: str = Field(default="{}", sa_type=sa.Text)
    state: str = Field(default=JobState.queued.value, max_length=16)
    progress: float = Field(default=0.0)
    message: str = Field(default="", sa_type=sa.Text)
    requested_by: int | None = Field(default=None, foreign_key="user.id")
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = when_column(nullable=True)
    heartbeat_at: datetime | None = when_column(nullable=True)
    finished_at: datetime | None = when_column(nullable=True)
    worker: str = Field(default="", max_length=200)
    # The claim's lease: finishing, heartbeats and release compare-and-set on it, so a worker
    # whose job was handed to another can no longer write its outcome.
    lease_token: str | None = Field(default=None, max_length=32)
    attempts: int = Field(default=0)
    error: str = Field(default="", sa_type=sa.Text)
    evidence_id: int | None = Field(default=None, foreign_key="evidence.id")
