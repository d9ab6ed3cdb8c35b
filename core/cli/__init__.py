"""The `gatehouse` command: set-up, demo, serving, users (later: models, evidence, reports)."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlmodel import Session

from core.config import get_settings
from core.db import check_schema, migrate, safe_url, session_scope
from core.errors import GatehouseError, InputProblems
from core.services.auth import ROLES, authenticate
from core.tables import User

F = TypeVar("F", bound=Callable[..., Any])

MISSING_STDIN = (
    'No password on standard input; pipe it in, e.g. `echo "$PW" | gatehouse user add ...`.'
)


def _fail(problems: list[str], code: int = 1) -> None:
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    sys.exit(code)


def handles_errors(func: F) -> F:
    """Turn domain errors into their sentences on stderr and a non-zero exit (no traceback)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GatehouseError as err:
            if click.get_current_context().find_root().params.get("debug"):
                raise
            _fail(err.problems)
        except (OSError, ValueError) as err:
            if click.get_current_context().find_root().params.get("debug"):
                raise
            _fail([f"{err}"])

    return wrapper  # type: ignore[return-value]


def emit(data: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    """Print JSON on stdout for machines, or a readable text for people."""
    click.echo(json.dumps(data, indent=2, default=str) if as_json else text(data))


def read_password(prompt: str = "Password") -> str:
    """The password from standard input (first line), or a hidden prompt on a terminal."""
    if sys.stdin is not None and sys.stdin.isatty():
        first = getpass.getpass(f"{prompt}: ")
        if getpass.getpass(f"{prompt} again: ") != first:
            raise InputProblems(["The two passwords differ; type the same password twice."])
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    password = line.rstrip("\r\n")
    if not password:
        raise InputProblems([MISSING_STDIN])
    return password


def cli_actor(session: Session, username: str | None) -> User | None:
    """The acting user: --user or GATEHOUSE_USER with GATEHOUSE_PASSWORD (or stdin).

    None means the operator at the command line, who holds the database itself; only set-up and
    user administration accept that.
    """
    username = username or os.environ.get("GATEHOUSE_USER")
    if not username:
        return None
    password = os.environ.get("GATEHOUSE_PASSWORD") or read_password(f"Password for {username}")
    return authenticate(session=session, username=username, password=password)


@click.group()
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def main(debug: bool) -> None:
    """Gatehouse: model governance and review."""


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
    click.echo(f"Gatehouse is starting on http://{address}:{port}", err=True)
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(server),
        "--server.port", str(port), "--server.address", address,
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
    ]  # fmt: skip
    sys.exit(subprocess.call(cmd))  # noqa: S603 (our own interpreter and arguments)


@main.group()
def user() -> None:
    """User accounts."""


@user.command("add")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
@click.option("--display-name", default=None)
@click.option("--email", default=None, help="E-mail that single sign-on maps to this user.")
@click.option("--sso-only", is_flag=True, help="No password: sign-in only through SSO.")
@click.option("--user", "acting", default=None, help="Act as this admin (else the operator).")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def user_add(
    username: str,
    roles: tuple[str, ...],
    display_name: str | None,
    email: str | None,
    sso_only: bool,
    acting: str | None,
    as_json: bool,
) -> None:
    """Add a user; the password is read from standard input."""
    from core.services.users import add_user

    check_schema()
    password = None if sso_only else read_password()
    with session_scope() as session:
        actor = cli_actor(session, acting)
        created = add_user(
            session=session,
            actor=actor,
            username=username,
            password=password,
            roles=roles,
            display_name=display_name,
            email=email,
        )
    emit(
        {"id": created.id, "username": created.username, "roles": sorted(roles)},
        as_json,
        lambda d: f"Added user {d['username']} with roles {', '.join(d['roles'])}.",
    )


@user.command("list")
@click.option("--user", "acting", default=None, help="Act as this user (else the operator).")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def user_list(acting: str | None, as_json: bool) -> None:
    """List every user, active or not."""
    from core.services.users import list_users

    check_schema()
    with session_scope() as session:
        users = list_users(session=session, actor=cli_actor(session, acting))
    emit(
        [u.to_dict() for u in users],
        as_json,
        lambda rows: "\n".join(
            f"{r['username']:<16} {', '.join(r['roles']):<32} "
            f"{'active' if r['is_active'] else 'deactivated'}{'  locked' if r['locked'] else ''}"
            for r in rows
        ),
    )


NEEDS_USER = (
    "This command acts as a user: set GATEHOUSE_USER and GATEHOUSE_PASSWORD, or give --user and "
    "the password on standard input."
)


def required_actor(session: Session, username: str | None) -> User:
    """The signed-in user for commands that must be attributed to a person."""
    actor = cli_actor(session, username)
    if actor is None:
        raise InputProblems([NEEDS_USER])
    return actor


@main.group()
def model() -> None:
    """The model inventory."""


@model.command("register")
@click.option("--name", required=True, help="Inventory name of the model (created if new).")
@click.option("--artifact", required=True, type=click.Path(path_type=Path), help="A .skops file.")
@click.option("--eval", "eval_data", required=True, type=click.Path(path_type=Path))
@click.option("--target", required=True, help="Label column in the data.")
@click.option("--train", "train_data", type=click.Path(path_type=Path), default=None)
@click.option("--sensitive", multiple=True, help="Sensitive column for fairness (repeatable).")
@click.option("--positive-label", default=None)
@click.option("--task", type=click.Choice(["classification", "regression"]), default=None)
@click.option("--card", type=click.Path(path_type=Path), default=None, help="Model card YAML.")
@click.option("--trusted", multiple=True, help="Extra skops type you reviewed and trust.")
@click.option("--provenance", default="", help="Where the data came from.")
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def model_register(
    name: str,
    artifact: Path,
    eval_data: Path,
    target: str,
    train_data: Path | None,
    sensitive: tuple[str, ...],
    positive_label: str | None,
    task: str | None,
    card: Path | None,
    trusted: tuple[str, ...],
    provenance: str,
    acting: str | None,
    as_json: bool,
) -> None:
    """Register a model version from a pipeline (idempotent for identical artifact bytes)."""
    from core.services.inventory import register_version

    check_schema()
    with session_scope() as session:
        result = register_version(
            session=session,
            actor=required_actor(session, acting),
            name=name,
            artifact=artifact,
            eval_data=eval_data,
            target=target,
            train_data=train_data,
            sensitive=sensitive,
            positive_label=positive_label,
            task=task,
            card=card,
            trusted=trusted,
            provenance=provenance,
        )
    data = result.to_dict()
    emit(
        {k: data[k] for k in ("model_id", "version_id", "version", "artifact_sha256")}
        | {"created": result.created},
        as_json,
        lambda d: (
            f"{'Registered' if d['created'] else 'Already registered:'} {name} version {d['version']} "
            f"(version id {d['version_id']}, artifact {d['artifact_sha256'][:12]})."
        ),
    )


@model.command("list")
@click.option("--search", default="", help="Free text over name, purpose and tags.")
@click.option("--stage", "stages", multiple=True)
@click.option("--tier", "tiers", multiple=True)
@click.option("--as-of", "as_of", default=None, help="ISO date or time (UTC): the inventory then.")
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def model_list(
    search: str,
    stages: tuple[str, ...],
    tiers: tuple[str, ...],
    as_of: str | None,
    acting: str | None,
    as_json: bool,
) -> None:
    """List the inventory (every page), optionally as it stood at a date."""
    from core.services.inventory import InventoryFilter, query_inventory

    check_schema()
    when = parse_when(as_of) if as_of else None
    rows: list[dict[str, Any]] = []
    with session_scope() as session:
        actor = required_actor(session, acting)
        page = 1
        while True:
            result = query_inventory(
                session=session,
                actor=actor,
                page=page,
                page_size=500,
                as_of=when,
                filters=InventoryFilter(text=search, stages=stages, tiers=tiers),
            )
            rows.extend(result.rows)
            if page >= result.pages:
                break
            page += 1
    emit(
        rows,
        as_json,
        lambda rs: (
            "\n".join(
                f"{r['name']:<28} v{r['version'] or '-':<4} {r['stage']:<14} {r['risk_tier']:<13} {r['owner']}"
                for r in rs
            )
            or "The inventory is empty."
        ),
    )


@model.command("show")
@click.argument("ref")
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def model_show(ref: str, acting: str | None, as_json: bool) -> None:
    """Show a model (name or id) or a version (name:3, or v<version id>)."""
    from core.services.inventory import describe

    check_schema()
    with session_scope() as session:
        required_actor(session, acting)
        data = describe(session=session, ref=ref)
    emit(data, as_json, lambda d: json.dumps(d, indent=2, default=str))


@model.command("promote")
@click.argument("version_id", type=int)
@click.option(
    "--stage",
    required=True,
    type=click.Choice(["development", "qa", "preproduction", "production", "retired"]),
)
@click.option("--reason", default="")
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def model_promote(
    version_id: int, stage: str, reason: str, acting: str | None, as_json: bool
) -> None:
    """Move a version to another stage."""
    from core.services.inventory import promote_version

    check_schema()
    with session_scope() as session:
        promote_version(
            session=session,
            actor=required_actor(session, acting),
            version_id=version_id,
            stage=stage,
            reason=reason,
        )
    emit(
        {"version_id": version_id, "stage": stage},
        as_json,
        lambda d: f"Version id {d['version_id']} is now in {d['stage']}.",
    )


@model.command("export")
@click.option("--excel", is_flag=True, help="Excel-compatible CSV (BOM, CRLF).")
@click.option("--as-of", "as_of", default=None)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None)
@click.option("--user", "acting", default=None)
@handles_errors
def model_export(excel: bool, as_of: str | None, output: Path | None, acting: str | None) -> None:
    """Export the inventory as CSV for model risk reporting."""
    from core.services.inventory import export_inventory_csv

    check_schema()
    with session_scope() as session:
        data = export_inventory_csv(
            session=session,
            actor=required_actor(session, acting),
            as_of=parse_when(as_of) if as_of else None,
            excel=excel,
        )
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)


@main.command()
@click.argument("version_id", type=int)
@click.option(
    "--sensitive", multiple=True, help="Sensitive column (repeatable; default: as registered)."
)
@click.option("--segment", "segments", multiple=True, help="Column to break performance down by.")
@click.option(
    "--reference", "references", multiple=True, help="Fairness reference group, COLUMN=GROUP."
)
@click.option("--threshold", type=float, default=0.5, show_default=True, help="Decision threshold.")
@click.option(
    "--bootstrap", "n_boot", type=click.IntRange(0, 100_000), default=1000, show_default=True
)
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def evaluate(
    version_id: int,
    sensitive: tuple[str, ...],
    segments: tuple[str, ...],
    references: tuple[str, ...],
    threshold: float,
    n_boot: int,
    seed: int,
    acting: str | None,
    as_json: bool,
) -> None:
    """Compute and store performance and fairness evidence for a model version."""
    from core.services.evidence import evaluate_version

    check_schema()
    with session_scope() as session:
        result = evaluate_version(
            session=session,
            actor=required_actor(session, acting),
            version_id=version_id,
            sensitive=sensitive or None,
            segments=segments,
            references=references,
            threshold=threshold,
            n_boot=n_boot,
            seed=seed,
        )
    emit(result.to_dict(), as_json, _evaluation_text)


def _evaluation_text(data: dict[str, Any]) -> str:
    lines = []
    for kind in ("performance", "fairness"):
        part = data[kind]
        if part is None:
            continue
        again = " (identical to stored evidence)" if part["reproduced"] else ""
        lines.append(
            f"{kind.capitalize()} evidence {part['evidence_id']} ({part['sha256'][:12]}){again}: "
            f"{part['status'] or 'no checks'}"
        )
        lines += [f"  [{c['status']}] {c['sentence']}" for c in part["checks"]]
    lines += data["notes"]
    return "\n".join(lines)


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


@main.command()
@click.argument("version_id", type=int)
@click.option(
    "--rows",
    type=click.IntRange(2),
    default=2000,
    show_default=True,
    help="Evaluation rows explained at most (a sample stratified by the label).",
)
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option(
    "--background",
    type=click.IntRange(1),
    default=100,
    show_default=True,
    help="Background rows for the linear and permutation explainers.",
)
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def explain(
    version_id: int, rows: int, seed: int, background: int, acting: str | None, as_json: bool
) -> None:
    """Compute and store explanation evidence (SHAP, partial dependence) for a model version.

    Runs as a job in this process, so its progress and outcome are recorded like any job's.
    """
    import time

    from core.services.evidence import get_evidence
    from core.services.explanations import explanation_summary, submit_explanation
    from core.services.jobs import get_job, run_job

    check_schema()
    with session_scope() as session:
        job_id = submit_explanation(
            session=session,
            actor=required_actor(session, acting),
            version_id=version_id,
            rows=rows,
            seed=seed,
            background=background,
        ).id
    assert job_id is not None
    job = run_job(job_id)
    while job.state in ("queued", "running"):  # another worker took it: wait for its outcome
        time.sleep(1.0)
        with session_scope() as session:
            job = get_job(session=session, job_id=job_id)
    if job.state != "done" or job.evidence_id is None:
        raise InputProblems([job.error or f"Job {job_id} ended as {job.state}."])
    with session_scope() as session:
        stored = get_evidence(session=session, evidence_id=job.evidence_id)
    # Identical results name the row stored before: the job then reproduced it.
    reproduced = job.started_at is not None and stored.computed_at < job.started_at
    emit(
        explanation_summary(stored) | {"reproduced": reproduced, "job_id": job_id},
        as_json,
        _explanation_text,
    )


def _explanation_text(data: dict[str, Any]) -> str:
    again = " (identical to stored evidence)" if data["reproduced"] else ""
    stability = data["stability"]
    taus = ", ".join("n/a" if t is None else f"{t:.2f}" for t in stability["kendall_tau"])
    unstable = ", ".join(stability["unstable_features"]) or "none"
    background = data["background_size"]
    lines = [
        f"Explanation evidence {data['evidence_id']} ({data['sha256'][:12]}){again}: "
        f"{data['status']}",
        f"  Explainer: {data['explainer']} ({data['explainer_class']}, "
        f"{data['feature_perturbation']}), {data['rows_explained']} of "
        f"{data['rows_available']} rows, seed {data['seed']}"
        + (f", background {background} rows" if background else ""),
        f"  SHAP values in: {data['output_label']}",
        f"  Additivity: max error {data['additivity_max_error']:.2e} "
        f"(tolerance {data['additivity_tolerance']:g})",
        f"  Stability ({stability['method']}): Kendall tau {taus}; unstable features: {unstable}",
        "  Global importance (mean |SHAP|, 95% interval):",
    ]
    lines += [
        f"  {g['rank']:>3}. {g['feature']:<24} {g['mean_abs_shap']:.4f}  "
        f"[{g['ci_low']:.4f}, {g['ci_high']:.4f}]"
        for g in data["global_importance"]
    ]
    lines += [f"  Note: {n}" for n in data["notes"]]
    return "\n".join(lines)


def parse_when(text: str) -> datetime:
    """An ISO date (end of that day, UTC) or time; naive times are UTC."""
    try:
        if len(text) == 10:
            return datetime.fromisoformat(text).replace(tzinfo=UTC) + timedelta(
                days=1, microseconds=-1
            )
        when = datetime.fromisoformat(text)
    except ValueError as err:
        raise InputProblems(
            [f"{text!r} is not a date; write it as 2026-03-03 or 2026-03-03T14:00."]
        ) from err
    return when if when.tzinfo else when.replace(tzinfo=UTC)


if __name__ == "__main__":
    main()
