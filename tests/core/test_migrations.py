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
