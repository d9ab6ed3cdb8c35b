"""`gatehouse report VERSION_ID --out FILE.pdf` and `gatehouse report verify FILE.pdf`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from core.cli.base import cli_actor, emit, handles_errors, main
from core.db import session_scope
from core.reports import (
    ReportVerification,
    generate_report,
    list_reports,
    verify_offline,
    verify_report,
)
from core.services.inventory import resolve_model_or_version

NEEDS_KEY = "--offline needs the installation's public key: give --public-key FILE (from `gatehouse audit key`)."


class _ReportGroup(click.Group):
    """`gatehouse report 12 --out r.pdf` is short for `gatehouse report generate 12 --out r.pdf`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["generate", *args]
        return super().parse_args(ctx, args)


@main.group("report", cls=_ReportGroup)
def report() -> None:
    """Audit reports: `gatehouse report VERSION_ID --out FILE.pdf`, `report verify FILE.pdf`."""


@report.command("generate")
@click.argument("version_id", type=int)
@click.option("--out", "output", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--no-charts", is_flag=True, help="Leave the charts out (faster).")
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handles_errors
def report_generate(
    version_id: int, output: Path, no_charts: bool, acting: str | None, as_json: bool
) -> None:
    """Generate, archive and write a version's sealed audit report PDF."""
    with session_scope() as session:
        actor = cli_actor(session, acting)
        result = generate_report(
            session=session, actor=actor, version_id=version_id, charts=not no_charts
        )
    output.write_bytes(result.pdf)
    data = {**result.to_dict(), "out": str(output)}
    emit(
        data,
        as_json,
        lambda d: (
            f"Report #{d['report_id']} ({d['pages']} pages, SHA-256 {d['sha256']}) written to {output}."
        ),
    )


@report.command("list")
@click.argument("model")
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handles_errors
def report_list(model: str, acting: str | None, as_json: bool) -> None:
    """The archived reports of a model, newest first."""
    with session_scope() as session:
        actor = cli_actor(session, acting)
        entry, _ = resolve_model_or_version(session=session, ref=model)
        rows = [
            r.to_dict() for r in list_reports(session=session, actor=actor, model_id=entry.id or 0)
        ]
    emit(
        rows,
        as_json,
        lambda rs: (
            "\n".join(
                f"#{r['report_id']}\tv{r['version_id']}\t{r['generated_at']}\t{r['generated_by']}\t{r['sha256']}"
                for r in rs
            )
            or "No reports yet."
        ),
    )


def _text(result: ReportVerification) -> str:
    if result.valid:
        lines = [
            f"Report valid: {result.model} v{result.version}, generated {result.generated_at} by "
            f"{result.generated_by}; {result.events_proven} events and {result.signatures_proven} "
            f"signatures proven against the checkpoint of {result.checkpoint_events} events."
        ]
    else:
        lines = ["Report NOT valid:", *(f"  {p}" for p in result.problems)]
    since: dict[str, Any] = result.since
    for s in since.get("new_signatures", []):
        lines.append(
            f"  Since: {s['act']} of the {s['gate']} gate by {s['printed_name']} ({s['role']}) "
            f"on {s['signed_at']}: {s['meaning']}"
        )
    for g in since.get("gate_changes", []):
        lines.append(f"  Since: the {g['gate']} gate went from {g['was']} to {g['now']}")
    for e in since.get("new_evidence", []):
        lines.append(
            f"  Since: newer {e['kind']} evidence #{e['now']} (the report has #{e['was']})"
        )
    if since.get("new_events"):
        lines.append(f"  Since: {len(since['new_events'])} more events about the model")
    return "\n".join(lines)


@report.command("verify")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--offline", is_flag=True, help="Use only the file and --public-key, no database.")
@click.option("--public-key", "public_key_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handles_errors
def report_verify(
    file: Path, offline: bool, public_key_file: Path | None, acting: str | None, as_json: bool
) -> None:
    """Prove a report PDF unaltered and its events in the audit trail; exit 1 if not."""
    pdf = file.read_bytes()
    public = public_key_file.read_text(encoding="utf-8") if public_key_file else None
    if offline:
        if public is None:
            raise click.UsageError(NEEDS_KEY)
        result = verify_offline(pdf, public)
    else:
        with session_scope() as session:
            actor = cli_actor(session, acting)
            result = verify_report(session=session, actor=actor, pdf=pdf, public_key=public)
    emit(result.to_dict(), as_json, lambda _: _text(result))
    if not result.valid:
        raise SystemExit(1)
