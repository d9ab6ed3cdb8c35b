"""Shared fixtures: a fresh, migrated database per test, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import Session

from core.config import reset_settings
from core.db import dispose_engines, get_engine, migrate
from core.demo.data import DemoFiles, write_demo_files

POSTGRES_URL = os.environ.get("GATEHOUSE_TEST_POSTGRES_URL")
# No worker thread in the test process: tests run jobs themselves (core.services.jobs.run_job), so what
# a test sees never depends on a thread's timing. The browser tests' server runs one.
os.environ["GATEHOUSE_APP_WORKER"] = "0"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    """The demo's data and models at a small size, written once per test run."""
    return write_demo_files(tmp_path_factory.mktemp("demo-files"), n_rows=3000)


@pytest.fixture
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database (no schema) of the backend the test is parametrised with."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'gatehouse.db'}"
        yield url
        dispose_engines()
        return
    if not POSTGRES_URL:
        if os.environ.get("GATEHOUSE_REQUIRE_POSTGRES") == "1":
            pytest.fail("GATEHOUSE_REQUIRE_POSTGRES=1 but GATEHOUSE_TEST_POSTGRES_URL is not set")
        pytest.skip("GATEHOUSE_TEST_POSTGRES_URL is not set")
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"gatehouse_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def db_url(empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated database that the whole process uses as its configured database."""
    monkeypatch.setenv("GATEHOUSE_DATABASE_URL", empty_db_url)
    monkeypatch.setenv("GATEHOUSE_DATA_DIR", str(tmp_path / "data"))
    reset_settings()
    migrate(empty_db_url)
    yield empty_db_url
    reset_settings()


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    """A session on the test database; tests commit through services as the app does."""
    with Session(get_engine(db_url), expire_on_commit=False) as s:
        yield s


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test that touches a database runs on both backends.
    sqlite_only = any(m.name == "sqlite_only" for m in metafunc.definition.iter_markers())
    if "empty_db_url" in metafunc.fixturenames and not sqlite_only:
        metafunc.parametrize("empty_db_url", BACKENDS, indirect=True)
