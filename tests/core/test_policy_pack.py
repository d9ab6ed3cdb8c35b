"""Policy packs: the shipped pack loads with the old defaults, and every bad pack is refused with
every problem named by file, line and key (exact sentences)."""

from __future__ import annotations

import pytest

from core.errors import InputProblems
from core.rules.policy_pack import GATES, diff_packs
from core.rules.thresholds import FairnessPolicy, PerformancePolicy
from core.services.policy import shipped_pack, shipped_pack_text, validate_pack

ROLES = (
    "admin, model_owner, developer, validator, risk_manager, sme, compliance, ml_engineer, auditor"
)


def _line(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line containing ``needle`` (computed independently of the parser)."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return hits[nth - 1]


def _problems(text: str) -> list[str]:
    with pytest.raises(InputProblems) as info:
        validate_pack(text, filename="bad.yaml")
    return info.value.problems


def test_the_shipped_pack_keeps_the_old_defaults_with_their_basis() -> None:
    pack = shipped_pack()
    fairness, performance = FairnessPolicy(), PerformancePolicy()
    for tier in ("low", "medium", "high", "critical"):
        thresholds = pack.thresholds(tier)
        for name, entry in thresholds["performance"].items():
            assert entry == {
                "value": getattr(performance, name),
                "basis": getattr(performance, f"{name}_basis"),
            }
        for name, entry in thresholds["fairness"].items():
            if name != "judged_on":
                assert entry == {
                    "value": getattr(fairness, name),
                    "basis": getattr(fairness, f"{name}_basis"),
                }
        ids = [g["id"] for g in pack.gates(tier)]
        assert ids == sorted(ids, key=GATES.index)
        assert all(isinstance(g["accountable"], str) for g in pack.gates(tier))
    assert [g["id"] for g in pack.gates("high")] == list(GATES)


def test_deployment_context_drops_and_adds() -> None:
    pack = shipped_pack()
    assert [g["id"] for g in pack.gates("critical", "self_service")] == [
        "business_scoping", "ideation", "development", "validation", "monitoring",
    ]  # fmt: skip
    pre = next(g for g in pack.gates("high", "public_web") if g["id"] == "preproduction")
    assert pre["evidence"][-1] == {"kind": "production_data_check", "stale_after_days": 90}
    plain = next(g for g in pack.gates("high") if g["id"] == "preproduction")
    assert "production_data_check" not in [e["kind"] for e in plain["evidence"]]


def test_show_data_carries_raci_and_thresholds() -> None:
    data = shipped_pack().to_dict()
    validation = next(g for g in data["tiers"]["critical"]["gates"] if g["id"] == "validation")
    assert validation["accountable"] == "risk_manager" and validation["approvers"] == 2
    assert validation["responsible"] == ["validator"]
    assert validation["consulted"] == ["model_owner", "compliance", "sme"]
    fairness = next(e for e in validation["evidence"] if e["kind"] == "fairness")
    assert fairness["thresholds"]["selection_rate_ratio"]["value"] == 0.8
    assert fairness["thresholds"]["judged_on"] == "point_estimate"


def test_raci_grid() -> None:
    grid = shipped_pack().raci_grid("high")
    assert grid["validator"]["validation"] == "R"
    assert (
        grid["risk_manager"]["validation"] == "A"
    )  # the validator does not approve their own work
    assert grid["compliance"]["validation"] == "C"
    assert grid["risk_manager"]["deployment"] == "A"
    assert grid["sme"]["validation"] == "I"


def test_gate_with_two_or_no_accountable_roles_and_unknown_role() -> None:
    text = shipped_pack_text()
    text = text.replace(
        "        accountable: risk_manager\n",
        "        accountable: [risk_manager, model_owner]\n",
        1,
    )
    text = text.replace(
        "      - id: deployment\n        responsible: [ml_engineer]\n        accountable: model_owner\n",
        "      - id: deployment\n        responsible: [ml_engineer]\n",
        1,
    )
    text = text.replace("consulted: [sme]", "consulted: [wizard]", 1)
    problems = _problems(text)
    assert problems == [
        f"bad.yaml, line {_line(text, '- id: deployment', 2)}, tiers.low.gates[2].accountable: gate "
        "deployment has no Accountable role; name exactly one (e.g. accountable: model_owner).",
        f"bad.yaml, line {_line(text, 'consulted: [wizard]')}, tiers.medium.gates[1].consulted[0]: "
        f"unknown role 'wizard'; use one of: {ROLES}.",
        f"bad.yaml, line {_line(text, 'accountable: [risk_manager, model_owner]')}, "
        "tiers.medium.gates[2].accountable: gate validation has 2 Accountable roles "
        "(risk_manager, model_owner); name exactly one.",
    ]


def test_unknown_gate_metric_evidence_kind_and_out_of_range_thresholds() -> None:
    text = shipped_pack_text()
    text = text.replace("      - id: ideation\n", "      - id: ideaton\n", 1)
    text = text.replace(
        "metrics: [roc_auc, r2], stale_after_days: 365}",
        "metrics: [roc_auc, f1], stale_after_days: 365}",
        1,
    )
    text = text.replace("- {kind: data_provenance}", "- {kind: lineage}", 1)
    text = text.replace(
        "    min_selection_rate_ratio:\n      value: 0.8",
        "    min_selection_rate_ratio:\n      value: 1.2",
        1,
    )
    text = text.replace(
        "    min_group_size:\n      value: 30", "    min_group_size:\n      value: -5", 1
    )
    problems = _problems(text)
    f1 = _line(text, "metrics: [roc_auc, f1]")
    lineage = _line(text, "{kind: lineage}")
    ratio = _line(text, "value: 1.2")
    size = _line(text, "value: -5")
    expected = [
        f"bad.yaml, line {f1}, tiers.low.gates[1].evidence[0].metrics[1]: unknown performance "
        "metric 'f1'; use one of: roc_auc, brier_score, r2.",
        f"bad.yaml, line {lineage}, tiers.low.gates[1].evidence[1].kind: unknown evidence kind "
        "'lineage'; use one of: performance, fairness, explanation, card_fields, "
        "data_provenance, production_data_check.",
        f"bad.yaml, line {ratio}, tiers.low.thresholds.fairness.min_selection_rate_ratio.value: "
        "min_selection_rate_ratio is 1.2, outside 0 to 1; a ratio or rate lies between 0 and 1.",
        f"bad.yaml, line {size}, tiers.low.thresholds.fairness.min_group_size.value: "
        "min_group_size is -5; it must be a whole number of at least 1.",
        f"bad.yaml, line {_line(text, '- id: ideaton')}, tiers.high.gates[1].id: unknown gate "
        f"'ideaton'; use one of: {', '.join(GATES)}.",
    ]
    for sentence in expected:
        assert sentence in problems


def test_missing_tier_matrix_gap_and_yaml_error() -> None:
    text = shipped_pack_text()
    start = text.index("  medium:\n    description")
    end = text.index("  high:\n    description")
    text = text[:start] + text[end:]
    text = text.replace(
        "    moderate: {low: low, moderate: medium, high: medium, very_high: high}\n",
        "    moderate: {low: low, moderate: medium, high: medium}\n",
    )
    problems = _problems(text)
    assert (
        f"bad.yaml, line {_line(text, 'tiers:')}, tiers: tier 'medium' is missing; define every tier: low, medium, high, critical."
        in problems
    )
    assert (
        f"bad.yaml, line {_line(text, '    moderate: {low: low')}, method.matrix.moderate: the tier "
        "matrix has no tier for materiality 'moderate' and complexity 'very_high'; add that cell."
    ) in problems

    broken = shipped_pack_text().replace(
        "  levels: [low, moderate, high, very_high]", "  levels: [low, moderate, high, very_high", 1
    )
    problems = _problems(broken)
    assert len(problems) == 1
    assert problems[0].startswith(
        f"bad.yaml, line {_line(broken, '  cutoffs:')}, (pack): the file is not valid YAML ("
    )


def test_diff_names_changed_keys() -> None:
    old = shipped_pack().data
    text = shipped_pack_text().replace("review_every_days: 180", "review_every_days: 120")
    new = validate_pack(text, filename="new.yaml").data
    assert diff_packs(old, new) == [{"key": "tiers.high.review_every_days", "old": 180, "new": 120}]


def test_lookup_helpers_for_gates() -> None:
    from core.services.policy import PolicyLookup

    lookup = PolicyLookup(
        model_id=1, policy_version=1, pack=shipped_pack(), tier="high", assessed=True, context=None
    )
    assert [g["id"] for g in lookup.gates_for_stage("preproduction")] == [
        "business_scoping", "ideation", "development", "validation",
    ]  # fmt: skip
    assert lookup.gates_for_stage("retired") == []
    assert lookup.gate("validation")["consulted_objection_blocks"] is True
    assert lookup.segregation()["min_distinct_people_per_gate"] == 2
    light = PolicyLookup(
        model_id=1,
        policy_version=1,
        pack=shipped_pack(),
        tier="high",
        assessed=True,
        context="self_service",
    )
    assert light.gate("deployment") is None


def test_every_shipped_gate_can_be_closed_by_people_apart() -> None:
    # Segregation of duties forbids submitting and approving one's own gate: a gate whose only
    # Responsible role is its Accountable role could never close without a second such person.
    pack = shipped_pack()
    for tier in ("low", "medium", "high", "critical"):
        for gate in pack.gates(tier, None):
            assert set(gate["responsible"]) - {gate["accountable"]}, (tier, gate["id"])
            assert gate["accountable"] not in (gate.get("consulted") or []), (tier, gate["id"])
            assert gate["accountable"] not in (gate.get("informed") or []), (tier, gate["id"])
