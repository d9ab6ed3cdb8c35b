"""Engines, sessions and migrations, for SQLite (embedded) and PostgreSQL (teams)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from core.config import get_settings
from core.errors import DatabaseProblem

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

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

UNREACHABLE = (
    "Cannot connect to the database at {url}: {reason}. Start the database server or fix "
    "GATEHOUSE_DATABASE_URL."
)
NOT_MIGRATED = (
    "The database at {url} has no Gatehouse schema (revision {found}, expected {head}); "
    "run `gatehouse init` (or `make migrate`) to create or upgrade it."
)
TOO_NEW = (
    "The database at {url} is at schema revision {found}, newer than this Gatehouse knows "
    "(latest {head}); upgrade Gatehouse, or point GATEHOUSE_DATABASE_URL at the right database."
)


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is switched off so that "begin" below decides.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # BEGIN IMMEDIATE takes the write lock up front: a read-then-write transaction (appending to
    # the audit chain) can then never fail half-way because another writer committed first.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def get_engine(url: str | None = None) -> Engine:
    """One engine per database URL per process (default: the configured database)."""
    url = url or get_settings().database_url
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = _create_engine(url)
        return engine


def dispose_engines() -> None:
    """Close every pooled connection of every engine (tests, and processes switching databases)."""
    with _ENGINES_LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
    for engine in engines:
        engine.dispose()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on any error."""
    with Session(get_engine(url), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest schema revision this code knows."""
    head = ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at (None when it has no schema); connection errors are clear."""
    url = url or get_settings().database_url
    try:
        with get_engine(url).connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except sa.exc.OperationalError as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
        raise DatabaseProblem(UNREACHABLE.format(url=safe_url(url), reason=reason)) from err


def migrate(url: str | None = None, revision: str = "head") -> str:
    """Create or upgrade the schema; refuses a database newer than this code. Returns the revision."""
    url = url or get_settings().database_url
    found = current_revision(url)
    known = {s.revision for s in ScriptDirectory.from_config(_alembic_config(url)).walk_revisions()}
    if found is not None and found not in known:
        raise DatabaseProblem(TOO_NEW.format(url=safe_url(url), found=found, head=head_revision()))
    with get_engine(url).begin() as conn:
        cfg = _alembic_config(url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return current_revision(url) or ""


def downgrade(url: str, revision: str = "base") -> None:
    """Step the schema back (tests and emergencies only: data in dropped tables is lost)."""
    with get_engine(url).begin() as conn:
        cfg = _alembic_config(url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def check_schema(url: str | None = None) -> None:
    """Raise a clear DatabaseProblem unless the database is reachable and exactly at head."""
    url = url or get_settings().database_url
    found, head = current_revision(url), head_revision()
    if found == head:
        return
    known = {s.revision for s in ScriptDirectory.from_config(_alembic_config(url)).walk_revisions()}
    message = TOO_NEW if found is not None and found not in known else NOT_MIGRATED
    raise DatabaseProblem(message.format(url=safe_url(url), found=found or "none", head=head))
