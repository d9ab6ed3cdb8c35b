"""Monitoring rules: the pack's monitoring thresholds, drift and decay checks, KPI targets."""

from __future__ import annotations

import pytest

from core.errors import InputProblems
from core.rules.drift_checks import decay_checks, drift_checks
from core.rules.kpis import kpi_checks, parse_kpi_targets
from core.rules.monitoring_policy import DEFAULT_MONITORING, monitoring_policy
from core.rules.thresholds import FairnessPolicy
from core.services.policy import shipped_pack, shipped_pack_text, validate_pack


def test_every_tier_of_the_shipped_pack_has_the_monitoring_defaults() -> None:
    pack = shipped_pack()
    for tier in ("low", "medium", "high", "critical"):
        assert pack.thresholds(tier)["monitoring"] == DEFAULT_MONITORING


def test_a_pack_without_monitoring_thresholds_gets_the_defaults() -> None:
    text = shipped_pack_text()
    start = text.index("  # Production batches:")
    end = text.index("tiers:")
    pack = validate_pack(text[:start] + "\n" + text[end:], filename="old.yaml")
    assert monitoring_policy(pack.thresholds("high")).value("max_psi") == 0.25


def test_bad_monitoring_thresholds_are_named_by_key() -> None:
    text = (
        shipped_pack_text()
        .replace("    max_psi:\n      value: 0.25", "    max_psi:\n      value: -1")
        .replace("    reopen_gate:\n      value: true", "    reopen_gate:\n      value: maybe")
    )
    with pytest.raises(InputProblems) as info:
        validate_pack(text, filename="bad.yaml")
    problems = info.value.problems
    assert any(
        "tiers.low.thresholds.monitoring.max_psi.value: max_psi is -1; it must be a number above 0."
        in p
        for p in problems
    )
    assert any("reopen_gate is 'maybe'; write true or false." in p for p in problems)


def _feature(**values: object) -> dict[str, object]:
    return {"feature": "income", "psi_reading": "significant", **values}


def test_drift_checks_judge_each_statistic_against_its_threshold() -> None:
    results = {
        "features": [
            _feature(
                psi=0.4,
                ks_statistic=0.05,
                ks_pvalue=0.001,
                missing_rate=0.1,
                reference_missing_rate=0.02,
            ),
        ],
        "score": {"feature": "score", "psi": 0.05, "psi_reading": "stable", "ks_statistic": 0.02},
        "groups": [
            {
                "column": "sex",
                "group": "f",
                "rows": 50,
                "reference_rows": 50,
                "score": {"feature": "g", "psi": 9.0},
            }
        ],
        "rows_out_of_range_share": 0.2,
    }
    checks = {(c["feature"], c["name"]): c for c in drift_checks(results, monitoring_policy())}
    assert checks[("income", "max_psi")]["status"] == "fail"
    assert checks[("income", "max_psi")]["sentence"] == (
        "PSI of income is 0.40, above the 0.25 maximum (significant shift)."
    )
    assert checks[("income", "max_ks_statistic")]["status"] == "pass"
    assert ("income", "min_ks_pvalue") not in checks  # null in the default policy: not checked
    assert checks[("income", "max_missing_rate_increase")]["status"] == "fail"
    assert checks[("score", "max_psi")]["status"] == "pass"
    assert checks[("the batch", "max_rows_out_of_range_share")]["status"] == "fail"
    assert not any(name == "g" for name, _ in checks)  # a group of 50 rows is too small to judge


def test_decay_checks_see_a_fall_from_evaluation_and_a_fairness_gap() -> None:
    production = {
        "metrics": {"roc_auc": 0.70, "accuracy": 0.80},
        "groups": {
            "sex": [
                {"group": "f", "rows": 100, "selection_rate": 0.3},
                {"group": "m", "rows": 100, "selection_rate": 0.5},
            ]
        },
    }
    checks = decay_checks(
        production=production, evaluation={"roc_auc": 0.80, "accuracy": 0.82},
        policy=monitoring_policy(), fairness=FairnessPolicy(),
    )  # fmt: skip
    by = {(c["feature"], c["label"].split(" from")[0]): c for c in checks}
    assert by[("the batch", "Fall of ROC AUC")]["status"] == "fail"
    assert by[("the batch", "Fall of ROC AUC")]["value"]["value"] == pytest.approx(0.10)
    assert by[("the batch", "Fall of accuracy")]["status"] == "pass"
    assert by[("sex", "Selection-rate ratio")]["value"]["value"] == pytest.approx(0.6)
    assert by[("sex", "Selection-rate ratio")]["status"] == "fail"


def test_kpi_targets_are_checked_and_every_problem_named() -> None:
    targets, problems = parse_kpi_targets(
        [
            {"name": "approval_rate", "better": "higher", "baseline": 0.5, "hurdle": 0.55},
            {"name": "default_rate", "better": "lower", "hurdle": "0.1"},
            {"name": "revenue", "better": "more", "hurdle": "lots", "colour": "red"},
            {"better": "higher"},
        ]
    )
    assert [t.name for t in targets] == ["approval_rate", "default_rate"]
    assert problems == [
        "KPI 'revenue' has unknown fields ['colour']; use only: name, measured_as, better, baseline, hurdle, unit.",
        "KPI 'revenue' says better is 'more'; write higher or lower.",
        "KPI 'revenue' has hurdle 'lots'; give a number.",
        "KPI target 4 has no name; name the KPI (e.g. approval_rate).",
    ]
    checks = {
        c["feature"]: c for c in kpi_checks({"approval_rate": 0.5, "default_rate": 0.09}, targets)
    }
    assert checks["approval_rate"]["status"] == "fail"
    assert (
        checks["approval_rate"]["sentence"]
        == "approval_rate is 0.5, below its hurdle of 0.55 (baseline 0.5)."
    )
    assert checks["default_rate"]["status"] == "pass"
