"""The Model page: card, versions, comparison, history; owners edit the card, SMEs only read."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from core.services.inventory import card_history, current_card
from core.services.permissions import OPERATOR

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "model.py")


def _open(at, name: str):  # type: ignore[no-untyped-def]
    at.switch_page(PAGE).run()
    picker = at.selectbox(key="model_pick")
    picker.select_index(list(picker.options).index(name)).run()
    return at


def test_owner_edits_the_card_and_history_shows_it(
    signed_in,
    demo_models,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    at = _open(signed_in("model_owner"), "credit-gbm")
    assert not at.exception
    assert [t.value for t in at.title] == ["credit-gbm"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Stage"] == "production" and metrics["Versions"] == "1"
    model_id = int(at.query_params["model"][0])
    at.text_area(key=f"card_{model_id}_kpis").input("Default rate below 2%")
    at.button(key=f"FormSubmitter:card_{model_id}-Save card").click().run()
    assert not at.exception
    assert current_card(session=session, model_id=model_id)["kpis"] == "Default rate below 2%"
    edit = card_history(session=session, model_id=model_id)[0]
    assert edit.edited_by == "olivia"
    assert edit.changes == {"kpis": {"old": None, "new": "Default rate below 2%"}}

    session.commit()  # end the reads, which hold SQLite's lock

    # The business language is edited in the same form and kept in the card.
    at.text_input(key=f"card_{model_id}_target").input("Credit decision")
    at.button(key=f"FormSubmitter:card_{model_id}-Save card").click().run()
    assert not at.exception
    vocabulary = current_card(session=session, model_id=model_id)["vocabulary"]
    session.commit()
    assert vocabulary["target"]["name"] == "Credit decision"
    assert vocabulary["features"]["debt_ratio"]["name"] == "Debt-to-income ratio"


def test_sme_reads_without_an_edit_form(signed_in, demo_models) -> None:  # type: ignore[no-untyped-def]
    at = _open(signed_in("sme"), "credit-logit")
    assert not at.exception
    assert len(at.text_area) == 0
    card = at.markdown[0].value
    assert "**Purpose**  \nLogistic regression" in card
    names = at.dataframe[0].value.set_index("Technical name")
    assert names.loc["debt_ratio", "Display name"] == "Debt-to-income ratio"
    assert any("Only one version so far" in i.value for i in at.info)


def test_evidence_tab_lists_stored_evidence_and_comparison_shows_metrics(
    signed_in,
    demo_models,
    demo_files,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    from core.services.evidence import evaluate_version
    from core.services.inventory import register_version

    first = evaluate_version(
        session=session, actor=OPERATOR, version_id=demo_models["credit-logit"], n_boot=0
    )
    # A second version of the same model (another artifact), evaluated too.
    second = register_version(
        session=session,
        actor=OPERATOR,
        name="credit-logit",
        artifact=demo_files.model_paths["credit-forest"],
        eval_data=demo_files.eval_csv,
        target="approved",
    )
    evaluate_version(session=session, actor=OPERATOR, version_id=second.version_id, n_boot=0)
    session.commit()  # services flush; the edge (here, the test) commits
    at = _open(signed_in("sme"), "credit-logit")
    assert not at.exception
    evidence = next(d.value for d in at.dataframe if "Evidence id" in d.value.columns)
    assert first.performance.id in set(evidence["Evidence id"])
    assert {"performance", "fairness"} <= set(evidence["Kind"])
    assert "fail" in set(evidence.loc[evidence["Kind"] == "fairness", "Status"])
    comparison = next(d.value for d in at.dataframe if "Verdict" in d.value.columns)
    auc = comparison.set_index("Metric").loc["ROC AUC"]
    expected = first.performance.results["overall"]["metrics"]["roc_auc"]["value"]
    assert auc["v1"] == f"{expected:.3f}"  # computed without intervals (n_boot=0)
    assert auc["Verdict"] == "no interval to judge"
