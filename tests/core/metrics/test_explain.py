"""SHAP explanations, partial dependence and single decisions, checked against shap and sklearn."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shap
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.inspection import partial_dependence
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from core.errors import InputProblems
from core.metrics.explain import (
    ADDITIVITY_TOLERANCE,
    ALL_MISSING,
    BAD_PARAMETER,
    CONSTANT_NOTE,
    EXTRA_COLUMNS_NOTE,
    FALLBACK_NOTE,
    MISSING_COLUMNS,
    MODEL_FAILED,
    MULTICLASS,
    OUTSIDE_RANGE,
    ROW_MISSING,
    ROW_NOT_A_NUMBER,
    ROW_UNKNOWN,
    TEXT_COLUMN,
    UNMAPPED_NOTE,
    UNSEEN_CATEGORY,
    ExplainInputError,
    compute_shap_values,
    explain_model,
    explain_row,
)
from core.metrics.pdp import UNKNOWN_FEATURES, partial_dependence_curves

NUMERIC = ["income", "debt_ratio", "age"]
CATEGORICAL = ["region", "sex"]
FEATURES = NUMERIC + CATEGORICAL


def credit_data(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """A small credit-like data set: risk rises with debt ratio, falls with income."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "income": np.round(rng.lognormal(10.5, 0.4, n), -2),
            "debt_ratio": np.round(rng.uniform(0.0, 1.0, n), 3),
            "age": rng.integers(18, 80, n).astype(float),
            "region": rng.choice(["north", "south", "east", "west"], n),
            "sex": rng.choice(["female", "male"], n),
        }
    )
    logit = (
        3.0 * (X["debt_ratio"] - 0.5)
        - 1.5 * (np.log(X["income"]) - 10.5)
        + 0.8 * (X["region"] == "south")
        - 0.01 * (X["age"] - 45)
    )
    y = pd.Series((rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int), name="default")
    return X, y


def preprocessing() -> ColumnTransformer:
    return ColumnTransformer(
        [
            ("num", StandardScaler(), NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ]
    )


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    X_train, y_train = credit_data(400, seed=1)
    X_eval, y_eval = credit_data(300, seed=2)
    return X_train, y_train, X_eval, y_eval


@pytest.fixture(scope="module")
def models(data: Any) -> dict[str, Any]:
    X_train, y_train, _, _ = data
    numeric = X_train[NUMERIC]
    return {
        "gbc": GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=0).fit(
            numeric, y_train
        ),
        "rf": RandomForestClassifier(n_estimators=30, max_depth=6, random_state=0).fit(
            numeric, y_train
        ),
        "hgb": HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(numeric, y_train),
        "logistic": Pipeline(
            [("prep", preprocessing()), ("clf", LogisticRegression(max_iter=1000))]
        ).fit(X_train, y_train),
        "gbc_pipeline": Pipeline(
            [
                ("prep", preprocessing()),
                ("clf", GradientBoostingClassifier(n_estimators=30, random_state=0)),
            ]
        ).fit(X_train, y_train),
        "mlp": make_pipeline(
            StandardScaler(),
            MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=2000, random_state=0),
        ).fit(numeric, y_train),
    }


def columns_for(name: str) -> list[str]:
    return FEATURES if name in ("logistic", "gbc_pipeline") else NUMERIC


def positive_output(model: Any, X: pd.DataFrame, space: str) -> np.ndarray:
    """The model's own output in ``space``, computed here independently of the module."""
    if space == "probability":
        return model.predict_proba(X)[:, 1]
    return model.decision_function(X)


# Permutation runs are the slow ones; keep them to a few rows and evaluations.
FAST = {"max_evals": 100, "stability_rows": 10, "background_size": 30}


# --- Additivity and the explainer per model ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "explainer", "space"),
    [
        ("gbc", "tree", "log_odds"),
        ("rf", "tree", "probability"),
        ("hgb", "tree", "log_odds"),
        ("logistic", "linear", "log_odds"),
        ("gbc_pipeline", "tree", "log_odds"),
        ("mlp", "permutation", "probability"),
    ],
)
def test_additivity_for_each_explainer(
    models: dict[str, Any], data: Any, name: str, explainer: str, space: str
) -> None:
    X_train, _, X_eval, y_eval = data
    model, columns = models[name], columns_for(name)
    rows = 25 if explainer == "permutation" else 300
    result = explain_model(
        model=model,
        X=X_eval[columns],
        y=y_eval,
        X_train=X_train[columns],
        max_rows=rows,
        **FAST,
    )
    assert result.provenance.explainer == explainer
    assert result.output_space == space
    assert result.additivity_ok and result.failures == ()
    assert result.additivity_max_error <= ADDITIVITY_TOLERANCE
    top = tuple(i.feature for i in result.global_importance[: len(result.top_features)])
    assert result.top_features == top

    shap_values = compute_shap_values(
        model=model,
        X=X_eval[columns].iloc[:rows],
        X_background=X_train[columns],
        background_size=30,
        max_evals=100,
    )
    expected = positive_output(model, X_eval[columns].iloc[:rows], space)
    total = shap_values.base_value + shap_values.values.sum(axis=1)
    np.testing.assert_allclose(total, expected, rtol=0, atol=ADDITIVITY_TOLERANCE)


@pytest.mark.parametrize("name", ["gbc", "rf", "hgb"])
def test_tree_path_equals_shap_tree_explainer(models: dict[str, Any], data: Any, name: str) -> None:
    X_eval = data[2][NUMERIC]
    ours = compute_shap_values(model=models[name], X=X_eval)
    explainer = shap.TreeExplainer(models[name])
    direct = np.asarray(explainer.shap_values(X_eval))
    expected_value = np.atleast_1d(explainer.expected_value)
    if direct.ndim == 3:  # forests: one output per class; we explain the positive one
        direct, expected_value = direct[:, :, 1], expected_value[1:]
    np.testing.assert_allclose(ours.values, direct, rtol=0, atol=1e-10)
    assert ours.base_value == pytest.approx(float(expected_value[0]), abs=1e-10)
    assert ours.feature_perturbation == explainer.feature_perturbation == "tree_path_dependent"


def test_one_hot_shap_is_summed_back_to_the_input_column_linear(
    models: dict[str, Any], data: Any
) -> None:
    X_train, _, X_eval, _ = data
    model = models["logistic"]
    background = X_train.iloc[:50]
    ours = compute_shap_values(model=model, X=X_eval, X_background=background, background_size=50)

    prep, clf = model[:-1], model[-1]
    names = list(prep.get_feature_names_out())
    Z = prep.transform(X_eval)
    direct = shap.LinearExplainer(clf, prep.transform(background)).shap_values(Z)
    for column in FEATURES:
        outputs = [j for j, n in enumerate(names) if n.split("__", 1)[1].startswith(column)]
        j = FEATURES.index(column)
        np.testing.assert_allclose(
            ours.values[:, j], direct[:, outputs].sum(axis=1), rtol=0, atol=1e-10
        )
    assert len([n for n in names if n.startswith("cat__region_")]) == 4


def test_one_hot_shap_is_summed_back_to_the_input_column_tree(
    models: dict[str, Any], data: Any
) -> None:
    X_eval = data[2]
    model = models["gbc_pipeline"]
    ours = compute_shap_values(model=model, X=X_eval)
    names = list(model[:-1].get_feature_names_out())
    direct = shap.TreeExplainer(model[-1]).shap_values(model[:-1].transform(X_eval))
    region = [j for j, n in enumerate(names) if n.startswith("cat__region_")]
    np.testing.assert_allclose(
        ours.values[:, FEATURES.index("region")],
        direct[:, region].sum(axis=1),
        rtol=0,
        atol=1e-10,
    )
    assert ours.features == tuple(FEATURES)


# --- Global result: sample, reproducibility, stability, provenance ----------------------------


def test_same_seed_gives_the_same_evidence(models: dict[str, Any], data: Any) -> None:
    X_train, _, X_eval, y_eval = data
    kwargs = {"model": models["logistic"], "X": X_eval, "y": y_eval, "X_train": X_train}
    first = explain_model(**kwargs, max_rows=120, seed=7)
    second = explain_model(**kwargs, max_rows=120, seed=7)
    other = explain_model(**kwargs, max_rows=120, seed=8)
    assert first.to_dict() == second.to_dict()
    assert json.loads(json.dumps(first.to_dict(), allow_nan=False)) == first.to_dict()
    assert first.provenance.sample_sha256 != other.provenance.sample_sha256


def test_permutation_path_is_reproducible_and_leaves_global_rng_alone(
    models: dict[str, Any], data: Any
) -> None:
    X_train, _, X_eval, _ = data
    kwargs = {"model": models["mlp"], "X": X_eval[NUMERIC], "X_train": X_train[NUMERIC]}
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first = explain_model(**kwargs, max_rows=12, seed=3, **FAST)
    assert np.array_equal(np.random.get_state()[1], before)
    second = explain_model(**kwargs, max_rows=12, seed=3, **FAST)
    assert first.to_dict() == second.to_dict()
    assert first.stability.method == "background" and first.stability.rows == 10


def test_sample_is_stratified_and_its_hash_is_documented(models: dict[str, Any]) -> None:
    X, _ = credit_data(1000, seed=3)
    y = pd.Series(np.r_[np.ones(100, dtype=int), np.zeros(900, dtype=int)])
    result = explain_model(model=models["gbc"], X=X[NUMERIC], y=y, max_rows=200, n_boot=20)
    chosen = list(result.sample_row_index)
    assert len(chosen) == 200 and int(y.loc[chosen].sum()) == 20
    assert result.provenance.stratified_by_label
    assert result.provenance.sample_sha256 == documented_hash(X[NUMERIC].loc[chosen])


def documented_hash(sample: pd.DataFrame) -> str:
    """The sample hash as SAMPLE_HASH_METHOD describes it, written out independently."""
    numeric = [pd.api.types.is_numeric_dtype(sample[c]) for c in sample.columns]
    header = {
        "columns": list(sample.columns),
        "kinds": ["numeric" if n else "text" for n in numeric],
        "index": [str(i) for i in sample.index],
    }
    payload = [json.dumps(header, separators=(",", ":")).encode()]
    for column, is_number in zip(sample.columns, numeric, strict=True):
        if is_number:
            payload.append(sample[column].to_numpy(dtype="<f8").tobytes())
        else:
            texts = [None if pd.isna(v) else str(v) for v in sample[column]]
            payload.append(json.dumps(texts, separators=(",", ":")).encode())
    return hashlib.sha256(b"".join(payload)).hexdigest()


def test_sample_hash_covers_text_columns_and_index(models: dict[str, Any], data: Any) -> None:
    X_eval = data[2]
    result = explain_model(model=models["gbc_pipeline"], X=X_eval, n_boot=0)
    assert result.provenance.sample_sha256 == documented_hash(X_eval)
    shifted = explain_model(model=models["gbc_pipeline"], X=X_eval.set_index(X_eval.index + 1))
    assert shifted.provenance.sample_sha256 != result.provenance.sample_sha256


def test_global_importance_matches_mean_abs_shap(models: dict[str, Any], data: Any) -> None:
    X_eval = data[2]
    result = explain_model(model=models["gbc_pipeline"], X=X_eval, max_rows=300, n_boot=100)
    direct = compute_shap_values(model=models["gbc_pipeline"], X=X_eval)
    expected = dict(zip(FEATURES, np.abs(direct.values).mean(axis=0), strict=True))
    for item in result.global_importance:
        assert item.mean_abs_shap == pytest.approx(expected[item.feature], abs=1e-12)
        assert item.ci_low <= item.mean_abs_shap <= item.ci_high
    ranks = [item.rank for item in result.global_importance]
    assert ranks == list(range(1, len(FEATURES) + 1))
    assert result.global_importance[0].feature == "debt_ratio"
    assert sum(item.share for item in result.global_importance) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("name", "method"), [("gbc", "bootstrap_rows"), ("logistic", "background")]
)
def test_stability_report(models: dict[str, Any], data: Any, name: str, method: str) -> None:
    X_train, _, X_eval, y_eval = data
    columns = columns_for(name)
    result = explain_model(
        model=models[name],
        X=X_eval[columns],
        y=y_eval,
        X_train=X_train[columns],
        background_size=40,
        top_k=3,
    )
    stability = result.stability
    assert stability.method == method
    assert len(stability.kendall_tau) == 3 and len(stability.seeds) == 3
    assert all(t is None or -1.0 <= t <= 1.0 for t in stability.kendall_tau)
    assert stability.top_features == tuple(i.feature for i in result.global_importance[:3])
    assert set(stability.unstable_features) <= set(stability.top_features)
    # Rank 1 of the main run is the first top feature, in every report.
    assert stability.ranks[stability.top_features[0]][0] == 1
    moved = {
        f
        for f, ranks in stability.ranks.items()
        if max(abs(r - ranks[0]) for r in ranks) > stability.rank_tolerance
    }
    assert moved == set(stability.unstable_features)


def test_stability_marks_a_feature_whose_rank_moves(data: Any) -> None:
    X_train, y_train, _, _ = data
    # Twenty near-useless noise features: their ranks shuffle between bootstrap resamples.
    rng = np.random.default_rng(5)
    noise = pd.DataFrame(rng.normal(size=(len(X_train), 20)), columns=[f"n{i}" for i in range(20)])
    noisy_train = pd.concat([X_train[NUMERIC], noise], axis=1)
    model = GradientBoostingClassifier(n_estimators=30, random_state=0).fit(noisy_train, y_train)
    result = explain_model(model=model, X=noisy_train.iloc[:60], top_k=15, rank_tolerance=0)
    assert result.stability.unstable_features
    assert result.stability.min_kendall_tau is not None and result.stability.min_kendall_tau < 1


def test_provenance_and_chart_data(models: dict[str, Any], data: Any) -> None:
    X_train, _, X_eval, y_eval = data
    result = explain_model(
        model=models["logistic"], X=X_eval, y=y_eval, X_train=X_train, max_points=50, top_k=2
    )
    p = result.provenance
    assert (p.explainer, p.output_space, p.seed, p.sample_size) == ("linear", "log_odds", 0, 300)
    assert p.background_size == 100 and p.background_source == "the training data"
    assert p.shap_version == shap.__version__
    assert "decision_function" in result.output_label
    assert [s.feature for s in result.summary] == [i.feature for i in result.global_importance]
    assert all(len(s.shap_values) == len(s.feature_values) == 50 for s in result.summary)
    region = next(s for s in result.summary if s.feature == "region")
    assert set(region.feature_values) <= {"north", "south", "east", "west"}
    assert [d.feature for d in result.dependence] == list(result.top_features)
    income = result.dependence[0].operating_range if result.top_features[0] == "income" else None
    if income is not None:
        assert income.maximum == X_train["income"].max()


def test_progress_is_reported_from_zero_to_one(models: dict[str, Any], data: Any) -> None:
    calls: list[tuple[float, str]] = []
    explain_model(
        model=models["gbc"], X=data[2][NUMERIC], progress=lambda f, m: calls.append((f, m))
    )
    fractions = [f for f, _ in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions) and len(calls) >= 5
    assert all(isinstance(m, str) and m for _, m in calls)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10_000))
def test_importance_does_not_depend_on_row_order(seed: int) -> None:
    X, y = credit_data(150, seed=4)
    model = GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X[NUMERIC], y)
    shuffled = X[NUMERIC].sample(frac=1.0, random_state=seed)
    a = explain_model(model=model, X=X[NUMERIC], n_boot=0)
    b = explain_model(model=model, X=shuffled, n_boot=0)
    for left, right in zip(a.global_importance, b.global_importance, strict=True):
        assert left.feature == right.feature
        assert left.mean_abs_shap == pytest.approx(right.mean_abs_shap, rel=1e-12)


# --- Partial dependence -----------------------------------------------------------------------


def test_partial_dependence_equals_sklearn(models: dict[str, Any], data: Any) -> None:
    X_train, _, X_eval, _ = data
    model = models["logistic"]
    curves = partial_dependence_curves(
        model=model, X=X_eval, features=["debt_ratio", "region"], X_train=X_train, ice_rows=7
    )
    numeric, categorical = curves
    reference = partial_dependence(model, X_eval, ["debt_ratio"], kind="both", grid_resolution=20)
    np.testing.assert_allclose(numeric.grid, reference["grid_values"][0])
    np.testing.assert_allclose(numeric.average, reference["average"][0], atol=1e-12)
    positions = [X_eval.index.get_loc(i) for i in numeric.ice_row_index]
    np.testing.assert_allclose(numeric.individual, reference["individual"][0][positions])
    assert len(numeric.individual) == 7 and numeric.output_space == "probability"

    limits = numeric.operating_range
    assert (limits.minimum, limits.maximum) == (X_train.debt_ratio.min(), X_train.debt_ratio.max())
    p05, p95 = np.percentile(X_train.debt_ratio, [5, 95])
    assert (limits.p05, limits.p95) == pytest.approx((p05, p95))
    assert limits.source == "training data"

    reference = partial_dependence(
        model, X_eval, ["region"], categorical_features=["region"], kind="average"
    )
    assert list(categorical.grid) == list(reference["grid_values"][0])
    np.testing.assert_allclose(categorical.average, reference["average"][0], atol=1e-12)
    assert categorical.grid_inside_range == (True, True, True, True)
    json.dumps([c.to_dict() for c in curves], allow_nan=False)


def test_partial_dependence_of_an_integer_column(data: Any) -> None:
    X_train, y_train, _, _ = data
    X_int = X_train[NUMERIC].assign(age=np.arange(len(X_train)) % 60 + 18)
    numeric = list(X_int.columns)
    model = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X_int[numeric], y_train)
    (curve,) = partial_dependence_curves(model=model, X=X_int[numeric], features=["age"])
    as_float = X_int[numeric].astype({"age": float})
    reference = partial_dependence(
        model,
        as_float,
        ["age"],
        kind="average",
        method="brute",
        response_method="predict_proba",
        grid_resolution=20,
    )
    np.testing.assert_allclose(curve.grid, reference["grid_values"][0])
    np.testing.assert_allclose(curve.average, reference["average"][0], atol=1e-12)
    assert curve.operating_range.minimum == 18 and curve.operating_range.maximum == 77


def test_partial_dependence_marks_grid_outside_training_range(
    models: dict[str, Any], data: Any
) -> None:
    X_train, _, X_eval, _ = data
    narrow = X_train[X_train.debt_ratio.between(0.2, 0.6)]
    (curve,) = partial_dependence_curves(
        model=models["gbc"], X=X_eval[NUMERIC], features=["debt_ratio"], X_train=narrow[NUMERIC]
    )
    inside = [0.2 <= v <= 0.6 for v in curve.grid]
    low, high = narrow.debt_ratio.min(), narrow.debt_ratio.max()
    assert list(curve.grid_inside_range) == [low <= v <= high for v in curve.grid]
    assert not all(inside) and any(inside)


def test_partial_dependence_unknown_feature(models: dict[str, Any], data: Any) -> None:
    with pytest.raises(ExplainInputError) as caught:
        partial_dependence_curves(model=models["gbc"], X=data[2][NUMERIC], features=["salary"])
    assert caught.value.problems == [UNKNOWN_FEATURES.format(unknown=["salary"], known=NUMERIC)]


# --- One decision -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["logistic", "gbc_pipeline", "rf"])
def test_row_contributions_sum_to_prediction_minus_base(
    models: dict[str, Any], data: Any, name: str
) -> None:
    X_train, _, X_eval, _ = data
    columns = columns_for(name)
    model = models[name]
    decision = explain_row(
        model=model, row=X_eval[columns].iloc[3], X_background=X_train[columns], seed=1
    )
    total = sum(c.contribution for c in decision.contributions)
    assert total == pytest.approx(decision.prediction - decision.base_value, abs=1e-9)
    expected = positive_output(model, X_eval[columns].iloc[[3]], decision.output_space)[0]
    assert decision.prediction == pytest.approx(expected, abs=1e-9)
    sizes = [abs(c.contribution) for c in decision.contributions]
    assert sizes == sorted(sizes, reverse=True)
    assert decision.probability == pytest.approx(
        model.predict_proba(X_eval[columns].iloc[[3]])[0, 1]
    )
    assert decision.outside_operating_range == () and decision.failures == ()


def test_row_drivers_in_plain_language(models: dict[str, Any], data: Any) -> None:
    X_train = data[0]
    row = {"income": 30_000, "debt_ratio": 0.95, "age": 45, "region": "north", "sex": "female"}
    decision = explain_row(
        model=models["logistic"], row=row, X_background=X_train, outcome_name="risk score"
    )
    assert decision.drivers[0] == "Debt ratio 0.95 raised the risk score the most."
    assert len(decision.drivers) == 3
    for sentence, c in zip(decision.drivers, decision.contributions, strict=False):
        verb = "raised" if c.contribution > 0 else "lowered"
        assert sentence.startswith(c.feature.replace("_", " ").capitalize()) and verb in sentence
    assert decision.row["income"] == 30_000.0 and decision.row["region"] == "north"


def test_what_if_outside_training_range_is_flagged(models: dict[str, Any], data: Any) -> None:
    X_train = data[0]
    row = {"income": 2_000_000, "debt_ratio": 0.4, "age": 45, "region": "mars", "sex": "male"}
    decision = explain_row(model=models["logistic"], row=row, X_background=X_train)
    assert decision.outside_operating_range == ("income", "region")
    low, high = X_train.income.min(), X_train.income.max()
    assert decision.boundary_warnings == (
        OUTSIDE_RANGE.format(
            label="Income", value="2,000,000", low=f"{low:,.0f}", high=f"{high:,.0f}"
        ),
        UNSEEN_CATEGORY.format(label="Region", value="mars"),
    )
    total = decision.base_value + sum(c.contribution for c in decision.contributions)
    assert total == pytest.approx(decision.prediction, abs=1e-9)
    inside = {c.feature: c.inside_operating_range for c in decision.contributions}
    assert inside == {
        "income": False,
        "debt_ratio": True,
        "age": True,
        "region": False,
        "sex": True,
    }


def test_row_of_evaluation_data_may_carry_identifiers(models: dict[str, Any], data: Any) -> None:
    X_train, _, X_eval, _ = data
    row = X_eval.assign(applicant_id=range(len(X_eval))).iloc[5]
    decision = explain_row(model=models["gbc_pipeline"], row=row, X_background=X_train)
    assert EXTRA_COLUMNS_NOTE.format(extra=["applicant_id"]) in decision.notes
    assert decision.explainer == "tree" and decision.background_size is None
    assert [c.feature for c in decision.contributions if c.feature == "applicant_id"] == []


def test_bad_what_if_row(models: dict[str, Any], data: Any) -> None:
    row = {"income": "a lot", "debt_ratio": 0.4, "age": 45, "region": "north", "colour": "red"}
    with pytest.raises(ExplainInputError) as caught:
        explain_row(model=models["logistic"], row=row, X_background=data[0])
    assert caught.value.problems == [
        ROW_MISSING.format(missing=["sex"]),
        ROW_UNKNOWN.format(extra=["colour"]),
        ROW_NOT_A_NUMBER.format(column="income", value="a lot"),
    ]


# --- Bad input and fallbacks ------------------------------------------------------------------


class SingularModel(ClassifierMixin, BaseEstimator):
    """Fits, then fails on every prediction, like a model with a broken dependency."""

    def fit(self, X: pd.DataFrame, y: pd.Series) -> SingularModel:
        self.classes_ = np.unique(y)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        raise np.linalg.LinAlgError("Singular matrix")

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        raise np.linalg.LinAlgError("Singular matrix")


def test_model_failing_on_background(data: Any) -> None:
    X_train, y_train, X_eval, _ = data
    model = SingularModel().fit(X_train[NUMERIC], y_train)
    with pytest.raises(ExplainInputError) as caught:
        explain_model(model=model, X=X_eval[NUMERIC], X_train=X_train[NUMERIC], background_size=20)
    assert caught.value.problems == [
        MODEL_FAILED.format(rows=20, source="the training data", error="Singular matrix")
    ]
    assert isinstance(caught.value, InputProblems) and isinstance(caught.value, ValueError)


def test_all_missing_column_and_missing_columns_are_reported_together(
    models: dict[str, Any], data: Any
) -> None:
    X_eval = data[2].drop(columns=["region", "sex"]).assign(income=np.nan)
    with pytest.raises(ExplainInputError) as caught:
        explain_model(model=models["logistic"], X=X_eval, n_boot=-1)
    assert caught.value.problems == [
        BAD_PARAMETER.format(name="n_boot", expected="an integer >= 0", value=-1),
        MISSING_COLUMNS.format(name="the evaluation data X", missing=["region", "sex"]),
        ALL_MISSING.format(column="income", name="the evaluation data X", n=300),
    ]


def test_text_column_the_model_cannot_take(models: dict[str, Any], data: Any) -> None:
    X_eval = data[2][NUMERIC].assign(age="forty")
    model = models["gbc"]
    with pytest.raises(ValueError) as direct:
        model.decision_function(X_eval)
    with pytest.raises(ExplainInputError) as caught:
        explain_model(model=model, X=X_eval)
    assert caught.value.problems == [
        TEXT_COLUMN.format(
            column="age",
            name="the evaluation data",
            example="forty",
            error=" ".join(str(direct.value).split()),
        )
    ]


def test_constant_feature_is_a_note_and_gets_zero_shap(data: Any) -> None:
    X_train, y_train, X_eval, _ = data
    train = X_train[NUMERIC].assign(branch=7.0)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(train, y_train)
    result = explain_model(model=model, X=X_eval[NUMERIC].assign(branch=7.0), X_train=train)
    assert CONSTANT_NOTE.format(column="branch", value="7") in result.notes
    branch = next(i for i in result.global_importance if i.feature == "branch")
    assert branch.mean_abs_shap == 0.0 and branch.rank == 4
    assert result.failures == ()


def test_multiclass_model_is_refused(data: Any) -> None:
    X_train, _, _, _ = data
    y = pd.Series(np.arange(len(X_train)) % 3)
    model = LogisticRegression(max_iter=1000).fit(X_train[NUMERIC], y)
    with pytest.raises(ExplainInputError) as caught:
        explain_model(model=model, X=X_train[NUMERIC])
    assert caught.value.problems == [MULTICLASS.format(n=3, classes=[0, 1, 2])]


def test_unmappable_preprocessing_falls_back_to_permutation(data: Any) -> None:
    X_train, y_train, X_eval, _ = data
    model = make_pipeline(StandardScaler(), PCA(n_components=2), LogisticRegression())
    model.fit(X_train[NUMERIC], y_train)
    result = explain_model(model=model, X=X_eval[NUMERIC], max_rows=15, **FAST)
    assert result.provenance.explainer == "permutation"
    assert UNMAPPED_NOTE.format(step="pca (PCA)") in result.notes
    assert result.features == tuple(NUMERIC) and result.additivity_ok


def test_model_shap_cannot_handle_falls_back_with_a_note(data: Any) -> None:
    X_train, y_train, X_eval, _ = data
    categorical = X_train[["debt_ratio", "region"]].astype({"region": "category"})
    model = HistGradientBoostingClassifier(
        max_iter=20, categorical_features="from_dtype", random_state=0
    ).fit(categorical, y_train)
    X = X_eval[["debt_ratio", "region"]].astype({"region": categorical.region.dtype})
    # A small background and few stability rows: every call of this model is costly.
    cheap = FAST | {"background_size": 10, "stability_rows": 4}
    result = explain_model(model=model, X=X, max_rows=15, **cheap)
    assert result.provenance.explainer == "permutation"
    prefix = FALLBACK_NOTE.split("(", 1)[0].format(
        kind="tree", model="HistGradientBoostingClassifier"
    )
    assert any(note.startswith(prefix) for note in result.notes)
    assert result.additivity_ok
    importance = {i.feature: i.mean_abs_shap for i in result.global_importance}
    assert importance["region"] > 0 and not math.isnan(importance["debt_ratio"])
