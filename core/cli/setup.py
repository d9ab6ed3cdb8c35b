"""`gatehouse init`, `demo`, `serve` and `worker`: set-up and running."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

from core.cli.base import (
    emit,
    handles_errors,
    main,
)
from core.config import get_settings
from core.db import check_schema, migrate, safe_url
from core.errors import InputProblems
from core.files.sandbox import stop_server
from core.services.job_leases import wake_workers
from core.services.jobs import SHUTDOWN_GRACE

log = logging.getLogger("core.cli")

PORT_TAKEN = (
    "Port {port} on {address} is already in use (another Gatehouse or another program); "
    "choose a free one with GATEHOUSE_PORT=8502 make run or gatehouse serve --port 8502."
)


def refuse_taken_port(address: str, port: int) -> None:
    """Refuse, before saying the server starts, when something already listens on the port."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as err:
            raise InputProblems([PORT_TAKEN.format(port=port, address=address)]) from err


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handles_errors
def init(as_json: bool) -> None:
    """Create the database or migrate it to the latest schema."""
    from core.db import session_scope
    from core.services.policy import ensure_shipped_pack

    settings = get_settings()
    revision = migrate()
    with session_scope() as session:  # the shipped policy pack, if none is published yet
        loaded = ensure_shipped_pack(session)
    emit(
        {"database": safe_url(settings.database_url), "revision": revision}
        | ({"policy_version": loaded.version} if loaded else {}),
        as_json,
        lambda d: (
            f"Database {d['database']} is at schema revision {d['revision']}."
            + (" Loaded the shipped policy pack as version 1." if loaded else "")
        ),
    )


@main.command()
@click.option("--reset", is_flag=True, help="Drop everything and build the demo again.")
@click.option(
    "--force",
    is_flag=True,
    help="Seed (or reset) even a database that holds users the demo did not create.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handles_errors
def demo(reset: bool, force: bool, as_json: bool) -> None:
    """Seed the demo content once (users, data set, models); --reset rebuilds it.

    Its accounts sign in with a published password, so a database with other users is refused
    unless --force.
    """
    from core.demo.seed import seed_demo

    migrate()
    result = seed_demo(reset=reset, force=force)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    emit(result.to_dict(), as_json, lambda _d: result.describe())


@main.command()
@click.option("--port", type=int, default=None, help="Port (GATEHOUSE_PORT, default 8501).")
@click.option("--address", default=None, help="Address (GATEHOUSE_ADDRESS, default 127.0.0.1).")
@handles_errors
def serve(port: int | None, address: str | None) -> None:
    """Start the web app (Streamlit with the session-cookie routes).

    The command replaces itself with the server process (exec): a supervisor's SIGTERM reaches
    the server, which shuts down gracefully, and the exit code is the server's.
    """
    settings = get_settings()
    check_schema()
    server = Path(__file__).resolve().parents[2] / "app" / "server.py"
    port = port or settings.port
    address = address or settings.address
    refuse_taken_port(address, port)
    click.echo(f"Gatehouse is starting on http://{address}:{port}", err=True)
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(server),
        "--server.port", str(port), "--server.address", address,
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
    ]  # fmt: skip
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, cmd)  # noqa: S606 (our own interpreter and arguments)


@main.command()
@click.option("--once", is_flag=True, help="Run the queued jobs, then stop.")
@click.option(
    "--poll",
    type=click.FloatRange(0.1),
    default=2.0,
    show_default=True,
    help="Seconds between queue checks.",
)
@click.option(
    "--grace",
    type=click.FloatRange(0),
    default=SHUTDOWN_GRACE,
    show_default=True,
    help="Seconds a stopping worker waits for its job before giving it back to the queue.",
)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def worker(once: bool, poll: float, grace: float, as_json: bool) -> None:
    """Run background jobs (explanations) from the shared queue; start as many as you like.

    SIGTERM or SIGINT (Ctrl+C) stops it gracefully: it claims nothing more, and the job it holds
    is stopped and goes back to the queue (within ``--grace`` seconds at most), for another
    worker to run.
    """
    from core.services.jobs import job_summary, release_held_jobs, stop_held_jobs, work

    check_schema()
    if not once:
        log.info("Worker waiting for jobs (checks every %g s); SIGTERM or Ctrl+C stops it", poll)
    stop = threading.Event()
    jobs: list[Any] = []
    runner = threading.Thread(
        target=lambda: jobs.extend(work(once=once, poll=poll, stop=stop)),
        name="gatehouse-worker",
        daemon=True,
    )

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("Worker stopping (%s)", signal.Signals(signum).name)
        stop.set()
        wake_workers()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        runner.start()
        while runner.is_alive() and not stop.is_set():
            runner.join(0.5)
        if stop.is_set():
            stop_held_jobs()  # its model code stops now; the job goes back to the queue
        runner.join(grace)
        if runner.is_alive() and release_held_jobs("the worker was stopped"):
            log.info("Worker stopped before its job ended; the job is back in the queue")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stop_server()  # the model sandbox's fork server goes with the worker
    emit(
        [job_summary(j) for j in jobs],
        as_json,
        lambda rows: (
            "\n".join(
                f"Job {r['job_id']} ({r['kind']}, version {r['version_id']}): {r['state']}"
                + (f" - {r['error']}" if r["error"] else "")
                for r in rows
            )
            or "No jobs were waiting."
        ),
    )
