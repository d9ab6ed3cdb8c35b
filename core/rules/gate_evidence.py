"""Is a gate's required evidence there, passing and fresh? Pure judgement over stored facts.

Approval is refused while a requirement is missing, failing or stale, unless a waiver in force
names the failed check. The same readings feed the gate page, `gatehouse gate status` and the PDF.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.rules.gates import EvidenceRequirement

__all__ = [
    "EvidenceFacts",
    "RequirementStatus",
    "check_key",
    "judge_requirements",
]

MISSING = "No {kind} evidence is stored for this version; compute it before approval."
STALE = (
    "The {kind} evidence (#{id}) is {age} days old and the policy accepts at most {limit}; "
    "compute it again."
)
FAILING = "The {kind} evidence (#{id}) fails {checks}; fix it or have a risk manager waive it."
NOT_COMPUTED = "The {kind} evidence (#{id}) could not be judged: {status}."
CARD_MISSING = "The model card lacks {fields}; fill them in on the model page."
NO_PROVENANCE = "Data provenance is not recorded for {datasets}; record where the data came from."


def check_key(check: Mapping[str, Any]) -> str:
    """A stable name for a stored check: its ``name``, else its label in snake case."""
    name = check.get("name")
    if name:
        return str(name)
    label = str(check.get("label") or "").lower().replace("²", "2")
    return "_".join("".join(c if c.isalnum() else " " for c in label).split())


@dataclass(frozen=True)
class EvidenceFacts:
    """The newest stored evidence of one kind for the version."""

    id: int
    kind: str
    sha256: str
    status: str | None
    computed_at: datetime
    checks: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class RequirementStatus:
    """How one requirement stands: ok, waived, missing, failing or stale, with its sentence."""

    kind: str
    status: str
    sentence: str
    evidence_id: int | None = None
    sha256: str | None = None
    failing: tuple[str, ...] = ()
    waived: tuple[str, ...] = ()
    requirement: Mapping[str, Any] = field(default_factory=dict)

    @property
    def blocks(self) -> bool:
        return self.status not in ("ok", "waived")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": self.status,
            "sentence": self.sentence,
            "evidence_id": self.evidence_id,
            "sha256": self.sha256,
            "failing": list(self.failing),
            "waived": list(self.waived),
            "requirement": dict(self.requirement),
        }


def _selected(
    req: EvidenceRequirement, checks: Iterable[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    wanted = set(req.checks) | set(req.metrics)
    return [c for c in checks if not wanted or check_key(c) in wanted]


def _waived(check: Mapping[str, Any], waivers: set[str]) -> bool:
    key = check_key(check)
    return key in waivers or f"{key}:{check.get('feature')}" in waivers


def _judge_evidence(
    req: EvidenceRequirement, facts: EvidenceFacts | None, waivers: set[str], now: datetime
) -> RequirementStatus:
    base: dict[str, Any] = {"kind": req.kind, "requirement": req.to_dict()}
    if facts is None:
        return RequirementStatus(status="missing", sentence=MISSING.format(kind=req.kind), **base)
    ident: dict[str, Any] = {"evidence_id": facts.id, "sha256": facts.sha256}
    age = (now - facts.computed_at).days
    if req.stale_after_days is not None and now - facts.computed_at > timedelta(
        days=req.stale_after_days
    ):
        sentence = STALE.format(kind=req.kind, id=facts.id, age=age, limit=req.stale_after_days)
        return RequirementStatus(status="stale", sentence=sentence, **ident, **base)
    selected = _selected(req, facts.checks)
    # Judged on the point estimate (the shipped policy's rule): an inconclusive check whose
    # point estimate fails counts as failing.
    failed = [
        c
        for c in selected
        if c.get("status") == "fail"
        or (c.get("status") == "inconclusive" and c.get("point_status") == "fail")
    ]
    if not selected and facts.status == "fail":
        failed = [{"label": f"{req.kind} status"}]
    open_fail = [c for c in failed if not _waived(c, waivers)]
    waived = tuple(sorted({_name(c) for c in failed if _waived(c, waivers)}))
    if open_fail:
        names = tuple(sorted({_name(c) for c in open_fail}))
        sentence = FAILING.format(kind=req.kind, id=facts.id, checks=", ".join(names))
        return RequirementStatus(
            status="failing",
            sentence=sentence,
            failing=names,
            waived=waived,
            **ident,
            **base,
        )
    if waived:
        sentence = f"The {req.kind} evidence (#{facts.id}) fails {', '.join(waived)}, waived."
        return RequirementStatus(status="waived", sentence=sentence, waived=waived, **ident, **base)
    return RequirementStatus(
        status="ok",
        sentence=f"The {req.kind} evidence (#{facts.id}) meets the policy.",
        **ident,
        **base,
    )


def _name(check: Mapping[str, Any]) -> str:
    feature = check.get("feature")
    return f"{check_key(check)} ({feature})" if feature else check_key(check)


def judge_requirements(
    requirements: Sequence[EvidenceRequirement],
    *,
    evidence: Mapping[str, EvidenceFacts],
    card: Mapping[str, Any],
    datasets_without_provenance: Sequence[str],
    waivers: Iterable[str],
    now: datetime,
) -> list[RequirementStatus]:
    """Each requirement's standing, in the policy's order."""
    waiver_set = set(waivers)
    out = []
    for req in requirements:
        if req.kind == "card_fields":
            empty = [f for f in req.fields if not str(card.get(f) or "").strip()]
            out.append(
                RequirementStatus(
                    kind=req.kind,
                    status="missing" if empty else "ok",
                    sentence=CARD_MISSING.format(fields=", ".join(empty))
                    if empty
                    else "The model card has every field the policy requires.",
                    requirement=req.to_dict(),
                )
            )
        elif req.kind == "data_provenance":
            names = list(datasets_without_provenance)
            out.append(
                RequirementStatus(
                    kind=req.kind,
                    status="missing" if names else "ok",
                    sentence=NO_PROVENANCE.format(datasets=", ".join(names))
                    if names
                    else "Every dataset's provenance is recorded.",
                    requirement=req.to_dict(),
                )
            )
        else:
            out.append(_judge_evidence(req, evidence.get(req.kind), waiver_set, now))
    return out
