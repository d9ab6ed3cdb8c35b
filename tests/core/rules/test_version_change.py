"""The verdict on a metric's change: better or worse only where the intervals part."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.rules.version_change import LOWER_IS_BETTER, MetricVerdict, judge_change


def _e(
    value: float | None, lower: float | None = None, upper: float | None = None
) -> dict[str, float | None]:
    return {"value": value, "lower": lower, "upper": upper}


@pytest.mark.parametrize(
    ("metric", "before", "after", "verdict"),
    [
        ("roc_auc", _e(0.80, 0.78, 0.82), _e(0.86, 0.84, 0.88), MetricVerdict.better),
        ("roc_auc", _e(0.86, 0.84, 0.88), _e(0.80, 0.78, 0.82), MetricVerdict.worse),
        ("roc_auc", _e(0.80, 0.78, 0.82), _e(0.81, 0.79, 0.83), MetricVerdict.no_clear_change),
        # Touching intervals overlap: nothing is claimed.
        ("roc_auc", _e(0.80, 0.78, 0.82), _e(0.84, 0.82, 0.86), MetricVerdict.no_clear_change),
        # Losses: a fall is better.
        ("log_loss", _e(0.50, 0.48, 0.52), _e(0.40, 0.38, 0.42), MetricVerdict.better),
        ("rmse", _e(1.0, 0.9, 1.1), _e(2.0, 1.8, 2.2), MetricVerdict.worse),
        ("accuracy", _e(0.8), _e(0.9), MetricVerdict.no_interval),
        ("accuracy", _e(0.8, 0.7, 0.9), _e(0.8, 0.75, 0.85), MetricVerdict.no_change),
        ("precision", _e(None), _e(0.9, 0.8, 0.95), MetricVerdict.not_comparable),
        ("precision", None, _e(0.9, 0.8, 0.95), MetricVerdict.not_comparable),
    ],
)
def test_verdicts(metric: str, before: dict, after: dict, verdict: MetricVerdict) -> None:  # type: ignore[type-arg]
    assert judge_change(before, after, metric=metric) is verdict


def test_every_error_metric_of_performance_evidence_is_lower_is_better() -> None:
    from core.metrics.performance import CLASSIFICATION_METRICS, REGRESSION_METRICS

    named = set(CLASSIFICATION_METRICS) | set(REGRESSION_METRICS)
    assert named >= LOWER_IS_BETTER
    errors = {k for k, label in {**CLASSIFICATION_METRICS, **REGRESSION_METRICS}.items()
              if any(w in label for w in ("error", "loss", "Brier"))}  # fmt: skip
    assert errors == LOWER_IS_BETTER


values = st.floats(min_value=0, max_value=1, allow_nan=False)


@given(values, values, values, values, values, values)
def test_swapping_the_versions_swaps_better_and_worse(a, b, c, d, e, f) -> None:  # type: ignore[no-untyped-def]
    lo1, v1, hi1 = sorted((a, b, c))
    lo2, v2, hi2 = sorted((d, e, f))
    forward = judge_change(_e(v1, lo1, hi1), _e(v2, lo2, hi2), metric="roc_auc")
    backward = judge_change(_e(v2, lo2, hi2), _e(v1, lo1, hi1), metric="roc_auc")
    swap = {MetricVerdict.better: MetricVerdict.worse, MetricVerdict.worse: MetricVerdict.better}
    assert backward is swap.get(forward, forward)
