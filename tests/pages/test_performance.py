"""The Performance page shows stored performance evidence, per segment and against other versions."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from app.ui.text import INTERVAL_COLUMN, format_estimate
from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.services.evidence import (
    StoredEvidence,
    evaluate_version,
    evidence_for_version,
    latest_evidence,
)
from core.services.inventory import register_version
from core.services.permissions import OPERATOR
from core.services.users import get_user

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "performance.py")


@pytest.fixture
def evidence(
    session: Session, demo_models: dict[str, int], demo_users: dict[str, str], demo_files: DemoFiles
) -> dict[str, StoredEvidence]:
    """credit-gbm v1 (production) and a v2 challenger, each with stored performance evidence."""
    developer = get_user(session=session, username=demo_users["developer"])
    v2 = register_version(
        session=session,
        actor=developer,
        name="credit-gbm",
        artifact=demo_files.model_paths["credit-forest"],
        eval_data=demo_files.eval_csv,
        train_data=demo_files.train_csv,
        target=TARGET,
        sensitive=SENSITIVE,
    )
    out = {}
    for name, version_id in (("v1", demo_models["credit-gbm"]), ("v2", v2.version_id)):
        evaluation = evaluate_version(
            session=session, actor=OPERATOR, version_id=version_id, segments=["region"], n_boot=200
        )
        out[name] = evaluation.performance
    session.commit()  # services flush; the edge (here, the test) commits
    return out


def _open(at, name: str, version: str | None = None):  # type: ignore[no-untyped-def]
    at.switch_page(PAGE).run()
    picker = at.selectbox(key="perf_model")
    picker.select_index(list(picker.options).index(name)).run()
    if version is not None:
        versions = at.selectbox(key="perf_version")
        versions.set_value(next(o for o in versions.options if o.startswith(f"{version} "))).run()
    assert not at.exception
    return at


def _frame_with(at, column: str):  # type: ignore[no-untyped-def]
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_metrics_checks_segments_and_the_comparison_with_production(  # type: ignore[no-untyped-def]
    signed_in, evidence
) -> None:
    at = _open(signed_in("risk_manager"), "credit-gbm", version="v2")
    new, old = evidence["v2"], evidence["v1"]
    metrics = new.results["overall"]["metrics"]
    assert at.selectbox(key=f"perf_evidence_{new.version_id}").value.startswith(f"#{new.id} ")
    assert "Performance of credit-gbm v2" in at.success[0].value

    checks = at.dataframe[0].value.set_index("Check")
    assert checks.loc["ROC AUC", "Status"] == "pass"
    assert checks.loc["ROC AUC", INTERVAL_COLUMN] == format_estimate(metrics["roc_auc"])
    assert checks.loc["ROC AUC", "Threshold"] == "≥ 0.7"
    assert checks.loc["Brier score", "Threshold"] == "≤ 0.25"
    assert any("Gini 0.40" in c.value for c in at.caption)  # the basis, once, as a footnote

    table = at.dataframe[1].value.set_index("Metric")[INTERVAL_COLUMN]
    assert list(table.index) == [
        "Accuracy", "Precision", "Recall", "F1", "ROC AUC", "Gini", "KS statistic", "Log loss",
        "Brier score",
    ]  # fmt: skip
    for key, label in (("roc_auc", "ROC AUC"), ("log_loss", "Log loss"), ("gini", "Gini")):
        assert table[label] == format_estimate(metrics[key])
    assert 0.5 < float(table["ROC AUC"].split()[0]) <= 1

    confusion = _frame_with(at, "Actual").set_index("Actual")
    (tn, fp), (fn, tp) = new.results["overall"]["confusion_matrix"]
    assert confusion.loc["approved", "Predicted: approved"] == tp
    assert confusion.loc["declined", "Predicted: approved"] == fp
    assert tn + fp + fn + tp == new.results["n_rows"]
    assert len(at.get("plotly_chart")) == 3  # ROC curve, reliability diagram, score distribution

    regions = _frame_with(at, "Group").set_index("Group")
    stored_regions = {s["group"]: s for s in new.results["segments"] if s["column"] == "region"}
    assert sorted(regions.index) == sorted(stored_regions) == ["east", "north", "south", "west"]
    for group, segment in stored_regions.items():
        assert regions.loc[group, "Rows"] == segment["count"]
        assert regions.loc[group, "ROC AUC"] == format_estimate(segment["metrics"]["roc_auc"])

    compare = _frame_with(at, "Previous = production (v1)").set_index("Metric")
    before = old.results["overall"]["metrics"]
    assert compare.loc["ROC AUC", "This version (v2)"] == format_estimate(metrics["roc_auc"])
    assert compare.loc["ROC AUC", "Previous = production (v1)"] == format_estimate(
        before["roc_auc"]
    )
    change = metrics["roc_auc"]["value"] - before["roc_auc"]["value"]
    assert change != 0
    assert compare.loc["ROC AUC", "Change from Previous = production (v1)"] == f"{change:+.3f}"

    provenance = at.dataframe[-1].value.set_index("Field")["Value"]
    assert provenance["SHA-256"] == new.sha256
    assert provenance["Segments"] == "region"


def test_the_production_version_itself_and_an_sme_without_a_form(signed_in, evidence) -> None:  # type: ignore[no-untyped-def]
    at = _open(signed_in("sme"), "credit-gbm", version="v1")
    assert "credit-gbm v1 is the production version." in [c.value for c in at.caption]
    assert "credit-gbm v1 has no previous version." in [c.value for c in at.caption]
    assert not any("Change from" in c for d in at.dataframe for c in d.value.columns)
    assert len(at.number_input) == 0 and len(at.multiselect) == 0
    assert all("compute" not in (b.key or "") for b in at.button)


def test_a_version_without_evidence_says_so(signed_in, demo_models) -> None:  # type: ignore[no-untyped-def]
    at = _open(signed_in("compliance"), "credit-forest")
    assert "No performance evidence has been computed for credit-forest v1 yet" in at.info[0].value
    assert len(at.dataframe) == 0


def test_an_engineer_recomputes_with_more_segments(  # type: ignore[no-untyped-def]
    signed_in, evidence, session: Session
) -> None:
    version_id = evidence["v1"].version_id
    fairness_before = latest_evidence(session=session, version_id=version_id, kind="fairness")
    session.commit()  # end the read, so that SQLite lets the page write
    at = _open(signed_in("ml_engineer"), "credit-gbm", version="v1")
    at.multiselect(key=f"perf_segments_{version_id}").set_value(["region", "sex"])
    at.button(key=f"perf_compute_{version_id}").click().run()
    assert not at.exception
    assert any("Stored new performance evidence" in s.value for s in at.success)
    # Fairness settings were kept, so its evidence is reproduced, not duplicated.
    assert any("fairness evidence is identical to" in i.value for i in at.info)

    session.commit()  # a fresh transaction sees what the page committed
    new = latest_evidence(session=session, version_id=version_id, kind="performance")
    assert new is not None and new.id != evidence["v1"].id
    assert new.config["segments"] == ["region", "sex"] and new.computed_by == "milo"
    kinds = [e["kind"] for e in evidence_for_version(session=session, version_id=version_id)]
    assert kinds.count("fairness") == 1 and kinds.count("performance") == 2
    fairness_after = latest_evidence(session=session, version_id=version_id, kind="fairness")
    assert fairness_before is not None and fairness_after is not None
    assert fairness_after.id == fairness_before.id

    assert "**By sex**" in [m.value for m in at.markdown]
    by_sex = [d.value for d in at.dataframe if "Group" in d.value.columns][1].set_index("Group")
    for segment in (s for s in new.results["segments"] if s["column"] == "sex"):
        assert by_sex.loc[segment["group"], "Accuracy"] == format_estimate(
            segment["metrics"]["accuracy"]
        )
