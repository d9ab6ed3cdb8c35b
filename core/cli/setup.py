"""`gatehouse init`, `demo`, `serve` and `worker`: set-up and running."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import click

from core.cli.base import (
    emit,
    handles_errors,
    main,
)
from core.config import get_settings
from core.db import check_schema, migrate, safe_url
from core.errors import InputProblems

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
    settings = get_settings()
    revision = migrate()
    emit(
        {"database": safe_url(settings.database_url), "revision": revision},
        as_json,
        lambda d: f"Database {d['database']} is at schema revision {d['revision']}.",
    )


@main.command()
@click.option("--reset", is_flag=True, help="Drop everything and build the demo again.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handles_errors
def demo(reset: bool, as_json: bool) -> None:
    """Seed the demo content once (users, data set, models); --reset rebuilds it."""
    from core.demo.seed import seed_demo

    migrate()
    result = seed_demo(reset=reset)
    emit(result.to_dict(), as_json, lambda _d: result.describe())


@main.command()
@click.option("--port", type=int, default=None, help="Port (GATEHOUSE_PORT, default 8501).")
@click.option("--address", default=None, help="Address (GATEHOUSE_ADDRESS, default 127.0.0.1).")
@handles_errors
def serve(port: int | None, address: str | None) -> None:
    """Start the web app (Streamlit with the session-cookie routes)."""
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
    sys.exit(subprocess.call(cmd))  # noqa: S603 (our own interpreter and arguments)


@main.command()
@click.option("--once", is_flag=True, help="Run the queued jobs, then stop.")
@click.option(
    "--poll",
    type=click.FloatRange(0.1),
    default=2.0,
    show_default=True,
    help="Seconds between queue checks.",
)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def worker(once: bool, poll: float, as_json: bool) -> None:
    """Run background jobs (explanations) from the shared queue; start as many as you like."""
    from core.services.jobs import job_summary, work

    check_schema()
    if not once:
        click.echo(
            f"Gatehouse worker waiting for jobs (checks every {poll:g} s); Ctrl+C stops.", err=True
        )
    try:
        jobs = work(once=once, poll=poll)
    except KeyboardInterrupt:
        jobs = []
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
