"""Governance policy packs: parse a YAML pack and check every field, collecting every problem.

A pack says, per risk tier, which lifecycle gates apply (in order), their RACI, the evidence each
requires and its thresholds, segregation-of-duties rules, the review cadence and what each
governance consideration asks for; it also carries the risk method (questions, weights, score
levels, tier matrix). Problems name the file, line and key, so a refusal can be fixed in one pass.
Pure: text in, a frozen ``PolicyPack`` out.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from core.errors import InputProblems
from core.rules.method_checks import check_method
from core.rules.policy_checks import (
    CONSIDERATIONS,
    EVIDENCE_KINDS,
    FAIRNESS_CHECKS,
    GATES,
    MISSING_TIER,
    PERFORMANCE_METRICS,
    UNKNOWN_CONTEXT,
    UNKNOWN_QUESTION,
    UNKNOWN_TIER,
    Problems,
    Vocabulary,
    check_gates,
    check_thresholds,
    fields,
)
from core.rules.risk import TIERS, RiskMethod

__all__ = [
    "CONSIDERATIONS",
    "EVIDENCE_KINDS",
    "FAIRNESS_CHECKS",
    "GATES",
    "PERFORMANCE_METRICS",
    "PolicyPack",
    "Vocabulary",
    "diff_packs",
    "parse_pack",
]

YAML_SYNTAX = "the file is not valid YAML ({problem}); fix the syntax there."
TOP_FIELDS = ("name", "method", "tiers")
TOP_OPTIONAL = ("description", "unassessed_tier", "deployment_contexts", "thresholds")
TIER_FIELDS = ("review_every_days", "thresholds", "gates", "considerations")
TIER_OPTIONAL = ("description", "segregation")


@dataclass(frozen=True)
class PolicyPack:
    """A checked pack: ``data`` is the normalised pack (defaults filled in), ``method`` the risk
    method built from it. Read it through the methods; it never changes."""

    data: Mapping[str, Any]
    method: RiskMethod
    _gates: dict[tuple[str, str | None], list[dict[str, Any]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def unassessed_tier(self) -> str:
        return str(self.data["unassessed_tier"])

    def tier(self, tier: str) -> Mapping[str, Any]:
        return self.data["tiers"][tier]  # type: ignore[no-any-return]

    def review_every_days(self, tier: str) -> int:
        return int(self.tier(tier)["review_every_days"])

    def thresholds(self, tier: str) -> Mapping[str, Any]:
        return self.tier(tier)["thresholds"]  # type: ignore[no-any-return]

    def context_of(self, answers: Mapping[str, Any]) -> str | None:
        """The deployment context an assessment's answers name (None if the pack has none)."""
        question = (self.data.get("deployment_contexts") or {}).get("question")
        value = answers.get(question) if question else None
        return None if value is None else str(value)

    def gates(self, tier: str, context: str | None = None) -> list[dict[str, Any]]:
        """The tier's gates in order, with the deployment context's additions and drops.

        Computed once per tier and context (the pack never changes); treat the result as
        read-only.
        """
        key = (tier, context)
        if key not in self._gates:
            self._gates[key] = self._adjusted_gates(tier, context)
        return self._gates[key]

    def _adjusted_gates(self, tier: str, context: str | None) -> list[dict[str, Any]]:
        adjust = (self.data.get("deployment_contexts") or {}).get(context or "", {})
        dropped = set(adjust.get("drop_gates", []))
        out = []
        for gate in self.tier(tier)["gates"]:
            if gate["id"] in dropped:
                continue
            gate = copy.deepcopy(gate)
            drop_kinds = set(adjust.get("drop_evidence", {}).get(gate["id"], []))
            gate["evidence"] = [e for e in gate["evidence"] if e["kind"] not in drop_kinds]
            gate["evidence"] += copy.deepcopy(adjust.get("add_evidence", {}).get(gate["id"], []))
            out.append(gate)
        return out

    def raci_grid(self, tier: str) -> dict[str, dict[str, str]]:
        """Role → gate → its letters at that gate ("R", "A", "RA", "C", "I", or "")."""
        roles: dict[str, dict[str, str]] = {}
        for gate in self.tier(tier)["gates"]:
            letters = {
                "R": gate["responsible"],
                "A": [gate["accountable"]],
                "C": gate["consulted"],
                "I": gate["informed"],
            }
            for letter, holders in letters.items():
                for role in holders:
                    cell = roles.setdefault(role, {})
                    cell[gate["id"]] = cell.get(gate["id"], "") + letter
        return roles

    def to_dict(self) -> dict[str, Any]:
        """The whole pack as data, each gate's evidence carrying the thresholds it is judged by."""
        data = copy.deepcopy(dict(self.data))
        for name, tier in data["tiers"].items():
            for gate in tier["gates"]:
                for requirement in gate["evidence"]:
                    requirement["thresholds"] = _requirement_thresholds(
                        requirement, self.thresholds(name)
                    )
        return data


def _requirement_thresholds(
    requirement: Mapping[str, Any], thresholds: Mapping[str, Any]
) -> dict[str, Any]:
    if requirement["kind"] == "performance":
        names = {m: PERFORMANCE_METRICS[m] for m in requirement.get("metrics", [])}
        return {m: thresholds["performance"][t] for m, t in names.items()}
    if requirement["kind"] == "fairness":
        names = {c: FAIRNESS_CHECKS[c] for c in requirement.get("checks", [])}
        out = {c: thresholds["fairness"][t] for c, t in names.items()}
        out["min_group_size"] = thresholds["fairness"]["min_group_size"]
        out["judged_on"] = thresholds["fairness"]["judged_on"]
        return out
    return {}


def _load(text: str, problems: Problems) -> Any:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        problems.index(node, ())
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        reason = getattr(err, "problem", None) or str(err)
        problems.add((), YAML_SYNTAX.format(problem=reason), line=mark.line + 1 if mark else 1)
        return None
    finally:
        loader.dispose()


def _check_tiers(data: Mapping[str, Any], problems: Problems, vocabulary: Vocabulary) -> None:
    tiers = data.get("tiers")
    if not problems.expect(("tiers",), tiers, dict, "a mapping of tier names to their policy"):
        return
    assert isinstance(tiers, dict)
    for name in TIERS:
        if name not in tiers:
            problems.add(("tiers",), MISSING_TIER.format(tier=name, tiers=", ".join(TIERS)))
    for name, tier in tiers.items():
        path = ("tiers", name)
        if name not in TIERS:
            problems.add(path, UNKNOWN_TIER.format(tier=name, tiers=", ".join(TIERS)))
            continue
        if not problems.expect(path, tier, dict, "a mapping of the tier's fields"):
            continue
        fields(problems, path, tier, TIER_FIELDS, TIER_OPTIONAL)
        days = tier.get("review_every_days")
        if "review_every_days" in tier and not problems.whole(
            (*path, "review_every_days"), days, 1
        ):
            tier["review_every_days"] = 365
        check_thresholds(problems, (*path, "thresholds"), tier.get("thresholds"))
        check_gates(problems, (*path, "gates"), tier.get("gates"), vocabulary)
        considerations = tier.get("considerations")
        if problems.expect((*path, "considerations"), considerations, dict, "a mapping"):
            fields(problems, (*path, "considerations"), considerations, tuple(CONSIDERATIONS), ())
        seg = tier.setdefault("segregation", {})
        if problems.expect((*path, "segregation"), seg, dict, "a mapping"):
            seg.setdefault("registrant_may_not_approve_validation", True)
            seg.setdefault("validator_differs_from_developer", True)
            seg.setdefault("min_distinct_people_per_gate", 1)
            fields(problems, (*path, "segregation"), seg, tuple(seg), ())
            problems.whole(
                (*path, "segregation", "min_distinct_people_per_gate"),
                seg["min_distinct_people_per_gate"],
                1,
            )


def _check_contexts(data: Mapping[str, Any], problems: Problems) -> None:
    contexts = data.get("deployment_contexts")
    if contexts is None:
        return
    path = ("deployment_contexts",)
    if not problems.expect(path, contexts, dict, "a mapping of context values to adjustments"):
        return
    if problems.method is None:
        return  # the method's own problems are reported; contexts are checked against it
    qid = contexts.get("question")
    question = problems.method.question(str(qid))
    if question is None:
        problems.add((*path, "question"), UNKNOWN_QUESTION.format(question=qid))
    values = {c.value for c in question.choices} if question else set()
    for value, adjust in contexts.items():
        if value == "question":
            continue
        if question is not None and value not in values:
            problems.add(
                (*path, value),
                UNKNOWN_CONTEXT.format(value=value, values=", ".join(sorted(values))),
            )
        if not problems.expect((*path, value), adjust, dict, "a mapping"):
            continue
        fields(
            problems, (*path, value), adjust, (), ("drop_gates", "add_evidence", "drop_evidence")
        )
        for gate in adjust.get("drop_gates", []) or []:
            if gate not in GATES:
                problems.add((*path, value, "drop_gates"), problems.unknown_gate(gate))
        for key in ("add_evidence", "drop_evidence"):
            for gate, items in (adjust.get(key) or {}).items():
                where = (*path, value, key, gate)
                if gate not in GATES:
                    problems.add(where, problems.unknown_gate(gate))
                if key == "add_evidence":
                    problems.evidence_list(where, items)


def parse_pack(text: str, *, filename: str, vocabulary: Vocabulary) -> PolicyPack:
    """Parse and check a pack; raise InputProblems listing every problem (file, line, key).

    Example: ``parse_pack(path.read_text(), filename=path.name, vocabulary=vocab)``.
    """
    problems = Problems(filename)
    data = _load(text, problems)
    if problems.items:
        raise InputProblems(problems.items)
    if not problems.expect((), data, dict, "a mapping of fields (name, method, tiers)"):
        raise InputProblems(problems.items)
    assert isinstance(data, dict)
    fields(problems, (), data, TOP_FIELDS, TOP_OPTIONAL)
    problems.method = check_method(problems, ("method",), data.get("method"))
    data.setdefault("description", "")
    data.setdefault("unassessed_tier", "high")
    data.pop("thresholds", None)  # a place for anchors; the tiers hold the thresholds in force
    if data["unassessed_tier"] not in TIERS:
        problems.add(
            ("unassessed_tier",),
            UNKNOWN_TIER.format(tier=data["unassessed_tier"], tiers=", ".join(TIERS)),
        )
    _check_tiers(data, problems, vocabulary)
    _check_contexts(data, problems)
    if problems.items or problems.method is None:
        raise InputProblems(problems.items)
    return PolicyPack(data=data, method=problems.method)


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        for i, item in enumerate(value):
            label = item.get("id", item.get("kind", i))
            _flatten(item, f"{prefix}[{label}]", out)
    else:
        out[prefix] = value


def diff_packs(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What changed between two packs' data, one row per changed leaf: key, old and new value
    (None where the key is absent on that side), keys sorted."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    _flatten(old, "", before)
    _flatten(new, "", after)
    return [
        {"key": key, "old": before.get(key), "new": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]
