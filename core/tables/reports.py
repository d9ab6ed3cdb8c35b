"""The archive of generated audit reports: every PDF, its hash, who made it and when."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from core.db.types import UTCDateTime, utcnow


class ReportArchive(SQLModel, table=True):
    """One generated report PDF, kept in the content store; append-only (the database refuses
    changes), so an earlier report can always be downloaded again and checked against its hash.
    """

    __tablename__ = "report"

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    version_id: int = Field(foreign_key="model_version.id", index=True)
    sha256: str = Field(max_length=64, index=True)
    content_sha256: str = Field(max_length=64)
    size: int
    pages: int
    path: str = Field(max_length=1000)
    checkpoint_events: int
    generated_by: int | None = Field(default=None, foreign_key="user.id")
    generated_by_name: str = Field(max_length=64)
    generated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
