"""`gatehouse audit verify|checkpoint|key|export`: proving the audit trail, for examiners and SIEMs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from core.cli.audit import audit
from core.cli.base import emit, handles_errors, parse_when
from core.db import session_scope
from core.errors import InputProblems
from core.services.audit_export import export_events
from core.services.checkpoints import (
    Checkpoint,
    TrailVerification,
    take_checkpoint,
    verify_trail,
)
from core.services.permissions import OPERATOR
from core.services.signing import public_key_pem

UNREADABLE = (
    "Cannot read {path} as JSON ({error}); pass the file `gatehouse audit checkpoint` wrote."
)


def _verification_text(result: TrailVerification) -> str:
    if result.intact:
        extra = (
            f"; it extends the checkpoint of {result.checkpoint_events} events"
            if result.checkpoint_events is not None
            else ""
        )
        return f"Audit trail intact: {result.events} events, head {result.head_hash}{extra}."
    lines = [f"Audit trail NOT intact ({result.events} events):"]
    lines += [f"  {p}" for p in result.problems]
    if result.first_bad_id is not None:
        lines.append(
            f"  First broken link: event {result.first_bad_id}, expected {result.expected_hash}, "
            f"found {result.found_hash}."
        )
    return "\n".join(lines)


def _read_json(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputProblems([UNREADABLE.format(path=path, error=err)]) from err
    if not isinstance(data, dict):
        raise InputProblems([UNREADABLE.format(path=path, error="not an object")])
    return data


@audit.command("verify")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--public-key",
    "public_key_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="PEM public key the checkpoint must be signed by (default: the key in the file).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handles_errors
def audit_verify(checkpoint_file: Path | None, public_key_file: Path | None, as_json: bool) -> None:
    """Recompute the hash chain (and prove it extends a signed checkpoint); exit 1 if broken."""
    checkpoint = Checkpoint.from_dict(_read_json(checkpoint_file)) if checkpoint_file else None
    public = public_key_file.read_text(encoding="utf-8") if public_key_file else None
    with session_scope() as session:
        result = verify_trail(
            session=session, actor=OPERATOR, checkpoint=checkpoint, public_key=public
        )
    emit(result.to_dict(), as_json, lambda _: _verification_text(result))
    if not result.intact:
        raise SystemExit(1)


@audit.command("checkpoint")
@click.option("--out", "output", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handles_errors
def audit_checkpoint(output: Path | None, as_json: bool) -> None:
    """Sign a statement of (event count, head hash, Merkle root, time) with the installation key."""
    with session_scope() as session:
        checkpoint = take_checkpoint(session=session, actor=OPERATOR, reason="manual")
    data = checkpoint.to_dict()
    if output is not None:
        output.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    emit(
        data,
        as_json,
        lambda d: (
            f"Checkpoint of {d['statement']['event_count']} events signed"
            + (f", written to {output}." if output else ".")
        ),
    )


@audit.command("key")
@handles_errors
def audit_key() -> None:
    """Print the installation's public key (PEM), for verifying checkpoints and reports offline."""
    click.echo(public_key_pem(), nl=False)


@audit.command("export")
@click.option("--since", help="Only events from this date or time (UTC), e.g. 2026-11-01.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines (one event per line).")
@handles_errors
def audit_export(since: str | None, as_json: bool) -> None:
    """Print events with their hashes, oldest first, for SIEM tools."""
    start = parse_when(since) if since else None
    if start is not None and since is not None and len(since) == 10:
        start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    with session_scope() as session:
        for event in export_events(session=session, since=start):
            click.echo(json.dumps(event, ensure_ascii=False) if as_json else _export_line(event))


def _export_line(event: dict[str, object]) -> str:
    return (
        f"{event['sequence']}\t{event['occurred_at']}\t{event['actor']}\t{event['action']}\t"
        f"{event['subject_type']}:{event['subject_id']}\t{event['hash']}"
    )
