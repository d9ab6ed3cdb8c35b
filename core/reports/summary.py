"""The executive summary: one page a business reader can act on, drawn from the gathered data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.reports.format import estimate
from core.reports.gather import ReportData

__all__ = ["ExecutiveSummary", "executive_summary"]

DECISIONS = ("approve", "reject")


@dataclass(frozen=True)
class ExecutiveSummary:
    """Gate states, the last decision and who signed it, key results, limitations, findings."""

    gates: list[dict[str, Any]]
    decision: dict[str, Any] | None
    key_results: list[tuple[str, str]]
    limitations: str
    restrictions: str
    open_findings: int
    blocking_findings: int
    waivers: list[dict[str, Any]] = field(default_factory=list)


def _checks(results: dict[str, Any]) -> list[dict[str, Any]]:
    return list(results.get("checks") or []) + [
        c for f in results.get("features", []) for c in f.get("checks", [])
    ]


def executive_summary(data: ReportData) -> ExecutiveSummary:
    """What the cover page says."""
    gates = []
    decisions = []
    waivers = []
    for gate in data.gates.gates:
        last = next((s for s in reversed(gate.signatures) if s.act in DECISIONS), None)
        gates.append({"title": gate.title, "state": gate.state, "last": last})
        decisions += [(s, gate.title) for s in gate.signatures if s.act in DECISIONS]
        waivers += [{"gate": gate.title, **w} for w in gate.waivers]
    decision = None
    if decisions:
        signature, title = max(decisions, key=lambda pair: pair[0].signed_at)
        decision = {"signature": signature, "gate": title}
    results: list[tuple[str, str]] = []
    if data.performance is not None:
        for check in _checks(data.performance.results):
            results.append((f"{check['label']} {estimate(check.get('value'))}", check["status"]))
    else:
        results.append(("No performance evidence recorded.", "missing"))
    if data.fairness is not None:
        for check in _checks(data.fairness.results):
            if check["status"] != "pass":
                where = f" for {check['feature']}" if check.get("feature") else ""
                sign = "≥" if check.get("direction") == "at_least" else "≤"
                results.append(
                    (
                        f"{check['label']}{where}: {estimate(check.get('value'))}, "
                        f"policy {sign} {check['threshold']}",
                        check["status"],
                    )
                )
        if all(c["status"] == "pass" for c in _checks(data.fairness.results)):
            results.append(("Every fairness check passes.", "pass"))
    else:
        results.append(("No fairness evidence recorded.", "missing"))
    if data.explanation is not None:
        top = [i["feature"] for i in data.explanation.results.get("global_importance", [])][:3]
        names = ", ".join(data.vocabulary.feature(f) for f in top)
        results.append((f"Most influential inputs: {names}.", data.explanation.status or ""))
    else:
        results.append(("No explanation evidence recorded.", "missing"))
    card = data.card
    return ExecutiveSummary(
        gates=gates,
        decision=decision,
        key_results=results,
        limitations=str(card.get("assumptions_limitations") or ""),
        restrictions=str(card.get("restrictions") or ""),
        open_findings=len([f for f in data.findings.entries if f.get("open")]),
        blocking_findings=len([f for f in data.findings.entries if f.get("blocks")]),
        waivers=waivers,
    )
