"""Which report section answers which regulatory requirement, and what is plainly missing.

Each requirement is judged on what the report holds: recorded, or named as missing in a short
phrase ("no accuracy by group recorded"). Completeness per regime is recorded over total.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.reports.gather import ReportData

__all__ = ["Regime", "Requirement", "regulatory_mapping"]


@dataclass(frozen=True)
class Requirement:
    """One requirement, the report section that answers it, and what is missing if anything."""

    code: str
    text: str
    section: str
    missing: str  # empty when recorded

    @property
    def recorded(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class Regime:
    """A regulation or framework with its requirements and how complete the record is."""

    name: str
    requirements: tuple[Requirement, ...]

    @property
    def recorded(self) -> int:
        return sum(r.recorded for r in self.requirements)

    @property
    def completeness(self) -> float:
        return self.recorded / len(self.requirements) if self.requirements else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "completeness": round(self.completeness, 4),
            "requirements": [
                {"code": r.code, "text": r.text, "section": r.section, "missing": r.missing}
                for r in self.requirements
            ],
        }


def _acts(data: ReportData, gate_id: str, *acts: str) -> list[Any]:
    return [
        s for g in data.gates.gates if g.gate_id == gate_id for s in g.signatures if s.act in acts
    ]


def _card(data: ReportData, key: str, missing: str) -> str:
    value = data.card.get(key)
    return "" if value not in (None, "", []) else missing


def _first(*missing: str) -> str:
    return next((m for m in missing if m), "")


def _grouped_accuracy(data: ReportData) -> str:
    if data.fairness is None:
        return "no accuracy by group recorded"
    groups = [g for f in data.fairness.results.get("features", []) for g in f.get("groups", [])]
    return "" if groups else "no accuracy by group recorded"


def _independence(data: ReportData) -> str:
    validator, developer = data.model.validator, data.model.developer
    if not validator:
        return "no validator named"
    if validator in (developer, data.version.registered_by):
        return "the validator also built or registered the model"
    return ""


def _has(value: object, missing: str) -> str:
    return "" if value else missing


Rule = Callable[[ReportData], str]

SR = "SR 11-7 / SR 26-2"
PRA = "PRA SS1/23"
EU = "EU AI Act Annex IV"
CARD = "Model Card"

_RULES: dict[str, tuple[tuple[str, str, str, Rule], ...]] = {
    SR: (
        (
            "CS",
            "Conceptual soundness",
            "2, 7",
            lambda d: _first(
                _card(d, "assumptions_limitations", "no assumptions recorded"),
                _has(d.explanation, "no explanation evidence recorded"),
            ),
        ),
        (
            "OM",
            "Ongoing monitoring",
            "8",
            lambda d: _has(_acts(d, "monitoring", "approve"), "no monitoring review recorded"),
        ),
        (
            "OA",
            "Outcomes analysis",
            "5",
            lambda d: _has(d.performance, "no performance evidence recorded"),
        ),
        (
            "LIM",
            "Limitations",
            "2",
            lambda d: _card(d, "assumptions_limitations", "no limitations recorded"),
        ),
        (
            "EC",
            "Effective challenge",
            "8",
            lambda d: _has(
                _acts(d, "validation", "approve", "reject", "opinion"),
                "no validation challenge recorded",
            ),
        ),
        ("VI", "Validator independence", "2, 8", _independence),
    ),
    PRA: (
        (
            "P1",
            "Model identification and classification",
            "1, 3",
            lambda d: _has(d.risk.get("current"), "no risk tier assessment recorded"),
        ),
        ("P2", "Governance", "3, 8", lambda d: _has(d.gates.gates, "no gates opened")),
        (
            "P3",
            "Model development, implementation and use",
            "2, 5",
            lambda d: _first(
                _card(d, "intended_use", "no intended use recorded"),
                _has(_acts(d, "development", "approve"), "no development sign-off recorded"),
            ),
        ),
        (
            "P4",
            "Independent model validation",
            "8",
            lambda d: _first(
                _independence(d),
                _has(
                    _acts(d, "validation", "approve"), "no independent validation approval recorded"
                ),
            ),
        ),
        (
            "P5",
            "Model risk mitigants",
            "2, 8, 9",
            lambda d: _card(d, "restrictions", "no restrictions on use recorded"),
        ),
    ),
    EU: (
        (
            "1",
            "General description and intended purpose",
            "1, 2",
            lambda d: _card(d, "intended_use", "no intended purpose recorded"),
        ),
        (
            "2",
            "Development process, data and design choices; tests dated and signed",
            "4, 5, 8",
            lambda d: _first(
                _has(all(d.provenance.values()) and d.provenance, "no data provenance recorded"),
                _has(d.performance, "no test results recorded"),
                _has(
                    [s for g in d.gates.gates for s in g.signatures if s.act == "approve"],
                    "no signed test report recorded",
                ),
            ),
        ),
        (
            "3",
            "Monitoring, functioning and control; human oversight",
            "2",
            lambda d: _card(d, "restrictions", "no human oversight measures recorded"),
        ),
        (
            "4",
            "Appropriateness of the performance metrics; accuracy for specific groups",
            "5, 6",
            _grouped_accuracy,
        ),
        (
            "5",
            "Risk management system",
            "3",
            lambda d: _has(d.risk.get("current"), "no risk assessment recorded"),
        ),
        (
            "6",
            "Changes over the lifecycle",
            "10",
            lambda d: _has(d.events, "no lifecycle changes recorded"),
        ),
        ("7", "Harmonised standards applied", "11", lambda d: "no harmonised standards recorded"),
        (
            "8",
            "EU declaration of conformity",
            "11",
            lambda d: "no declaration of conformity recorded",
        ),
        (
            "9",
            "Post-market monitoring plan",
            "8",
            lambda d: _has(
                _acts(d, "monitoring", "approve", "submit"),
                "no post-market monitoring plan recorded",
            ),
        ),
    ),
    CARD: (
        ("MD", "Model details", "1, 2", lambda d: _card(d, "developer", "no developer recorded")),
        (
            "IU",
            "Intended use and out-of-scope uses",
            "2",
            lambda d: _first(
                _card(d, "intended_use", "no intended use recorded"),
                _card(d, "out_of_scope_uses", "no out-of-scope uses recorded"),
            ),
        ),
        (
            "F",
            "Factors (groups, instrumentation)",
            "6",
            lambda d: _has(d.version.sensitive, "no sensitive attributes recorded"),
        ),
        ("M", "Metrics", "5", lambda d: _has(d.performance, "no metrics recorded")),
        (
            "ED",
            "Evaluation data",
            "4",
            lambda d: _has(d.version.eval_dataset, "no evaluation data recorded"),
        ),
        (
            "TD",
            "Training data",
            "4",
            lambda d: _has(d.version.train_dataset, "no training data recorded"),
        ),
        (
            "QA",
            "Quantitative analyses: disaggregated results with intervals",
            "6",
            _grouped_accuracy,
        ),
        (
            "EC",
            "Ethical considerations",
            "6",
            lambda d: _has(d.fairness, "no fairness evidence recorded"),
        ),
        (
            "CR",
            "Caveats and recommendations",
            "2",
            lambda d: _card(d, "assumptions_limitations", "no caveats recorded"),
        ),
    ),
}


def regulatory_mapping(data: ReportData) -> list[Regime]:
    """Every regime with each requirement judged on what the report holds."""
    return [
        Regime(
            name,
            tuple(
                Requirement(code, text, section, rule(data)) for code, text, section, rule in rules
            ),
        )
        for name, rules in _RULES.items()
    ]
