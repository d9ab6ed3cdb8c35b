"""The field-by-field checks of a policy pack, and the vocabulary a pack may use.

Every problem is one sentence prefixed with the file, line and key it concerns
("pack.yaml, line 12, tiers.high.gates[3].accountable: ..."); checks fill defaults in place so
that a valid pack comes out normalised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from core.rules.monitoring_policy import monitoring_problems
from core.rules.risk import RiskMethod

__all__ = [
    "CONSIDERATIONS",
    "EVIDENCE_KINDS",
    "FAIRNESS_CHECKS",
    "GATES",
    "PERFORMANCE_METRICS",
    "Problems",
    "Vocabulary",
    "check_gates",
    "check_thresholds",
    "fields",
]

#: The lifecycle gates, in lifecycle order (identifiers used by the CLI, URLs and gates).
GATES = (
    "business_scoping",
    "ideation",
    "development",
    "validation",
    "preproduction",
    "deployment",
    "monitoring",
)
#: The nine governance considerations a policy sets per tier, with their names on screen.
CONSIDERATIONS = {
    "reproducibility_traceability": "Reproducibility and traceability",
    "audit_documentation": "Audit and documentation",
    "human_sign_off": "Human sign-off",
    "preproduction_verification": "Preproduction verification",
    "transparency_explainability": "Transparency and explainability",
    "bias_harm_testing": "Bias and harm testing",
    "deployment_mode": "Production deployment mode",
    "production_monitoring": "Production monitoring",
    "data_quality_compliance": "Data quality and compliance",
}
EVIDENCE_KINDS = (
    "performance",
    "fairness",
    "explanation",
    "card_fields",
    "data_provenance",
    "production_data_check",
)
#: Performance metric a gate may require → the threshold that judges it.
PERFORMANCE_METRICS = {"roc_auc": "min_roc_auc", "brier_score": "max_brier_score", "r2": "min_r2"}
#: Fairness check a gate may require → the threshold that judges it.
FAIRNESS_CHECKS = {
    "selection_rate_ratio": "min_selection_rate_ratio",
    "demographic_parity_difference": "max_demographic_parity_difference",
    "equalized_odds_difference": "max_equalized_odds_difference",
    "true_positive_rate_gap": "max_true_positive_rate_gap",
}
# Threshold name → (kind of bound, may be null). Ratios and rates lie in [0, 1].
_THRESHOLDS: dict[str, dict[str, tuple[str, bool]]] = {
    "performance": {
        "min_roc_auc": ("ratio", True),
        "max_brier_score": ("ratio", True),
        "min_r2": ("at_most_one", True),
    },
    "fairness": {
        "min_selection_rate_ratio": ("ratio", False),
        "max_demographic_parity_difference": ("ratio", False),
        "max_equalized_odds_difference": ("ratio", False),
        "max_true_positive_rate_gap": ("ratio", True),
        "min_group_size": ("size", False),
    },
}
JUDGED_ON = ("point_estimate",)

PROBLEM = "{file}, line {line}, {key}: {message}"
WRONG_TYPE = "expected {expected}, found {found!r}."
MISSING_FIELD = "the required field {field!r} is missing; add it."
UNKNOWN_FIELD = "unknown field {field!r}; use only: {allowed}."
NO_ACCOUNTABLE = (
    "gate {gate} has no Accountable role; name exactly one (e.g. accountable: model_owner)."
)
TWO_ACCOUNTABLE = "gate {gate} has {count} Accountable roles ({roles}); name exactly one."
UNKNOWN_ROLE = "unknown role {role!r}; use one of: {roles}."
UNKNOWN_GATE = "unknown gate {gate!r}; use one of: {gates}."
DUPLICATE_GATE = "gate {gate} appears twice in this tier; list each gate once."
GATE_ORDER = "the gates are not in lifecycle order; list them as: {order}."
UNKNOWN_STAGE = "unknown stage {stage!r}; use one of: {stages}."
UNKNOWN_KIND = "unknown evidence kind {kind!r}; use one of: {kinds}."
UNKNOWN_METRIC = "unknown performance metric {metric!r}; use one of: {metrics}."
UNKNOWN_CHECK = "unknown fairness check {check!r}; use one of: {checks}."
UNKNOWN_CARD_FIELD = "unknown card field {field!r}; use one of: {fields}."
NOT_A_RATIO = "{name} is {value!r}, outside 0 to 1; a ratio or rate lies between 0 and 1."
ABOVE_ONE = "{name} is {value!r}; R² is at most 1."
NOT_WHOLE = "{name} is {value!r}; it must be a whole number of at least {minimum}."
NO_VALUE = "{name} has no value; give a number (only optional checks may be null)."
BAD_JUDGED_ON = (
    "judged_on is {value!r}; the fairness checks judge the point estimate, so use point_estimate "
    "(judging an interval's bound is not available yet)."
)
MISSING_TIER = "tier {tier!r} is missing; define every tier: {tiers}."
UNKNOWN_TIER = "unknown tier {tier!r}; use one of: {tiers}."
UNKNOWN_QUESTION = "the question {question!r} is not in the method's questions; name one of them."
UNKNOWN_CONTEXT = (
    "{value!r} is not a choice of the deployment context question; use one of: {values}."
)

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Vocabulary:
    """The names a pack may use that the rest of Gatehouse defines: roles, stages, card fields."""

    roles: tuple[str, ...]
    stages: tuple[str, ...]
    card_fields: tuple[str, ...]


def _render(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(pack)"


class Problems:
    """The problems found so far, and the line of every key in the file."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.items: list[str] = []
        self.lines: dict[Path, int] = {}
        self.method: RiskMethod | None = None
        self.missing: set[Path] = set()  # fields already reported missing: said once

    def index(self, node: yaml.Node, path: Path) -> None:
        """Record the line of every key and list item under ``node``."""
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                self.lines.setdefault(child, key.start_mark.line + 1)
                self.index(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.index(item, (*path, i))

    def add(self, path: Path, message: str, line: int | None = None) -> None:
        if line is None:
            probe = path
            while probe and probe not in self.lines:
                probe = probe[:-1]
            line = self.lines.get(probe, 1)
        key = _render(path)
        self.items.append(PROBLEM.format(file=self.filename, line=line, key=key, message=message))

    def expect(self, path: Path, value: Any, kind: type | tuple[type, ...], expected: str) -> bool:
        if isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool)):
            return True
        if value is None and path in self.missing:
            return False
        self.add(path, WRONG_TYPE.format(expected=expected, found=value))
        return False

    def whole(self, path: Path, value: Any, minimum: int, name: str | None = None) -> bool:
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            return True
        label = name or str(path[-1])
        self.add(path, NOT_WHOLE.format(name=label, value=value, minimum=minimum))
        return False

    def unknown_gate(self, gate: Any) -> str:
        return UNKNOWN_GATE.format(gate=gate, gates=", ".join(GATES))

    def evidence_list(self, path: Path, items: Any, vocabulary: Vocabulary | None = None) -> None:
        """Check (and normalise) a list of evidence requirements."""
        if not self.expect(path, items, list, "a list of evidence requirements"):
            return
        for i, item in enumerate(items):
            _check_requirement(self, (*path, i), item, vocabulary)


def fields(
    problems: Problems,
    path: Path,
    mapping: Mapping[str, Any],
    required: Sequence[str],
    optional: Sequence[str],
) -> None:
    """Report required fields that are missing and fields that are unknown."""
    for name in required:
        if name not in mapping:
            problems.add(path, MISSING_FIELD.format(field=name))
            problems.missing.add((*path, name))
    allowed = (*required, *optional)
    for name in mapping:
        if name not in allowed:
            problems.add(
                (*path, name), UNKNOWN_FIELD.format(field=name, allowed=", ".join(allowed))
            )


_REQUIREMENT_FIELDS = {
    "performance": ("metrics",),
    "fairness": ("checks",),
    "card_fields": ("fields",),
}


def _check_names(
    problems: Problems, path: Path, names: Any, known: Sequence[str], message: str, key: str
) -> None:
    if not problems.expect(path, names, list, "a list of names"):
        return
    for i, name in enumerate(names):
        if name not in known:
            problems.add((*path, i), message.format(**{key: name}, **{key + "s": ", ".join(known)}))


def _check_requirement(
    problems: Problems, path: Path, item: Any, vocabulary: Vocabulary | None
) -> None:
    if not problems.expect(path, item, dict, "a mapping with a kind"):
        return
    kind = item.get("kind")
    if kind not in EVIDENCE_KINDS:
        problems.add(
            (*path, "kind"), UNKNOWN_KIND.format(kind=kind, kinds=", ".join(EVIDENCE_KINDS))
        )
        return
    extra = _REQUIREMENT_FIELDS.get(kind, ())
    fields(problems, path, item, ("kind", *extra), ("stale_after_days",))
    stale = item.setdefault("stale_after_days", None)
    if stale is not None:
        problems.whole((*path, "stale_after_days"), stale, 1)
    if kind == "performance":
        _check_names(
            problems, (*path, "metrics"), item.get("metrics", []), tuple(PERFORMANCE_METRICS),
            UNKNOWN_METRIC, "metric",
        )  # fmt: skip
    elif kind == "fairness":
        _check_names(
            problems, (*path, "checks"), item.get("checks", []), tuple(FAIRNESS_CHECKS),
            UNKNOWN_CHECK, "check",
        )  # fmt: skip
    elif kind == "card_fields" and vocabulary is not None:
        _check_names(
            problems, (*path, "fields"), item.get("fields", []), vocabulary.card_fields,
            UNKNOWN_CARD_FIELD, "field",
        )  # fmt: skip


def _check_roles(problems: Problems, path: Path, roles: Any, vocabulary: Vocabulary) -> list[str]:
    if isinstance(roles, str):
        roles = [roles]
    if not problems.expect(path, roles, list, "a list of roles"):
        return []
    for i, role in enumerate(roles):
        if role not in vocabulary.roles:
            problems.add(
                (*path, i) if len(roles) > 1 or not isinstance(roles, str) else path,
                UNKNOWN_ROLE.format(role=role, roles=", ".join(vocabulary.roles)),
            )
    return list(roles)


_GATE_REQUIRED = ("id", "responsible")  # a missing accountable gets its own sentence
_GATE_OPTIONAL = (
    "accountable",
    "consulted",
    "informed",
    "approvers",
    "consulted_objection_blocks",
    "unlocks_stage",
    "evidence",
)


def _check_gate(
    problems: Problems, path: Path, gate: dict[str, Any], vocabulary: Vocabulary
) -> None:
    gid = gate.get("id")
    fields(problems, path, gate, _GATE_REQUIRED, _GATE_OPTIONAL)
    for key in ("responsible", "consulted", "informed"):
        gate[key] = _check_roles(problems, (*path, key), gate.get(key, []), vocabulary)
    accountable = gate.get("accountable")
    roles = (
        []
        if accountable is None
        else accountable
        if isinstance(accountable, list)
        else [accountable]
    )
    if not roles:
        problems.add((*path, "accountable"), NO_ACCOUNTABLE.format(gate=gid))
    elif len(roles) > 1:
        problems.add(
            (*path, "accountable"),
            TWO_ACCOUNTABLE.format(gate=gid, count=len(roles), roles=", ".join(map(str, roles))),
        )
    else:
        _check_roles(problems, (*path, "accountable"), roles[0], vocabulary)
    gate["accountable"] = roles[0] if len(roles) == 1 else None
    problems.whole((*path, "approvers"), gate.setdefault("approvers", 1), 1)
    blocks = gate.setdefault("consulted_objection_blocks", False)
    problems.expect((*path, "consulted_objection_blocks"), blocks, bool, "true or false")
    stage = gate.setdefault("unlocks_stage", None)
    if stage is not None and stage not in vocabulary.stages:
        problems.add(
            (*path, "unlocks_stage"),
            UNKNOWN_STAGE.format(stage=stage, stages=", ".join(vocabulary.stages)),
        )
    problems.evidence_list((*path, "evidence"), gate.setdefault("evidence", []), vocabulary)


def check_gates(problems: Problems, path: Path, gates: Any, vocabulary: Vocabulary) -> None:
    """A tier's gates: known, each once, in lifecycle order, with a valid RACI and evidence."""
    if not problems.expect(path, gates, list, "a list of gates"):
        return
    seen: list[str] = []
    for i, gate in enumerate(gates):
        if not problems.expect((*path, i), gate, dict, "a mapping with the gate's id and RACI"):
            continue
        gid = gate.get("id")
        if gid not in GATES:
            problems.add((*path, i, "id"), problems.unknown_gate(gid))
        elif gid in seen:
            problems.add((*path, i, "id"), DUPLICATE_GATE.format(gate=gid))
        else:
            seen.append(gid)
        _check_gate(problems, (*path, i), gate, vocabulary)
    if seen != sorted(seen, key=GATES.index):
        problems.add(path, GATE_ORDER.format(order=", ".join(sorted(seen, key=GATES.index))))


def _check_threshold(
    problems: Problems, path: Path, name: str, rule: tuple[str, bool], entry: Any
) -> None:
    if not problems.expect(path, entry, dict, "a mapping with value and basis"):
        return
    fields(problems, path, entry, ("value", "basis"), ())
    problems.expect((*path, "basis"), entry.get("basis", ""), str, "a sentence")
    value = entry.get("value")
    bound, nullable = rule
    if value is None:
        if not nullable and "value" in entry:
            problems.add((*path, "value"), NO_VALUE.format(name=name))
        return
    if bound == "size":
        problems.whole((*path, "value"), value, 1, name)
    elif not problems.expect((*path, "value"), value, (int, float), "a number"):
        return
    elif bound == "ratio" and not 0 <= value <= 1:
        problems.add((*path, "value"), NOT_A_RATIO.format(name=name, value=value))
    elif bound == "at_most_one" and value > 1:
        problems.add((*path, "value"), ABOVE_ONE.format(name=name, value=value))


def check_thresholds(problems: Problems, path: Path, thresholds: Any) -> None:
    """Every threshold present, each value within its range, each with its basis."""
    if not problems.expect(path, thresholds, dict, "a mapping with performance and fairness"):
        return
    fields(problems, path, thresholds, tuple(_THRESHOLDS), ("monitoring",))
    for where, message in monitoring_problems(thresholds.setdefault("monitoring", {})):
        problems.add((*path, "monitoring", *where), message)
    for part, rules in _THRESHOLDS.items():
        block = thresholds.get(part)
        if not isinstance(block, dict):
            if part in thresholds:
                problems.expect((*path, part), block, dict, "a mapping of thresholds")
            continue
        optional = ("judged_on",) if part == "fairness" else ()
        fields(problems, (*path, part), block, tuple(rules), optional)
        if part == "fairness":
            judged = block.setdefault("judged_on", "point_estimate")
            if judged not in JUDGED_ON:
                problems.add((*path, part, "judged_on"), BAD_JUDGED_ON.format(value=judged))
        for name, rule in rules.items():
            if name in block:
                _check_threshold(problems, (*path, part, name), name, rule, block[name])
