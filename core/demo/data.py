"""Deterministic synthetic credit applications and the demo models trained on them.

The demo gives Gatehouse something realistic to govern without any real personal data: a
table of loan applications, a historical approval label, and three fitted scikit-learn
models, all reproducible from one seed.

How the data is made
--------------------
Each applicant gets an age, an employment status (which depends on age), years in the
current job, a lognormal annual income (which depends on employment and experience), a debt
ratio, a region and a sex. A latent creditworthiness combines log income, debt ratio,
employment and years employed; the true outcome ``approved`` (1 = the loan was repaid, a good
applicant) is drawn from it through a logistic link. Sex and region play no part in it.

The injected bias (deliberate, documented)
-------------------------------------------
The historical label is then corrupted against one group, as a biased past process would
have done: every applicant in age band ``"18-25"`` whose true outcome is 1 has it flipped to
0 with probability ``INJECTED_BIAS["flip_probability"]`` (35 %). The 18-25 applicants are no
worse risks than their income, debts and jobs say, but the recorded label rejects them more
often. Models that see ``age`` learn the pattern. With the default seed, the positive rate of
18-25 in the label is about 0.59 of the best band's (0.90 without the flip), and at a 0.5
threshold the tree models select 18-25 applicants at about 0.56-0.60 of the best band's rate,
well below the four-fifths (0.8) rule of thumb; the logistic regression, for which age is a
straight line, gets to about 0.8. This is what the fairness evidence in the demo should find.
Pass ``bias_flip_probability=0.0`` for the unbiased control.

``sex`` and ``age_band`` are the sensitive columns for fairness analysis; ``sex`` is not a
model input, ``age`` is (that is how the bias gets learned).

Examples
--------
>>> df = make_credit_applications(n_rows=1_000, seed=7)
>>> train, evaluation = split_train_eval(df, seed=7)
>>> sorted(df["age_band"].unique())
['18-25', '26-35', '36-50', '51-65', '66+']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import pandas as pd
import skops.io
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

__all__ = [
    "AGE_BANDS",
    "CATEGORICAL_FEATURES",
    "DEFAULT_SEED",
    "EMPLOYMENT",
    "FEATURES",
    "INJECTED_BIAS",
    "MODEL_PURPOSES",
    "NUMERIC_FEATURES",
    "REGIONS",
    "SENSITIVE",
    "TARGET",
    "DemoFiles",
    "age_band",
    "make_credit_applications",
    "preprocessor",
    "split_train_eval",
    "train_demo_models",
    "write_demo_files",
]

DEFAULT_SEED: Final = 20261123

EMPLOYMENT: Final = ("employed", "self_employed", "unemployed", "retired")
REGIONS: Final = ("north", "south", "east", "west")
SEXES: Final = ("female", "male")
AGE_BANDS: Final = ("18-25", "26-35", "36-50", "51-65", "66+")
# Lower edges of AGE_BANDS; an age belongs to the last band whose edge it reaches.
_AGE_BAND_EDGES: Final = (18, 26, 36, 51, 66)

NUMERIC_FEATURES: Final = ("income", "debt_ratio", "age", "years_employed")
CATEGORICAL_FEATURES: Final = ("employment", "region")
FEATURES: Final = (
    "income",
    "debt_ratio",
    "age",
    "employment",
    "years_employed",
    "region",
)
TARGET: Final = "approved"
SENSITIVE: Final = ("sex", "age_band")
COLUMNS: Final = (*FEATURES, "sex", "age_band", TARGET)

INJECTED_BIAS: Final[Mapping[str, Any]] = MappingProxyType(
    {
        "column": "age_band",
        "group": "18-25",
        "label": TARGET,
        "mechanism": (
            "In the historical label, applicants in age band 18-25 whose true outcome is 1 "
            "(repaid) have it flipped to 0 with the given probability; nothing about their "
            "risk justifies it."
        ),
        "flip_probability": 0.35,
    }
)

MODEL_PURPOSES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "credit-gbm": (
            "Gradient-boosted trees that score consumer loan applications by probability "
            "of repayment; the candidate for automated approval."
        ),
        "credit-logit": (
            "Logistic regression on the same applications; an interpretable challenger to "
            "the boosted model."
        ),
        "credit-forest": (
            "Random forest on the same applications; a second tree-based challenger for "
            "comparing stability and fairness."
        ),
    }
)

# Employment probabilities by age band (rows follow AGE_BANDS, columns follow EMPLOYMENT).
_EMPLOYMENT_BY_BAND: Final = np.array(
    [
        [0.78, 0.08, 0.14, 0.00],
        [0.78, 0.11, 0.11, 0.00],
        [0.77, 0.15, 0.08, 0.00],
        [0.66, 0.16, 0.08, 0.10],
        [0.14, 0.08, 0.03, 0.75],
    ]
)
# Effect of each employment status on log income and on creditworthiness.
_INCOME_EFFECT: Final = np.array([0.0, 0.12, -0.85, -0.35])
_CREDIT_EFFECT: Final = np.array([0.45, 0.15, -0.9, 0.3])
_REGION_INCOME_EFFECT: Final = np.array([0.05, -0.08, 0.0, 0.03])


def age_band(age: np.ndarray | pd.Series) -> np.ndarray:
    """The age band (one of AGE_BANDS) of each age; ages below 18 fall in the first band."""
    index = np.searchsorted(_AGE_BAND_EDGES, np.asarray(age), side="right") - 1
    return np.asarray(AGE_BANDS, dtype=object)[np.clip(index, 0, len(AGE_BANDS) - 1)]


def _choose(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    # One categorical draw per row, vectorised: compare a uniform with the cumulative sums.
    cumulative = probabilities.cumsum(axis=1)
    cumulative[:, -1] = 1.0
    chosen: np.ndarray = (rng.random(len(probabilities))[:, None] > cumulative).sum(axis=1)
    return chosen


def make_credit_applications(
    *,
    n_rows: int = 20_000,
    seed: int = DEFAULT_SEED,
    bias_flip_probability: float = INJECTED_BIAS["flip_probability"],
) -> pd.DataFrame:
    """Synthetic loan applications with a historical label biased against ages 18-25.

    Parameters
    ----------
    n_rows
        Number of applications.
    seed
        Seed of the random generator; the same seed gives an identical frame.
    bias_flip_probability
        Probability that a good (1) label of an 18-25 applicant is recorded as 0. The default
        is the documented ``INJECTED_BIAS``; ``0.0`` gives the unbiased label as a control.
        The random draws do not depend on it, so only those labels change.

    Returns
    -------
    pandas.DataFrame
        Columns ``FEATURES``, then ``sex``, ``age_band`` and ``approved`` (0/1).
    """
    if n_rows < 1:
        raise ValueError(f"n_rows must be at least 1; got {n_rows}.")
    if not 0.0 <= bias_flip_probability <= 1.0:
        raise ValueError(f"bias_flip_probability must be in [0, 1]; got {bias_flip_probability}.")
    rng = np.random.default_rng(seed)

    # Ages skewed towards the middle years: about 11 % are 18-25, 6 % 66 or older.
    age = (18 + np.floor(rng.beta(1.7, 2.6, n_rows) * 63)).astype(np.int64)
    band = np.searchsorted(_AGE_BAND_EDGES, age, side="right") - 1
    employment = _choose(rng, _EMPLOYMENT_BY_BAND[band])
    working = employment <= 1  # employed or self-employed

    career = (age - 18).astype(np.float64)
    tenure = np.minimum(rng.gamma(1.5, 1.0 + 0.12 * career), career)
    years_employed = np.where(working, np.round(tenure, 1), 0.0)

    region = rng.integers(0, len(REGIONS), n_rows)
    sex = rng.integers(0, len(SEXES), n_rows)

    log_income = (
        10.55
        + _INCOME_EFFECT[employment]
        + _REGION_INCOME_EFFECT[region]
        + 0.006 * np.minimum(career, 25.0)
        + rng.normal(0.0, 0.42, n_rows)
    )
    income = np.round(np.exp(log_income), 2)
    debt_ratio = np.round(np.clip(rng.gamma(2.2, 0.16, n_rows), 0.0, 1.5), 3)

    # Latent creditworthiness; age enters only through income, job and tenure.
    latent = (
        1.4
        + 1.3 * (log_income - 10.55)
        - 2.6 * debt_ratio
        + _CREDIT_EFFECT[employment]
        + 0.02 * np.minimum(years_employed, 10.0)
        + rng.logistic(0.0, 0.6, n_rows)
    )
    approved = (latent > 0).astype(np.int64)

    # The injected bias (see the module docstring): a biased historical decision process.
    flip = (band == 0) & (approved == 1) & (rng.random(n_rows) < bias_flip_probability)
    approved[flip] = 0

    return pd.DataFrame(
        {
            "income": income,
            "debt_ratio": debt_ratio,
            "age": age,
            "employment": np.asarray(EMPLOYMENT, dtype=object)[employment],
            "years_employed": years_employed,
            "region": np.asarray(REGIONS, dtype=object)[region],
            "sex": np.asarray(SEXES, dtype=object)[sex],
            "age_band": np.asarray(AGE_BANDS, dtype=object)[band],
            TARGET: approved,
        },
        columns=list(COLUMNS),
    )


def split_train_eval(
    df: pd.DataFrame, *, seed: int = DEFAULT_SEED, eval_fraction: float = 0.3
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split into training and evaluation frames, stratified by the label.

    Both frames get a fresh 0..n-1 index so that they write and read back identically.
    """
    train, evaluation = train_test_split(
        df, test_size=eval_fraction, random_state=seed, stratify=df[TARGET]
    )
    return train.reset_index(drop=True), evaluation.reset_index(drop=True)


def preprocessor() -> ColumnTransformer:
    # Numeric columns are scaled even for trees (harmless there): a "passthrough" would be
    # stored as a FunctionTransformer, which core.files.artifacts does not trust.
    return ColumnTransformer(
        [
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                list(CATEGORICAL_FEATURES),
            ),
            ("numeric", StandardScaler(), list(NUMERIC_FEATURES)),
        ]
    )


def train_demo_models(train: pd.DataFrame, *, seed: int = DEFAULT_SEED) -> dict[str, Pipeline]:
    """Fit the three demo models on ``train[FEATURES]`` → ``train[TARGET]``.

    Each model is a Pipeline whose first step is a ColumnTransformer taking the raw feature
    columns, so it scores a DataFrame of applications directly. Deterministic for a seed.
    """
    estimators: dict[str, Any] = {
        "credit-gbm": GradientBoostingClassifier(
            n_estimators=150, max_depth=3, learning_rate=0.1, random_state=seed
        ),
        "credit-logit": LogisticRegression(max_iter=2_000),
        "credit-forest": RandomForestClassifier(
            n_estimators=150, min_samples_leaf=5, n_jobs=1, random_state=seed
        ),
    }
    X, y = train[list(FEATURES)], train[TARGET].to_numpy()
    return {
        name: Pipeline([("prepare", preprocessor()), ("model", estimator)]).fit(X, y)
        for name, estimator in estimators.items()
    }


@dataclass(frozen=True)
class DemoFiles:
    """What ``write_demo_files`` wrote: data files, one skops file per model, and sanity AUCs."""

    folder: Path
    seed: int
    n_rows: int
    train_csv: Path
    eval_csv: Path
    model_names: tuple[str, ...]
    model_paths: Mapping[str, Path]
    purposes: Mapping[str, str]
    eval_auc: Mapping[str, float]


def write_demo_files(folder: Path, *, seed: int = DEFAULT_SEED, n_rows: int = 20_000) -> DemoFiles:
    """Generate the data, split it, train the models and write everything into ``folder``.

    Writes ``train.csv``, ``eval.csv`` and ``<model name>.skops`` for each model. Rewriting
    with the same arguments gives byte-identical CSV files (the skops archives carry
    timestamps, but load to identical models).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    train, evaluation = split_train_eval(
        make_credit_applications(n_rows=n_rows, seed=seed), seed=seed
    )
    train_csv, eval_csv = folder / "train.csv", folder / "eval.csv"
    train.to_csv(train_csv, index=False, lineterminator="\n")
    evaluation.to_csv(eval_csv, index=False, lineterminator="\n")

    models = train_demo_models(train, seed=seed)
    paths: dict[str, Path] = {}
    aucs: dict[str, float] = {}
    for name, model in models.items():
        paths[name] = folder / f"{name}.skops"
        skops.io.dump(model, paths[name])
        scores = model.predict_proba(evaluation[list(FEATURES)])[:, 1]
        aucs[name] = float(roc_auc_score(evaluation[TARGET], scores))
    return DemoFiles(
        folder=folder,
        seed=seed,
        n_rows=n_rows,
        train_csv=train_csv,
        eval_csv=eval_csv,
        model_names=tuple(models),
        model_paths=MappingProxyType(paths),
        purposes=MappingProxyType({name: MODEL_PURPOSES[name] for name in models}),
        eval_auc=MappingProxyType(aucs),
    )
