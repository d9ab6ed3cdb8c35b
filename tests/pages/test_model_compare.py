"""The Compare versions tab: what changed, in business words, with metric verdicts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import skops.io
from sqlmodel import Session

from core.demo.data import SENSITIVE, TARGET
from core.services.evidence import evaluate_version, latest_evidence
from core.services.inventory import register_version
from core.services.permissions import OPERATOR
from tests.core.retrained import retrained_logit
from tests.pages.conftest import texts

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "model.py")


def _frame_with(at, column: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_the_tab_shows_the_changed_setting_the_dropped_feature_and_a_worse_auc(
    signed_in,
    demo_models,
    demo_files,
    session: Session,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    artifact = tmp_path / "credit-logit-v2.skops"
    skops.io.dump(retrained_logit(pd.read_csv(demo_files.train_csv)), artifact)
    second = register_version(
        session=session, actor=OPERATOR, name="credit-logit", artifact=artifact,
        eval_data=demo_files.eval_csv, train_data=demo_files.train_csv, target=TARGET,
        sensitive=SENSITIVE,
    ).version_id  # fmt: skip
    for version_id in (demo_models["credit-logit"], second):
        evaluate_version(session=session, actor=OPERATOR, version_id=version_id, n_boot=200)
    stored = [
        latest_evidence(session=session, version_id=i, kind="performance")
        for i in (demo_models["credit-logit"], second)
    ]
    session.commit()

    at = signed_in("sme").switch_page(PAGE).run()
    picker = at.selectbox(key="model_pick")
    picker.select_index(list(picker.options).index("credit-logit")).run()
    assert not at.exception
    assert (at.selectbox(key="cmp_left").value, at.selectbox(key="cmp_right").value) == (1, 2)
    shown = texts(at)
    assert "1 hyperparameter(s) changed: C." in shown
    assert "1 feature(s) removed." in shown
    assert "**Features removed:** Debt-to-income ratio" in shown  # the card's display name
    assert "Same final estimator: Logistic regression." in shown

    metrics = _frame_with(at, "Verdict").set_index("Metric")
    auc = [e.results["overall"]["metrics"]["roc_auc"] for e in stored]  # type: ignore[union-attr]
    assert metrics.loc["ROC AUC", "v1"].startswith(f"{auc[0]['value']:.3f} ({auc[0]['lower']:.2f}")
    assert metrics.loc["ROC AUC", "v2"].startswith(f"{auc[1]['value']:.3f}")
    assert metrics.loc["ROC AUC", "Verdict"] == "worse"
    assert metrics.loc["ROC AUC", "Change"] == f"{auc[1]['value'] - auc[0]['value']:+.3f}"

    settings = _frame_with(at, "Setting").set_index("Setting")
    assert (settings.loc["C", "v1"], settings.loc["C", "v2"]) == ("1", "0.1")
    assert settings.loc["class_weight", "v1"] == "—"  # None is a dash, never "None"
    data = _frame_with(at, "Data").set_index("Data")
    assert set(data["Changed"]) == {"no"}
    assert data.loc["Evaluation", "v1"].startswith("eval.csv · 900 rows · SHA-256 ")

    for frame in at.dataframe:  # business headers, no reprs in cells
        assert not any("_" in str(c) for c in frame.value.columns)
        assert "None" not in set(frame.value.astype(str).to_numpy().ravel())

    at.toggle(key="cmp_only").set_value(True).run()
    assert list(_frame_with(at, "Setting")["Setting"]) == ["C"]


def test_picking_the_same_version_twice_asks_for_two(
    signed_in, demo_models, demo_files, session: Session
) -> None:  # type: ignore[no-untyped-def]
    register_version(
        session=session, actor=OPERATOR, name="credit-logit",
        artifact=demo_files.model_paths["credit-forest"], eval_data=demo_files.eval_csv,
        target=TARGET,
    )  # fmt: skip
    session.commit()
    at = signed_in("sme").switch_page(PAGE).run()
    picker = at.selectbox(key="model_pick")
    picker.select_index(list(picker.options).index("credit-logit")).run()
    at.selectbox(key="cmp_left").set_value(2).run()
    assert not at.exception
    assert any("Pick two different versions" in i.value for i in at.info)


def test_hostile_display_names_land_literally_in_the_comparison(
    signed_in,
    demo_models,
    demo_files,
    session: Session,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from core.services.inventory import edit_card, model_choices
    from tests.pages.test_hostile_names import HOSTILE, _marked_up

    model_id = {name: i for i, name in model_choices(session=session)}["credit-logit"]
    vocabulary = {"features": {"debt_ratio": {"name": HOSTILE}}}
    edit_card(
        session=session, actor=OPERATOR, model_id=model_id, changes={"vocabulary": vocabulary}
    )
    artifact = tmp_path / "credit-logit-v2.skops"
    skops.io.dump(retrained_logit(pd.read_csv(demo_files.train_csv)), artifact)
    register_version(
        session=session, actor=OPERATOR, name="credit-logit", artifact=artifact,
        eval_data=demo_files.eval_csv, target=TARGET,
    )  # fmt: skip
    session.commit()
    at = signed_in("sme").switch_page(PAGE).run()
    picker = at.selectbox(key="model_pick")
    picker.select_index(list(picker.options).index("credit-logit")).run()
    assert not at.exception
    assert any("has no performance evidence yet" in w.value for w in at.warning)
    assert any("Features removed" in m.value and "bold" in m.value for m in at.markdown)
    assert _marked_up(at) == []
