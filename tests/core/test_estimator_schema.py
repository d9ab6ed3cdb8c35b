"""A stored model's structure read from its skops schema equals what scikit-learn says of the
fitted object: its final estimator, its pipeline steps and ``get_params()``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io
from sklearn.base import BaseEstimator
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from core.files.estimator_schema import estimator_structure, stored_structure
from core.files.refusals import MalformedArtifact

RNG = np.random.default_rng(7)
X = RNG.normal(size=(120, 3))
Y = (X[:, 0] + RNG.normal(size=120) > 0).astype(int)


def _plain_params(estimator: BaseEstimator) -> dict[str, Any]:
    """get_params(deep=False) without scikit-learn's "deprecated" placeholders."""
    return {k: v for k, v in estimator.get_params(deep=False).items() if v != "deprecated"}


def _stored(tmp_path: Path, model: BaseEstimator) -> Path:
    path = tmp_path / "model.skops"
    skops.io.dump(model, path)
    return path


@pytest.mark.parametrize(
    "estimator",
    [
        LogisticRegression(C=0.25, max_iter=300, class_weight="balanced"),
        GradientBoostingClassifier(n_estimators=7, max_depth=2, learning_rate=0.3, random_state=1),
    ],
    ids=["logistic", "boosting"],
)
def test_a_bare_estimator_reads_as_its_get_params(tmp_path: Path, estimator: BaseEstimator) -> None:
    estimator.fit(X, Y)
    structure = stored_structure(_stored(tmp_path, estimator))
    cls = type(estimator)
    assert structure.final == f"{cls.__module__}.{cls.__qualname__}"
    assert structure.steps == ()
    assert dict(structure.hyperparameters) == _plain_params(estimator)


def test_a_nested_pipeline_reads_as_its_last_estimator(tmp_path: Path) -> None:
    inner = Pipeline(
        [
            ("scale", StandardScaler()),
            ("forest", RandomForestRegressor(n_estimators=3, max_depth=4, random_state=0)),
        ]
    )
    model = Pipeline([("prepare", StandardScaler()), ("skip", "passthrough"), ("fit", inner)])
    model.fit(X, X[:, 1])
    structure = stored_structure(_stored(tmp_path, model))
    forest = inner.named_steps["forest"]
    assert structure.final_name == "RandomForestRegressor"
    assert structure.steps == (("prepare", "StandardScaler"), ("skip", "str"), ("fit", "Pipeline"))
    expected = _plain_params(forest)
    assert dict(structure.hyperparameters) == expected
    assert structure.hyperparameters["max_depth"] == 4


def test_a_schema_that_is_not_an_object_reads_as_nothing() -> None:
    assert estimator_structure([1, 2]).final == ""
    assert estimator_structure({"__class__": "X"}).hyperparameters == {}


def test_a_file_that_is_not_an_archive_is_refused_in_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "broken.skops"
    path.write_bytes(b"not a zip")
    with pytest.raises(MalformedArtifact) as err:
        stored_structure(path)
    assert err.value.problems[0].startswith("The stored artifact broken.skops is not a readable")
