"""The allowlist of extra skops types an admin has reviewed and trusts for every model file."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.db.types import UTCDateTime, utcnow


class TrustedType(SQLModel, table=True):
    """One reviewed type (``module.Class`` or ``module.function``) beyond the built-in list.

    Rows are added and removed by admins only; each change is also an audit event.
    """

    __tablename__ = "trusted_type"

    id: int | None = Field(default=None, primary_key=True)
    type_name: str = Field(max_length=300, sa_column_kwargs={"unique": True})
    reason: str = Field(default="", sa_type=sa.Text)
    added_by: int | None = Field(default=None, foreign_key="user.id")
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
