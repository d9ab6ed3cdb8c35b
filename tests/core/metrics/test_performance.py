"""Performance metrics against scikit-learn and scipy, intervals, segments and bad input.

Where scikit-learn returns 0 or NaN for an undefined value (precision without predicted
positives, AUC with one class, R² of a constant target), the value here is None with a
note; the tests check None exactly there.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from core.metrics.bootstrap import make_rng, resample_cell_counts
from core.metrics.cell_statistics import score_cells, score_statistics
from core.metrics.inputs import LENGTH_MISMATCH, PROBABILITIES_AS_LABELS, MetricInputError
from core.metrics.performance import (
    HARD_SCORES_NOTE,
    NO_PREDICTIONS,
    ONE_CLASS_NOTE,
    compute_performance,
)

TOL = 1e-12
CONTAINERS = {
    "list": lambda a: a.tolist(),
    "ndarray": lambda a: a,
    "series": lambda a: pd.Series(a),
}


def _classification(name: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(["continuous", "ties", "imbalanced"].index(name))
    n = 2500
    y_true = (rng.random(n) < (0.08 if name == "imbalanced" else 0.45)).astype(np.int64)
    score = np.clip(0.25 * y_true + rng.beta(2, 3, n), 0, 1)
    if name == "ties":
        score = np.round(score, 1)
    segment = rng.choice(np.array(["north", "south", "east"]), n)
    return {"y_true": y_true, "score": score, "segment": segment}


def _sklearn_reference(y_true: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    y_pred = (score >= threshold).astype(int)
    reference = {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "precision": skm.precision_score(y_true, y_pred, zero_division=np.nan),
        "recall": skm.recall_score(y_true, y_pred, zero_division=np.nan),
        "f1": skm.f1_score(y_true, y_pred, zero_division=np.nan),
        "log_loss": skm.log_loss(y_true, y_proba=score, labels=[0, 1]),
        "brier_score": skm.brier_score_loss(y_true, score, pos_label=1),
    }
    if len(np.unique(y_true)) == 2:
        auc = skm.roc_auc_score(y_true, score)
        reference |= {
            "roc_auc": auc,
            "gini": 2 * auc - 1,
            "ks_statistic": ks_2samp(score[y_true == 1], score[y_true == 0]).statistic,
        }
    return reference


def _assert_matches(metrics, reference) -> None:
    for name, expected in reference.items():
        value = metrics[name].value
        if math.isnan(expected):
            assert value is None, name
        else:
            assert abs(value - expected) <= TOL, (name, value, expected)


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("dataset", ["continuous", "ties", "imbalanced"])
def test_classification_equals_sklearn(dataset: str, container: str) -> None:
    data = _classification(dataset)
    wrap = CONTAINERS[container]
    result = compute_performance(
        y_true=wrap(data["y_true"]), y_score=wrap(data["score"]), threshold=0.6, n_boot=0
    )
    _assert_matches(result.overall.metrics, _sklearn_reference(data["y_true"], data["score"], 0.6))
    y_pred = (data["score"] >= 0.6).astype(int)
    matrix = skm.confusion_matrix(data["y_true"], y_pred, labels=[0, 1])
    assert result.overall.confusion_matrix == tuple(map(tuple, matrix.tolist()))
    assert result.threshold == 0.6
    observed, predicted = calibration_curve(data["y_true"], data["score"], n_bins=10)
    observed_q, predicted_q = calibration_curve(
        data["y_true"], data["score"], n_bins=10, strategy="quantile"
    )
    bins = result.overall.calibration
    assert len(bins) == len(observed_q)
    assert np.allclose([b.observed_rate.value for b in bins], observed_q, rtol=0, atol=TOL)
    assert np.allclose([b.mean_predicted.value for b in bins], predicted_q, rtol=0, atol=TOL)
    assert sum(b.count for b in bins) == len(data["y_true"])
    assert len(observed) > 0 and len(predicted) > 0  # the uniform strategy is not ours


@pytest.mark.parametrize("dataset", ["continuous", "ties"])
def test_segments_equal_sklearn_on_each_segment(dataset: str) -> None:
    data = _classification(dataset)
    result = compute_performance(
        y_true=data["y_true"],
        y_score=data["score"],
        segments={"region": pd.Series(data["segment"])},
        n_boot=0,
    )
    assert [s.group for s in result.segments] == ["east", "north", "south"]
    for segment in result.segments:
        rows = data["segment"] == segment.group
        reference = _sklearn_reference(data["y_true"][rows], data["score"][rows], 0.5)
        _assert_matches(segment.summary.metrics, reference)
        assert segment.summary.count == rows.sum()


def test_given_decisions_are_used_instead_of_the_threshold() -> None:
    data = _classification("continuous")
    y_pred = (data["score"] >= 0.3).astype(int)
    result = compute_performance(
        y_true=data["y_true"], y_score=data["score"], y_pred=y_pred, n_boot=0
    )
    assert result.threshold is None
    assert result.overall.metrics["recall"].value == pytest.approx(
        skm.recall_score(data["y_true"], y_pred), abs=TOL
    )
    assert any("threshold was not applied" in note for note in result.notes)


def test_decisions_without_scores_give_threshold_metrics_only() -> None:
    data = _classification("continuous")
    y_pred = data["score"] >= 0.5
    result = compute_performance(y_true=data["y_true"], y_pred=y_pred, n_boot=50)
    metrics = result.overall.metrics
    assert metrics["accuracy"].value == pytest.approx(
        skm.accuracy_score(data["y_true"], y_pred), abs=TOL
    )
    assert metrics["accuracy"].lower < metrics["accuracy"].value < metrics["accuracy"].upper
    assert metrics["roc_auc"].value is None
    assert result.overall.calibration == ()


@pytest.mark.parametrize("container", CONTAINERS)
def test_regression_equals_sklearn(container: str) -> None:
    rng = np.random.default_rng(8)
    y_true = rng.normal(100, 20, 3000)
    y_pred = y_true + rng.standard_t(3, 3000) * 5
    wrap = CONTAINERS[container]
    result = compute_performance(
        y_true=wrap(y_true),
        y_pred=wrap(y_pred),
        task="regression",
        segments={"half": wrap(np.arange(3000) % 2)},
        n_boot=0,
    )
    errors = np.abs(y_pred - y_true)
    metrics = result.overall.metrics
    assert abs(metrics["mae"].value - skm.mean_absolute_error(y_true, y_pred)) <= TOL * 10
    assert abs(metrics["rmse"].value - skm.root_mean_squared_error(y_true, y_pred)) <= TOL * 10
    assert abs(metrics["r2"].value - skm.r2_score(y_true, y_pred)) <= TOL
    for name, q in (("absolute_error_p50", 0.5), ("absolute_error_p90", 0.9)):
        assert abs(metrics[name].value - np.quantile(errors, q)) <= TOL
    odd = result.segment("half", "1").metrics
    assert abs(odd["r2"].value - skm.r2_score(y_true[1::2], y_pred[1::2])) <= TOL
    assert result.threshold is None


def test_constant_target_leaves_r2_undefined() -> None:
    result = compute_performance(
        y_true=[3.0] * 10, y_pred=np.arange(10.0), task="regression", n_boot=10
    )
    assert result.overall.metrics["r2"].value is None
    assert "R² undefined (y_true is constant)." in result.notes


@pytest.mark.parametrize("label", [0, 1])
def test_one_class_leaves_auc_and_ks_undefined(label: int) -> None:
    rng = np.random.default_rng(label)
    result = compute_performance(y_true=np.full(200, label), y_score=rng.random(200), n_boot=50)
    metrics = result.overall.metrics
    for name in ("roc_auc", "gini", "ks_statistic"):
        assert metrics[name] == metrics[name].__class__(None)
    kind = "positives" if label == 1 else "negatives"
    assert ONE_CLASS_NOTE.format(scope="", kind=kind) in result.notes
    assert metrics["brier_score"].value is not None
    json.dumps(result.to_dict(), allow_nan=False)


def test_undefined_precision_is_none_with_a_note() -> None:
    result = compute_performance(y_true=[0, 1, 1, 0], y_score=[0.1, 0.2, 0.3, 0.4], n_boot=0)
    assert result.overall.metrics["precision"].value is None
    assert "precision undefined (no predicted positives)." in result.notes


def test_hard_labels_as_scores_get_a_warning_note() -> None:
    result = compute_performance(y_true=[0, 1, 1, 0, 1], y_score=[0, 1, 0, 0, 1], n_boot=0)
    assert HARD_SCORES_NOTE.format(scope="") in result.notes
    assert result.overall.metrics["roc_auc"].value == pytest.approx(
        skm.roc_auc_score([0, 1, 1, 0, 1], [0, 1, 0, 0, 1]), abs=TOL
    )


def test_probabilities_passed_as_decisions_are_refused() -> None:
    with pytest.raises(MetricInputError) as error:
        compute_performance(y_true=[0, 1, 1], y_pred=[0.9, 0.35, 1.0])
    assert error.value.problems == [PROBABILITIES_AS_LABELS.format(name="y_pred", example="0.9")]
    assert "pass them as y_score with a threshold" in str(error.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(MetricInputError) as error:
        compute_performance(y_true=[0, 1, 2], ci=1.5)
    assert error.value.problems[0].startswith("ci is 1.5")
    assert any(p.startswith("y_true has 3 distinct values") for p in error.value.problems)
    assert NO_PREDICTIONS in error.value.problems
    with pytest.raises(MetricInputError) as error:
        compute_performance(y_true=[0, 1, 1], y_score=[0.1, 0.2], segments={"s": ["a"] * 4})
    assert error.value.problems == [
        LENGTH_MISMATCH.format(name="y_score", found=2, reference="y_true", expected=3),
        LENGTH_MISMATCH.format(name="segments['s']", found=4, reference="y_true", expected=3),
    ]


def test_labels_with_a_named_positive_class() -> None:
    y_true = np.array(["yes", "no", "yes", "no", "yes"])
    score = np.array([0.9, 0.2, 0.4, 0.6, 0.8])
    result = compute_performance(y_true=y_true, y_score=score, positive_label="yes", n_boot=0)
    assert result.overall.metrics["roc_auc"].value == pytest.approx(
        skm.roc_auc_score(y_true == "yes", score), abs=TOL
    )
    with pytest.raises(MetricInputError) as error:
        compute_performance(y_true=y_true, y_score=score, n_boot=0)
    assert "none equals positive_label=1" in error.value.problems[0]


@pytest.mark.parametrize("dataset", ["continuous", "ties"])
def test_each_bootstrap_replicate_equals_sklearn_on_the_resampled_rows(dataset: str) -> None:
    data = _classification(dataset)
    y_pred = (data["score"] >= 0.5).astype(np.uint8)
    truth = data["y_true"].astype(np.uint8)
    cells, counts, _ = score_cells(truth, y_pred, data["score"], 10, True)
    labels = cells.label
    draws = resample_cell_counts(counts, n_boot=3, rng=make_rng(0, "test"))
    for draw in draws:
        assert draw.sum() == len(truth)
        stats = score_statistics(cells, draw)
        rows_true = np.repeat(labels, draw)
        rows_score = np.repeat(cells.score, draw)
        assert abs(stats[4] - skm.roc_auc_score(rows_true, rows_score)) <= TOL
        ks = ks_2samp(rows_score[rows_true == 1], rows_score[rows_true == 0]).statistic
        assert abs(stats[6] - ks) <= TOL
        assert abs(stats[7] - skm.log_loss(rows_true, y_proba=rows_score)) <= TOL
        assert abs(stats[0] - skm.accuracy_score(rows_true, rows_score >= 0.5)) <= TOL


def test_intervals_bracket_the_estimate_and_are_reproducible() -> None:
    data = _classification("continuous")
    args = {
        "y_true": data["y_true"],
        "y_score": data["score"],
        "segments": {"region": data["segment"]},
        "n_boot": 200,
        "seed": 12,
    }
    first = compute_performance(**args)
    assert compute_performance(**args).to_dict() == first.to_dict()
    assert compute_performance(**{**args, "seed": 13}).to_dict() != first.to_dict()
    as_dict = first.to_dict()
    assert as_dict["seed"] == 12
    assert json.loads(json.dumps(as_dict, allow_nan=False)) == as_dict
    for metric in first.overall.metrics.values():
        assert metric.lower <= metric.value <= metric.upper
    auc = first.overall.metrics["roc_auc"]
    assert 0.005 < auc.upper - auc.lower < 0.1


def test_regression_intervals_bracket_the_estimate() -> None:
    rng = np.random.default_rng(4)
    y_true = rng.normal(size=500)
    result = compute_performance(
        y_true=y_true, y_pred=y_true + rng.normal(size=500), task="regression", n_boot=200
    )
    for metric in result.overall.metrics.values():
        assert metric.lower <= metric.value <= metric.upper


rows = st.integers(min_value=3, max_value=40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.sampled_from([0.05, 0.3, 0.5, 0.51, 0.9]), min_size=n, max_size=n),
        st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n),
        st.randoms(use_true_random=False),
    )
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows)
def test_results_do_not_depend_on_row_order(data) -> None:
    y_true, score, segment, random = data
    order = list(range(len(y_true)))
    random.shuffle(order)
    first = compute_performance(
        y_true=y_true, y_score=score, segments={"s": segment}, n_boot=20
    ).to_dict()
    second = compute_performance(
        y_true=[y_true[i] for i in order],
        y_score=[score[i] for i in order],
        segments={"s": [segment[i] for i in order]},
        n_boot=20,
    ).to_dict()
    assert first == second
    for name in ("roc_auc", "ks_statistic", "accuracy", "brier_score"):
        value = first["overall"]["metrics"][name]["value"]
        assert value is None or 0 <= value <= 1
