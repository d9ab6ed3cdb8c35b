"""PostgreSQL refuses TRUNCATE of the audit trail and of evidence

Row triggers (0003) refuse UPDATE and DELETE, but TRUNCATE fires no row trigger: without these
statement-level triggers, ``TRUNCATE audit_event`` or ``TRUNCATE evidence CASCADE`` empties the
table and verification then reports "0 events, intact". SQLite has no TRUNCATE (its
``DELETE FROM`` is refused by the row triggers), so nothing changes there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 13:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("audit_event", "evidence")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION gatehouse_no_truncate() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
        "'% rows are append-only: the table is never truncated', TG_TABLE_NAME; END $$"
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_no_truncate()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS gatehouse_no_truncate()")
