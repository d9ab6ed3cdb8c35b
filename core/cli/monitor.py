"""`gatehouse monitor ingest/labels/show`: production batches from a pipeline, and what they show.

A refused batch prints one sentence per problem on stderr, exits non-zero and stores nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from core.cli.base import emit, handles_errors, main, parse_when, required_actor
from core.db import check_schema, session_scope


def _scored_at(text: str | None) -> datetime | None:
    """A date is that day's start (UTC); a time is taken as given (naive: UTC)."""
    if text is None:
        return None
    if len(text) == 10:
        return parse_when(text).replace(hour=0, minute=0, second=0, microsecond=0)
    return parse_when(text)


@main.group()
def monitor() -> None:
    """Production monitoring: batches, their drift, labels, metrics and KPIs."""


@monitor.command("ingest")
@click.argument("version_id", type=int)
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--scored-at",
    "scored_at",
    default=None,
    help="When production scored the batch (date or time, UTC; default now).",
)
@click.option("--id-column", default="record_id", show_default=True, help="The record id column.")
@click.option(
    "--output-column",
    default="score",
    show_default=True,
    help="The model's output column; without it, the registered version scores the batch.",
)
@click.option(
    "--segment", "segments", multiple=True, help="Column to break drift down by (repeatable)."
)
@click.option(
    "--kpi",
    "kpis",
    multiple=True,
    help="A business KPI measured on the batch, NAME=NUMBER (repeatable).",
)
@click.option(
    "--quarantine",
    is_flag=True,
    help="Leave bad rows out and count them instead of refusing the batch.",
)
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def ingest(
    version_id: int,
    file: Path,
    scored_at: str | None,
    id_column: str,
    output_column: str,
    segments: tuple[str, ...],
    kpis: tuple[str, ...],
    quarantine: bool,
    acting: str | None,
    as_json: bool,
) -> None:
    """Ingest a batch of production inputs (CSV or Parquet) with the model's outputs."""
    from core.services.monitoring import ingest_batch

    check_schema()
    when = _scored_at(scored_at)
    with session_scope() as session:
        result = ingest_batch(
            session=session,
            actor=required_actor(session, acting),
            version_id=version_id,
            path=file,
            scored_at=when,
            id_column=id_column,
            output_column=output_column,
            segments=segments,
            kpis=kpis,
            quarantine=quarantine,
        )
    emit(result.to_dict(), as_json, _ingest_text)


def _ingest_text(data: dict[str, Any]) -> str:
    lines = [
        f"Batch {data['batch_id']} of version {data['version_id']}: {data['good_rows']:,} of "
        f"{data['rows']:,} rows, drift {data['drift_status']} (evidence #{data['drift_evidence_id']})."
    ]
    lines += [f"  crossed: {s}" for s in data["crossed"]]
    if data["finding_id"]:
        lines.append(f"  raised finding #{data['finding_id']}")
    if data["gate_reopened"]:
        lines.append("  the monitoring gate is stale again")
    lines += [f"  {n}" for n in data["notes"]]
    return "\n".join(lines)


@monitor.command("labels")
@click.argument("version_id", type=int)
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--batch",
    "batch_id",
    type=int,
    default=None,
    help="The batch the labels are for (default: every batch of the version).",
)
@click.option("--id-column", default=None, help="The record id column (default: the batch's).")
@click.option(
    "--kpi",
    "kpis",
    multiple=True,
    help="A business KPI measured on the batch, NAME=NUMBER (repeatable).",
)
@click.option(
    "--quarantine",
    is_flag=True,
    help="Leave bad label rows out and count them instead of refusing the file.",
)
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def labels(
    version_id: int,
    file: Path,
    batch_id: int | None,
    id_column: str | None,
    kpis: tuple[str, ...],
    quarantine: bool,
    acting: str | None,
    as_json: bool,
) -> None:
    """Record the outcomes of production batches (record id and target columns)."""
    from core.services.monitoring_labels import ingest_labels

    check_schema()
    with session_scope() as session:
        result = ingest_labels(
            session=session,
            actor=required_actor(session, acting),
            version_id=version_id,
            path=file,
            batch_id=batch_id,
            id_column=id_column,
            kpis=kpis,
            quarantine=quarantine,
        )
    emit(result.to_dict(), as_json, _labels_text)


def _labels_text(data: dict[str, Any]) -> str:
    lines = [f"Joined {data['joined_rows']:,} of {data['rows']:,} outcomes."]
    for batch in data["batches"]:
        auc = (batch.get("metrics") or {}).get("roc_auc")
        lines.append(
            f"Batch {batch['batch_id']}: {batch['status']}"
            + (f", ROC AUC {auc:.3f}" if auc is not None else "")
        )
        lines += [f"  crossed: {s}" for s in batch["crossed"]]
        lines += [f"  raised finding #{i}" for i in batch["finding_ids"]]
    lines += data["notes"]
    return "\n".join(lines)


@monitor.command("show")
@click.argument("version_id", type=int)
@click.option("--user", "acting", default=None)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def show(version_id: int, acting: str | None, as_json: bool) -> None:
    """A version's batches over time, the newest drift table and what was raised."""
    from core.services.monitoring_reads import monitoring_view

    check_schema()
    with session_scope() as session:
        view = monitoring_view(
            session=session, actor=required_actor(session, acting), version_id=version_id
        )
    emit(view.to_dict(), as_json, _show_text)


def _show_text(data: dict[str, Any]) -> str:
    lines = [
        f"{data['model']} v{data['version']} ({data['stage']}): {len(data['batches'])} batches"
    ]
    for b in data["batches"]:
        when = b["scored_at"]
        when = when.astimezone(UTC).date() if isinstance(when, datetime) else when
        lines.append(
            f"  #{b['batch_id']} {when}: {b['rows']:,} rows, drift {b['drift_status']}, "
            f"outcomes {b['monitoring_status'] or 'not yet'}"
        )
    lines += [
        f"  finding #{f['finding_id']} ({f['type']}, {f['severity']}, {f['status']})"
        for f in data["findings"]
    ]
    return "\n".join(lines)
