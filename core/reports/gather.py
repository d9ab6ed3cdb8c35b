"""Everything an audit report prints about one version, read once through the services.

The report never computes evidence: it reads what is stored, so the same stored state always
gives the same report (only the generation time and who generated it differ).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from core.rules.card_fields import CARD_FIELDS
from core.services.audit import ChainCheck, verify_chain
from core.services.audit_log import AuditRow, model_history
from core.services.evidence import StoredEvidence, latest_evidence
from core.services.finding_views import model_findings, status_label
from core.services.gate_status import VersionGates, gate_status
from core.services.inventory import (
    ModelOverview,
    VersionSummary,
    current_card,
    dataset_provenance,
    get_version,
    model_overview,
    version_summary,
)
from core.services.policy import governing_version, policy_for_model
from core.services.risk import current_risk, questionnaire
from core.services.vocabulary import VOCABULARY_FIELD, Vocabulary

__all__ = ["FindingsSection", "ReportData", "gather_findings", "gather_report"]

#: Events a report prints at most; older ones are counted, never silently dropped.
MAX_EVENTS = 100_000


@dataclass(frozen=True)
class FindingsSection:
    """The findings part of a report: whether a register exists, and its entries."""

    register: bool
    entries: tuple[dict[str, Any], ...] = ()
    sentence: str = ""


@dataclass(frozen=True)
class ReportData:
    """One version as its audit report shows it; frozen so rendering cannot change it."""

    model: ModelOverview
    version: VersionSummary
    parent: VersionSummary | None
    production: VersionSummary | None
    card: dict[str, Any]
    vocabulary: Vocabulary
    provenance: dict[int, str]
    risk: dict[str, Any]
    policy: dict[str, Any]
    performance: StoredEvidence | None
    parent_performance: StoredEvidence | None
    production_performance: StoredEvidence | None
    fairness: StoredEvidence | None
    explanation: StoredEvidence | None
    gates: VersionGates
    findings: FindingsSection
    events: tuple[AuditRow, ...]
    generated_at: datetime
    generated_by: str
    questions: dict[str, dict[str, Any]] = field(default_factory=dict)
    chain: ChainCheck | None = None

    @property
    def card_rows(self) -> list[tuple[str, str, Any]]:
        """Every card field (key, label, value), in the order regulators list them."""
        return [
            (key, label, self.card.get(key))
            for key, label in CARD_FIELDS.items()
            if key != VOCABULARY_FIELD
        ]


def gather_findings(session: Session, model_id: int) -> FindingsSection:
    """The findings a report prints: every finding of the model from the findings register,
    open and closed, in the order they were raised; the one place the report reads them from."""
    entries = tuple(
        {
            "id": f.id,
            "version": f.version,
            "type": f.type,
            "severity": f.severity,
            "status": status_label(f.status),
            "open": f.is_open,
            "blocks": f.blocks_gates,
            "summary": f.description,
            "owner": f.owner or "",
            "due": f.due.isoformat() if f.due else "",
            "overdue": f.overdue,
            "remediation": f.remediation_plan,
            "raised": f"{f.raised_by}, {f.raised_at:%Y-%m-%d}",
            "closed": f"{f.closed_at:%Y-%m-%d}" if f.closed_at else "",
        }
        for f in model_findings(session, model_id)
    )
    if not entries:
        return FindingsSection(
            register=True, sentence="The findings register holds no finding for this model."
        )
    return FindingsSection(register=True, entries=entries)


def _policy(session: Session, model_id: int) -> dict[str, Any]:
    lookup = policy_for_model(session, model_id)
    row = governing_version(session, model_id)
    tier = lookup.pack.tier(lookup.tier)
    return {
        "version": lookup.policy_version,
        "name": row.name if row else lookup.pack.name,
        "sha256": row.sha256 if row else None,
        "tier": lookup.tier,
        "assessed": lookup.assessed,
        "description": tier.get("description", ""),
        "review_every_days": tier.get("review_every_days"),
        "considerations": dict(tier.get("considerations", {})),
        "gates": [g["id"] for g in lookup.gates()],
    }


def _performance(session: Session, version_id: int | None) -> StoredEvidence | None:
    if version_id is None:
        return None
    return latest_evidence(session=session, version_id=version_id, kind="performance")


def gather_report(
    *, session: Session, version_id: int, generated_by: str, generated_at: datetime
) -> ReportData:
    """Read everything the report prints about a version (no permission check: the caller,
    ``generate_report``, checks it)."""
    version = get_version(session=session, version_id=version_id)
    model = model_overview(session=session, model_id=version.model_id)
    summary = version_summary(session=session, version=version)
    parent = (
        version_summary(
            session=session,
            version=get_version(session=session, version_id=summary.parent_version_id),
        )
        if summary.parent_version_id
        else None
    )
    production_id = model.production_version_id
    production = (
        version_summary(
            session=session, version=get_version(session=session, version_id=production_id)
        )
        if production_id is not None and production_id != version_id
        else None
    )
    card = current_card(session=session, model_id=model.id)
    card.setdefault("purpose", model.purpose)
    datasets = [d.id for d in (summary.train_dataset, summary.eval_dataset) if d is not None]
    history = model_history(session=session, model=model.name, limit=MAX_EVENTS)
    return ReportData(
        model=model,
        version=summary,
        parent=parent,
        production=production,
        card=card,
        vocabulary=Vocabulary.from_card(
            card, target=summary.target, positive=summary.positive_label
        ),
        provenance=dataset_provenance(session=session, dataset_ids=datasets),
        risk=current_risk(session, model.id),
        policy=_policy(session, model.id),
        performance=_performance(session, version_id),
        parent_performance=_performance(session, summary.parent_version_id),
        production_performance=_performance(session, production.version_id if production else None),
        fairness=latest_evidence(session=session, version_id=version_id, kind="fairness"),
        explanation=latest_evidence(session=session, version_id=version_id, kind="explanation"),
        gates=gate_status(session=session, version_id=version_id),
        findings=gather_findings(session, model.id),
        events=tuple(reversed(history)),
        generated_at=generated_at,
        generated_by=generated_by,
        chain=verify_chain(session=session),
        questions={
            q["id"]: {"text": q["text"], "choices": {c["value"]: c["label"] for c in q["choices"]}}
            for q in questionnaire(session, model.id)
        },
    )
