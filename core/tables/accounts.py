"""Accounts: people, their roles and their sign-in sessions."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from core.db.types import UTCDateTime, utcnow, when_column


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
    locked_until: datetime | None = when_column(nullable=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    deactivated_at: datetime | None = when_column(nullable=True)


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
    ticket_expires_at: datetime | None = when_column(nullable=True)
    method: str = Field(default="password", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = when_column(nullable=True)
