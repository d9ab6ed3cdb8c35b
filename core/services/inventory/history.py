"""What happened to a model (its audit events) and two versions side by side."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from core.services.audit import events_for
from core.services.inventory.results import ActivityEntry, ComparisonRow, VersionSummary
from core.services.inventory.versions import get_version, list_versions, version_summary
from core.tables import Evidence

__all__ = ["compare_versions", "model_activity"]


def model_activity(*, session: Session, model_id: int, limit: int = 200) -> list[ActivityEntry]:
    """Audit events about a model and its versions, newest first."""
    version_ids = [str(v.id) for v in list_versions(session=session, model_id=model_id)]
    events = events_for(
        session=session, subject_type="model", subject_ids=[str(model_id)], limit=limit
    )
    events += events_for(
        session=session, subject_type="model_version", subject_ids=version_ids, limit=limit
    )
    events.sort(key=lambda e: e.id or 0, reverse=True)
    return [
        ActivityEntry(
            when=e.occurred_at, who=e.actor, action=e.action, details=json.loads(e.details)
        )
        for e in events[:limit]
    ]


def _headline_metrics(session: Session, version_id: int) -> dict[str, str]:
    """The latest stored performance figures of a version, for comparisons (none if not computed)."""
    # Read from the evidence table itself: the evidence service builds on the inventory.
    row = session.exec(
        select(Evidence.sha256, Evidence.results_json)
        .where(Evidence.version_id == version_id, Evidence.kind == "performance")
        .order_by(col(Evidence.id).desc())
        .limit(1)
    ).first()
    if row is None:
        return {"metrics": "not computed"}
    sha256, results_json = row
    out = {"metrics: evidence": sha256[:16]}
    for name, estimate in json.loads(results_json)["overall"]["metrics"].items():
        value = estimate.get("value")
        out[f"metric: {name}"] = "undefined" if value is None else f"{value:.4f}"
    return out


def _flat(session: Session, summary: VersionSummary) -> dict[str, str]:
    out: dict[str, Any] = {
        "version": summary.version,
        "stage": summary.stage,
        "estimator_class": summary.estimator_class,
        "task": summary.task,
        "target": summary.target,
        "positive_label": summary.positive_label,
        "registered_by": summary.registered_by,
        "registered_at": summary.registered_at,
        "artifact_sha256": summary.artifact_sha256[:16],
        "features": ", ".join(summary.features),
        "sensitive": ", ".join(summary.sensitive),
    }
    for role in ("train_dataset", "eval_dataset"):
        data = getattr(summary, role)
        out[f"{role} sha256"] = data.sha256[:16] if data else "—"
        out[f"{role} size"] = f"{data.rows:,} rows × {data.columns} columns" if data else "—"
    for pkg, ver in sorted(summary.environment.items()):
        out[f"environment: {pkg}"] = ver
    out.update(_headline_metrics(session, summary.version_id))
    return {k: "" if v is None else str(v) for k, v in out.items()}


def compare_versions(*, session: Session, left_id: int, right_id: int) -> list[ComparisonRow]:
    """Side-by-side rows of two versions' metadata, with whether each row differs."""
    a, b = (
        _flat(
            session,
            version_summary(session=session, version=get_version(session=session, version_id=i)),
        )
        for i in (left_id, right_id)
    )
    keys = list(dict.fromkeys([*a, *b]))
    return [
        ComparisonRow(
            field=k, left=a.get(k, "—"), right=b.get(k, "—"), differs=a.get(k) != b.get(k)
        )
        for k in keys
    ]
