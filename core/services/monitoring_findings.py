"""What a crossed monitoring threshold sets off: a finding, and where the policy says so, a
reopened monitoring gate.

One finding per batch and kind of problem (drift, performance, KPI), listing every crossed
check, so a batch that drifts on thirty features raises one finding to work on, not thirty. A
check already named by an open finding of the same kind is not raised again: a gap that stays
open month after month is one problem, followed on its finding.
Severity: decay of the model's performance or fairness on labelled data is high (it blocks
gate approvals until it is dealt with); drift and a KPI below its hurdle are medium.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import Session

from core.domain import FindingSeverity, FindingType
from core.rules.drift_checks import crossed
from core.services.finding_views import list_findings
from core.services.findings import raise_finding
from core.services.gate_status import mark_gate_stale
from core.services.permissions import OPERATOR, Actor

__all__ = ["RAISED", "REOPENED", "raise_for_crossings"]

RAISED = "Batch {batch} of {model} v{version} crossed {count} monitoring threshold(s): {sentences}"
REOPENED = "a monitoring threshold was crossed on batch {batch}"
_SEVERITY = {
    FindingType.drift.value: FindingSeverity.medium.value,
    FindingType.performance.value: FindingSeverity.high.value,
    FindingType.kpi.value: FindingSeverity.medium.value,
}


def _check_link(check: Mapping[str, Any]) -> str:
    """How a finding names a crossed check it is about: ``check max_psi of income``."""
    return f"check {check['name']} of {check.get('feature')}"


def raise_for_crossings(
    *,
    session: Session,
    actor: Actor,
    version_id: int,
    batch_id: int,
    label: tuple[str, int],
    checks: Sequence[Mapping[str, Any]],
    finding_type: str,
    evidence_id: int,
    reopen_gate: bool,
) -> dict[str, Any]:
    """Raise the finding for a batch's crossed checks (none crossed: nothing); returns what was
    raised and whether the monitoring gate went stale."""
    open_links = {
        link
        for f in list_findings(
            session=session,
            actor=OPERATOR,
            version_id=version_id,
            type=finding_type,
            open_only=True,
        )
        for link in f.evidence_links
    }
    failed = [c for c in crossed(checks) if _check_link(c) not in open_links]
    if not failed:
        return {"finding_id": None, "gate_reopened": False}
    model, version = label
    description = RAISED.format(
        batch=batch_id,
        model=model,
        version=version,
        count=len(failed),
        sentences=" ".join(str(c["sentence"]) for c in failed),
    )
    finding = raise_finding(
        session=session,
        actor=actor,
        version_id=version_id,
        type=finding_type,
        severity=_SEVERITY[finding_type],
        description=description,
        evidence_links=(
            f"monitoring batch {batch_id}",
            f"evidence {evidence_id}",
            *dict.fromkeys(_check_link(c) for c in failed),
        ),
    )
    reopened = reopen_gate and mark_gate_stale(
        session, version_id, "monitoring", REOPENED.format(batch=batch_id)
    )
    return {"finding_id": finding.id, "gate_reopened": reopened}
