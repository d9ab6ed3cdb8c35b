"""Shared fixtures: a fresh, migrated database per test, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlmodel import Session

from core.config import reset_settings
from core.db import dispose_engines, get_engine, migrate
from core.demo.data import DemoFiles, write_demo_files
from core.files.sandbox import stop_server
from tests.scratch_db import scratch_postgres

POSTGRES_URL = os.environ.get("GATEHOUSE_TEST_POSTGRES_URL")
# Every process the tests start inherits this mark, so the run can find what it left behind,
# even a server reparented to init after its parent was stopped. Parallel test workers inherit
# the mark of the run that started them.
os.environ.setdefault("GATEHOUSE_TEST_RUN", uuid.uuid4().hex)
RUN_MARK = f"GATEHOUSE_TEST_RUN={os.environ['GATEHOUSE_TEST_RUN']}"
LEFTOVER = ("gatehouse", "streamlit", "core.cli")
# No worker thread in the test process: tests run jobs themselves (core.services.jobs.run_job), so what
# a test sees never depends on a thread's timing. The browser tests' server runs one.
os.environ["GATEHOUSE_APP_WORKER"] = "0"
# Tests hash hundreds of passwords (every user they add, every re-authenticated signature):
# OWASP's minimum argon2id parameters make each cost a fifth of the default's. The default
# profile itself is checked in test_auth.
os.environ.setdefault("GATEHOUSE_PASSWORD_HASHING", "owasp")
# No test depends on wall-clock speed: Hypothesis's per-example deadline (200 ms) fails a quick
# example that a busy machine paused once.
settings.register_profile("gatehouse", deadline=None)
settings.load_profile("gatehouse")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    """The demo's data and models at a small size, written once per test run."""
    return write_demo_files(tmp_path_factory.mktemp("demo-files"), n_rows=3000)


def _postgres_url() -> str:
    """The PostgreSQL server the tests use, or a skip (a failure under GATEHOUSE_REQUIRE_POSTGRES)."""
    if not POSTGRES_URL:
        if os.environ.get("GATEHOUSE_REQUIRE_POSTGRES") == "1":
            pytest.fail("GATEHOUSE_REQUIRE_POSTGRES=1 but GATEHOUSE_TEST_POSTGRES_URL is not set")
        pytest.skip("GATEHOUSE_TEST_POSTGRES_URL is not set")
    return POSTGRES_URL


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend the test is parametrised with."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database (no schema) of the backend the test is parametrised with."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'gatehouse.db'}"
        yield url
        dispose_engines()
        return
    with scratch_postgres(_postgres_url()) as url:
        yield url


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per test process; each test's database is a copy."""
    path = tmp_path_factory.mktemp("migrated") / "gatehouse.db"
    migrate(f"sqlite:///{path}")
    dispose_engines()  # checkpoints the write-ahead log into the file
    return path


@pytest.fixture(scope="session")
def migrated_postgres() -> Iterator[str]:
    """A PostgreSQL database migrated to head once per test process, that each test's database
    is created from (CREATE DATABASE ... TEMPLATE), so no test pays for the migrations."""
    with scratch_postgres(_postgres_url(), prefix="gatehouse_template") as url:
        migrate(url)
        dispose_engines()  # a template must have no connections
        yield url


@pytest.fixture
def db_url(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A database at the latest schema that the whole process uses as its configured database:
    a copy of a template migrated once per test process (test_migrations migrates from empty)."""
    if backend == "sqlite":
        path = tmp_path / "gatehouse.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        url_cm: contextlib.AbstractContextManager[str] = contextlib.nullcontext(f"sqlite:///{path}")
    else:
        template = request.getfixturevalue("migrated_postgres")
        url_cm = scratch_postgres(_postgres_url(), template=template)
    with url_cm as url:
        monkeypatch.setenv("GATEHOUSE_DATABASE_URL", url)
        monkeypatch.setenv("GATEHOUSE_DATA_DIR", str(tmp_path / "data"))
        reset_settings()
        yield url
        reset_settings()
        dispose_engines()


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    """A session on the test database; tests commit through services as the app does."""
    with Session(get_engine(db_url), expire_on_commit=False) as s:
        yield s


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test that touches a database runs on both backends.
    sqlite_only = any(m.name == "sqlite_only" for m in metafunc.definition.iter_markers())
    if sqlite_only:
        return
    for name in ("empty_db_url", "backend"):
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, BACKENDS, indirect=True)


def _leftover_processes() -> list[tuple[int, str]]:
    """Processes (other than this one) that carry this run's mark and run Gatehouse or Streamlit."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended meanwhile, or not ours to read
            continue
        if RUN_MARK.encode() in environ and any(word in cmdline for word in LEFTOVER):
            found.append((int(entry.name), cmdline.strip()))
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # The run fails when it leaves a server or worker running (then stops them).
    # A test process's own model sandbox server lives as long as the process; stop it first.
    stop_server()
    # The run that started the workers looks once all of them have ended.
    if os.environ.get("PYTEST_XDIST_WORKER") or not Path("/proc").is_dir():
        return
    # A model sandbox's fork server ends on its own once the process that started it is gone;
    # give such stragglers a bounded moment before calling them leftovers.
    deadline = time.monotonic() + float(os.environ.get("GATEHOUSE_TEST_LEFTOVER_GRACE", "15"))
    leftovers = _leftover_processes()
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.2)
        leftovers = _leftover_processes()
    if not leftovers:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"  pid {pid}: {cmd[:200]}" for pid, cmd in leftovers]
    message = "The tests left Gatehouse processes running:\n" + "\n".join(lines)
    if reporter is not None:
        reporter.write_line(message, red=True)
    else:
        print(message)
    for pid, _ in leftovers:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
