"""The schema migrates up from empty to head and back down, and refuses unknown revisions."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.db import check_schema, current_revision, downgrade, get_engine, head_revision, migrate
from core.errors import DatabaseProblem


def _tables(url: str) -> set[str]:
    return set(sa.inspect(get_engine(url)).get_table_names()) - {"alembic_version"}


def test_migrate_up_and_down(empty_db_url: str) -> None:
    assert current_revision(empty_db_url) is None
    with pytest.raises(DatabaseProblem, match="run `gatehouse init`"):
        check_schema(empty_db_url)
    assert migrate(empty_db_url) == head_revision()
    check_schema(empty_db_url)
    assert {"user", "user_role", "user_session", "audit_event"} <= _tables(empty_db_url)
    assert migrate(empty_db_url) == head_revision()  # idempotent
    downgrade(empty_db_url, "base")
    assert _tables(empty_db_url) == set()
    assert current_revision(empty_db_url) is None


def test_newer_database_is_refused(empty_db_url: str) -> None:
    migrate(empty_db_url)
    with get_engine(empty_db_url).begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'ffff_future'"))
    for call in (check_schema, migrate):
        with pytest.raises(DatabaseProblem, match="newer than this Gatehouse") as info:
            call(empty_db_url)
        assert "ffff_future" in str(info.value)


@pytest.mark.sqlite_only
def test_unreachable_database_says_how_to_fix() -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/nowhere"
    with pytest.raises(DatabaseProblem, match="Cannot connect to the database") as info:
        check_schema(url)
    assert "GATEHOUSE_DATABASE_URL" in str(info.value)


def test_snapshots_written_before_0003_get_their_validity_ends(empty_db_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from core.tables import OPEN_END, UTCDateTime

    migrate(empty_db_url, "0002")
    t0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    snap = sa.table(
        "model_snapshot",
        sa.column("id"),
        sa.column("model_id"),
        sa.column("valid_from", UTCDateTime()),
        sa.column("name"),
        sa.column("purpose"),
        sa.column("business_unit"),
        sa.column("tags"),
        sa.column("current_stage"),
        sa.column("open_findings"),
        sa.column("gate_status"),
    )
    with get_engine(empty_db_url).begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO model (id, name, created_at, purpose, business_unit, tags, "
                "current_stage, open_findings, gate_status, updated_at) VALUES (1, 'm', "
                ":t, '', '', '', 'development', 0, 'not started', :t)"
            ).bindparams(sa.bindparam("t", t0, type_=UTCDateTime())),
        )
        common = dict(model_id=1, name="m", purpose="", business_unit="", tags="")
        common |= dict(open_findings=0, gate_status="not started")
        conn.execute(
            snap.insert(),
            [
                dict(id=1, valid_from=t0, current_stage="development", **common),
                dict(id=2, valid_from=t0 + timedelta(days=2), current_stage="qa", **common),
            ],
        )
    migrate(empty_db_url)
    ends = sa.table("model_snapshot", sa.column("id"), sa.column("valid_to", UTCDateTime()))
    with get_engine(empty_db_url).connect() as conn:
        rows = dict(conn.execute(sa.select(ends.c.id, ends.c.valid_to).order_by(ends.c.id)).all())
    assert rows == {1: t0 + timedelta(days=2), 2: OPEN_END}


def test_migrations_at_head_match_the_tables(empty_db_url: str) -> None:
    # Autogenerate against SQLModel.metadata finds nothing to do: no table, column, index,
    # constraint or type that the migrations and the table classes disagree on.
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    import core.tables  # noqa: F401  (registers every table)

    migrate(empty_db_url)
    with get_engine(empty_db_url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_the_audit_trail_and_evidence_cannot_be_emptied_in_one_statement(
    empty_db_url: str,
) -> None:
    from sqlmodel import Session

    from core.services.audit import append_event

    migrate(empty_db_url)
    engine = get_engine(empty_db_url)
    with Session(engine) as session:
        append_event(session=session, actor=None, action="test", subject_type="t", subject_id=1)
        session.commit()
    if engine.dialect.name == "sqlite":
        # SQLite has no TRUNCATE; its whole-table DELETE meets the row triggers of 0003.
        statements, refusal = ["DELETE FROM audit_event"], "append-only"
    else:
        statements = ["TRUNCATE audit_event", "TRUNCATE evidence CASCADE"]
        refusal = "(audit_event|evidence) rows are append-only: the table is never truncated"
    for statement in statements:
        with pytest.raises(sa.exc.DatabaseError, match=refusal), engine.begin() as conn:
            conn.execute(sa.text(statement))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_event")).scalar_one() == 1
    if engine.dialect.name == "postgresql":
        downgrade(empty_db_url, "0003")  # the guard is this revision's: without it, TRUNCATE works
        with engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE evidence CASCADE"))
