"""Liveness and readiness: a broken database takes the instance out of rotation."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette

from app.cookie_routes import ROUTES
from core.config import reset_settings
from core.db import head_revision, migrate
from core.services.health import readiness

# Nothing listens on port 1: connecting is refused at once.
UNREACHABLE = "postgresql+psycopg://gatehouse@127.0.0.1:1/gatehouse"


@pytest.fixture
def client() -> Iterator[object]:
    with warnings.catch_warnings():  # starlette's TestClient names httpx2 as its future client
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

        with TestClient(Starlette(routes=ROUTES)) as test_client:
            yield test_client


def test_a_migrated_database_is_ready(db_url: str, client: object) -> None:
    response = client.get("/gatehouse/health/ready")  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "ready": True,
        "database_reachable": True,
        "schema": head_revision(),
        "expected_schema": head_revision(),
        "problem": None,
    }
    assert client.get("/gatehouse/health").json()["status"] == "ready"  # type: ignore[attr-defined]


def test_an_unreachable_database_is_alive_but_not_ready(
    monkeypatch: pytest.MonkeyPatch, client: object
) -> None:
    monkeypatch.setenv("GATEHOUSE_DATABASE_URL", UNREACHABLE)
    reset_settings()
    try:
        response = client.get("/gatehouse/health/ready")  # type: ignore[attr-defined]
        live = client.get("/gatehouse/health/live")  # type: ignore[attr-defined]
    finally:
        reset_settings()
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["ready"], body["database_reachable"]) == (
        "not ready",
        False,
        False,
    )
    assert body["problem"].startswith("Cannot connect to the database at postgresql+psycopg://")
    assert (live.status_code, live.json()) == (200, {"status": "alive"})


@pytest.mark.sqlite_only  # a schema revision behind head reads the same on both databases
def test_a_database_behind_this_code_is_not_ready(empty_db_url: str) -> None:
    empty = readiness(empty_db_url)
    assert (empty.ready, empty.database_reachable, empty.schema) == (False, True, None)
    assert empty.problem == (
        f"The database is at schema revision none, this Gatehouse expects {head_revision()}; "
        "run `gatehouse init` (or deploy the matching Gatehouse)."
    )
    migrate(empty_db_url, revision="0003")
    behind = readiness(empty_db_url)
    assert (behind.ready, behind.schema) == (False, "0003")
    migrate(empty_db_url)
    assert readiness(empty_db_url).ready
