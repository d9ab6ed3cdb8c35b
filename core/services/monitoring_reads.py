"""Reading a version's monitoring: batches over time, the drift table with its thresholds, the
metrics and KPIs over time, which thresholds were crossed and which findings were raised.

Reads stored rows and evidence only; nothing is recomputed to show it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlmodel import Session, col, select

from core.domain import FindingType
from core.errors import NotFound
from core.services.evidence.inputs import get_version
from core.services.evidence.store import get_evidence
from core.services.finding_views import list_findings
from core.services.permissions import EVERY_ROLE, Actor, require_role
from core.tables import Dataset, ModelEntry, ModelVersion, MonitoringBatch

__all__ = [
    "UNKNOWN_BATCH",
    "MonitoringView",
    "monitored_versions",
    "monitoring_view",
    "scored_rows",
]

UNKNOWN_BATCH = "No monitoring batch with id {batch_id}; list a version's batches with `gatehouse monitor show VERSION_ID`."
_MONITORING_TYPES = (FindingType.drift.value, FindingType.performance.value, FindingType.kpi.value)


@dataclass(frozen=True)
class MonitoringView:
    """Everything the Monitoring page and `gatehouse monitor show` display for one version."""

    version_id: int
    model: str
    version: int
    stage: str
    batches: list[dict[str, Any]]
    drift: list[dict[str, Any]]
    score: dict[str, Any] | None
    groups: list[dict[str, Any]]
    checks: list[dict[str, Any]]
    metrics: list[dict[str, Any]]
    group_metrics: list[dict[str, Any]]
    kpis: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    policy: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def scored_rows(*, session: Session, batch_id: int) -> pd.DataFrame:
    """A batch's good rows: id, the model's output and the group columns."""
    batch = session.get(MonitoringBatch, batch_id)
    if batch is None:
        raise NotFound([UNKNOWN_BATCH.format(batch_id=batch_id)])
    dataset = session.get(Dataset, batch.scores_dataset_id)
    assert dataset is not None
    return pd.read_parquet(dataset.path)


def monitored_versions(*, session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Every version with at least one batch, newest model first: for pickers."""
    require_role(session, actor, "read monitoring", *EVERY_ROLE)
    rows = session.exec(
        select(ModelVersion.id, ModelEntry.name, ModelVersion.version, ModelVersion.stage)
        .join(ModelEntry, col(ModelEntry.id) == col(ModelVersion.model_id))
        .where(col(ModelVersion.id).in_(select(MonitoringBatch.version_id)))
        .order_by(col(ModelEntry.name), col(ModelVersion.version).desc())
    ).all()
    return [{"version_id": i, "model": m, "version": v, "stage": s} for i, m, v, s in rows]


def _batch_row(
    session: Session, batch: MonitoringBatch
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    drift = (
        get_evidence(session=session, evidence_id=batch.drift_evidence_id).results
        if batch.drift_evidence_id
        else {}
    )
    outcome = (
        get_evidence(session=session, evidence_id=batch.monitoring_evidence_id).results
        if batch.monitoring_evidence_id
        else {}
    )
    psis = [f.get("psi") for f in drift.get("features", []) if f.get("psi") is not None]
    metrics = (outcome.get("production") or {}).get("metrics") or {}
    row = {
        "batch_id": batch.id,
        "scored_at": batch.scored_at,
        "rows": batch.rows,
        "quarantined_rows": batch.quarantined_rows,
        "scored_by_version": batch.scored_by_version,
        "drift_status": batch.drift_status,
        "score_psi": (drift.get("score") or {}).get("psi"),
        "max_feature_psi": max(psis) if psis else None,
        "labelled_rows": batch.labelled_rows,
        "monitoring_status": batch.monitoring_status,
        "roc_auc": metrics.get("roc_auc"),
        "kpis": json.loads(batch.kpis_json),
        "drift_evidence_id": batch.drift_evidence_id,
        "monitoring_evidence_id": batch.monitoring_evidence_id,
    }
    return row, drift, outcome


def monitoring_view(*, session: Session, actor: Actor, version_id: int) -> MonitoringView:
    """A version's monitoring, oldest batch first; the drift table is the newest batch's."""
    require_role(session, actor, "read monitoring", *EVERY_ROLE)
    version = get_version(session, version_id)
    model = session.get(ModelEntry, version.model_id)
    assert model is not None
    batches = session.exec(
        select(MonitoringBatch)
        .where(MonitoringBatch.version_id == version_id)
        .order_by(col(MonitoringBatch.scored_at), col(MonitoringBatch.id))
    ).all()
    rows, checks, metrics, group_metrics, kpis = [], [], [], [], []
    drift: dict[str, Any] = {}
    for batch in batches:
        row, drift, outcome = _batch_row(session, batch)
        rows.append(row)
        when = batch.scored_at
        for check in [*drift.get("checks", []), *outcome.get("checks", [])]:
            checks.append({"batch_id": batch.id, "scored_at": when, **check})
        production = outcome.get("production") or {}
        for name, value in (production.get("metrics") or {}).items():
            baseline = (outcome.get("evaluation") or {}).get(name)
            metrics.append(
                {
                    "scored_at": when,
                    "batch_id": batch.id,
                    "metric": name,
                    "value": value,
                    "evaluation": baseline,
                }
            )
        for column, groups in (production.get("groups") or {}).items():
            for g in groups:
                group_metrics.append(
                    {"scored_at": when, "batch_id": batch.id, "column": column, **g}
                )
        targets = {t["name"]: t for t in (outcome.get("kpis") or {}).get("targets", [])}
        for name, value in json.loads(batch.kpis_json).items():
            target = targets.get(name, {})
            kpis.append(
                {
                    "scored_at": when,
                    "batch_id": batch.id,
                    "kpi": name,
                    "value": value,
                    "baseline": target.get("baseline"),
                    "hurdle": target.get("hurdle"),
                    "better": target.get("better"),
                }
            )
    findings = [
        {
            "finding_id": f.id,
            "type": f.type,
            "severity": f.severity,
            "status": f.status,
            "description": f.description,
            "evidence_links": list(f.evidence_links),
            "raised_at": f.raised_at,
        }
        for f in list_findings(session=session, actor=actor, version_id=version_id)
        if f.type in _MONITORING_TYPES
    ]
    return MonitoringView(
        version_id=version_id,
        model=model.name,
        version=version.version,
        stage=version.stage,
        batches=rows,
        drift=list(drift.get("features", [])),
        score=drift.get("score"),
        groups=list(drift.get("groups", [])),
        checks=checks,
        metrics=metrics,
        group_metrics=group_metrics,
        kpis=kpis,
        findings=findings,
        policy=dict(drift.get("policy", {})),
    )
