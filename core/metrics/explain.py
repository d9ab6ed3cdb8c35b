"""SHAP explanations of a fitted model: global importance, summary, dependence, one decision.

A fitted model and DataFrames in, frozen result dataclasses out; no database, no files.

The explainer follows the model, and the result records which one produced every number:

- tree models (scikit-learn decision trees, random forests, extra trees, gradient boosting,
  histogram gradient boosting; LightGBM and XGBoost when installed) use exact TreeSHAP,
  ``shap.TreeExplainer(feature_perturbation="tree_path_dependent")``. It weighs the trees by
  the training cover stored in them, so it needs no background sample, is deterministic and is
  as fast as shap itself (the interventional variant is slower by the background size);
- linear models (alone or at the end of a ``Pipeline``) use exact interventional linear SHAP,
  ``coef * (z - mean(background z))`` in the model's transformed feature space, which is what
  ``shap.LinearExplainer`` computes, without its overhead;
- anything else, and any model the exact explainers cannot handle, uses shap's permutation
  explainer with a small seeded background sample. The kernel explainer is never used.

Pipelines are explained in their ORIGINAL input columns: the SHAP values of the transformed
features (for instance the outputs of a ``OneHotEncoder``) are summed back to the input column
they came from, which keeps additivity and is what a subject matter expert can read.

SHAP values show association with the model's output, not causation. A what-if row outside
the training range is explained, but flagged as unreliable.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
import shap
import sklearn
from scipy.stats import kendalltau
from sklearn import ensemble, linear_model, preprocessing, svm, tree
from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from core.errors import InputProblems

__all__ = [
    "ADDITIVITY_TOLERANCE",
    "Contribution",
    "DecisionExplanation",
    "DependenceData",
    "ExplainInputError",
    "ExplanationResult",
    "FeatureImportance",
    "FeaturePoints",
    "OperatingRange",
    "Progress",
    "Provenance",
    "ShapValues",
    "StabilityReport",
    "compute_shap_values",
    "explain_model",
    "explain_row",
    "operating_range",
]

Progress = Callable[[float, str], None]
"""A progress callback: ``progress(fraction, message)`` with ``fraction`` in [0, 1]."""

ADDITIVITY_TOLERANCE = 1e-6
"""Largest accepted |base value + sum of SHAP values - model output| for any explained row."""

SAMPLE_HASH_METHOD = (
    "SHA-256 of the explained sample: first the compact UTF-8 JSON "
    '{"columns": [names], "kinds": ["numeric" or "text"], "index": [labels as strings]}, '
    "then per column in order: numeric columns as little-endian float64 bytes (missing as "
    "numpy's NaN), text columns as the compact UTF-8 JSON list of their values as strings "
    "(null when missing)."
)

# Output spaces, stated on every result and chart.
LOG_ODDS = "log_odds"
PROBABILITY = "probability"
RAW = "raw"

TREE = "tree"
LINEAR = "linear"
PERMUTATION = "permutation"

# --- Problems (ExplainInputError sentences) ---------------------------------------------------
NOT_A_DATAFRAME = (
    "{name} is a {kind}, not a pandas DataFrame; pass the feature columns as a DataFrame "
    "with the column names used in training."
)
NO_ROWS = "{name} has no rows; pass at least one row."
MISSING_COLUMNS = (
    "Feature columns the model was trained on are missing from {name}: {missing}; "
    "add them with the names used in training."
)
WRONG_COLUMN_COUNT = (
    "{name} has {found} columns but the model expects {expected}; "
    "pass exactly the training features, in training order."
)
ALL_MISSING = (
    "Feature column {column!r} in {name} has no values (all {n} missing); SHAP needs observed "
    "values, so fill the column or retrain the model without it."
)
TEXT_COLUMN = (
    "Feature column {column!r} in {name} holds text (e.g. {example!r}) that the model cannot "
    "take (the model said: {error}); encode it inside the model's pipeline (e.g. with a "
    "OneHotEncoder) or leave it out of the model."
)
MODEL_FAILED = (
    "The model failed on the background data ({rows} rows of {source}); the model said: "
    "{error}. Check that the data has the columns and types the model was trained on."
)
MODEL_FAILED_ON_ROWS = (
    "The model failed on {name} ({rows} rows); the model said: {error}. Check that the data "
    "has the columns and types the model was trained on."
)
NOT_FITTED = "The model is not fitted ({error}); fit it before asking for explanations."
NOT_A_MODEL = (
    "The model is a {kind} without predict(); pass a fitted scikit-learn style estimator "
    "or Pipeline."
)
MULTICLASS = (
    "The model has {n} classes ({classes}); explanations cover binary classifiers and "
    "regressors, so explain one class against the rest with a binary model."
)
Y_LENGTH = "The labels y have {ny} values but X has {nx} rows; pass one label per row of X."
BAD_PARAMETER = "Parameter {name} must be {expected}; got {value!r}."
ROW_MISSING = "The row has no value for feature columns {missing}; give a value for every one."
ROW_UNKNOWN = "The row has values for columns the model does not use: {extra}; remove them."
ROW_NOT_A_NUMBER = "Feature {column!r} of the row needs a number; got {value!r}."
ROW_NOT_A_ROW = "The row is a {kind}; pass a mapping of column to value or a pandas Series."

# --- Notes (recorded in the result, not failures) ---------------------------------------------
CONSTANT_NOTE = (
    "Feature {column!r} has a single value ({value}) in the evaluation data: it cannot explain "
    "differences between these rows, and its SHAP values are 0 wherever the background "
    "shares that value."
)
EXTRA_COLUMNS_NOTE = "Columns not used by the model were left out: {extra}."
DROPPED_COLUMN_NOTE = (
    "Feature {column!r} is dropped by the model's preprocessing; its SHAP values are 0."
)
FALLBACK_NOTE = (
    "SHAP's {kind} explainer cannot handle this {model} ({error}); used the permutation "
    "explainer instead (sampled, exact in additivity but not in the individual values)."
)
UNMAPPED_NOTE = (
    "The preprocessing step {step} cannot be traced back to the input columns; used the "
    "permutation explainer on the whole pipeline so that SHAP values refer to input columns."
)
AGNOSTIC_NOTE = (
    "No exact SHAP explainer for {model}; used the model-agnostic permutation explainer "
    "({max_evals} model evaluations per row, background of {background} rows)."
)
LOG_LINK_NOTE = (
    "{model} with loss {loss!r} predicts through a log link that TreeSHAP does not "
    "reproduce; used the permutation explainer on predict() instead."
)
NO_BACKGROUND_VARIATION_NOTE = (
    "The background pool has only {rows} rows (background size {size}), so every background "
    "sample is the same; stability was measured on bootstrap resamples of the explained rows."
)
ADDITIVITY_FAILURE = (
    "Additivity check failed: base value + sum of SHAP values differs from the model output "
    "by up to {error:.3g} ({space}), above the tolerance {tolerance:g}; do not use these SHAP "
    "values as evidence."
)
NOT_STRATIFIED_NOTE = (
    "The evaluation data has {rows} rows, above max_rows={max_rows}; a random sample was "
    "explained (no labels were given to stratify by)."
)
OUTSIDE_RANGE = (
    "{label} {value} is outside the training range ({low} to {high}); the explanation is "
    "unreliable there."
)
UNSEEN_CATEGORY = "{label} {value} was not seen in training; the explanation is unreliable there."
RANGE_FROM_BACKGROUND_NOTE = (
    "No training data was given; the operating boundaries come from {source}."
)
DRIVER = "{label} {value} {verb} the {outcome} {rank}."
DRIVER_RANKS = ("the most", "the second most", "the third most")

STABILITY_BOOTSTRAP = (
    "Path-dependent TreeSHAP does not use a background sample, so stability varies the "
    "explained rows instead: global importance recomputed on {runs} seeded bootstrap "
    "resamples of the explained rows."
)
STABILITY_BACKGROUND = (
    "Global importance recomputed with {runs} background samples drawn with other seeds, "
    "on {rows} of the explained rows."
)
STABILITY_BOOTSTRAP_FALLBACK = (
    "Global importance recomputed on {runs} seeded bootstrap resamples of the explained rows."
)

_STABILITY_RUNS = 3
_TREE_CHUNKS = 10
_PERMUTATION_CHUNKS = 20

# Seed streams: one generator per purpose, so changing one use of randomness leaves the others.
_SAMPLE, _BACKGROUND, _BOOTSTRAP, _POINTS, _STABILITY_BOOT, _STABILITY_ROWS = range(6)

_TREE_CLASSES: tuple[type, ...] = (
    tree.DecisionTreeClassifier,
    tree.DecisionTreeRegressor,
    tree.ExtraTreeClassifier,
    tree.ExtraTreeRegressor,
    ensemble.RandomForestClassifier,
    ensemble.RandomForestRegressor,
    ensemble.ExtraTreesClassifier,
    ensemble.ExtraTreesRegressor,
    ensemble.GradientBoostingClassifier,
    ensemble.GradientBoostingRegressor,
    ensemble.HistGradientBoostingClassifier,
    ensemble.HistGradientBoostingRegressor,
)
_TREE_MARGIN_CLASSES: tuple[type, ...] = (
    ensemble.GradientBoostingClassifier,
    ensemble.HistGradientBoostingClassifier,
)
# Only used when the packages are installed; matched by module so they are never imported here.
_BOOSTER_CLASSES = {
    ("lightgbm", "LGBMClassifier"),
    ("lightgbm", "LGBMRegressor"),
    ("xgboost", "XGBClassifier"),
    ("xgboost", "XGBRegressor"),
}
_LINEAR_CLASSES: tuple[type, ...] = (
    linear_model.LogisticRegression,
    linear_model.LogisticRegressionCV,
    linear_model.RidgeClassifier,
    linear_model.RidgeClassifierCV,
    linear_model.SGDClassifier,
    linear_model.LinearRegression,
    linear_model.Ridge,
    linear_model.RidgeCV,
    linear_model.Lasso,
    linear_model.LassoCV,
    linear_model.ElasticNet,
    linear_model.ElasticNetCV,
    linear_model.SGDRegressor,
    linear_model.HuberRegressor,
    linear_model.BayesianRidge,
    svm.LinearSVC,
    svm.LinearSVR,
)
# Transformers whose output column j depends on input column j only.
_ELEMENTWISE: tuple[type, ...] = (
    preprocessing.StandardScaler,
    preprocessing.MinMaxScaler,
    preprocessing.MaxAbsScaler,
    preprocessing.RobustScaler,
    preprocessing.QuantileTransformer,
    preprocessing.PowerTransformer,
    preprocessing.Binarizer,
    preprocessing.OrdinalEncoder,
)


@runtime_checkable
class ModelView(Protocol):
    """A model with its positive class decided (``core.files.adapter.ModelAdapter`` is one).

    Every function here takes either a bare fitted estimator, whose positive class is then
    ``classes_[1]``, or such a view, whose ``positive_index`` (position in ``classes_``) is
    the class every probability, score and label of the result is about.
    """

    @property
    def estimator(self) -> Any: ...

    @property
    def positive_index(self) -> int | None: ...


def _unwrap(model: Any) -> tuple[Any, int | None]:
    """The estimator and the position of its positive class (None: the default)."""
    if isinstance(model, ModelView):
        return model.estimator, model.positive_index
    return model, None


class ExplainInputError(InputProblems, ValueError):
    """The explanation cannot be computed; ``problems`` lists every reason found."""

    def __init__(self, problems: str | Sequence[str]) -> None:
        items = [problems] if isinstance(problems, str) else list(problems)
        super().__init__([p[:1].upper() + p[1:] for p in items])


# --- Result types ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Turn results into JSON-able Python: numpy scalars to int/float, NaN to None."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        return str(value)  # np.str_ is a str whose repr is np.str_('good')
    if value is None:
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


class _ToDict:
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able Python (floats, str, None, lists, dicts), to store and hash."""
        result: dict[str, Any] = _plain(self)
        return result


@dataclass(frozen=True)
class OperatingRange(_ToDict):
    """Where the model has seen data for one feature, so charts can mark its boundaries.

    Numeric features carry min/max and the 5th/95th percentiles; categorical ones the
    categories seen. ``source`` says which data the range was measured on.
    """

    feature: str
    kind: str
    source: str
    minimum: float | None = None
    maximum: float | None = None
    p05: float | None = None
    p95: float | None = None
    categories: tuple[str, ...] = ()

    def contains(self, value: Any) -> bool:
        """True when ``value`` lies inside the range (missing values count as inside)."""
        if _is_missing(value):
            return True
        if self.kind == "numeric":
            number = float(value)
            assert self.minimum is not None and self.maximum is not None
            return self.minimum <= number <= self.maximum
        return str(value) in self.categories


@dataclass(frozen=True)
class FeatureImportance(_ToDict):
    """Mean |SHAP| of one feature over the explained rows, with a bootstrap 95% interval."""

    feature: str
    rank: int
    mean_abs_shap: float
    ci_low: float
    ci_high: float
    share: float


@dataclass(frozen=True)
class FeaturePoints(_ToDict):
    """Beeswarm data for one feature: SHAP value and feature value of each plotted row."""

    feature: str
    shap_values: tuple[float, ...]
    feature_values: tuple[float | str | None, ...]


@dataclass(frozen=True)
class DependenceData(_ToDict):
    """Dependence plot data for a top feature, with its operating range to mark on the chart."""

    feature: str
    feature_values: tuple[float | str | None, ...]
    shap_values: tuple[float, ...]
    operating_range: OperatingRange


@dataclass(frozen=True)
class StabilityReport(_ToDict):
    """Do the top features keep their ranks when the background or the rows change?

    Method "background" (linear and permutation explainers): importance recomputed with
    backgrounds drawn with ``seeds``, on ``rows`` explained rows. Method "bootstrap_rows"
    (path-dependent TreeSHAP, which has no background): importance recomputed on seeded
    bootstrap resamples of the explained rows. ``ranks[f]`` is the rank of top feature ``f``
    in the main run, then in each run; ``kendall_tau[i]`` compares the importances of the top
    features in run ``i`` with the main run. A top feature is unstable when its rank moves by
    more than ``rank_tolerance`` in any run.
    """

    method: str
    description: str
    seeds: tuple[int, ...]
    rows: int
    top_features: tuple[str, ...]
    ranks: dict[str, tuple[int, ...]]
    kendall_tau: tuple[float | None, ...]
    min_kendall_tau: float | None
    rank_tolerance: int
    unstable_features: tuple[str, ...]


@dataclass(frozen=True)
class Provenance(_ToDict):
    """Which explainer, library versions, background, seed and sample produced the numbers."""

    explainer: str
    explainer_class: str
    feature_perturbation: str
    model_class: str
    shap_version: str
    sklearn_version: str
    background_size: int | None
    background_source: str | None
    seed: int
    sample_size: int
    rows_available: int
    stratified_by_label: bool
    sample_sha256: str
    sample_hash_method: str
    output_space: str
    max_evals: int | None


@dataclass(frozen=True, eq=False)
class ShapValues(_ToDict):
    """SHAP values of every row of X in the model's input columns, before any summary.

    ``values[i].sum() + base_value == model_output[i]`` within ``additivity_max_error``.
    """

    features: tuple[str, ...]
    values: np.ndarray
    base_value: float
    model_output: np.ndarray
    row_index: tuple[Any, ...]
    explainer: str
    explainer_class: str
    feature_perturbation: str
    output_space: str
    output_label: str
    positive_class: Any
    background_size: int | None
    background_source: str | None
    max_evals: int | None
    additivity_max_error: float
    notes: tuple[str, ...]


@dataclass(frozen=True)
class ExplanationResult(_ToDict):
    """Global explanation of a model on a sample of evaluation data.

    All SHAP numbers are in ``output_space`` ("log_odds", "probability" or "raw"); state
    ``output_label`` on every chart. ``failures`` is empty when the evidence is sound.
    """

    features: tuple[str, ...]
    output_space: str
    output_label: str
    positive_class: Any
    base_value: float
    global_importance: tuple[FeatureImportance, ...]
    summary: tuple[FeaturePoints, ...]
    summary_row_index: tuple[Any, ...]
    dependence: tuple[DependenceData, ...]
    stability: StabilityReport
    additivity_max_error: float
    additivity_tolerance: float
    additivity_ok: bool
    provenance: Provenance
    sample_row_index: tuple[Any, ...]
    notes: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()

    @property
    def top_features(self) -> tuple[str, ...]:
        """Features by decreasing mean |SHAP|, at most ``top_k`` of them."""
        return self.stability.top_features


@dataclass(frozen=True)
class Contribution(_ToDict):
    """One bar of a waterfall: the feature, its value in the row and its SHAP value."""

    feature: str
    value: float | str | None
    contribution: float
    direction: str
    inside_operating_range: bool


@dataclass(frozen=True)
class DecisionExplanation(_ToDict):
    """Why the model scored one row as it did (waterfall data and plain-language drivers).

    ``base_value + sum(c.contribution for c in contributions) == prediction`` in
    ``output_space``. ``probability`` is the positive-class probability for classifiers.
    """

    row: dict[str, float | str | None]
    prediction: float
    probability: float | None
    base_value: float
    output_space: str
    output_label: str
    positive_class: Any
    contributions: tuple[Contribution, ...]
    drivers: tuple[str, ...]
    outside_operating_range: tuple[str, ...]
    boundary_warnings: tuple[str, ...]
    operating_ranges: tuple[OperatingRange, ...]
    explainer: str
    explainer_class: str
    feature_perturbation: str
    shap_version: str
    background_size: int | None
    seed: int
    additivity_error: float
    notes: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()


# --- Small helpers -----------------------------------------------------------------------------


def _report(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(min(1.0, max(0.0, fraction)), message)


def _rng(seed: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng([seed, purpose])


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _is_numeric(column: pd.Series) -> bool:
    return bool(
        pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column)
    )


def _class_name(obj: Any) -> str:
    return type(obj).__name__


def _feature_label(name: str) -> str:
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _format_value(value: Any) -> str:
    """A feature value as a person would write it: 0.62, 23,000, 41, south, missing."""
    if _is_missing(value):
        return "missing"
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer | float | np.floating):
        number = float(value)
        if number.is_integer() and abs(number) < 1e15:
            return f"{int(number):,}"
        if abs(number) >= 1000:
            return f"{number:,.0f}"
        return f"{number:.3g}"
    return str(value)


def _cell(value: Any) -> float | str | None:
    if _is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer | float | np.floating):
        return float(value)
    return str(value)


def _column_cells(column: pd.Series) -> tuple[float | str | None, ...]:
    if _is_numeric(column):
        return tuple(None if math.isnan(v) else v for v in column.to_numpy(dtype=float).tolist())
    return tuple(_cell(v) for v in column.tolist())


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _sample_sha256(sample: pd.DataFrame) -> str:
    """See SAMPLE_HASH_METHOD: exact bytes, independent of float formatting and pandas."""
    numeric = [_is_numeric(sample[c]) for c in sample.columns]
    digest = hashlib.sha256()
    header = {
        "columns": [str(c) for c in sample.columns],
        "kinds": ["numeric" if n else "text" for n in numeric],
        "index": [str(i) for i in sample.index],
    }
    digest.update(_json_bytes(header))
    for column, is_number in zip(sample.columns, numeric, strict=True):
        if is_number:
            values = sample[column].to_numpy(dtype="<f8", na_value=np.nan)
            digest.update(np.where(np.isnan(values), np.nan, values).astype("<f8").tobytes())
        else:
            texts = [None if _is_missing(v) else str(v) for v in sample[column].tolist()]
            digest.update(_json_bytes(texts))
    return digest.hexdigest()


def _check_parameters(checks: Sequence[tuple[str, Any, bool, str]]) -> list[str]:
    return [
        BAD_PARAMETER.format(name=name, expected=expected, value=value)
        for name, value, ok, expected in checks
        if not ok
    ]


def _is_int(value: Any, minimum: int) -> bool:
    return bool(
        isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= minimum
    )


def _whole_numbers(**limits: tuple[Any, int]) -> list[tuple[str, Any, bool, str]]:
    """Checks for _check_parameters that each ``name=(value, minimum)`` is a whole number at
    least ``minimum``."""
    return [
        (name, value, _is_int(value, minimum), f"an integer >= {minimum}")
        for name, (value, minimum) in limits.items()
    ]


# --- Operating range ---------------------------------------------------------------------------


def operating_range(*, column: pd.Series, source: str) -> OperatingRange:
    """Min/max and 5th/95th percentiles (numeric) or categories seen (otherwise) of a column."""
    name = str(column.name)
    if _is_numeric(column):
        values = column.to_numpy(dtype=float)
        values = values[~np.isnan(values)]
        if values.size == 0:
            return OperatingRange(feature=name, kind="numeric", source=source)
        p05, p95 = np.percentile(values, [5, 95])
        return OperatingRange(
            feature=name,
            kind="numeric",
            source=source,
            minimum=float(values.min()),
            maximum=float(values.max()),
            p05=float(p05),
            p95=float(p95),
        )
    seen = sorted({str(v) for v in column.tolist() if not _is_missing(v)})
    return OperatingRange(feature=name, kind="categorical", source=source, categories=tuple(seen))


# --- How to explain a model: the plan ----------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Plan:
    kind: str
    model: Any
    estimator: Any
    preprocess: Any | None
    column_map: np.ndarray | None  # (transformed features, input features), 0/1
    features: tuple[str, ...]
    output_space: str
    output_label: str
    positive_class: Any
    class_index: int | None
    notes: tuple[str, ...]
    agnostic: bool = False


def _final_estimator(model: Any) -> tuple[Any, Any | None]:
    if isinstance(model, Pipeline) and len(model.steps) > 1:
        return model.steps[-1][1], model[:-1]
    if isinstance(model, Pipeline):
        return model.steps[-1][1], None
    return model, None


def _is_booster(estimator: Any) -> bool:
    module = type(estimator).__module__.split(".")[0]
    return (module, type(estimator).__name__) in _BOOSTER_CLASSES


def _model_input(model: Any, X: pd.DataFrame) -> Any:
    # Estimators fitted without column names warn when given a DataFrame, and vice versa.
    return X if hasattr(model, "feature_names_in_") else X.to_numpy()


def _margin_sign(model: Any, class_index: int | None) -> float:
    """-1 when the positive class is ``classes_[0]`` of a binary model: margins (decision
    function, log-odds, raw boosting scores) speak of ``classes_[1]``."""
    binary = is_classifier(model) and len(model.classes_) == 2
    return -1.0 if binary and class_index == 0 else 1.0


def _output(model: Any, data: Any, space: str, class_index: int | None) -> np.ndarray:
    """The model's output in ``space``: the number the SHAP values add up to."""
    if space == PROBABILITY:
        return np.asarray(model.predict_proba(data), dtype=float)[:, class_index]
    return _margin_sign(model, class_index) * _margin(model, data, space)


def _margin(model: Any, data: Any, space: str) -> np.ndarray:
    if is_classifier(model) or space == LOG_ODDS:
        estimator, _ = _final_estimator(model)
        if _is_booster(estimator):
            keyword = (
                "raw_score"
                if type(estimator).__module__.startswith("lightgbm")
                else ("output_margin")
            )
            return np.asarray(model.predict(data, **{keyword: True}), dtype=float).ravel()
        if hasattr(model, "decision_function"):
            return np.asarray(model.decision_function(data), dtype=float).ravel()
    return np.asarray(model.predict(data), dtype=float).ravel()


def _dense(Z: Any) -> np.ndarray:
    toarray = getattr(Z, "toarray", None)  # scipy sparse output of encoders
    return np.asarray(toarray() if callable(toarray) else Z, dtype=float)


def _block_map(sizes: Sequence[int]) -> np.ndarray:
    """Rows: consecutive output blocks of the given sizes; columns: their inputs."""
    M = np.zeros((int(sum(sizes)), len(sizes)))
    start = 0
    for j, size in enumerate(sizes):
        M[start : start + size, j] = 1.0
        start += size
    return M


def _onehot_sizes(encoder: preprocessing.OneHotEncoder) -> list[int]:
    try:
        infrequent = list(encoder.infrequent_categories_)
    except AttributeError:  # infrequent grouping not enabled
        infrequent = [None] * len(encoder.categories_)
    drop = encoder.drop_idx_
    sizes = []
    for j, categories in enumerate(encoder.categories_):
        size = len(categories)
        if infrequent[j] is not None:
            size -= len(infrequent[j]) - 1
        if drop is not None and drop[j] is not None:
            size -= 1
        sizes.append(size)
    return sizes


def _resolve_columns(spec: Any, names: list[str]) -> list[int] | None:
    if isinstance(spec, str | int | np.integer):
        spec = [spec]
    if isinstance(spec, slice):
        if all(isinstance(s, int | type(None)) for s in (spec.start, spec.stop, spec.step)):
            return list(range(len(names)))[spec]
        return None
    items = list(spec)
    if items and all(isinstance(v, bool | np.bool_) for v in items):
        return [j for j, keep in enumerate(items) if keep]
    positions = []
    for item in items:
        if isinstance(item, str) and item in names:
            positions.append(names.index(item))
        elif isinstance(item, int | np.integer) and not isinstance(item, bool):
            positions.append(int(item))
        else:
            return None
    return positions


def _column_map(step: Any, n_in: int) -> np.ndarray | None:
    """0/1 matrix (outputs × inputs) saying which input column each output comes from.

    None when the step mixes columns or is unknown; the caller then explains the whole
    pipeline with the permutation explainer instead of guessing.
    """
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return np.eye(n_in)
    if isinstance(step, Pipeline):
        M = np.eye(n_in)
        for _, inner in step.steps:
            inner_map = _column_map(inner, M.shape[0])
            if inner_map is None:
                return None
            M = np.asarray(inner_map @ M)
        return M
    if isinstance(step, ColumnTransformer):
        return _column_transformer_map(step, n_in)
    if isinstance(step, preprocessing.OneHotEncoder):
        return _block_map(_onehot_sizes(step))
    if isinstance(step, preprocessing.KBinsDiscretizer):
        if step.encode == "ordinal":
            return np.eye(n_in)
        return _block_map([int(b) for b in step.n_bins_])
    if isinstance(step, SimpleImputer):
        kept = np.eye(n_in)
        if not step.keep_empty_features and step.strategy != "constant":
            kept = kept[~pd.isna(np.asarray(step.statistics_, dtype=object))]
        if step.add_indicator and step.indicator_ is not None:
            kept = np.vstack([kept, np.eye(n_in)[step.indicator_.features_]])
        return kept
    if isinstance(step, MissingIndicator):
        return np.asarray(np.eye(n_in)[step.features_])
    if isinstance(step, preprocessing.FunctionTransformer) and step.func is None:
        return np.eye(n_in)
    if isinstance(step, _ELEMENTWISE):
        return np.eye(n_in)
    return None


def _column_transformer_map(ct: ColumnTransformer, n_in: int) -> np.ndarray | None:
    names = (
        [str(c) for c in ct.feature_names_in_]
        if hasattr(ct, "feature_names_in_")
        else [str(j) for j in range(n_in)]
    )
    n_out = max((s.stop for s in ct.output_indices_.values()), default=0)
    M = np.zeros((n_out, n_in))
    for name, transformer, columns in ct.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        positions = _resolve_columns(columns, names)
        if positions is None:
            return None
        out = ct.output_indices_[name]
        if out.stop == out.start:
            continue
        block = _column_map(transformer, len(positions))
        if block is None or block.shape != (out.stop - out.start, len(positions)):
            return None
        M[out.start : out.stop, positions] = block
    return M


def _first_unmappable(preprocess: Any) -> str:
    steps = preprocess.steps if isinstance(preprocess, Pipeline) else [("step", preprocess)]
    for name, step in steps:
        if isinstance(step, ColumnTransformer):
            for inner_name, inner, _ in step.transformers_:
                if _column_map(inner, 1) is None and not isinstance(inner, str):
                    return f"{name}/{inner_name} ({_class_name(inner)})"
        elif _column_map(step, 1) is None:
            return f"{name} ({_class_name(step)})"
    return _class_name(preprocess)


def _output_space(
    model: Any, estimator: Any, kind: str, positive_index: int | None
) -> tuple[str, str, Any, int | None]:
    """Output space, chart label, positive class and its column in predict_proba."""
    if not is_classifier(model):
        return RAW, "model output (model.predict)", None, None
    classes = list(model.classes_)
    index = len(classes) - 1 if positive_index is None else positive_index
    positive_plain = _plain(classes[index])
    if (
        kind == TREE
        and not isinstance(estimator, _TREE_MARGIN_CLASSES)
        and not _is_booster(estimator)
    ):
        space = PROBABILITY
    elif kind in (TREE, LINEAR):
        log_loss = getattr(estimator, "loss", "log_loss") == "log_loss"
        logistic = isinstance(
            estimator, linear_model.LogisticRegression | linear_model.LogisticRegressionCV
        )
        space = LOG_ODDS if (kind == TREE and log_loss) or logistic else RAW
        if kind == LINEAR and isinstance(estimator, linear_model.SGDClassifier):
            space = LOG_ODDS if estimator.loss == "log_loss" else RAW
    else:
        space = PROBABILITY if hasattr(model, "predict_proba") else RAW
    labels = {
        LOG_ODDS: f"log-odds of class {positive_plain!r} (model.decision_function)",
        PROBABILITY: f"probability of class {positive_plain!r} (model.predict_proba)",
        RAW: f"decision score for class {positive_plain!r} (model.decision_function)",
    }
    return space, labels[space], positive_plain, index


def _plan(
    model: Any, features: tuple[str, ...], probe: pd.DataFrame, positive_index: int | None
) -> _Plan:
    """Choose the explainer for ``model``; ``probe`` is a few rows to try the mapping on."""
    estimator, preprocess = _final_estimator(model)
    notes: list[str] = []
    kind = PERMUTATION
    if isinstance(estimator, _TREE_CLASSES) or _is_booster(estimator):
        kind = TREE
        loss = getattr(estimator, "loss", None)
        if isinstance(estimator, ensemble.HistGradientBoostingRegressor) and loss in (
            "poisson",
            "gamma",
        ):
            notes.append(LOG_LINK_NOTE.format(model=_class_name(estimator), loss=loss))
            kind = PERMUTATION
    elif isinstance(estimator, _LINEAR_CLASSES):
        kind = LINEAR
    column_map = None
    if kind != PERMUTATION:
        if preprocess is None:
            column_map = np.eye(len(features))
        else:
            column_map = _column_map(preprocess, len(features))
            if column_map is not None:
                try:
                    width = _dense(preprocess.transform(probe)).shape[1]
                except Exception:  # the model's own check reports it later
                    width = -1
                if width != column_map.shape[0]:
                    column_map = None
            if column_map is None:
                notes.append(UNMAPPED_NOTE.format(step=_first_unmappable(preprocess)))
                kind = PERMUTATION
    space, label, positive, index = _output_space(model, estimator, kind, positive_index)
    return _Plan(
        kind=kind,
        model=model,
        estimator=estimator,
        preprocess=preprocess,
        column_map=column_map,
        features=features,
        output_space=space,
        output_label=label,
        positive_class=positive,
        class_index=index,
        notes=tuple(notes),
        agnostic=not isinstance(estimator, (*_TREE_CLASSES, *_LINEAR_CLASSES))
        and not _is_booster(estimator),
    )


def _fallback(plan: _Plan, error: Exception) -> _Plan:
    note = FALLBACK_NOTE.format(
        kind=plan.kind, model=_class_name(plan.estimator), error=str(error).strip()[:300]
    )
    space, label, positive, index = _output_space(
        plan.model, plan.estimator, PERMUTATION, plan.class_index
    )
    return _Plan(
        kind=PERMUTATION,
        model=plan.model,
        estimator=plan.estimator,
        preprocess=plan.preprocess,
        column_map=None,
        features=plan.features,
        output_space=space,
        output_label=label,
        positive_class=positive,
        class_index=index,
        notes=(*plan.notes, note),
    )


# --- The three explainers ----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Raw:
    values: np.ndarray  # (rows, input features)
    base_value: float
    output: np.ndarray  # the model's own output, one pass
    explainer_class: str
    feature_perturbation: str


def _transform(plan: _Plan, X: pd.DataFrame) -> np.ndarray:
    if plan.preprocess is None:
        return _dense(X.to_numpy())
    return _dense(plan.preprocess.transform(X))


def _group(plan: _Plan, values: np.ndarray) -> np.ndarray:
    assert plan.column_map is not None
    if plan.preprocess is None:
        return values
    return np.asarray(values @ plan.column_map)


def _tree_shap(
    plan: _Plan,
    X: pd.DataFrame,
    output: np.ndarray,
    progress: Progress | None,
    span: tuple[float, float],
) -> _Raw:
    Z = _transform(plan, X)
    explainer = shap.TreeExplainer(
        plan.estimator, feature_perturbation="tree_path_dependent", model_output="raw"
    )
    chunks = np.array_split(np.arange(len(Z)), min(_TREE_CHUNKS, len(Z)))
    parts = []
    for i, rows in enumerate(chunks):
        # Our own additivity check below runs against the estimator itself, not shap's copy.
        part = np.asarray(explainer.shap_values(Z[rows], check_additivity=False), dtype=float)
        if part.ndim == 3:
            part = part[:, :, plan.class_index]
        else:
            part = part * _margin_sign(plan.model, plan.class_index)
        parts.append(part)
        _report(progress, span[0] + (span[1] - span[0]) * (i + 1) / len(chunks), "TreeSHAP")
    expected = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
    if expected.size > 1:
        base = float(expected[plan.class_index])
    else:
        base = _margin_sign(plan.model, plan.class_index) * float(expected[0])
    return _Raw(
        values=_group(plan, np.concatenate(parts)),
        base_value=base,
        output=output,
        explainer_class="shap.TreeExplainer",
        feature_perturbation="tree_path_dependent",
    )


def _linear_shap(
    plan: _Plan, X: pd.DataFrame, background: pd.DataFrame, output: np.ndarray
) -> _Raw:
    Z = _transform(plan, X)
    mean = _transform(plan, background).mean(axis=0)
    sign = _margin_sign(plan.model, plan.class_index)
    coef = sign * np.asarray(plan.estimator.coef_, dtype=float).reshape(-1)
    intercept = sign * float(np.asarray(plan.estimator.intercept_, dtype=float).reshape(-1)[0])
    if coef.size != Z.shape[1]:
        raise ValueError(f"coef_ has {coef.size} values for {Z.shape[1]} transformed features")
    values = (Z - mean) * coef
    return _Raw(
        values=_group(plan, values),
        base_value=intercept + float(mean @ coef),
        output=output,
        explainer_class="exact linear SHAP: coef * (z - mean(background z)), as shap.LinearExplainer",
        feature_perturbation="interventional",
    )


def _codes(X: pd.DataFrame, background: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Integer codes per column over X and background, so shap masks any column type exactly.

    Masking only swaps whole values between a row and the background, so codes lose nothing:
    decoding gives back the original values with their original types.
    """
    both = pd.concat([X, background], axis=0, ignore_index=True)
    codes = np.empty(both.shape, dtype=float)
    lookups: list[Any] = []
    for j, name in enumerate(both.columns):
        column_codes, uniques = pd.factorize(both[name], use_na_sentinel=False)
        codes[:, j] = column_codes
        dtype = X[name].dtype
        plain = isinstance(dtype, np.dtype) and dtype.kind in "biuf"
        lookups.append(
            np.asarray(uniques, dtype=dtype) if isinstance(dtype, np.dtype) and plain else uniques
        )
    return codes[: len(X)], codes[len(X) :], lookups


def _decoder(X: pd.DataFrame, lookups: list[Any]) -> Callable[[np.ndarray], pd.DataFrame]:
    columns = list(X.columns)
    if all(isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in lookups):
        # Fast path for all-float data: one 2-D block, no per-column frames.
        def decode_floats(codes: np.ndarray) -> pd.DataFrame:
            index = codes.astype(np.intp)
            matrix = np.column_stack([lookups[j][index[:, j]] for j in range(len(columns))])
            return pd.DataFrame(matrix, columns=columns)

        return decode_floats

    def decode(codes: np.ndarray) -> pd.DataFrame:
        index = codes.astype(np.intp)
        return pd.DataFrame(
            {
                name: lookups[j][index[:, j]]
                if isinstance(lookups[j], np.ndarray)
                else lookups[j].take(index[:, j])
                for j, name in enumerate(columns)
            },
            columns=columns,
        )

    return decode


def _permutation_shap(
    plan: _Plan,
    X: pd.DataFrame,
    background: pd.DataFrame,
    output: np.ndarray,
    *,
    seed: int,
    max_evals: int,
    progress: Progress | None,
    span: tuple[float, float],
) -> _Raw:
    x_codes, bg_codes, lookups = _codes(X, background)
    decode = _decoder(X, lookups)
    columns = list(X.columns)
    model_wants_frame = hasattr(plan.model, "feature_names_in_")

    def predict(codes: np.ndarray) -> np.ndarray:
        frame = decode(codes)
        model_input = frame if model_wants_frame else frame.to_numpy()
        return _output(plan.model, model_input, plan.output_space, plan.class_index)

    masker = shap.maskers.Independent(bg_codes, max_samples=len(bg_codes))
    # shap seeds numpy's global generator; restore it so callers' randomness is untouched.
    state = np.random.get_state()
    try:
        explainer = shap.explainers.Permutation(predict, masker, seed=seed)
        evals = max(max_evals, 2 * len(columns) + 1)
        chunks = np.array_split(np.arange(len(X)), min(_PERMUTATION_CHUNKS, len(X)))
        values, bases = [], []
        for i, rows in enumerate(chunks):
            explanation = explainer(x_codes[rows], max_evals=evals, silent=True)
            values.append(np.asarray(explanation.values, dtype=float))
            bases.append(np.asarray(explanation.base_values, dtype=float).reshape(-1))
            _report(
                progress,
                span[0] + (span[1] - span[0]) * (i + 1) / len(chunks),
                f"Permutation SHAP, {int(rows[-1]) + 1} of {len(X)} rows",
            )
    finally:
        np.random.set_state(state)
    base = np.concatenate(bases)
    return _Raw(
        values=np.concatenate(values),
        base_value=float(base.mean()),
        output=output,
        explainer_class="shap.explainers.Permutation",
        feature_perturbation="interventional",
    )


def _run(
    plan: _Plan,
    X: pd.DataFrame,
    background: pd.DataFrame,
    output: np.ndarray,
    *,
    seed: int,
    max_evals: int,
    progress: Progress | None,
    span: tuple[float, float],
) -> tuple[_Plan, _Raw]:
    """Explain X with the plan's explainer, falling back to permutation if SHAP refuses.

    ``output`` is the model's output on X in the plan's output space, computed once by the
    caller: the additivity check needs no further pass over the data.
    """
    if plan.kind in (TREE, LINEAR):
        try:
            if plan.kind == TREE:
                return plan, _tree_shap(plan, X, output, progress, span)
            return plan, _linear_shap(plan, X, background, output)
        except Exception as err:  # any refusal means: use the agnostic explainer
            space = plan.output_space
            plan = _fallback(plan, err)
            if plan.output_space != space:
                model_input = _model_input(plan.model, X)
                output = _output(plan.model, model_input, plan.output_space, plan.class_index)
    raw = _permutation_shap(
        plan, X, background, output, seed=seed, max_evals=max_evals, progress=progress, span=span
    )
    return plan, raw


# --- Input checks ------------------------------------------------------------------------------


def _model_problems(model: Any) -> list[str]:
    if not hasattr(model, "predict"):
        return [NOT_A_MODEL.format(kind=_class_name(model))]
    try:
        check_is_fitted(model)
    except NotFittedError as err:
        return [NOT_FITTED.format(error=str(err).split(".")[0])]
    except TypeError as err:
        return [NOT_A_MODEL.format(kind=f"{_class_name(model)} ({err})")]
    if is_classifier(model) and len(model.classes_) != 2:
        classes = [_plain(c) for c in model.classes_]
        return [MULTICLASS.format(n=len(classes), classes=classes)]
    return []


def _features(model: Any, X: pd.DataFrame) -> tuple[str, ...]:
    if hasattr(model, "feature_names_in_"):
        return tuple(str(c) for c in model.feature_names_in_)
    return tuple(str(c) for c in X.columns)


def _frame_problems(model: Any, frame: Any, name: str, notes: list[str] | None) -> list[str]:
    """Problems with one DataFrame: type, rows, columns, empty columns."""
    if not isinstance(frame, pd.DataFrame):
        return [NOT_A_DATAFRAME.format(name=name, kind=_class_name(frame))]
    problems = []
    if len(frame) == 0:
        problems.append(NO_ROWS.format(name=name))
    if hasattr(model, "feature_names_in_"):
        expected = [str(c) for c in model.feature_names_in_]
        present = {str(c) for c in frame.columns}
        if missing := [c for c in expected if c not in present]:
            problems.append(MISSING_COLUMNS.format(name=name, missing=missing))
        if notes is not None and (
            extra := [str(c) for c in frame.columns if str(c) not in expected]
        ):
            notes.append(EXTRA_COLUMNS_NOTE.format(extra=extra))
    elif hasattr(model, "n_features_in_") and frame.shape[1] != model.n_features_in_:
        problems.append(
            WRONG_COLUMN_COUNT.format(
                name=name, found=frame.shape[1], expected=model.n_features_in_
            )
        )
    if len(frame):
        for column in frame.columns:
            if frame[column].isna().all():
                problems.append(ALL_MISSING.format(column=str(column), name=name, n=len(frame)))
    return problems


def _select(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    if hasattr(model, "feature_names_in_"):
        renamed = frame.rename(columns=str)
        return renamed[[str(c) for c in model.feature_names_in_]]
    return frame.rename(columns=str)


def _text_example(column: pd.Series) -> str | None:
    """A value of a non-numeric column that does not read as a number, if any."""
    if _is_numeric(column) or pd.api.types.is_bool_dtype(column):
        return None
    for value in column.dropna().unique()[:50]:
        try:
            float(value)
        except (TypeError, ValueError):
            return str(value)
    return None


def _try_model(
    plan_model: Any,
    frame: pd.DataFrame,
    *,
    message: str,
    source: str,
    space: str,
    class_index: int | None,
) -> tuple[np.ndarray | None, list[str]]:
    """The model's output on ``frame``, or problem sentences carrying the model's error."""
    try:
        return _output(plan_model, _model_input(plan_model, frame), space, class_index), []
    except Exception as err:  # the model's own words go to the user
        error = " ".join(str(err).split())[:400] or _class_name(err)
        texts = [
            TEXT_COLUMN.format(column=str(c), name=source, example=example, error=error)
            for c in frame.columns
            if (example := _text_example(frame[c])) is not None
        ]
        if texts:
            return None, texts
        return None, [message.format(rows=len(frame), source=source, name=source, error=error)]


def _constant_notes(X: pd.DataFrame) -> list[str]:
    notes = []
    for column in X.columns:
        values = X[column].dropna()
        if len(values) and values.nunique() == 1:
            notes.append(CONSTANT_NOTE.format(column=column, value=_format_value(values.iloc[0])))
    return notes


# --- Sampling ----------------------------------------------------------------------------------


def _strata(y: pd.Series) -> np.ndarray:
    if _is_numeric(y) and y.nunique() > 20:
        return pd.qcut(y.rank(method="first"), 5, labels=False).to_numpy()
    return pd.factorize(y, use_na_sentinel=False)[0]


def _sample_positions(n: int, size: int, strata: np.ndarray | None, seed: int) -> np.ndarray:
    """Row positions of a seeded sample of ``size`` rows, proportional per stratum, in order."""
    if size >= n:
        return np.arange(n)
    rng = _rng(seed, _SAMPLE)
    if strata is None:
        return np.sort(rng.choice(n, size=size, replace=False))
    labels, counts = np.unique(strata, return_counts=True)
    quotas = counts * size / n
    take = np.floor(quotas).astype(int)
    # Largest remainders get the rows left over, so the total is exactly ``size``.
    for j in np.argsort(-(quotas - take), kind="stable")[: size - int(take.sum())]:
        take[j] += 1
    chosen = [
        rng.choice(np.flatnonzero(strata == label), size=k, replace=False)
        for label, k in zip(labels, take, strict=True)
    ]
    return np.sort(np.concatenate(chosen))


def _background(pool: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    if len(pool) <= size:
        return pool
    positions = np.sort(_rng(seed, _BACKGROUND).choice(len(pool), size=size, replace=False))
    return pool.iloc[positions]


# --- Summaries ---------------------------------------------------------------------------------


def _importance(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    magnitude = np.abs(values)
    if weights is None:
        return np.asarray(magnitude.mean(axis=0))
    return np.asarray(weights @ magnitude / weights.sum(axis=1, keepdims=True))


def _bootstrap_weights(n: int, n_boot: int, seed: int, purpose: int) -> np.ndarray:
    """Each row: how often each of n rows is drawn in one bootstrap resample."""
    draws = _rng(seed, purpose).integers(0, n, size=(n_boot, n))
    draws += np.arange(n_boot)[:, None] * n
    return np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(float)


def _ranks(importance: np.ndarray) -> np.ndarray:
    order = np.argsort(-importance, kind="stable")
    ranks = np.empty(len(importance), dtype=int)
    ranks[order] = np.arange(1, len(importance) + 1)
    return ranks


def _tau(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    value = float(kendalltau(a, b).statistic)
    return None if math.isnan(value) else value


def _global_importance(
    features: tuple[str, ...], values: np.ndarray, n_boot: int, seed: int
) -> tuple[FeatureImportance, ...]:
    importance = _importance(values)
    if n_boot > 0 and len(values) > 1:
        boot = _importance(values, _bootstrap_weights(len(values), n_boot, seed, _BOOTSTRAP))
        low, high = np.percentile(boot, [2.5, 97.5], axis=0)
    else:
        low, high = importance, importance
    total = float(importance.sum())
    ranks = _ranks(importance)
    order = np.argsort(ranks)
    return tuple(
        FeatureImportance(
            feature=features[j],
            rank=int(ranks[j]),
            mean_abs_shap=float(importance[j]),
            ci_low=float(low[j]),
            ci_high=float(high[j]),
            share=float(importance[j] / total) if total > 0 else 0.0,
        )
        for j in order
    )


def _stability(
    *,
    plan: _Plan,
    raw: _Raw,
    sample: pd.DataFrame,
    pool: pd.DataFrame,
    background_size: int,
    seed: int,
    top_k: int,
    rank_tolerance: int,
    stability_rows: int,
    max_evals: int,
    progress: Progress | None,
    notes: list[str],
) -> StabilityReport:
    seeds = tuple(seed + i for i in range(1, _STABILITY_RUNS + 1))
    features = plan.features
    main_values = raw.values
    runs: list[np.ndarray] = []
    vary_background = plan.kind != TREE and len(pool) > background_size
    if plan.kind != TREE and not vary_background:
        notes.append(NO_BACKGROUND_VARIATION_NOTE.format(rows=len(pool), size=background_size))
    if vary_background:
        # The permutation explainer is costly: re-explain a seeded subset of the rows only.
        positions = np.arange(len(sample))
        if plan.kind == PERMUTATION and len(sample) > stability_rows:
            chosen = _rng(seed, _STABILITY_ROWS).choice(len(sample), stability_rows, replace=False)
            positions = np.sort(chosen)
        rows = len(positions)
        subset = sample.iloc[positions]
        main_values = raw.values[positions]
        for i, run_seed in enumerate(seeds):
            start = 0.8 + 0.15 * i / len(seeds)
            _, run_raw = _run(
                plan,
                subset,
                _background(pool, background_size, run_seed),
                raw.output[positions],
                seed=run_seed,
                max_evals=max_evals,
                progress=progress,
                span=(start, start + 0.15 / len(seeds)),
            )
            runs.append(_importance(run_raw.values))
        method = "background"
        description = STABILITY_BACKGROUND.format(runs=len(seeds), rows=rows)
    else:
        rows = len(sample)
        for run_seed in seeds:
            weights = _bootstrap_weights(rows, 1, run_seed, _STABILITY_BOOT)
            runs.append(_importance(raw.values, weights)[0])
        method = "bootstrap_rows"
        description = (
            STABILITY_BOOTSTRAP if plan.kind == TREE else STABILITY_BOOTSTRAP_FALLBACK
        ).format(runs=len(seeds))
    # Top features come from all explained rows; ranks are compared on the rows re-explained.
    top = np.argsort(_ranks(_importance(raw.values)))[: min(top_k, len(features))]
    main = _importance(main_values)
    main_ranks = _ranks(main)
    run_ranks = [_ranks(run) for run in runs]
    taus = tuple(_tau(main[top], run[top]) for run in runs)
    unstable = tuple(
        features[j]
        for j in top
        if any(abs(int(r[j]) - int(main_ranks[j])) > rank_tolerance for r in run_ranks)
    )
    known = [t for t in taus if t is not None]
    return StabilityReport(
        method=method,
        description=description,
        seeds=seeds,
        rows=rows,
        top_features=tuple(features[j] for j in top),
        ranks={features[j]: (int(main_ranks[j]), *(int(r[j]) for r in run_ranks)) for j in top},
        kendall_tau=taus,
        min_kendall_tau=min(known) if known else None,
        rank_tolerance=rank_tolerance,
        unstable_features=unstable,
    )


# --- Public API --------------------------------------------------------------------------------


def _prepare(
    *,
    model: Any,
    X: Any,
    X_name: str,
    other: Any,
    other_name: str,
    problems: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame | None, list[str]]:
    """Check the model, the data X and an optional other frame; raise every problem at once.

    Returns both frames cut to the model's feature columns, and notes about X.
    """
    notes: list[str] = []
    problems = [*problems, *_model_problems(model)]
    problems += _frame_problems(model, X, X_name, notes)
    if other is not None:
        problems += _frame_problems(model, other, other_name, None)
    if problems:
        raise ExplainInputError(problems)
    return _select(model, X), None if other is None else _select(model, other), notes


def compute_shap_values(
    *,
    model: Any,
    X: pd.DataFrame,
    X_background: pd.DataFrame | None = None,
    background_size: int = 100,
    seed: int = 0,
    max_evals: int = 500,
    progress: Progress | None = None,
) -> ShapValues:
    """SHAP values of every row of ``X`` in the model's input columns, checked for additivity.

    The lower layer of :func:`explain_model`, for callers that need the raw matrix (tests,
    custom charts). ``X_background`` (default: ``X``) is sampled to ``background_size`` rows
    with ``seed`` for the linear and permutation explainers; TreeSHAP does not use it.
    """
    model, positive_index = _unwrap(model)
    problems = _check_parameters(
        _whole_numbers(
            background_size=(background_size, 1),
            seed=(seed, 0),
            max_evals=(max_evals, 3),
        )
    )
    X, given_pool, notes = _prepare(
        model=model,
        X=X,
        X_name="the evaluation data X",
        other=X_background,
        other_name="the background data X_background",
        problems=problems,
    )
    pool = X if given_pool is None else given_pool
    pool_source = "the evaluation data" if given_pool is None else "the background data"
    plan, raw, background = _explain(
        model=model,
        X=X,
        rows_name="the evaluation data X",
        pool=pool,
        pool_source=pool_source,
        background_size=background_size,
        seed=seed,
        max_evals=max_evals,
        progress=progress,
        span=(0.05, 0.95),
        positive_index=positive_index,
    )
    _report(progress, 1.0, "SHAP values done")
    error = float(np.max(np.abs(raw.base_value + raw.values.sum(axis=1) - raw.output)))
    uses_background = plan.kind != TREE
    return ShapValues(
        features=plan.features,
        values=raw.values,
        base_value=raw.base_value,
        model_output=raw.output,
        row_index=tuple(_plain(list(X.index))),
        explainer=plan.kind,
        explainer_class=raw.explainer_class,
        feature_perturbation=raw.feature_perturbation,
        output_space=plan.output_space,
        output_label=plan.output_label,
        positive_class=plan.positive_class,
        background_size=len(background) if uses_background else None,
        background_source=pool_source if uses_background else None,
        max_evals=max_evals if plan.kind == PERMUTATION else None,
        additivity_max_error=error,
        notes=(*notes, *_finish_notes(plan, len(background), max_evals)),
    )


def _finish_notes(plan: _Plan, background_rows: int, max_evals: int) -> list[str]:
    notes = list(plan.notes)
    if plan.agnostic and plan.kind == PERMUTATION:
        model = _class_name(plan.estimator)
        notes.insert(
            0, AGNOSTIC_NOTE.format(model=model, max_evals=max_evals, background=background_rows)
        )
    return notes


def _explain(
    *,
    model: Any,
    X: pd.DataFrame,
    rows_name: str,
    pool: pd.DataFrame,
    pool_source: str,
    background_size: int,
    seed: int,
    max_evals: int,
    progress: Progress | None,
    span: tuple[float, float],
    positive_index: int | None,
) -> tuple[_Plan, _Raw, pd.DataFrame]:
    """Plan, check the model on the background and on X, then compute the SHAP values."""
    background = _background(pool, background_size, seed)
    plan = _plan(model, _features(model, X), background.iloc[:5], positive_index)
    _, problems = _try_model(
        model,
        background,
        message=MODEL_FAILED,
        source=pool_source,
        space=plan.output_space,
        class_index=plan.class_index,
    )
    output = None
    if not problems:
        output, problems = _try_model(
            model,
            X,
            message=MODEL_FAILED_ON_ROWS,
            source=rows_name,
            space=plan.output_space,
            class_index=plan.class_index,
        )
    if problems or output is None:
        raise ExplainInputError(problems)
    _report(progress, span[0], f"Computing SHAP values ({plan.kind} explainer)")
    plan, raw = _run(
        plan, X, background, output, seed=seed, max_evals=max_evals, progress=progress, span=span
    )
    return plan, raw, background


def explain_model(
    *,
    model: Any,
    X: pd.DataFrame,
    y: Sequence[Any] | np.ndarray | pd.Series | None = None,
    X_train: pd.DataFrame | None = None,
    max_rows: int = 2000,
    background_size: int = 100,
    seed: int = 0,
    top_k: int = 10,
    n_boot: int = 200,
    max_points: int = 1000,
    stability_rows: int = 200,
    rank_tolerance: int = 2,
    max_evals: int = 500,
    progress: Progress | None = None,
) -> ExplanationResult:
    """Explain a model globally on a seeded, label-stratified sample of evaluation data.

    Parameters
    ----------
    model
        A fitted scikit-learn style binary classifier or regressor, or a Pipeline ending in one.
    X, y
        Evaluation data and, optionally, its labels (used only to stratify the sample).
    X_train
        Training data: the background for the linear and permutation explainers and the
        operating range shown on dependence charts. Without it, X serves for both.
    max_rows
        Rows explained at most; larger X is sampled (stratified by y) with ``seed``.
    background_size
        Rows in the background sample (linear and permutation explainers).
    top_k
        Features reported as "top" for dependence data and the stability check.
    n_boot
        Bootstrap resamples of the explained rows for the importance intervals.
    max_points
        Rows kept for beeswarm and dependence charts (a seeded subset of the sample).
    stability_rows
        Rows re-explained per stability run by the permutation explainer (its cost).
    rank_tolerance
        A top feature whose rank moves by more than this in a stability run is unstable.
    max_evals
        Model evaluations per row for the permutation explainer.
    progress
        Called as ``progress(fraction, message)`` for a progress bar.

    Returns
    -------
    ExplanationResult
        With the additivity check (base value + SHAP sum == model output within 1e-6 for
        every explained row) in ``additivity_max_error``; a larger error is in ``failures``.
    """
    model, positive_index = _unwrap(model)
    _report(progress, 0.0, "Checking inputs")
    problems = _check_parameters(
        _whole_numbers(
            max_rows=(max_rows, 1),
            background_size=(background_size, 1),
            seed=(seed, 0),
            top_k=(top_k, 1),
            n_boot=(n_boot, 0),
            max_points=(max_points, 1),
            stability_rows=(stability_rows, 2),
            rank_tolerance=(rank_tolerance, 0),
            max_evals=(max_evals, 3),
        )
    )
    labels = None
    if y is not None:
        labels = pd.Series(np.asarray(y)) if not isinstance(y, pd.Series) else y
        if isinstance(X, pd.DataFrame) and len(labels) != len(X):
            problems.append(Y_LENGTH.format(ny=len(labels), nx=len(X)))
    X, X_train, notes = _prepare(
        model=model,
        X=X,
        X_name="the evaluation data X",
        other=X_train,
        other_name="the training data X_train",
        problems=problems,
    )
    notes += _constant_notes(X)

    strata = None if labels is None else _strata(labels.reset_index(drop=True))
    if labels is None and len(X) > max_rows:
        notes.append(NOT_STRATIFIED_NOTE.format(rows=len(X), max_rows=max_rows))
    sample = X.iloc[_sample_positions(len(X), max_rows, strata, seed)]
    _report(progress, 0.05, f"Explaining {len(sample)} of {len(X)} rows")

    pool = X if X_train is None else X_train
    pool_source = "the evaluation data" if X_train is None else "the training data"
    plan, raw, background = _explain(
        model=model,
        X=sample,
        rows_name="the evaluation data X",
        pool=pool,
        pool_source=pool_source,
        background_size=background_size,
        seed=seed,
        max_evals=max_evals,
        progress=progress,
        span=(0.1, 0.7),
        positive_index=positive_index,
    )
    notes += _finish_notes(plan, len(background), max_evals)
    features = plan.features
    uses_background = plan.kind != TREE

    _report(progress, 0.72, "Checking additivity")
    failures = []
    error = float(np.max(np.abs(raw.base_value + raw.values.sum(axis=1) - raw.output)))
    if not error <= ADDITIVITY_TOLERANCE:
        failures.append(
            ADDITIVITY_FAILURE.format(
                error=error, space=plan.output_space, tolerance=ADDITIVITY_TOLERANCE
            )
        )
    if plan.preprocess is not None and plan.column_map is not None:
        for j in np.flatnonzero(plan.column_map.sum(axis=0) == 0):
            notes.append(DROPPED_COLUMN_NOTE.format(column=features[j]))

    _report(progress, 0.75, "Global importance with bootstrap intervals")
    importance = _global_importance(features, raw.values, n_boot, seed)

    _report(progress, 0.8, "Stability across backgrounds and samples")
    stability = _stability(
        plan=plan,
        raw=raw,
        sample=sample,
        pool=pool,
        background_size=background_size,
        seed=seed,
        top_k=top_k,
        rank_tolerance=rank_tolerance,
        stability_rows=stability_rows,
        max_evals=max_evals,
        progress=progress,
        notes=notes,
    )

    _report(progress, 0.96, "Summary and dependence data")
    points = np.arange(len(sample))
    if len(sample) > max_points:
        points = np.sort(_rng(seed, _POINTS).choice(len(sample), size=max_points, replace=False))
    shown = sample.iloc[points]
    position = {name: j for j, name in enumerate(features)}
    summary = tuple(
        FeaturePoints(
            feature=item.feature,
            shap_values=tuple(raw.values[points, position[item.feature]].tolist()),
            feature_values=_column_cells(shown[item.feature]),
        )
        for item in importance
    )
    range_source = "training data" if X_train is not None else "evaluation data"
    dependence = tuple(
        DependenceData(
            feature=name,
            feature_values=next(s.feature_values for s in summary if s.feature == name),
            shap_values=next(s.shap_values for s in summary if s.feature == name),
            operating_range=operating_range(column=pool[name], source=range_source),
        )
        for name in stability.top_features
    )
    provenance = Provenance(
        explainer=plan.kind,
        explainer_class=raw.explainer_class,
        feature_perturbation=raw.feature_perturbation,
        model_class=(
            _class_name(model)
            if plan.estimator is model
            else f"{_class_name(model)}({_class_name(plan.estimator)})"
        ),
        shap_version=shap.__version__,
        sklearn_version=sklearn.__version__,
        background_size=len(background) if uses_background else None,
        background_source=pool_source if uses_background else None,
        seed=seed,
        sample_size=len(sample),
        rows_available=len(X),
        stratified_by_label=strata is not None and len(X) > max_rows,
        sample_sha256=_sample_sha256(sample),
        sample_hash_method=SAMPLE_HASH_METHOD,
        output_space=plan.output_space,
        max_evals=max_evals if plan.kind == PERMUTATION else None,
    )
    _report(progress, 1.0, "Done")
    return ExplanationResult(
        features=features,
        output_space=plan.output_space,
        output_label=plan.output_label,
        positive_class=plan.positive_class,
        base_value=raw.base_value,
        global_importance=importance,
        summary=summary,
        summary_row_index=tuple(_plain(list(shown.index))),
        dependence=dependence,
        stability=stability,
        additivity_max_error=error,
        additivity_tolerance=ADDITIVITY_TOLERANCE,
        additivity_ok=not failures,
        provenance=provenance,
        sample_row_index=tuple(_plain(list(sample.index))),
        notes=tuple(notes),
        failures=tuple(failures),
    )


def _row_frame(
    row: Any, reference: pd.DataFrame, features: tuple[str, ...], notes: list[str]
) -> pd.DataFrame:
    """One-row DataFrame typed like ``reference``; every problem with the row is collected.

    Extra columns of a Series (a row of the evaluation data, with its identifiers) are left
    out with a note; extra keys of a mapping (a what-if typed by a user) are likely typos.
    """
    if isinstance(row, pd.Series):
        values = {str(k): v for k, v in row.items()}
        index = [row.name]
    elif isinstance(row, Mapping):
        values = {str(k): v for k, v in row.items()}
        index = [0]
    else:
        raise ExplainInputError([ROW_NOT_A_ROW.format(kind=_class_name(row))])
    problems = []
    if missing := [f for f in features if f not in values]:
        problems.append(ROW_MISSING.format(missing=missing))
    if extra := [k for k in values if k not in features]:
        if isinstance(row, pd.Series):
            notes.append(EXTRA_COLUMNS_NOTE.format(extra=extra))
        else:
            problems.append(ROW_UNKNOWN.format(extra=extra))
    columns = {}
    for name in features:
        if name not in values:
            continue
        value = values[name]
        if _is_numeric(reference[name]):
            if _is_missing(value):
                number = math.nan
            else:
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    problems.append(ROW_NOT_A_NUMBER.format(column=name, value=value))
                    continue
            columns[name] = pd.Series([number], dtype=float)
        else:
            try:
                columns[name] = pd.Series([value], dtype=reference[name].dtype)
            except (TypeError, ValueError):
                columns[name] = pd.Series([value], dtype=object)
    if problems:
        raise ExplainInputError(problems)
    frame = pd.DataFrame({name: columns[name] for name in features})
    frame.index = pd.Index(index)
    return frame


def explain_row(
    *,
    model: Any,
    row: Mapping[str, Any] | pd.Series,
    X_background: pd.DataFrame,
    X_train: pd.DataFrame | None = None,
    seed: int = 0,
    background_size: int = 100,
    max_evals: int = 500,
    outcome_name: str = "score",
) -> DecisionExplanation:
    """Explain one decision: a row of the evaluation data or a what-if typed by a user.

    Returns the prediction, base value, per-feature contributions sorted by size (waterfall
    data) and the top three drivers in plain language, e.g. "Debt ratio 0.62 raised the risk
    score the most." (``outcome_name="risk score"``). A value outside the training range
    (numeric outside [min, max], or a category not seen in training; ``X_train``, or
    ``X_background`` when not given) is explained but flagged as unreliable. Only single
    values are checked, not whether the combination of values was seen in training.
    """
    model, positive_index = _unwrap(model)
    problems = _check_parameters(
        _whole_numbers(
            background_size=(background_size, 1),
            seed=(seed, 0),
            max_evals=(max_evals, 3),
        )
    )
    X_background, X_train, _ = _prepare(
        model=model,
        X=X_background,
        X_name="the background data X_background",
        other=X_train,
        other_name="the training data X_train",
        problems=problems,
    )
    features = _features(model, X_background)
    notes: list[str] = []
    frame = _row_frame(row, X_background, features, notes)
    plan, raw, background = _explain(
        model=model,
        X=frame,
        rows_name="the row",
        pool=X_background,
        pool_source="the background data",
        background_size=background_size,
        seed=seed,
        max_evals=max_evals,
        progress=None,
        span=(0.0, 1.0),
        positive_index=positive_index,
    )
    notes += _finish_notes(plan, len(background), max_evals)
    error = float(abs(raw.base_value + raw.values[0].sum() - raw.output[0]))
    failures = []
    if not error <= ADDITIVITY_TOLERANCE:
        failures.append(
            ADDITIVITY_FAILURE.format(
                error=error, space=plan.output_space, tolerance=ADDITIVITY_TOLERANCE
            )
        )
    reference = X_background if X_train is None else X_train
    source = "training data" if X_train is not None else "background data"
    if X_train is None:
        notes.append(RANGE_FROM_BACKGROUND_NOTE.format(source="the background data"))
    ranges = tuple(operating_range(column=reference[name], source=source) for name in features)
    cells = {name: _cell(frame[name].iloc[0]) for name in features}
    inside = {r.feature: r.contains(cells[r.feature]) for r in ranges}

    order = np.argsort(-np.abs(raw.values[0]), kind="stable")
    contributions = tuple(
        Contribution(
            feature=features[j],
            value=cells[features[j]],
            contribution=float(raw.values[0, j]),
            direction=(
                "raised" if raw.values[0, j] > 0 else "lowered" if raw.values[0, j] < 0 else "none"
            ),
            inside_operating_range=inside[features[j]],
        )
        for j in order
    )
    drivers = tuple(
        DRIVER.format(
            label=_feature_label(c.feature),
            value=_format_value(c.value),
            verb=c.direction,
            outcome=outcome_name,
            rank=rank,
        )
        for c, rank in zip(
            [c for c in contributions if c.direction != "none"], DRIVER_RANKS, strict=False
        )
    )
    warnings = []
    for r in ranges:
        if inside[r.feature]:
            continue
        label, value = _feature_label(r.feature), _format_value(cells[r.feature])
        if r.kind == "numeric":
            warnings.append(
                OUTSIDE_RANGE.format(
                    label=label,
                    value=value,
                    low=_format_value(r.minimum),
                    high=_format_value(r.maximum),
                )
            )
        else:
            warnings.append(UNSEEN_CATEGORY.format(label=label, value=value))
    probability = None
    if is_classifier(model) and hasattr(model, "predict_proba"):
        proba = model.predict_proba(_model_input(model, frame))
        probability = float(np.asarray(proba, dtype=float)[0, plan.class_index])
    return DecisionExplanation(
        row=cells,
        prediction=float(raw.output[0]),
        probability=probability,
        base_value=raw.base_value,
        output_space=plan.output_space,
        output_label=plan.output_label,
        positive_class=plan.positive_class,
        contributions=contributions,
        drivers=drivers,
        outside_operating_range=tuple(r.feature for r in ranges if not inside[r.feature]),
        boundary_warnings=tuple(warnings),
        operating_ranges=ranges,
        explainer=plan.kind,
        explainer_class=raw.explainer_class,
        feature_perturbation=raw.feature_perturbation,
        shap_version=shap.__version__,
        background_size=len(background) if plan.kind != TREE else None,
        seed=seed,
        additivity_error=error,
        notes=tuple(notes),
        failures=tuple(failures),
    )
