"""SQLModel tables. The word "model" means an ML model here, so row classes are "tables"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

__all__ = [
    "EVIDENCE_KINDS",
    "JOB_STATES",
    "OPEN_END",
    "STAGES",
    "AuditEvent",
    "Dataset",
    "Evidence",
    "Job",
    "ModelCardRevision",
    "ModelEntry",
    "ModelSnapshot",
    "ModelVersion",
    "StageChange",
    "UTCDateTime",
    "User",
    "UserRole",
    "UserSession",
    "utcnow",
]

# Stable constraint names, so Alembic batch migrations on SQLite can find them again.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: The end of a validity interval that has not ended yet (NULL would defeat a range index).
OPEN_END = datetime(9999, 12, 31, tzinfo=UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC, at microsecond precision."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Naive datetime given to a UTC column; pass a timezone-aware time.")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index))


class User(SQLModel, table=True):
    """A person who signs in. Never deleted: past signatures must stay attributable."""

    __tablename__ = "user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    display_name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320, index=True)
    password_hash: str | None = Field(default=None, max_length=200)
    is_active: bool = Field(default=True)
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = _when(nullable=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    deactivated_at: datetime | None = _when(nullable=True)


class UserRole(SQLModel, table=True):
    """One organisational role held by a user."""

    __tablename__ = "user_role"

    user_id: int = Field(foreign_key="user.id", primary_key=True)
    role: str = Field(max_length=32, primary_key=True)


class UserSession(SQLModel, table=True):
    """A sign-in. The browser holds a signed token whose SHA-256 is ``token_hash``.

    ``ticket_hash`` is a one-time, short-lived secret the page hands to the browser to swap for
    the HttpOnly cookie, so the session token itself never appears in the page.
    """

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    ticket_hash: str | None = Field(default=None, max_length=64, sa_column_kwargs={"unique": True})
    ticket_expires_at: datetime | None = _when(nullable=True)
    method: str = Field(default="password", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = _when(nullable=True)


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


# --- Inventory -------------------------------------------------------------------------------

STAGES = ("development", "qa", "preproduction", "production", "retired")


class Dataset(SQLModel, table=True):
    """A data file identified by its content hash, with schema and provenance."""

    __tablename__ = "dataset"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    name: str = Field(max_length=200)
    format: str = Field(max_length=16)
    path: str = Field(max_length=1000)
    rows: int
    columns: int
    columns_json: str = Field(sa_type=sa.Text)
    provenance: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="user.id")


class ModelEntry(SQLModel, table=True):
    """A model in the inventory: one business use of machine learning, with an owner.

    Columns after ``created_by`` are the current state, kept for fast inventory queries; every
    change to them is also an audit event and, for the card and stages, an append-only row.
    """

    __tablename__ = "model"
    __table_args__ = (
        sa.Index("ix_model_stage_name", "current_stage", "name"),
        sa.Index("ix_model_tier_name", "risk_tier", "name"),
        sa.Index("ix_model_unit_name", "business_unit", "name"),
        sa.Index("ix_model_owner_name", "owner_id", "name"),
        sa.Index("ix_model_review", "next_review_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, sa_column_kwargs={"unique": True})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    purpose: str = Field(default="", sa_type=sa.Text)
    business_unit: str = Field(default="", max_length=120)
    tags: str = Field(default="", max_length=500)
    owner_id: int | None = Field(default=None, foreign_key="user.id")
    developer_id: int | None = Field(default=None, foreign_key="user.id")
    validator_id: int | None = Field(default=None, foreign_key="user.id")
    risk_tier: str | None = Field(default=None, max_length=16)
    current_version_id: int | None = Field(default=None)
    current_stage: str = Field(default="development", max_length=16)
    production_version_id: int | None = Field(default=None)
    next_review_date: datetime | None = _when(nullable=True)
    open_findings: int = Field(default=0)
    gate_status: str = Field(default="not started", max_length=32)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ModelSnapshot(SQLModel, table=True):
    """Append-only copy of a model's inventory columns after every change: the inventory "as of"
    a date is, per model, the snapshot valid at it: ``valid_from <= t < valid_to``."""

    __tablename__ = "model_snapshot"
    __table_args__ = (
        sa.Index("ix_model_snapshot_model_from", "model_id", "valid_from"),
        sa.Index("ix_model_snapshot_valid_to_from", "valid_to", "valid_from"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id")
    valid_from: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # OPEN_END until the next snapshot of the model supersedes this one; "as of t" is then one
    # range scan of the (valid_to, valid_from) index instead of a newest-per-model search.
    valid_to: datetime = Field(default=OPEN_END, sa_type=UTCDateTime)
    name: str = Field(max_length=120)
    purpose: str = Field(default="", sa_type=sa.Text)
    business_unit: str = Field(default="", max_length=120)
    tags: str = Field(default="", max_length=500)
    owner_id: int | None = Field(default=None)
    risk_tier: str | None = Field(default=None, max_length=16)
    current_version_id: int | None = Field(default=None)
    current_stage: str = Field(default="development", max_length=16)
    production_version_id: int | None = Field(default=None)
    next_review_date: datetime | None = _when(nullable=True)
    open_findings: int = Field(default=0)
    gate_status: str = Field(default="not started", max_length=32)


class ModelCardRevision(SQLModel, table=True):
    """One append-only revision of a model card; the newest is the current card."""

    __tablename__ = "model_card_revision"
    __table_args__ = (sa.UniqueConstraint("model_id", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id")
    revision: int
    card_json: str = Field(sa_type=sa.Text)
    edited_by: int | None = Field(default=None, foreign_key="user.id")
    edited_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    changes_json: str = Field(default="{}", sa_type=sa.Text)


class ModelVersion(SQLModel, table=True):
    """One trained artifact of a model, with its data, environment and parent."""

    __tablename__ = "model_version"
    __table_args__ = (
        sa.UniqueConstraint("model_id", "version"),
        sa.UniqueConstraint("model_id", "artifact_sha256"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    version: int
    artifact_sha256: str = Field(max_length=64)
    artifact_path: str = Field(max_length=1000)
    framework: str = Field(max_length=64)
    estimator_class: str = Field(max_length=200)
    task: str = Field(max_length=16)
    target: str = Field(max_length=200)
    positive_label: str | None = Field(default=None, max_length=200)
    features_json: str = Field(sa_type=sa.Text)
    sensitive_json: str = Field(default="[]", sa_type=sa.Text)
    environment_json: str = Field(sa_type=sa.Text)
    # Extra skops types the registrant reviewed and trusted: needed to load the artifact again.
    trusted_json: str = Field(default="[]", sa_type=sa.Text)
    train_dataset_id: int | None = Field(default=None, foreign_key="dataset.id")
    eval_dataset_id: int = Field(foreign_key="dataset.id")
    parent_version_id: int | None = Field(default=None, foreign_key="model_version.id")
    registered_by: int | None = Field(default=None, foreign_key="user.id")
    registered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    stage: str = Field(default="development", max_length=16)


class StageChange(SQLModel, table=True):
    """Append-only: a version entered a stage. "Which version was in production on a date" reads
    the newest change at or before that date."""

    __tablename__ = "stage_change"
    __table_args__ = (
        sa.Index("ix_stage_change_model_at", "model_id", "changed_at"),
        sa.Index("ix_stage_change_stage_at", "stage", "changed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id")
    version_id: int = Field(foreign_key="model_version.id", index=True)
    stage: str = Field(max_length=16)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    changed_by: int | None = Field(default=None, foreign_key="user.id")
    reason: str = Field(default="", sa_type=sa.Text)


# --- Evidence and background jobs ------------------------------------------------------------

EVIDENCE_KINDS = ("performance", "fairness", "explanation")
JOB_STATES = ("queued", "running", "done", "failed")


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
    PostgreSQL, the write lock on SQLite), report progress, and finish with the evidence they
    stored or the error they met. A running job whose heartbeat stops is re-queued.
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
    state: str = Field(default="queued", max_length=16)
    progress: float = Field(default=0.0)
    message: str = Field(default="", sa_type=sa.Text)
    requested_by: int | None = Field(default=None, foreign_key="user.id")
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = _when(nullable=True)
    heartbeat_at: datetime | None = _when(nullable=True)
    finished_at: datetime | None = _when(nullable=True)
    worker: str = Field(default="", max_length=200)
    attempts: int = Field(default=0)
    error: str = Field(default="", sa_type=sa.Text)
    evidence_id: int | None = Field(default=None, foreign_key="evidence.id")
