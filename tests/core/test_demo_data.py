"""The synthetic credit data, its documented bias, the demo models and the demo files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from core.demo.data import (
    AGE_BANDS,
    EMPLOYMENT,
    FEATURES,
    INJECTED_BIAS,
    REGIONS,
    SENSITIVE,
    TARGET,
    DemoFiles,
    age_band,
    make_credit_applications,
    split_train_eval,
    train_demo_models,
    write_demo_files,
)
from core.files.artifacts import load_artifact

SEED = 20261123
N_ROWS = 8_000  # enough for the models to learn the bias, small enough to train in seconds
MODEL_TYPES = {
    "credit-gbm": GradientBoostingClassifier,
    "credit-logit": LogisticRegression,
    "credit-forest": RandomForestClassifier,
}


def young_ratio(rates: pd.Series) -> float:
    """Rate of the 18-25 band divided by the best band's rate (the selection-rate ratio)."""
    return float(rates["18-25"] / rates.max())


def selection_rates(model: Pipeline, frame: pd.DataFrame) -> pd.Series:
    approved = model.predict_proba(frame[list(FEATURES)])[:, 1] >= 0.5
    return pd.Series(approved).groupby(frame["age_band"].to_numpy()).mean()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return write_demo_files(tmp_path_factory.mktemp("demo"), seed=SEED, n_rows=N_ROWS)


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, pd.DataFrame]:
    return split_train_eval(make_credit_applications(n_rows=N_ROWS, seed=SEED), seed=SEED)


@pytest.fixture(scope="module")
def models(split: tuple[pd.DataFrame, pd.DataFrame]) -> dict[str, Pipeline]:
    return train_demo_models(split[0], seed=SEED)


def test_same_seed_gives_identical_frame() -> None:
    assert_frame_equal(
        make_credit_applications(n_rows=5_000, seed=3),
        make_credit_applications(n_rows=5_000, seed=3),
    )


def test_different_seed_gives_different_frame() -> None:
    a = make_credit_applications(n_rows=5_000, seed=3)
    b = make_credit_applications(n_rows=5_000, seed=4)
    assert not a.equals(b)
    assert not np.array_equal(a["income"], b["income"])


def test_columns_types_and_ranges() -> None:
    df = make_credit_applications(n_rows=20_000, seed=SEED)

    assert list(df.columns) == [*FEATURES, "sex", "age_band", TARGET]
    assert len(df) == 20_000
    assert set(SENSITIVE) <= set(df.columns) and "sex" not in FEATURES
    for column in ("income", "debt_ratio", "years_employed"):
        assert pd.api.types.is_float_dtype(df[column]), column
    for column in ("age", TARGET):
        assert pd.api.types.is_integer_dtype(df[column]), column
    for column in ("employment", "region", "sex", "age_band"):
        assert pd.api.types.is_string_dtype(df[column]), column
    assert df["income"].gt(0).all()
    assert df["debt_ratio"].between(0, 1.5).all()
    assert df["age"].between(18, 80).all()
    assert df["years_employed"].ge(0).all()
    assert (df["years_employed"] <= df["age"] - 18).all()
    assert set(df["employment"]) == set(EMPLOYMENT)
    assert set(df["region"]) == set(REGIONS)
    assert set(df["sex"]) == {"female", "male"}
    assert set(df["age_band"]) == set(AGE_BANDS)
    assert list(df["age_band"]) == list(age_band(df["age"]))
    assert set(df[TARGET]) == {0, 1}
    assert df.notna().all().all()
    # Lognormal income: skewed to the right.
    assert df["income"].mean() > df["income"].median()


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (18, "18-25"),
        (25, "18-25"),
        (26, "26-35"),
        (35, "26-35"),
        (36, "36-50"),
        (50, "36-50"),
        (51, "51-65"),
        (65, "51-65"),
        (66, "66+"),
        (80, "66+"),
    ],
)
def test_age_band_edges(age: int, band: str) -> None:
    assert list(age_band(np.array([age]))) == [band]


def test_injected_bias_is_described() -> None:
    assert INJECTED_BIAS["column"] == "age_band"
    assert INJECTED_BIAS["group"] == "18-25"
    assert INJECTED_BIAS["label"] == TARGET
    assert INJECTED_BIAS["flip_probability"] == 0.35
    assert "flipped to 0" in INJECTED_BIAS["mechanism"]


def test_bias_is_in_the_label_and_only_there() -> None:
    biased = make_credit_applications(n_rows=20_000, seed=SEED)
    control = make_credit_applications(n_rows=20_000, seed=SEED, bias_flip_probability=0.0)

    # The flip changes nothing but some good labels of the 18-25 band.
    assert_frame_equal(biased.drop(columns=TARGET), control.drop(columns=TARGET))
    changed = biased[TARGET] != control[TARGET]
    assert changed.any()
    assert (biased.loc[changed, "age_band"] == "18-25").all()
    assert (control.loc[changed, TARGET] == 1).all()
    young_good = (control["age_band"] == "18-25") & (control[TARGET] == 1)
    assert changed.sum() / young_good.sum() == pytest.approx(0.35, abs=0.05)

    biased_ratio = young_ratio(biased.groupby("age_band")[TARGET].mean())
    control_ratio = young_ratio(control.groupby("age_band")[TARGET].mean())
    assert biased_ratio < 0.7
    assert control_ratio > 0.85


def test_no_bias_by_sex() -> None:
    df = make_credit_applications(n_rows=20_000, seed=SEED)
    rates = df.groupby("sex")[TARGET].mean()
    assert rates.min() / rates.max() > 0.95


def test_split_is_stratified_and_complete(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, evaluation = split
    df = make_credit_applications(n_rows=N_ROWS, seed=SEED)

    assert len(train) + len(evaluation) == len(df)
    assert len(evaluation) == pytest.approx(0.3 * len(df), abs=1)
    assert train[TARGET].mean() == pytest.approx(evaluation[TARGET].mean(), abs=0.005)
    assert list(train.index) == list(range(len(train)))
    together = pd.concat([train, evaluation]).sort_values(list(df.columns), ignore_index=True)
    assert_frame_equal(together, df.sort_values(list(df.columns), ignore_index=True))


def test_models_are_raw_feature_pipelines(
    models: dict[str, Pipeline], split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    assert list(models) == list(MODEL_TYPES)
    for name, model in models.items():
        assert isinstance(model, Pipeline)
        prepare = model.steps[0][1]
        assert isinstance(prepare, ColumnTransformer)
        assert list(model.feature_names_in_) == list(FEATURES)
        encoders = [t for _, t, _ in prepare.transformers_ if isinstance(t, OneHotEncoder)]
        assert encoders and all(e.handle_unknown == "ignore" for e in encoders)
        assert isinstance(model.steps[-1][1], MODEL_TYPES[name])
    # Unknown categories are ignored, not an error.
    unseen = split[1].head(3).assign(employment="student", region="offshore")
    assert models["credit-gbm"].predict_proba(unseen[list(FEATURES)]).shape == (3, 2)


@pytest.mark.parametrize("name", list(MODEL_TYPES))
def test_models_discriminate(
    name: str, models: dict[str, Pipeline], split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    evaluation = split[1]
    scores = models[name].predict_proba(evaluation[list(FEATURES)])[:, 1]
    assert roc_auc_score(evaluation[TARGET], scores) > 0.7


def test_gbm_learns_the_injected_bias(
    models: dict[str, Pipeline], split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    rates = selection_rates(models["credit-gbm"], split[1])
    assert young_ratio(rates) < 0.8
    assert rates.idxmin() == "18-25"


def test_written_models_load_safely_and_predict_identically(
    demo: DemoFiles, models: dict[str, Pipeline], split: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    evaluation = split[1]
    X = evaluation[list(FEATURES)]
    assert demo.model_names == tuple(MODEL_TYPES)
    assert set(demo.model_paths) == set(demo.purposes) == set(demo.eval_auc) == set(MODEL_TYPES)
    for name in demo.model_names:
        assert demo.model_paths[name] == demo.folder / f"{name}.skops"
        loaded = load_artifact(demo.model_paths[name])
        np.testing.assert_array_equal(loaded.predict_proba(X), models[name].predict_proba(X))
        auc = roc_auc_score(evaluation[TARGET], loaded.predict_proba(X)[:, 1])
        assert demo.eval_auc[name] == pytest.approx(auc)
        assert demo.eval_auc[name] > 0.7
        assert demo.purposes[name] and "\n" not in demo.purposes[name]


def test_written_data_reads_back(demo: DemoFiles, split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    assert_frame_equal(pd.read_csv(demo.train_csv), split[0])
    assert_frame_equal(pd.read_csv(demo.eval_csv), split[1])


def test_rewriting_gives_byte_identical_csv(tmp_path: Path) -> None:
    first = write_demo_files(tmp_path / "a", seed=5, n_rows=600)
    second = write_demo_files(tmp_path / "a", seed=5, n_rows=600)
    other = write_demo_files(tmp_path / "b", seed=5, n_rows=600)
    for attribute in ("train_csv", "eval_csv"):
        content = getattr(first, attribute).read_bytes()
        assert content == getattr(second, attribute).read_bytes()
        assert content == getattr(other, attribute).read_bytes()
    assert first.eval_auc == second.eval_auc
