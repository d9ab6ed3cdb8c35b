"""The database: engines and sessions, the migration runner, and the column types tables share."""

from __future__ import annotations

from core.db.engine import (
    check_schema,
    current_revision,
    dispose_engines,
    downgrade,
    get_engine,
    head_revision,
    migrate,
    safe_url,
    session_scope,
)

__all__ = [
    "check_schema",
    "current_revision",
    "dispose_engines",
    "downgrade",
    "get_engine",
    "head_revision",
    "migrate",
    "safe_url",
    "session_scope",
]
