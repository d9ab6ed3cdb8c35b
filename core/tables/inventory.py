"""The model inventory: datasets, models, point-in-time snapshots, versions and stage changes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.db.types import OPEN_END, UTCDateTime, utcnow, when_column
from core.domain import Stage

#: Stage names in promotion order, as stored.
STAGES = tuple(stage.value for stage in Stage)


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
    current_stage: str = Field(default=Stage.development.value, max_length=16)
    production_version_id: int | None = Field(default=None)
    next_review_date: datetime | None = when_column(nullable=True)
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
    current_stage: str = Field(default=Stage.development.value, max_length=16)
    production_version_id: int | None = Field(default=None)
    next_review_date: datetime | None = when_column(nullable=True)
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
    stage: str = Field(default=Stage.development.value, max_length=16)


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
