"""Production monitoring: ingesting a batch of production data, its drift as evidence, and the
findings a crossed threshold raises.

``ingest_batch`` checks the whole batch before storing anything (every problem one sentence; a
bad batch is refused whole unless its bad rows are quarantined and counted), scores it with the
registered version when it came without outputs (in the sandbox), computes drift against the
evaluation data, stores the batch file and its scored rows as datasets and the drift as
evidence, judges it against the tier's monitoring thresholds and raises a finding (and, where
the policy says so, reopens the monitoring gate) when one is crossed. Labels and KPIs follow in
``core.services.monitoring_labels``. Services flush; the edge commits.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from sqlmodel import Session, col, select

from core.domain import EvidenceKind, FindingType
from core.errors import InputProblems
from core.files.batches import ColumnSpill
from core.files.store import sha256_file
from core.rules.checks import overall_status
from core.rules.drift_checks import drift_checks
from core.services.audit import append_event, canonical_json
from core.services.batch_scan import BatchScan, scan_batch
from core.services.evidence.store import store_evidence
from core.services.model_roles import require_role_on_model
from core.services.monitoring_drift import drift_results, operating_ranges
from core.services.monitoring_findings import raise_for_crossings
from core.services.monitoring_inputs import (
    VersionContext,
    model_scores,
    parse_kpi_values,
    store_dataset,
    version_context,
)
from core.services.monitoring_labels import record_outcomes
from core.services.permissions import MONITOR_ROLES, Actor, require_role
from core.tables import Dataset, MonitoringBatch, utcnow

__all__ = [
    "ALREADY_INGESTED",
    "UNKNOWN_SEGMENTS",
    "IngestResult",
    "ingest_batch",
]

ALREADY_INGESTED = "The file {name} was already ingested as batch {batch} of this version; each batch is ingested once."
UNKNOWN_SEGMENTS = "Segment columns not in the evaluation data: {missing}; choose from {columns}."
FUTURE = "The scoring date {when} is in the future; give the date the batch was scored."


@dataclass(frozen=True)
class IngestResult:
    """What one ingest stored and set off."""

    batch_id: int
    version_id: int
    rows: int
    good_rows: int
    quarantined: dict[str, int]
    scored_by_version: bool
    drift_evidence_id: int
    drift_status: str | None
    crossed: list[str]
    finding_id: int | None
    gate_reopened: bool
    monitoring: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _utc(when: datetime) -> datetime:
    """A date as UTC; a date without a zone is read as UTC."""
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def _scores_file(scan: BatchScan, folder: Path) -> tuple[Path, int]:
    """The good rows' ids, outputs and groups as one Parquet file (rows kept in file order)."""
    table = pq.read_table(scan.ledger).filter(scan.good)
    target = folder / "scores.parquet"
    pq.write_table(table, target)
    return target, table.num_rows


def _request_problems(
    context: VersionContext, segments: Sequence[str], scored_at: datetime
) -> list[str]:
    problems = []
    columns = [str(c) for c in context.reference.columns]
    if missing := [s for s in segments if s not in columns]:
        problems.append(UNKNOWN_SEGMENTS.format(missing=missing, columns=columns))
    if scored_at > utcnow():
        problems.append(FUTURE.format(when=scored_at.isoformat()))
    return problems


def _already(session: Session, version_id: int, sha: str) -> int | None:
    return session.exec(
        select(MonitoringBatch.id)
        .join(Dataset, col(Dataset.id) == col(MonitoringBatch.dataset_id))
        .where(MonitoringBatch.version_id == version_id, Dataset.sha256 == sha)
    ).first()


def ingest_batch(
    *,
    session: Session,
    actor: Actor,
    version_id: int,
    path: Path,
    scored_at: datetime | None = None,
    id_column: str = "record_id",
    output_column: str = "score",
    segments: Sequence[str] = (),
    kpis: Mapping[str, float] | Sequence[str] = (),
    quarantine: bool = False,
) -> IngestResult:
    """Check, score (when needed), measure and store a production batch of a version.

    ``scored_at`` is when production scored the batch (default now, UTC). ``kpis`` are business
    KPI values measured on the batch (``NAME=NUMBER``), named as in the card's KPI targets.
    ``quarantine`` leaves bad rows out and counts them instead of refusing the batch.
    Raises InputProblems naming every problem; nothing is stored then. Flushes.
    """
    require_role(session, actor, "ingest production batches", *MONITOR_ROLES)
    started = time.perf_counter()
    context = version_context(session, version_id)
    require_role_on_model(session, actor, context.model, "ingest production batches")
    when = _utc(scored_at or utcnow())
    values, problems = parse_kpi_values(kpis, context.kpi_targets)
    problems += _request_problems(context, segments, when)
    sha = sha256_file(path) if path.is_file() else None
    if sha and (earlier := _already(session, version_id, sha)) is not None:
        problems.append(ALREADY_INGESTED.format(name=path.name, batch=earlier))
    if problems:
        raise InputProblems(problems)
    groups = tuple(dict.fromkeys([*context.sensitive, *segments]))
    layout = context.layout(id_column=id_column, output_column=output_column, groups=groups)
    reference_scores = model_scores(context, context.adapter.frame(context.reference))
    ranges = operating_ranges(context.training_frame(session), sorted(layout.numeric))
    with ColumnSpill() as spill, tempfile.TemporaryDirectory(prefix="gatehouse-") as folder:
        scan = scan_batch(
            path,
            layout,
            allowed_groups=groups,
            score=lambda X: model_scores(context, X),
            quarantine=quarantine,
            spill=spill,
        )
        results = drift_results(
            scan=scan,
            layout=layout,
            reference=context.reference,
            reference_scores=np.asarray(reference_scores, dtype=float),
            ranges=ranges,
        )
        scores_path, scored_rows = _scores_file(scan, Path(folder))
        batch_file = store_dataset(
            session, actor, path, name=path.name, rows=scan.rows,
            columns=[{"name": c, "dtype": "float64" if c in layout.numeric else "string"}
                     for c in (id_column, *layout.features, *scan.groups)],
            provenance=f"production batch of {context.model.name} v{context.version.version}, scored {when.isoformat()}",
        )  # fmt: skip
        scores_file = store_dataset(
            session, actor, scores_path, name=f"scores of {path.name}", rows=scored_rows,
            columns=[{"name": "id", "dtype": "string"}, {"name": "score", "dtype": "float64"},
                     *({"name": g, "dtype": "string"} for g in scan.groups)],
            provenance=f"ids, outputs and groups of the good rows of {path.name} ({sha})",
        )  # fmt: skip
    results["checks"] = drift_checks(results, context.policy)
    results["policy"] = context.policy.to_dict()
    status = overall_status(c["status"] for c in results["checks"])
    batch = MonitoringBatch(
        version_id=version_id,
        model_id=context.model.id or 0,
        dataset_id=batch_file.id or 0,
        scores_dataset_id=scores_file.id or 0,
        scored_at=when,
        ingested_by=actor.id,
        id_column=id_column,
        rows=scan.rows,
        quarantined_rows=scan.rows - scan.good_rows,
        quarantine_json=canonical_json(scan.quarantined),
        scored_by_version=not scan.has_output,
        kpis_json=canonical_json(values),
        drift_status=status,
    )
    session.add(batch)
    session.flush()
    evidence = store_evidence(
        session=session,
        actor=actor,
        version=context.version,
        kind=EvidenceKind.drift.value,
        inputs={
            "policy_version": context.policy_version,
            "artifact_sha256": context.version.artifact_sha256,
            "eval_sha256": context.reference_sha256,
            "batch_sha256": batch_file.sha256,
            "scores_sha256": scores_file.sha256,
            "batch_id": batch.id,
            "scored_at": when.isoformat(),
        },
        config={
            "id_column": id_column,
            "output_column": output_column,
            "scored_by_version": not scan.has_output,
            "groups": list(scan.groups),
            "quarantine": quarantine,
            "psi_bins": 10,
        },
        results=results,
        status=status,
        seconds=time.perf_counter() - started,
    )
    batch.drift_evidence_id = evidence.id
    session.add(batch)
    append_event(
        session=session,
        actor=actor,
        action="monitoring_batch_ingested",
        subject_type="model_version",
        subject_id=str(version_id),
        details={
            "batch_id": batch.id,
            "rows": scan.rows,
            "quarantined_rows": batch.quarantined_rows,
            "sha256": batch_file.sha256,
            "drift_status": status,
        },
    )
    raised = raise_for_crossings(
        session=session, actor=actor, version_id=version_id, batch_id=batch.id or 0,
        label=context.label, checks=results["checks"], finding_type=FindingType.drift.value,
        evidence_id=evidence.id, reopen_gate=context.policy.reopen_gate,
    )  # fmt: skip
    monitoring = None
    if values:
        monitoring = record_outcomes(session=session, actor=actor, context=context, batch=batch)
    session.flush()
    return IngestResult(
        batch_id=batch.id or 0,
        version_id=version_id,
        rows=scan.rows,
        good_rows=scan.good_rows,
        quarantined=scan.quarantined,
        scored_by_version=not scan.has_output,
        drift_evidence_id=evidence.id,
        drift_status=status,
        crossed=[str(c["sentence"]) for c in results["checks"] if c["status"] == "fail"],
        finding_id=raised["finding_id"],
        gate_reopened=raised["gate_reopened"],
        monitoring=monitoring,
        notes=list(results["notes"]),
    )
