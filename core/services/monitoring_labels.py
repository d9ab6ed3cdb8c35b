"""Recorded outcomes of production batches, and what they show: the model's metrics over time,
overall and per sensitive group, and the business KPIs against their hurdles.

``ingest_labels`` joins a labels file (record id and the target column) to the scored rows of
the version's batches; every id must match exactly one scored row of one batch. Each labelled
batch (and each batch that carries KPI values) gets monitoring evidence: its metrics beside
the evaluation figures, the checks of decay, fairness and KPIs, and a finding when one fails.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlmodel import Session, col, select

from core.domain import EvidenceKind, FindingType
from core.errors import InputProblems
from core.files.adapter import PROBABILITY
from core.files.datasets import read_data
from core.metrics.production import batch_metrics
from core.rules.checks import overall_status
from core.rules.drift_checks import decay_checks
from core.rules.kpis import kpi_checks
from core.services.audit import append_event, canonical_json
from core.services.evidence.inputs import checked_file
from core.services.evidence.store import latest_evidence, store_evidence
from core.services.model_roles import require_role_on_model
from core.services.monitoring_findings import raise_for_crossings
from core.services.monitoring_inputs import (
    VersionContext,
    parse_kpi_values,
    store_dataset,
    version_context,
)
from core.services.permissions import MONITOR_ROLES, Actor, require_role
from core.tables import Dataset, MonitoringBatch, utcnow

__all__ = [
    "DUPLICATE_LABELS",
    "LABEL_COLUMNS",
    "NO_BATCHES",
    "UNMATCHED_LABELS",
    "LabelsResult",
    "ingest_labels",
    "record_outcomes",
]

LABEL_COLUMNS = "The labels file {name} lacks the columns {missing}; give the record id column {id_column!r} and the target column {target!r}."
LABEL_EXTRA = "The labels file {name} has columns besides the record id and the target: {extra}; keep only {id_column!r} and {target!r}."
DUPLICATE_LABELS = "The labels file {name} repeats {count:,} record ids (e.g. {examples}); give each record's outcome once."
EMPTY_IDS = "The labels file {name} has {count:,} rows without a record id; every outcome needs the id of its record."
UNMATCHED_LABELS = "{count:,} record ids of the labels file {name} match no scored row of version {version}'s batches (e.g. {examples}); check the id column and that the batch was ingested."
AMBIGUOUS = "{count:,} record ids of the labels file {name} match rows of several batches (e.g. {examples}); give the batch with --batch."
NO_BATCHES = "Version {version} has no ingested batch {which}; ingest the production batch first with `gatehouse monitor ingest`."
NOT_NUMBER = "The labels file {name} has {count:,} outcomes in {target!r} that are not numbers; the model predicts numbers."
NOTHING_LEFT = "Every row of the labels file {name} was quarantined; nothing is left to join."
QUARANTINED = "Quarantined {count:,} label rows: {reasons}."


@dataclass(frozen=True)
class LabelsResult:
    """What one labels file joined and set off, per batch."""

    version_id: int
    rows: int
    joined_rows: int
    quarantined: dict[str, int]
    batches: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _examples(values: pd.Series) -> str:
    return ", ".join(repr(str(v)) for v in values.head(3))


def _batches(session: Session, version_id: int, batch_id: int | None) -> list[MonitoringBatch]:
    query = select(MonitoringBatch).where(MonitoringBatch.version_id == version_id)
    if batch_id is not None:
        query = query.where(MonitoringBatch.id == batch_id)
    return list(session.exec(query.order_by(col(MonitoringBatch.id))).all())


def _scored_rows(session: Session, context: VersionContext, batch: MonitoringBatch) -> pd.DataFrame:
    dataset = session.get(Dataset, batch.scores_dataset_id)
    assert dataset is not None
    file = checked_file(dataset.path, dataset.sha256, "scored rows of a batch", context.version)
    frame = pd.read_parquet(file)
    frame["id"] = frame["id"].astype(str)
    return frame


def _evaluation_figures(session: Session, version_id: int) -> dict[str, float | None]:
    stored = latest_evidence(session=session, version_id=version_id, kind="performance")
    if stored is None:
        return {}
    metrics = (stored.results.get("overall") or {}).get("metrics") or {}
    return {name: (value or {}).get("value") for name, value in metrics.items()}


def record_outcomes(
    *,
    session: Session,
    actor: Actor,
    context: VersionContext,
    batch: MonitoringBatch,
    labelled: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Store a batch's monitoring evidence (metrics when ``labelled`` rows are given, KPIs when
    the batch carries values) with its checks, and raise the findings they call for."""
    started = time.perf_counter()
    kpis = json.loads(batch.kpis_json)
    results: dict[str, Any] = {"batch_id": batch.id, "scored_at": batch.scored_at.isoformat()}
    checks: list[dict[str, Any]] = []
    if labelled is not None:
        production = batch_metrics(
            task=context.version.task,
            y_true=labelled["__truth"].to_numpy(),
            y_score=labelled["score"].to_numpy(dtype=float),
            threshold=0.5 if context.adapter.output_space == PROBABILITY else 0.0,
            groups={
                c: labelled[c].astype(object).where(labelled[c].notna(), None).to_numpy()
                for c in labelled.columns
                if c in context.sensitive
            },
        )
        evaluation = _evaluation_figures(session, context.version.id or 0)
        results |= {"production": production, "evaluation": evaluation}
        decay = decay_checks(
            production=production, evaluation=evaluation, policy=context.policy,
            fairness=context.fairness,
        )  # fmt: skip
        checks += decay
    kpi = kpi_checks(kpis, context.kpi_targets)
    results["kpis"] = {
        "values": kpis,
        "targets": [t.to_dict() for t in context.kpi_targets],
        "checks": kpi,
    }
    results["checks"] = checks + kpi
    status = overall_status(c["status"] for c in results["checks"])
    evidence = store_evidence(
        session=session,
        actor=actor,
        version=context.version,
        kind=EvidenceKind.monitoring.value,
        inputs={
            "policy_version": context.policy_version,
            "batch_id": batch.id,
            "drift_evidence_id": batch.drift_evidence_id,
            "labels_dataset_id": batch.labels_dataset_id,
            "kpis": kpis,
        },
        config={"threshold": 0.5 if context.adapter.output_space == PROBABILITY else 0.0},
        results=results,
        status=status,
        seconds=time.perf_counter() - started,
    )
    batch.monitoring_evidence_id = evidence.id
    batch.monitoring_status = status
    session.add(batch)
    raised = []
    for kind, judged in ((FindingType.performance.value, checks), (FindingType.kpi.value, kpi)):
        raised.append(
            raise_for_crossings(
                session=session,
                actor=actor,
                version_id=context.version.id or 0,
                batch_id=batch.id or 0,
                label=context.label,
                checks=judged,
                finding_type=kind,
                evidence_id=evidence.id,
                reopen_gate=context.policy.reopen_gate,
            )
        )
    session.flush()
    return {
        "batch_id": batch.id,
        "monitoring_evidence_id": evidence.id,
        "status": status,
        "metrics": (results.get("production") or {}).get("metrics"),
        "crossed": [c["sentence"] for c in results["checks"] if c["status"] == "fail"],
        "finding_ids": [r["finding_id"] for r in raised if r["finding_id"]],
        "gate_reopened": any(r["gate_reopened"] for r in raised),
    }


def _label_problems(name: str, frame: pd.DataFrame, id_column: str, target: str) -> list[str]:
    columns = [str(c) for c in frame.columns]
    problems = []
    if missing := [c for c in (id_column, target) if c not in columns]:
        problems.append(
            LABEL_COLUMNS.format(name=name, missing=missing, id_column=id_column, target=target)
        )
    if extra := [c for c in columns if c not in (id_column, target)]:
        problems.append(
            LABEL_EXTRA.format(name=name, extra=extra, id_column=id_column, target=target)
        )
    return problems


def ingest_labels(
    *,
    session: Session,
    actor: Actor,
    version_id: int,
    path: Path,
    batch_id: int | None = None,
    id_column: str | None = None,
    kpis: Mapping[str, float] | Sequence[str] = (),
    quarantine: bool = False,
) -> LabelsResult:
    """Join recorded outcomes to the version's scored batch rows and judge what they show.

    ``id_column`` defaults to the batch's; ``kpis`` (``NAME=NUMBER``) are recorded on every
    batch the labels reach. InputProblems names every problem; nothing is stored then.
    """
    require_role(session, actor, "record production outcomes", *MONITOR_ROLES)
    context = version_context(session, version_id)
    require_role_on_model(session, actor, context.model, "record production outcomes")
    batches = _batches(session, version_id, batch_id)
    if not batches:
        which = f"with id {batch_id}" if batch_id is not None else "yet"
        raise InputProblems([NO_BATCHES.format(version=version_id, which=which)])
    values, problems = parse_kpi_values(kpis, context.kpi_targets)
    id_column = id_column or batches[-1].id_column
    target = context.version.target
    try:
        frame = read_data(path).frame
    except ValueError as err:
        raise InputProblems([str(err)]) from err
    problems += _label_problems(path.name, frame, id_column, target)
    if problems:
        raise InputProblems(problems)
    ids = frame[id_column].astype("string")
    frame = frame.assign(**{id_column: ids})
    bad: dict[str, pd.Series] = {}
    bad["empty id"] = ids.isna() | (ids.str.strip() == "").fillna(True)
    bad["repeated id"] = ids.duplicated(keep=False) & ~bad["empty id"]
    sentences = []
    if n := int(bad["empty id"].sum()):
        sentences.append(EMPTY_IDS.format(name=path.name, count=n))
    if n := int(bad["repeated id"].sum()):
        shown = _examples(ids[bad["repeated id"]].drop_duplicates())
        sentences.append(DUPLICATE_LABELS.format(name=path.name, count=n, examples=shown))
    scored = {b.id: _scored_rows(session, context, b) for b in batches}
    owners = pd.concat([pd.DataFrame({"id": f["id"], "batch": i}) for i, f in scored.items()])
    hits = owners.groupby("id")["batch"].nunique()
    found = ids.map(hits).fillna(0)
    bad["unmatched id"] = (found == 0) & ~bad["empty id"]
    bad["id in several batches"] = found > 1
    if n := int(bad["unmatched id"].sum()):
        shown = _examples(ids[bad["unmatched id"]])
        sentences.append(
            UNMATCHED_LABELS.format(count=n, name=path.name, version=version_id, examples=shown)
        )
    if n := int(bad["id in several batches"].sum()):
        sentences.append(
            AMBIGUOUS.format(
                count=n, name=path.name, examples=_examples(ids[bad["id in several batches"]])
            )
        )
    if context.version.task == "classification":
        if target_problems := context.adapter.target_problems(frame[target], target=target):
            known = {
                v: not context.adapter.target_problems(pd.Series([v]), target=target)
                for v in pd.unique(frame[target].dropna())
            }
            bad["unknown outcome"] = ~frame[target].map(known).fillna(False).astype(bool)
            sentences += target_problems
    else:
        number = pd.to_numeric(frame[target], errors="coerce")
        if n := int(number.isna().sum()):
            bad["outcome not a number"] = number.isna()
            sentences.append(NOT_NUMBER.format(name=path.name, count=n, target=target))
    if sentences and not quarantine:
        raise InputProblems(sentences)
    rejected = pd.Series(False, index=frame.index)
    for mask in bad.values():
        rejected |= mask.fillna(False).astype(bool)
    kept = frame[~rejected]
    if kept.empty:
        raise InputProblems([NOTHING_LEFT.format(name=path.name)])
    quarantined = {
        k: int(v.fillna(False).sum()) for k, v in bad.items() if int(v.fillna(False).sum())
    }
    truth = (
        context.adapter.target_labels(kept[target], target=target) == context.adapter.positive_class
        if context.version.task == "classification"
        else kept[target].to_numpy(dtype=float)
    )
    kept = kept.assign(__truth=np.asarray(truth))
    labels_file = store_dataset(
        session, actor, path, name=path.name, rows=len(frame),
        columns=[{"name": id_column, "dtype": "string"}, {"name": target, "dtype": str(frame[target].dtype)}],
        provenance=f"recorded outcomes of production batches of {context.model.name} v{context.version.version}",
    )  # fmt: skip
    outcomes = []
    joined_rows = 0
    for batch in batches:
        joined = scored[batch.id].merge(kept, left_on="id", right_on=id_column, how="inner")
        if joined.empty:
            continue
        batch.labels_dataset_id = labels_file.id
        batch.labelled_rows = len(joined)
        joined_rows += len(joined)
        batch.labelled_at = utcnow()
        batch.kpis_json = canonical_json({**json.loads(batch.kpis_json), **values})
        session.add(batch)
        append_event(
            session=session, actor=actor, action="monitoring_labels_recorded",
            subject_type="model_version", subject_id=str(version_id),
            details={"batch_id": batch.id, "rows": len(joined), "sha256": labels_file.sha256},
        )  # fmt: skip
        outcomes.append(
            record_outcomes(
                session=session, actor=actor, context=context, batch=batch, labelled=joined
            )
        )
    notes = []
    if quarantined:
        reasons = ", ".join(f"{n:,} with {k}" for k, n in quarantined.items())
        notes.append(QUARANTINED.format(count=int(rejected.sum()), reasons=reasons))
    session.flush()
    return LabelsResult(
        version_id=version_id,
        rows=len(frame),
        joined_rows=joined_rows,
        quarantined=quarantined,
        batches=outcomes,
        notes=notes,
    )
