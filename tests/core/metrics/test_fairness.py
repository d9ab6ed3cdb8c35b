"""Fairness metrics against fairlearn, the four-fifths rule, intervals and bad input.

How undefined values compare with fairlearn: a rate with a zero denominator (TPR or FNR of
a group without positives, FPR without negatives, precision without predicted positives)
is None here, where fairlearn/scikit-learn report 0 (precision: with a warning unless
``zero_division`` is set). The tests check that None appears exactly where the
denominator is zero and fairlearn reports 0, and equality to 1e-12 everywhere else.
Between-group values skip undefined rates; on data with undefined rates they are compared
with a MetricFrame whose metrics return NaN when undefined (MetricFrame skips NaN in
``difference()`` and ``ratio()``), elsewhere with fairlearn's own functions.
"""

from __future__ import annotations

import json
import math
from functools import partial

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_negative_rate,
    false_positive_rate,
    mean_prediction,
    selection_rate,
    true_positive_rate,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, mean_absolute_error, precision_score

from core.metrics.fairness import (
    NO_SENSITIVE,
    SINGLE_GROUP,
    UNKNOWN_REFERENCE_GROUP,
    FairnessResult,
    compute_fairness,
)
from core.metrics.inputs import (
    LENGTH_MISMATCH,
    NO_POSITIVE_LABEL,
    PROBABILITIES_AS_LABELS,
    TOO_MANY_CLASSES,
    MetricInputError,
    encode_groups,
)
from core.rules.fairness_checks import assess_fairness
from core.rules.thresholds import FairnessPolicy

TOL = 1e-12
CONTAINERS = {
    "list": lambda a: a.tolist(),
    "ndarray": lambda a: a,
    "series": lambda a: pd.Series(a),
}
# Our metric name -> (fairlearn metric, denominator cells that make it undefined).
FAIRLEARN_METRICS = {
    "selection_rate": selection_rate,
    "true_positive_rate": true_positive_rate,
    "false_positive_rate": false_positive_rate,
    "false_negative_rate": false_negative_rate,
    "accuracy": accuracy_score,
    "precision": partial(precision_score, zero_division=0.0),
}


def _dataset(name: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(DATASETS.index(name))
    n = 3000
    sex = rng.choice(np.array(["female", "male"]), n, p=[0.45, 0.55])
    age = rng.choice(np.array(["18-25", "26-35", "36-50", "51+"]), n, p=[0.2, 0.3, 0.3, 0.2])
    y_true = (rng.random(n) < 0.4).astype(np.int64)
    p_select = np.where(sex == "male", 0.5, 0.35) + np.where(age == "18-25", -0.1, 0.05)
    y_pred = (rng.random(n) < p_select).astype(np.int64)
    if name == "zero_positives":  # TPR and FNR undefined for 51+
        y_true[age == "51+"] = 0
    elif name == "zero_predicted":  # precision undefined for 18-25
        y_pred[age == "18-25"] = 0
    elif name == "tiny_groups":  # groups of one and two rows
        age[:1] = "90+"
        age[1:3] = "80-89"
    elif name == "rare_group":  # a small group with every rate defined
        age[:40] = "90+"
    return {"y_true": y_true, "y_pred": y_pred, "sex": sex, "age": age}


DATASETS = ["balanced", "zero_positives", "zero_predicted", "tiny_groups", "rare_group"]
FEATURES = {"sex": ["sex"], "age": ["age"], "sex × age": ["sex", "age"]}


def _fairlearn_frame(data: dict[str, np.ndarray], columns: list[str], metrics) -> MetricFrame:
    if len(columns) == 1:
        features = pd.Series(data[columns[0]], name=columns[0])
    else:
        features = pd.DataFrame({c: data[c] for c in columns})
    return MetricFrame(
        metrics=metrics, y_true=data["y_true"], y_pred=data["y_pred"], sensitive_features=features
    )


def _label(index) -> str:
    return " × ".join(index) if isinstance(index, tuple) else str(index)


def _undefined_by_counts(metric: str, y_true: np.ndarray, y_pred: np.ndarray) -> bool:
    if metric in ("true_positive_rate", "false_negative_rate"):
        return not (y_true == 1).any()
    if metric == "false_positive_rate":
        return not (y_true == 0).any()
    if metric == "precision":
        return not (y_pred == 1).any()
    return False


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("dataset", DATASETS)
def test_group_metrics_equal_fairlearn(dataset: str, container: str) -> None:
    data = _dataset(dataset)
    wrap = CONTAINERS[container]
    result = compute_fairness(
        y_true=wrap(data["y_true"]),
        y_pred=wrap(data["y_pred"]),
        sensitive={"sex": wrap(data["sex"]), "age": wrap(data["age"])},
        min_group_size=1,
        n_boot=0,
    )
    assert [f.name for f in result.features] == list(FEATURES)
    for feature, columns in FEATURES.items():
        frame = _fairlearn_frame(data, columns, {"count": count, **FAIRLEARN_METRICS})
        by_group = frame.by_group.dropna(subset=["count"])
        by_group = by_group[by_group["count"] > 0]
        ours = result.feature(feature)
        assert [g.group for g in ours.groups] == [_label(i) for i in by_group.index]
        for index, row in by_group.iterrows():
            group = ours.group(_label(index))
            assert group.count == row["count"]
            mask = np.ones(len(data["y_true"]), dtype=bool)
            for column, value in zip(columns, np.atleast_1d(index), strict=True):
                mask &= data[column] == value
            for metric in FAIRLEARN_METRICS:
                value = group.metrics[metric].value
                if value is None:
                    assert row[metric] == 0
                    assert _undefined_by_counts(metric, data["y_true"][mask], data["y_pred"][mask])
                else:
                    assert abs(value - row[metric]) <= TOL, (feature, index, metric)


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("dataset", ["balanced", "rare_group"])
def test_between_groups_equal_fairlearn_functions(dataset: str, container: str) -> None:
    data = _dataset(dataset)
    wrap = CONTAINERS[container]
    result = compute_fairness(
        y_true=wrap(data["y_true"]),
        y_pred=wrap(data["y_pred"]),
        sensitive={"sex": wrap(data["sex"]), "age": wrap(data["age"])},
        min_group_size=1,
        n_boot=0,
    )
    for feature, columns in FEATURES.items():
        if len(columns) == 1:
            features = data[columns[0]]
        else:
            features = pd.DataFrame({c: data[c] for c in columns})
        args = {"y_true": data["y_true"], "y_pred": data["y_pred"]}
        expected = {
            "demographic_parity_difference": demographic_parity_difference,
            "demographic_parity_ratio": demographic_parity_ratio,
            "equalized_odds_difference": equalized_odds_difference,
            "equalized_odds_ratio": equalized_odds_ratio,
            "true_positive_rate_gap": equal_opportunity_difference,
        }
        between = result.feature(feature).between_groups
        for name, function in expected.items():
            reference = function(**args, sensitive_features=features)
            assert abs(between[name].value - reference) <= TOL, (feature, name)
        # With the most-favoured group as reference, the four-fifths ratio is the DP ratio.
        assert between["selection_rate_ratio"].value == between["demographic_parity_ratio"].value


def _nan_if_undefined(metric, undefined):
    def wrapped(y_true, y_pred):
        if undefined(np.asarray(y_true), np.asarray(y_pred)):
            return np.nan
        return metric(y_true, y_pred)

    return wrapped


@pytest.mark.parametrize("dataset", DATASETS)
def test_between_groups_skip_undefined_rates_like_a_nan_metric_frame(dataset: str) -> None:
    data = _dataset(dataset)
    result = compute_fairness(
        y_true=data["y_true"],
        y_pred=data["y_pred"],
        sensitive={"sex": data["sex"], "age": data["age"]},
        min_group_size=1,
        n_boot=0,
    )
    metrics = {
        "sel": selection_rate,
        "tpr": _nan_if_undefined(true_positive_rate, lambda t, p: not (t == 1).any()),
        "fpr": _nan_if_undefined(false_positive_rate, lambda t, p: not (t == 0).any()),
    }
    for feature, columns in FEATURES.items():
        frame = _fairlearn_frame(data, columns, metrics)
        difference, ratio = frame.difference(), frame.ratio()
        between = result.feature(feature).between_groups
        expected = {
            "demographic_parity_difference": difference["sel"],
            "demographic_parity_ratio": ratio["sel"],
            "true_positive_rate_gap": difference["tpr"],
            "equalized_odds_difference": np.fmax(difference["tpr"], difference["fpr"]),
            "equalized_odds_ratio": np.fmin(ratio["tpr"], ratio["fpr"]),
        }
        for name, value in expected.items():
            assert abs(between[name].value - value) <= TOL, (dataset, feature, name)


def test_undefined_rates_are_none_with_a_sentence() -> None:
    data = _dataset("zero_positives")
    result = compute_fairness(
        y_true=data["y_true"],
        y_pred=data["y_pred"],
        sensitive={"age": data["age"]},
        n_boot=50,
    )
    group = result.feature("age").group("51+")
    assert group.metrics["true_positive_rate"].value is None
    assert group.metrics["true_positive_rate"].lower is None
    assert group.metrics["false_negative_rate"].value is None
    assert group.metrics["false_positive_rate"].value is not None
    assert "age = 51+: true-positive rate undefined (no positives)." in result.feature("age").notes
    as_dict = result.to_dict()
    json.dumps(as_dict, allow_nan=False)
    groups = {g["group"]: g for g in as_dict["features"][0]["groups"]}
    assert groups["51+"]["metrics"]["true_positive_rate"] == {
        "value": None,
        "lower": None,
        "upper": None,
    }


def test_precision_without_predicted_positives_is_none() -> None:
    data = _dataset("zero_predicted")
    result = compute_fairness(
        y_true=data["y_true"], y_pred=data["y_pred"], sensitive={"age": data["age"]}, n_boot=0
    )
    assert result.feature("age").group("18-25").metrics["precision"].value is None
    assert "age = 18-25: precision undefined (no predicted positives)." in (
        result.feature("age").notes
    )


def _four_fifths_data(hires_a: int, hires: int) -> tuple[np.ndarray, np.ndarray]:
    """1,000 applicants, 60% in group A and 40% in B; ``hires`` of them are hired."""
    group = np.array(["A"] * 600 + ["B"] * 400)
    hired = np.zeros(1000, dtype=int)
    hired[:hires_a] = 1
    hired[600 : 600 + hires - hires_a] = 1
    return group, hired


@pytest.mark.parametrize("hires", [230, 400, 1000 // 3])
def test_four_fifths_rule_boundary(hires: int) -> None:
    # rate_B / rate_A = ((1 - a) H / 400) / (a H / 600) >= 0.8  <=>  a <= 0.6 / (0.6 + 0.32)
    boundary = 0.6 / (0.6 + 0.32)
    assert boundary == pytest.approx(0.652, abs=1e-3)
    largest = math.floor(boundary * hires + 1e-9)
    for hires_a, expected in ((largest, "pass"), (largest + 1, "fail")):
        group, hired = _four_fifths_data(hires_a, hires)
        y_true = np.resize([0, 1], 1000)
        result = assess_fairness(
            y_true=y_true, y_pred=hired, sensitive={"applicant_group": group}, n_boot=0
        )
        feature = result.feature("applicant_group")
        check = next(c for c in feature.checks if c.name == "selection_rate_ratio")
        ratio = ((hires - hires_a) / 400) / (hires_a / 600)
        assert check.value.value == pytest.approx(ratio, abs=TOL)
        assert check.status == expected, (hires, hires_a, ratio)
        assert feature.reference_group == "A"
        assert check.threshold == 0.8
        assert "four-fifths rule" in check.basis
        relation = "at or above" if expected == "pass" else "below"
        # Near the line a third decimal shows, so "0.799, below 0.80" never reads "0.80, below 0.80".
        near = f"{ratio:.2f}" == "0.80" and abs(ratio - 0.8) > TOL
        shown = f"{ratio:.3f}" if near else f"{ratio:.2f}"
        assert check.details == (
            f"applicant_group = B is selected {(hires - hires_a) / 4:.0f}% of the time against "
            f"{hires_a / 6:.0f}% for A: ratio {shown}, {relation} the 0.80 policy threshold.",
        )


def test_four_fifths_against_a_chosen_reference_group() -> None:
    group = np.array(["A"] * 100 + ["B"] * 100 + ["C"] * 100)
    rates = {"A": 0.5, "B": 0.6, "C": 0.35}
    hired = np.concatenate([np.arange(100) < 100 * rates[g] for g in "ABC"]).astype(int)
    result = assess_fairness(
        y_true=np.resize([0, 1], 300),
        y_pred=hired,
        sensitive={"g": group},
        reference_groups={"g": "A"},
        n_boot=0,
    )
    feature = result.feature("g")
    assert feature.reference_group == "A"
    assert feature.group("B").metrics["selection_rate_ratio"].value == pytest.approx(1.2)
    assert feature.group("C").metrics["selection_rate_ratio"].value == pytest.approx(0.7)
    assert feature.between_groups["selection_rate_ratio"].value == pytest.approx(0.7)
    assert feature.between_groups["demographic_parity_ratio"].value == pytest.approx(0.35 / 0.6)
    check = feature.checks[0]
    assert check.status == "fail"
    assert "g = C is selected 35% of the time against 50% for A: ratio 0.70, below" in (
        " ".join(check.details)
    )


def test_small_groups_are_flagged_and_excluded_from_pass_fail() -> None:
    data = _dataset("tiny_groups")
    result = assess_fairness(
        y_true=data["y_true"], y_pred=data["y_pred"], sensitive={"age": data["age"]}, n_boot=100
    )
    feature = result.feature("age")
    excluded = {g.group: g for g in feature.excluded_groups}
    assert set(excluded) == {"80-89", "90+"}
    assert excluded["90+"].count == 1
    assert "below the minimum group size of 30" in excluded["90+"].reason
    assert not feature.group("90+").eligible
    # Still reported with their figures.
    assert feature.group("80-89").metrics["selection_rate"].value is not None
    eligible = [g for g in feature.groups if g.eligible]
    rates = [g.metrics["selection_rate"].value for g in eligible]
    assert feature.between_groups["demographic_parity_difference"].value == pytest.approx(
        max(rates) - min(rates), abs=TOL
    )
    assert any(
        "90+ has 1 rows, below the minimum group size" in d for d in feature.checks[0].details
    )


def test_too_few_eligible_groups_gives_insufficient_data() -> None:
    group = np.array(["A"] * 100 + ["B"] * 10)
    result = assess_fairness(
        y_true=np.resize([0, 1], 110),
        y_pred=np.resize([1, 0, 0], 110),
        sensitive={"g": group},
        n_boot=0,
    )
    checks = result.feature("g").checks
    assert [c.status for c in checks] == ["insufficient_data"] * 3
    assert all(c.value.value is None for c in checks)
    assert "1 group(s) reach the minimum group size of 30" in checks[0].sentence
    assert result.status == "insufficient_data"


def test_policy_thresholds_decide_pass_and_fail() -> None:
    data = _dataset("balanced")
    strict = assess_fairness(
        y_true=data["y_true"], y_pred=data["y_pred"], sensitive={"sex": data["sex"]}, n_boot=0
    )
    lenient = assess_fairness(
        y_true=data["y_true"],
        y_pred=data["y_pred"],
        sensitive={"sex": data["sex"]},
        policy=FairnessPolicy(
            min_selection_rate_ratio=0.5,
            max_demographic_parity_difference=0.5,
            max_equalized_odds_difference=0.5,
            max_true_positive_rate_gap=0.5,
        ),
        n_boot=0,
    )
    assert strict.status == "fail"
    assert lenient.status == "pass"
    assert [c.name for c in lenient.checks] == [
        "selection_rate_ratio",
        "demographic_parity_difference",
        "equalized_odds_difference",
        "true_positive_rate_gap",
    ]
    for check in lenient.checks:
        assert check.sentence.endswith(f": pass (basis: {check.basis}).")


def _plain_json(value) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str
            _plain_json(item)
    elif isinstance(value, list):
        for item in value:
            _plain_json(item)
    else:
        assert value is None or type(value) in (str, int, float, bool), (value, type(value))
        if type(value) is float:
            assert math.isfinite(value)


def test_to_dict_is_plain_json_with_seed_and_intervals() -> None:
    data = _dataset("zero_positives")
    result = assess_fairness(
        y_true=data["y_true"],
        y_pred=data["y_pred"],
        sensitive={"sex": data["sex"], "age": data["age"]},
        n_boot=200,
        seed=7,
    )
    as_dict = result.to_dict()
    _plain_json(as_dict)
    assert json.loads(json.dumps(as_dict, allow_nan=False)) == as_dict
    assert as_dict["seed"] == 7
    assert as_dict["n_boot"] == 200
    between = as_dict["features"][2]["between_groups"]["demographic_parity_difference"]
    assert between["lower"] <= between["value"] <= between["upper"]
    for group in as_dict["features"][0]["groups"]:
        for metric in group["metrics"].values():
            assert metric["lower"] <= metric["value"] <= metric["upper"]


def test_same_seed_same_result_and_seed_matters() -> None:
    data = _dataset("balanced")
    args = {
        "y_true": data["y_true"],
        "y_pred": data["y_pred"],
        "sensitive": {"sex": data["sex"], "age": data["age"]},
        "n_boot": 100,
    }
    first = compute_fairness(**args, seed=3).to_dict()
    assert compute_fairness(**args, seed=3).to_dict() == first
    assert compute_fairness(**args, seed=4).to_dict() != first


def test_coded_categorical_and_string_columns_agree() -> None:
    data = _dataset("balanced")
    labels, codes = np.unique(data["age"], return_inverse=True)
    ordered = pd.Categorical(data["age"], categories=list(labels))
    results = [
        compute_fairness(
            y_true=data["y_true"], y_pred=data["y_pred"], sensitive={"age": column}, n_boot=50
        ).to_dict()
        for column in (data["age"], ordered, codes.astype(np.int8), codes.astype(np.int64))
    ]
    for other in results[2:]:  # integer codes are labelled by their value
        for ours, theirs in zip(
            results[0]["features"][0]["groups"], other["features"][0]["groups"], strict=True
        ):
            assert ours["metrics"] == theirs["metrics"]
    assert results[1] == results[0]


def test_many_levels_take_the_compacted_path() -> None:
    rng = np.random.default_rng(5)
    n = 4000
    a = rng.integers(0, 1500, n).astype(str)
    b = rng.integers(0, 1500, n).astype(str)
    y_true, y_pred = rng.integers(0, 2, n), rng.integers(0, 2, n)
    result = compute_fairness(
        y_true=y_true, y_pred=y_pred, sensitive={"a": a, "b": b}, n_boot=0, min_group_size=1
    )
    combined = np.char.add(np.char.add(a, " × "), b)
    single = compute_fairness(
        y_true=y_true, y_pred=y_pred, sensitive={"a × b": combined}, n_boot=0, min_group_size=1
    )
    ours, theirs = result.feature("a × b").to_dict(), single.features[0].to_dict()
    assert sorted(ours["groups"], key=str) == sorted(theirs["groups"], key=str)
    assert len(ours["groups"]) > 3000
    assert ours["between_groups"] == theirs["between_groups"]


def test_missing_sensitive_values_form_their_own_group() -> None:
    data = _dataset("balanced")
    sex = data["sex"].astype(object)
    sex[:40] = None
    sex[40:45] = np.nan
    result = compute_fairness(
        y_true=data["y_true"], y_pred=data["y_pred"], sensitive={"sex": sex}, n_boot=0
    )
    assert [g.group for g in result.feature("sex").groups] == ["female", "male", "missing"]
    assert result.feature("sex").group("missing").count == 45
    assert (
        "Sensitive column 'sex' has 45 missing values; they are reported as their own group "
        "'missing'." in result.notes
    )


def test_single_group_is_refused_with_a_clear_sentence() -> None:
    with pytest.raises(MetricInputError) as error:
        compute_fairness(
            y_true=[0, 1, 1, 0], y_pred=[0, 1, 0, 0], sensitive={"sex": ["f"] * 4}, n_boot=0
        )
    assert error.value.problems == [SINGLE_GROUP.format(name="sex", group="f")]
    assert "fairness needs at least two groups" in str(error.value)


def test_probabilities_as_decisions_suggest_scores_and_a_threshold() -> None:
    with pytest.raises(MetricInputError) as error:
        compute_fairness(
            y_true=[0, 1, 1, 0], y_pred=[0.2, 0.7, 0.4, 0.1], sensitive={"g": list("abab")}
        )
    assert error.value.problems == [PROBABILITIES_AS_LABELS.format(name="y_pred", example="0.2")]
    assert "threshold" in error.value.problems[0]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(MetricInputError) as error:
        compute_fairness(
            y_true=[0, 1, 1, 0],
            y_pred=[0, 1, 0],
            sensitive={"sex": ["f"] * 4, "age": ["a", "b", "c"]},
            n_boot=-1,
        )
    problems = error.value.problems
    assert LENGTH_MISMATCH.format(name="y_pred", found=3, reference="y_true", expected=4) in (
        problems
    )
    assert (
        LENGTH_MISMATCH.format(name="sensitive['age']", found=3, reference="y_true", expected=4)
        in problems
    )
    assert SINGLE_GROUP.format(name="sex", group="f") in problems
    assert any(p.startswith("n_boot is -1") for p in problems)
    assert len(problems) == 4


def test_empty_sensitive_and_unknown_reference_are_refused() -> None:
    with pytest.raises(MetricInputError) as error:
        compute_fairness(y_true=[0, 1], y_pred=[0, 1], sensitive={})
    assert error.value.problems == [NO_SENSITIVE]
    with pytest.raises(MetricInputError) as error:
        compute_fairness(
            y_true=[0, 1, 0, 1],
            y_pred=[0, 1, 1, 1],
            sensitive={"g": list("abab")},
            reference_groups={"g": "z"},
        )
    assert error.value.problems == [
        UNKNOWN_REFERENCE_GROUP.format(feature="g", group="z", available=["a", "b"])
    ]


def test_regression_groups_equal_fairlearn() -> None:
    rng = np.random.default_rng(11)
    n = 2000
    group = rng.choice(np.array(["a", "b", "c"]), n)
    y_true = rng.normal(50, 10, n)
    y_pred = y_true + rng.normal(np.where(group == "a", 2.0, 0.0), 5, n)
    result = assess_fairness(
        y_true=y_true, y_pred=y_pred, sensitive={"g": group}, task="regression", n_boot=200
    )
    frame = MetricFrame(
        metrics={"mean_prediction": mean_prediction, "mean_absolute_error": mean_absolute_error},
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=group,
    )
    feature = result.feature("g")
    for label, row in frame.by_group.iterrows():
        metrics = feature.group(label).metrics
        for name in ("mean_prediction", "mean_absolute_error"):
            assert abs(metrics[name].value - row[name]) <= 1e-9 * abs(row[name])
            assert metrics[name].lower < row[name] < metrics[name].upper
    difference = frame.difference()
    between = feature.between_groups
    assert between["mean_prediction_difference"].value == pytest.approx(
        difference["mean_prediction"], rel=1e-12
    )
    assert between["mean_absolute_error_difference"].value == pytest.approx(
        difference["mean_absolute_error"], rel=1e-12
    )
    assert feature.checks == ()
    json.dumps(result.to_dict(), allow_nan=False)


def test_selection_rate_intervals_cover_the_true_rate() -> None:
    """About 95% of 95% intervals cover the true rate over repeated simulations."""
    rng = np.random.default_rng(2024)
    true_rates = {"a": 0.3, "b": 0.45}
    sizes = {"a": 150, "b": 250}
    group = np.array(["a"] * sizes["a"] + ["b"] * sizes["b"])
    covered = {"a": 0, "b": 0, "difference": 0}
    widths = []
    runs = 200
    for run in range(runs):
        y_pred = np.concatenate([rng.random(sizes[g]) < true_rates[g] for g in "ab"]).astype(int)
        result = compute_fairness(
            y_true=rng.integers(0, 2, len(group)),
            y_pred=y_pred,
            sensitive={"g": group},
            n_boot=1000,
            seed=run,
        )
        feature = result.feature("g")
        for g in "ab":
            rate = feature.group(g).metrics["selection_rate"]
            covered[g] += rate.lower <= true_rates[g] <= rate.upper
            if g == "a":
                widths.append(rate.upper - rate.lower)
        gap = feature.between_groups["demographic_parity_difference"]
        covered["difference"] += gap.lower <= 0.15 <= gap.upper
    for name, hits in covered.items():
        assert 0.88 <= hits / runs <= 0.99, (name, hits / runs)
    # Neither too wide nor too narrow: close to the normal-theory width 2 x 1.96 x SE.
    expected_width = 2 * 1.96 * math.sqrt(0.3 * 0.7 / sizes["a"])
    assert np.mean(widths) == pytest.approx(expected_width, rel=0.08)


small_data = st.integers(min_value=4, max_value=60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n),
        st.lists(st.sampled_from(["x", "y"]), min_size=n, max_size=n),
        st.randoms(use_true_random=False),
    )
)


def _fairness_or_none(y_true, y_pred, g, h, n_boot=0) -> FairnessResult | None:
    try:
        return compute_fairness(
            y_true=y_true,
            y_pred=y_pred,
            sensitive={"g": g, "h": h},
            min_group_size=2,
            n_boot=n_boot,
        )
    except MetricInputError as error:
        assert all("single group" in p for p in error.problems)
        return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_data)
def test_ratios_are_between_zero_and_one(data) -> None:
    y_true, y_pred, g, h, _ = data
    result = _fairness_or_none(y_true, y_pred, g, h, n_boot=20)
    if result is None:
        return
    for feature in result.features:
        for name, estimate in feature.between_groups.items():
            for value in (estimate.value, estimate.lower, estimate.upper):
                if value is not None:
                    assert 0 <= value <= 1, (name, value)
        for group in feature.groups:
            ratio = group.metrics["selection_rate_ratio"].value
            if group.eligible and ratio is not None:
                assert 0 <= ratio <= 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_data)
def test_results_do_not_depend_on_row_order(data) -> None:
    y_true, y_pred, g, h, random = data
    order = list(range(len(y_true)))
    random.shuffle(order)
    first = _fairness_or_none(y_true, y_pred, g, h, n_boot=20)
    second = _fairness_or_none(
        [y_true[i] for i in order],
        [y_pred[i] for i in order],
        [g[i] for i in order],
        [h[i] for i in order],
        n_boot=20,
    )
    assert (first is None) == (second is None)
    if first is not None and second is not None:
        assert first.to_dict() == second.to_dict()


def test_integer_labels_outside_zero_one_are_found_while_counting() -> None:
    n = 300_000  # several counting slices; the bad value is in the last one
    y_pred = np.zeros(n, dtype=np.int64)
    y_pred[-1] = 5
    with pytest.raises(MetricInputError) as error:
        compute_fairness(
            y_true=np.resize(np.array([0, 1]), n),
            y_pred=y_pred,
            sensitive={"g": np.resize(np.array([0, 1, 2]), n)},
        )
    # Two values, neither of them 1: the positive class is not among them.
    assert error.value.problems == [
        NO_POSITIVE_LABEL.format(name="y_pred", values="[0, 5]", positive=1)
    ]
    with pytest.raises(MetricInputError) as error:
        compute_fairness(
            y_true=np.array([0, 1, 2, 1]), y_pred=np.array([0, 1, 1]), sensitive={"g": list("abab")}
        )
    assert error.value.problems == [
        LENGTH_MISMATCH.format(name="y_pred", found=3, reference="y_true", expected=4),
        TOO_MANY_CLASSES.format(name="y_true", count=3, examples="0, 1, 2"),
    ]


def test_boolean_labels_and_categorical_missing_codes() -> None:
    data = _dataset("balanced")
    sex = pd.Categorical(data["sex"])
    sex[:10] = np.nan
    as_ints = compute_fairness(
        y_true=data["y_true"], y_pred=data["y_pred"], sensitive={"sex": sex}, n_boot=0
    )
    as_bools = compute_fairness(
        y_true=data["y_true"].astype(bool),
        y_pred=data["y_pred"].astype(bool),
        sensitive={"sex": pd.Series(sex)},
        n_boot=0,
    )
    assert as_bools.to_dict() == as_ints.to_dict()
    assert [g.group for g in as_ints.features[0].groups] == ["female", "male", "missing"]
    assert as_ints.feature("sex").group("missing").count == 10


def _object_column(kind: str) -> np.ndarray:
    rng = np.random.default_rng(9)
    picks = rng.integers(0, 3, 5000)
    if kind == "shared objects":
        return np.array(["a", "b", "c"], dtype=object)[picks]
    if kind == "equal strings, distinct objects":
        return np.array(["".join(["ab"[p % 2], str(p)]) for p in picks], dtype=object)
    if kind == "missing of several kinds":
        column = np.array(["x", None, "y"], dtype=object)[picks]
        column[::7] = float("nan")  # a new NaN object each time
        column[::11] = np.nan
        return column
    if kind == "mixed types":
        return np.array([1, "1", 2.5], dtype=object)[picks]
    if kind == "strided view":
        return np.array(["p", "q", "r"], dtype=object)[picks][::3]
    return np.array([f"id{i}" for i in range(5000)], dtype=object)  # too many objects


@pytest.mark.parametrize(
    "kind",
    [
        "shared objects",
        "equal strings, distinct objects",
        "missing of several kinds",
        "mixed types",
        "strided view",
        "many distinct",
    ],
)
def test_object_columns_group_as_pandas_factorize_does(kind: str) -> None:
    column = _object_column(kind)
    encoded = encode_groups(column, name="g", problems=[])
    assert encoded is not None
    try:
        codes, uniques = pd.factorize(pd.Series(column, dtype=object), sort=True)
    except TypeError:
        codes, uniques = pd.factorize(pd.Series(column, dtype=object), sort=False)
    labels = [str(u) for u in uniques]
    expected = [labels[c] if c >= 0 else "missing" for c in codes]
    assert [encoded.labels[c] for c in encoded.codes] == expected


def test_sensitive_must_be_named_columns() -> None:
    with pytest.raises(MetricInputError) as error:
        compute_fairness(y_true=[0, 1], y_pred=[0, 1], sensitive=["a", "b"])
    assert error.value.problems == [
        "sensitive is a list; pass a mapping of column name to values, e.g. {'sex': df['sex']} "
        "or a DataFrame of the sensitive columns."
    ]
    frame = pd.DataFrame({"sex": ["f", "m"] * 20, "age": ["x", "y", "y", "x"] * 10})
    result = compute_fairness(
        y_true=[0, 1, 1, 0] * 10, y_pred=[0, 1, 0, 0] * 10, sensitive=frame, n_boot=0
    )
    assert [f.name for f in result.features] == ["sex", "age", "sex × age"]
