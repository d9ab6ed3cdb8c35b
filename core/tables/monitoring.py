"""Production monitoring: the batches of production data a version scored, with their labels."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.db.types import UTCDateTime, utcnow, when_column


class MonitoringBatch(SQLModel, table=True):
    """One batch of production inputs and the model's outputs, later its recorded outcomes.

    The batch file and the labels file are datasets (content-hashed like every other); the
    drift and monitoring results are evidence. The labels columns are filled once, when the
    outcomes arrive; that change is also an audit event.
    """

    __tablename__ = "monitoring_batch"
    __table_args__ = (sa.Index("ix_monitoring_batch_version_scored", "version_id", "scored_at"),)

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="model_version.id")
    model_id: int = Field(foreign_key="model.id")
    dataset_id: int = Field(foreign_key="dataset.id")
    # The good rows' ids, outputs and groups (a dataset too), which labels are joined to.
    scores_dataset_id: int = Field(foreign_key="dataset.id")
    scored_at: datetime = Field(sa_type=UTCDateTime)
    ingested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ingested_by: int | None = Field(default=None, foreign_key="user.id")
    id_column: str = Field(max_length=200)
    rows: int
    quarantined_rows: int = Field(default=0)
    quarantine_json: str = Field(default="{}", sa_type=sa.Text)
    # True when the batch came without outputs and the registered version scored it.
    scored_by_version: bool = Field(default=False)
    kpis_json: str = Field(default="{}", sa_type=sa.Text)
    drift_status: str | None = Field(default=None, max_length=24)
    drift_evidence_id: int | None = Field(default=None, foreign_key="evidence.id")
    labels_dataset_id: int | None = Field(default=None, foreign_key="dataset.id")
    labelled_rows: int | None = Field(default=None)
    labelled_at: datetime | None = when_column(nullable=True)
    monitoring_status: str | None = Field(default=None, max_length=24)
    monitoring_evidence_id: int | None = Field(default=None, foreign_key="evidence.id")
