"""Notifications: an in-app inbox per user, and an outbox that a delivery worker e-mails."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.db.types import UTCDateTime, utcnow, when_column


class Notification(SQLModel, table=True):
    """One message in a user's inbox (gate closed, your turn, overdue reminder, ...)."""

    __tablename__ = "notification"
    __table_args__ = (sa.Index("ix_notification_user_read", "user_id", "read_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    kind: str = Field(max_length=32)
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=sa.Text)
    link: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    read_at: datetime | None = when_column(nullable=True)


class OutboxMessage(SQLModel, table=True):
    """An e-mail waiting to be sent for a notification; claimed and marked sent atomically."""

    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_state_id", "state", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notification.id")
    to_address: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=sa.Text)
    state: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    last_error: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = when_column(nullable=True)
