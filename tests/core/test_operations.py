"""Under a process supervisor: SIGTERM stops `gatehouse serve` and `gatehouse worker` cleanly.

Real processes, real signals: nothing of theirs may remain, the port must be free again, and a
job a stopped (or killed) worker held must be picked up by another worker.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from core.db import session_scope
from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.services.inventory import register_version
from core.services.jobs import get_job, submit_job
from core.services.permissions import OPERATOR
from core.services.users import add_user
from core.tables import AuditEvent, Job

ROOT = Path(__file__).resolve().parents[2]
GATEHOUSE = [sys.executable, "-m", "core.cli"]
PATIENCE = (
    120.0  # seconds a busy machine may need; every wait polls and ends when the state arrives
)
PASSWORD = "a long enough password"


def _wait_for(what: str, check: Callable[[], Any], timeout: float = PATIENCE) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def _port_free(port: int) -> bool:
    """Whether a restarted server could listen on the port (as servers do, with SO_REUSEADDR,
    which ignores the closed connections' TIME_WAIT but not a process still listening)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def start(db_url: str, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start `gatehouse ...` in its own process group; whatever is left is killed at the end."""
    env = {
        **os.environ,
        "GATEHOUSE_DATABASE_URL": db_url,
        "GATEHOUSE_DATA_DIR": str(tmp_path / "data"),
    }
    started: list[subprocess.Popen[str]] = []

    def run(*args: str, **extra_env: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [*GATEHOUSE, *args],
            env=env | extra_env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: every child is found by the group
        )
        started.append(proc)
        return proc

    yield run
    for proc in started:
        if not _group_gone(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str]:
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=PATIENCE)
    assert _group_gone(proc.pid), "a process of the stopped command is still running"
    return proc.returncode, err


def _get(url: str) -> tuple[int, dict[str, Any]] | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())
    except OSError:
        return None


@pytest.fixture
def slow_job(session: Session, demo_files: DemoFiles) -> int:
    """An explanation job that takes a while (a forest explained on 2,000 rows)."""
    version = register_version(
        session=session,
        actor=OPERATOR,
        name="credit-forest",
        artifact=demo_files.model_paths["credit-forest"],
        eval_data=demo_files.eval_csv,
        target=TARGET,
        sensitive=SENSITIVE,
    )
    job = submit_job(
        session=session,
        actor=OPERATOR,
        kind="explanation",
        version_id=version.version_id,
        params={"rows": 2000, "background": 200, "seed": 0},
    )
    session.commit()
    assert job.id is not None
    return job.id


def _job(job_id: int) -> Job:
    with session_scope() as s:
        return get_job(session=s, job_id=job_id)


def _held_by(job_id: int, proc: subprocess.Popen[str]) -> Job | None:
    job = _job(job_id)
    held = job.state == "running" and f":{proc.pid}:" in job.worker
    return job if held else None


def _job_actions(job_id: int) -> list[str]:
    with session_scope() as s:
        return list(
            s.exec(
                select(AuditEvent.action)
                .where(AuditEvent.subject_type == "job", AuditEvent.subject_id == str(job_id))
                .order_by(col(AuditEvent.id))
            ).all()
        )


@pytest.mark.sqlite_only  # the server's database does not matter here; one start is slow enough
def test_sigterm_stops_the_server_its_worker_and_frees_the_port(
    start: Callable[..., subprocess.Popen[str]], slow_job: int
) -> None:
    port = _free_port()
    server = start("serve", "--port", str(port), GATEHOUSE_APP_WORKER="1")
    base = f"http://127.0.0.1:{port}/gatehouse/health"
    assert _wait_for("the server", lambda: _get(f"{base}/live")) == (200, {"status": "alive"})
    status, ready = _get(f"{base}/ready") or (0, {})
    assert (status, ready["status"], ready["schema"]) == (200, "ready", ready["expected_schema"])
    # `serve` became the server (exec): the worker thread holding the job runs in that process.
    _wait_for("the server's worker to hold the job", lambda: _held_by(slow_job, server))
    assert not _port_free(port)  # the check below can fail: while it serves, the port is taken
    code, log = _stop(server)
    # uvicorn shuts down gracefully, then re-raises the signal so the supervisor sees it
    assert code in (0, -signal.SIGTERM), log
    assert _port_free(port)
    assert "Background worker stopped" in log
    back = _job(slow_job)
    assert (back.state, back.lease_token) == ("queued", None), log
    assert _job_actions(slow_job) == ["job_submitted", "job_released"]


def test_a_stopped_worker_gives_its_job_to_the_next_one(
    start: Callable[..., subprocess.Popen[str]], slow_job: int
) -> None:
    first = start("worker", "--poll", "0.2")
    _wait_for("the first worker to hold the job", lambda: _held_by(slow_job, first))
    code, log = _stop(first)
    assert code == 0, log
    back = _job(slow_job)
    assert (back.state, back.attempts, back.lease_token) == ("queued", 0, None), log
    second = start("worker", "--poll", "0.2")
    taken = _wait_for("the second worker to pick the job up", lambda: _held_by(slow_job, second))
    assert taken.attempts == 1
    code, log = _stop(second, signal.SIGINT)  # Ctrl+C behaves the same
    assert code == 0, log
    assert _job(slow_job).state == "queued"
    assert _job_actions(slow_job) == ["job_submitted", "job_released", "job_released"]


@pytest.fixture
def quick_version(session: Session, demo_files: DemoFiles) -> int:
    add_user(
        session=session, actor=OPERATOR, username="vic", password=PASSWORD, roles=["validator"]
    )
    session.commit()
    version_id = register_version(
        session=session,
        actor=OPERATOR,
        name="credit-logit",
        artifact=demo_files.model_paths["credit-logit"],
        eval_data=demo_files.eval_csv,
        target=TARGET,
        sensitive=SENSITIVE,
    ).version_id
    session.commit()  # registration flushes; other processes see it (and SQLite's lock is free)
    return version_id


def test_explain_after_a_killed_run_runs_the_job_itself(
    start: Callable[..., subprocess.Popen[str]], quick_version: int
) -> None:
    as_vic = {"GATEHOUSE_USER": "vic", "GATEHOUSE_PASSWORD": PASSWORD}
    args = ("explain", str(quick_version), "--rows", "2000", "--background", "200", "--json")
    killed = start(*args, **as_vic)

    def running() -> Job | None:
        with session_scope() as s:
            job = s.exec(select(Job).order_by(col(Job.id).desc())).first()
        return job if job is not None and job.state == "running" else None

    job = _wait_for("the first run to start its job", running)
    assert f":{killed.pid}:" in job.worker
    _stop(killed, signal.SIGKILL)  # no chance to clean up: the job stays "running"
    assert _job(job.id).state == "running"  # type: ignore[arg-type]
    again = start(*args, **as_vic)
    out, err = again.communicate(timeout=PATIENCE * 3)
    assert again.returncode == 0, err
    result = json.loads(out)
    assert result["job_id"] == job.id and result["evidence_id"]
    done = _job(job.id)  # type: ignore[arg-type]
    assert (done.state, done.attempts) == ("done", 2)
    assert f":{again.pid}:" in done.worker
    actions = _job_actions(job.id)  # type: ignore[arg-type]
    assert actions == ["job_submitted", "job_requeued", "job_finished"]


def test_workers_in_separate_processes_run_each_job_once(
    start: Callable[..., subprocess.Popen[str]], quick_version: int, session: Session
) -> None:
    ids = []
    for rows in range(20, 28):
        job = submit_job(
            session=session,
            actor=OPERATOR,
            kind="explanation",
            version_id=quick_version,
            params={"rows": rows, "background": 20},
        )
        ids.append(job.id)
    session.commit()
    workers = [start("worker", "--once", "--json") for _ in range(3)]
    ran: list[int] = []
    for proc in workers:
        out, err = proc.communicate(timeout=PATIENCE * 3)
        assert proc.returncode == 0, err
        ran += [row["job_id"] for row in json.loads(out)]
    assert sorted(ran) == sorted(ids)  # each job once, none twice
    session.expire_all()
    rows = session.exec(select(Job.state, Job.attempts).where(col(Job.id).in_(ids))).all()
    assert set(rows) == {("done", 1)}
    discarded = session.exec(
        select(AuditEvent).where(AuditEvent.action == "job_result_discarded")
    ).all()
    assert discarded == []
