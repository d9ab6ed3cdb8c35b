"""What changed since a gate was signed: the evidence, card fields and key numbers that moved.

The gate page's "changes since sign-off" and the stale reason both read these sentences, made
from the signed manifest and the version's facts as they are now.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from core.rules.gate_evidence import check_key
from core.rules.gates import GateSpec
from core.services.gate_facts import VersionFacts, stored_checks
from core.tables import Evidence

__all__ = ["changes_since_signoff"]


def _check_values(session: Session, evidence_id: int) -> dict[str, tuple[str, float | None]]:
    row = session.get(Evidence, evidence_id)
    if row is None:
        return {}
    checks = stored_checks(row.results_json)
    out = {}
    for c in checks:
        label = c.get("label") or check_key(c)
        where = f" for {c['feature']}" if c.get("feature") else ""
        out[f"{check_key(c)}|{c.get('feature')}"] = (
            f"{label}{where}",
            (c.get("value") or {}).get("value"),
        )
    return out


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}" if abs(value) >= 0.01 else f"{value:.3g}"


def changes_since_signoff(
    session: Session, signed: Mapping[str, Any], facts: VersionFacts, spec: GateSpec
) -> list[str]:
    """What changed since a signature's manifest, in sentences with key numbers moved."""
    changes: list[str] = []
    now = facts.evidence_manifest(e.kind for e in spec.evidence)
    for kind, old in signed.get("evidence", {}).items():
        new = now.get(kind)
        if new is None or new["sha256"] == old["sha256"]:
            continue
        changes.append(f"{kind} evidence #{old['evidence_id']} → #{new['evidence_id']}")
        before = _check_values(session, old["evidence_id"])
        after = _check_values(session, new["evidence_id"])
        for key, (label, value) in after.items():
            if key in before and before[key][1] != value:
                changes.append(f"{label} {_fmt(before[key][1])} → {_fmt(value)}")
    for kind in now.keys() - signed.get("evidence", {}).keys():
        changes.append(f"new {kind} evidence #{now[kind]['evidence_id']}")
    card_now = facts.card_fields(signed.get("card", {}).keys())
    for name, value in signed.get("card", {}).items():
        if card_now.get(name) != value:
            changes.append(f"card field {name} edited")
    return changes
