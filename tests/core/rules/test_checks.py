"""Checks: pass, fail, inconclusive and insufficient data on hand-built estimates and data, the
roll-up, and the performance checks as stored."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.domain import CheckStatus
from core.metrics.bootstrap import Estimate
from core.metrics.fairness import compute_fairness
from core.metrics.inputs import MetricInputError
from core.rules.checks import judge, overall_status
from core.rules.fairness_checks import OTHER_MIN_GROUP_SIZE, assess_fairness, check_fairness
from core.rules.performance_checks import performance_checks
from core.rules.sentences import PERFORMANCE_INCONCLUSIVE_SENTENCE
from core.rules.thresholds import FairnessPolicy, PerformancePolicy

PASS, FAIL = CheckStatus.passed, CheckStatus.failed
INCONCLUSIVE, INSUFFICIENT = CheckStatus.inconclusive, CheckStatus.insufficient_data


@pytest.mark.parametrize(
    ("estimate", "direction", "expected"),
    [
        # A minimum of 0.8 (at_least).
        (Estimate(0.90, 0.85, 0.95), "at_least", (PASS, PASS)),
        (Estimate(0.70, 0.60, 0.75), "at_least", (FAIL, FAIL)),
        (Estimate(0.78, 0.70, 0.86), "at_least", (INCONCLUSIVE, FAIL)),
        (Estimate(0.83, 0.79, 0.88), "at_least", (INCONCLUSIVE, PASS)),
        (Estimate(0.85, 0.80, 0.90), "at_least", (PASS, PASS)),  # lower end on the line: meets
        (Estimate(0.79), "at_least", (FAIL, FAIL)),  # no interval: the point decides
        (Estimate(None), "at_least", (INSUFFICIENT, None)),
        # A maximum of 0.8 (at_most).
        (Estimate(0.70, 0.60, 0.75), "at_most", (PASS, PASS)),
        (Estimate(0.78, 0.70, 0.86), "at_most", (INCONCLUSIVE, PASS)),
        (Estimate(0.90, 0.85, 0.95), "at_most", (FAIL, FAIL)),
    ],
)
def test_judge_on_hand_built_estimates(estimate, direction, expected) -> None:
    assert judge(estimate, 0.8, direction) == expected


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["pass", "inconclusive", "fail"], FAIL),
        (["pass", "inconclusive", "insufficient_data"], INCONCLUSIVE),
        (["pass", "insufficient_data"], INSUFFICIENT),
        (["pass", "pass"], PASS),
        ([], None),
    ],
)
def test_roll_up_is_the_least_favourable_status(statuses, expected) -> None:
    assert overall_status(statuses) == expected


def _hiring(hired_a: int, hired_b: int, size_a: int, size_b: int) -> dict[str, np.ndarray]:
    """Group A then group B, the first ``hired_*`` of each hired; outcomes alternate 0/1."""
    group = np.array(["A"] * size_a + ["B"] * size_b)
    hired = np.zeros(size_a + size_b, dtype=int)
    hired[:hired_a] = 1
    hired[size_a : size_a + hired_b] = 1
    return {"y_true": np.resize([0, 1], len(group)), "y_pred": hired, "group": group}


def _normal_interval(hired_a: int, hired_b: int, size_a: int, size_b: int) -> tuple[float, float]:
    """95% interval of rate_B / rate_A by the delta method, independent of the bootstrap."""
    a, b = hired_a / size_a, hired_b / size_b
    ratio = b / a
    relative = math.sqrt((1 - a) / (a * size_a) + (1 - b) / (b * size_b))
    return ratio * (1 - 1.96 * relative), ratio * (1 + 1.96 * relative)


@pytest.mark.parametrize(
    ("hired_a", "hired_b", "size_a", "size_b", "expected"),
    [
        (300, 156, 600, 400, (INCONCLUSIVE, FAIL)),  # 50% vs 39%: ratio 0.78, interval ±0.11
        (300, 168, 600, 400, (INCONCLUSIVE, PASS)),  # 50% vs 42%: ratio 0.84
        (3000, 1200, 6000, 4000, (FAIL, FAIL)),  # 50% vs 30%: ratio 0.60, interval ±0.04
        (3000, 1900, 6000, 4000, (PASS, PASS)),  # 50% vs 47.5%: ratio 0.95
    ],
)
def test_four_fifths_rule_is_inconclusive_when_its_interval_straddles(
    hired_a: int, hired_b: int, size_a: int, size_b: int, expected
) -> None:
    data = _hiring(hired_a, hired_b, size_a, size_b)
    low, high = _normal_interval(hired_a, hired_b, size_a, size_b)
    # The hand-built cases are far enough from the line for the normal interval to agree.
    assert (low < 0.8 < high) == (expected[0] == INCONCLUSIVE)
    result = assess_fairness(
        y_true=data["y_true"],
        y_pred=data["y_pred"],
        sensitive={"group": data["group"]},
        n_boot=1000,
        seed=1,
    )
    check = result.feature("group").checks[0]
    assert check.name == "selection_rate_ratio"
    assert check.value.value == pytest.approx((hired_b / size_b) / (hired_a / size_a), abs=1e-12)
    assert (check.status, check.point_status) == expected
    assert check.value.lower == pytest.approx(low, abs=0.03)
    assert check.value.upper == pytest.approx(high, abs=0.03)
    stored = check.to_dict()
    assert type(stored["status"]) is str and stored["status"] == expected[0].value
    assert stored["point_status"] == expected[1].value
    if expected[0] == INCONCLUSIVE:
        assert check.sentence.endswith(
            f"inconclusive (the point estimate would {expected[1].value}, but the 95% interval "
            f"reaches across the threshold) (basis: {check.basis})."
        )
    assert result.status == overall_status(c.status for c in result.checks)


def test_a_failing_check_beats_an_inconclusive_one_in_the_roll_up() -> None:
    # 50% vs 39%: the ratio is inconclusive; a strict parity limit of 0.01 fails outright.
    data = _hiring(300, 156, 600, 400)
    result = assess_fairness(
        y_true=data["y_true"],
        y_pred=data["y_pred"],
        sensitive={"group": data["group"]},
        policy=FairnessPolicy(max_demographic_parity_difference=0.01),
        n_boot=1000,
    )
    statuses = {c.name: c.status for c in result.checks}
    assert statuses["selection_rate_ratio"] == INCONCLUSIVE
    assert statuses["demographic_parity_difference"] == FAIL
    assert result.status == FAIL and result.to_dict()["status"] == "fail"


def test_performance_checks_as_stored_on_a_hand_built_result() -> None:
    results = {
        "task": "classification",
        "ci": 0.95,
        "overall": {
            "metrics": {
                "roc_auc": {"value": 0.72, "lower": 0.66, "upper": 0.78},
                "brier_score": {"value": 0.20, "lower": 0.18, "upper": 0.22},
            }
        },
    }
    auc, brier = performance_checks(results, PerformancePolicy())
    assert (auc["status"], auc["point_status"]) == ("inconclusive", "pass")
    assert auc["sentence"] == (
        "ROC AUC is 0.720, at or above the 0.7 policy threshold."
        + PERFORMANCE_INCONCLUSIVE_SENTENCE.format(ci=0.95, lower=0.66, upper=0.78)
    )
    assert auc["value"] == {"value": 0.72, "lower": 0.66, "upper": 0.78}
    assert (brier["status"], brier["point_status"]) == ("pass", "pass")
    assert brier["sentence"] == "Brier score is 0.200, at or below the 0.25 policy threshold."
    regression = {"task": "regression", "ci": 0.95, "overall": {"metrics": {"r2": {"value": None}}}}
    (r2,) = performance_checks(regression, PerformancePolicy())
    assert (r2["status"], r2["point_status"]) == ("insufficient_data", None)


def test_a_result_is_judged_with_the_minimum_group_size_it_was_measured_with() -> None:
    data = _hiring(300, 156, 600, 400)
    measured = compute_fairness(
        y_true=data["y_true"], y_pred=data["y_pred"], sensitive={"group": data["group"]}, n_boot=0
    )
    assert check_fairness(measured, FairnessPolicy()).checks[0].status == FAIL
    with pytest.raises(MetricInputError) as error:
        check_fairness(measured, FairnessPolicy(min_group_size=500))
    assert error.value.problems == [OTHER_MIN_GROUP_SIZE.format(measured=30, policy=500)]
