"""The Fairness page shows stored fairness evidence; EVIDENCE_ROLES recompute it, SMEs only read."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from app.ui.evidence import business_words, short_sentence
from app.ui.text import INTERVAL_COLUMN, escape_label, escape_markdown, format_estimate
from core.services.evidence import (
    StoredEvidence,
    evaluate_version,
    evidence_for_version,
    latest_evidence,
)
from core.services.users import get_user
from tests.pages.conftest import texts

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "fairness.py")
FOUR_FIFTHS = "Selection-rate ratio (four-fifths rule)"


@pytest.fixture
def stored(
    session: Session, demo_models: dict[str, int], demo_users: dict[str, str]
) -> StoredEvidence:
    """credit-gbm's fairness evidence, computed by the validator with the default reference."""
    validator = get_user(session=session, username=demo_users["validator"])
    evaluation = evaluate_version(
        session=session,
        actor=validator,
        version_id=demo_models["credit-gbm"],
        segments=["region"],
        n_boot=200,
    )
    session.commit()  # services flush; the edge (here, the test) commits
    assert evaluation.fairness is not None
    return evaluation.fairness


def _open(at, name: str):  # type: ignore[no-untyped-def]
    at.switch_page(PAGE).run()
    picker = at.selectbox(key="fair_model")
    picker.select_index(list(picker.options).index(name)).run()
    assert not at.exception
    return at


def _feature(evidence: StoredEvidence, name: str) -> dict:
    return next(f for f in evidence.results["features"] if f["name"] == name)


def _four_fifths_row(at):  # type: ignore[no-untyped-def]
    checks = at.dataframe[0].value
    row = checks[(checks["Feature"] == "Age band") & (checks["Check"] == FOUR_FIFTHS)]
    assert len(row) == 1
    return row.iloc[0]


def _tab(at, name: str):  # type: ignore[no-untyped-def]
    return next(t for t in at.tabs if t.label == escape_label(name))


def test_the_injected_age_bias_fails_the_four_fifths_rule_as_stored(signed_in, stored) -> None:  # type: ignore[no-untyped-def]
    at = _open(signed_in("auditor"), "credit-gbm")
    assert "fail" in at.error[0].value
    check = next(c for c in _feature(stored, "age_band")["checks"] if c["label"] == FOUR_FIFTHS)
    row = _four_fifths_row(at)
    shown = float(row[INTERVAL_COLUMN].split()[0])
    assert shown < 0.80
    assert shown == round(check["value"]["value"], 3)
    assert row[INTERVAL_COLUMN] == format_estimate(check["value"])
    assert row["Status"] == "fail"
    assert row["Threshold"] == "≥ 0.8"
    assert row["In short"] == business_words(short_sentence(check), "age_band", "Age band")
    assert row["In short"].startswith("Selection-rate ratio (four-fifths rule) for Age band: ")
    # Sentences speak of columns by their display names, in the table and under each tab.
    assert not any("age_band" in v for v in at.dataframe[0].value["In short"])
    assert "age_band" not in texts(at) and "Age band 18-25 is selected" in texts(at)
    # Each check once, failing first; the legal basis once, as a footnote.
    checks = at.dataframe[0].value
    stored_checks = [c for f in stored.results["features"] for c in f["checks"]]
    assert len(checks) == len(stored_checks)
    assert list(checks["Status"]) == sorted(
        checks["Status"],
        key=lambda w: ["fail", "inconclusive", "insufficient data", "pass"].index(w),
    )
    assert check["sentence"] not in texts(at) and escape_markdown(check["sentence"]) not in texts(
        at
    )
    assert sum("four-fifths rule (US EEOC" in c.value for c in at.caption) == 1

    # The failing feature's tab comes first; tabs carry the display names.
    labels = [t.label for t in at.tabs]
    assert labels[0] == "Age band" and set(labels) == {"Sex", "Age band", "Sex × Age band"}
    age = _feature(stored, "age_band")
    tab = _tab(at, "Age band")
    assert any("Highlighted: 18-25, where the check fails." in c.value for c in tab.caption)
    assert "Reference group: **36-50** (most-favoured group" in tab.caption[0].value
    groups = tab.dataframe[0].value.set_index("Group")
    young = next(g for g in age["groups"] if g["group"] == "18-25")
    assert groups.loc["18-25", "Rows"] == young["count"]
    assert groups.loc["18-25", "Selection rate"] == format_estimate(
        young["metrics"]["selection_rate"]
    )
    assert float(groups.loc["18-25", "Ratio to reference"].split()[0]) < 0.80
    for column, key in (
        ("True-positive rate", "true_positive_rate"),
        ("False-positive rate", "false_positive_rate"),
    ):
        assert groups.loc["18-25", column] == format_estimate(young["metrics"][key])
    between = tab.dataframe[1].value.set_index("Measure")[INTERVAL_COLUMN]
    assert between["True-positive-rate gap (equal opportunity difference)"] == format_estimate(
        age["between_groups"]["true_positive_rate_gap"]
    )
    assert between["Demographic parity ratio"] == format_estimate(
        age["between_groups"]["demographic_parity_ratio"]
    )
    assert len(tab.get("plotly_chart")) == 2

    # Small intersections are listed with their reason, never dropped.
    intersection = _feature(stored, "sex × age_band")
    assert intersection["excluded_groups"]
    warnings = [w.value for w in _tab(at, "Sex × Age band").warning]
    for excluded in intersection["excluded_groups"]:
        assert f"{escape_markdown(excluded['group'])}: {excluded['reason']}." in warnings

    provenance = at.dataframe[-1].value.set_index("Field")["Value"]
    assert provenance["SHA-256"] == stored.sha256
    assert provenance["Computed by"] == "victor"
    assert provenance["Seed"] == "0" and provenance["Bootstrap replicates"] == "200"
    assert provenance["Evaluation data SHA-256"] == stored.inputs["eval_sha256"]


def test_an_sme_reads_the_evidence_without_a_compute_form(signed_in, stored) -> None:  # type: ignore[no-untyped-def]
    at = _open(signed_in("sme"), "credit-gbm")
    assert _four_fifths_row(at)["Status"] == "fail"
    assert not at.expander or all(e.label != "Compute fairness evidence" for e in at.expander)
    assert len(at.number_input) == 0 and len(at.multiselect) == 0
    assert all("compute" not in (b.key or "") for b in at.button)


def test_a_validator_recomputes_with_a_chosen_reference_group(  # type: ignore[no-untyped-def]
    signed_in, stored, session: Session
) -> None:
    version_id = stored.version_id
    at = _open(signed_in("validator"), "credit-gbm")
    at.selectbox(key=f"fair_ref_{version_id}_age_band").set_value("26-35")
    at.button(key=f"fair_compute_{version_id}").click().run()
    assert not at.exception
    assert any("Stored new fairness evidence" in s.value for s in at.success)

    session.commit()  # a fresh transaction sees what the page committed
    new = latest_evidence(session=session, version_id=version_id, kind="fairness")
    assert new is not None and new.id != stored.id
    assert new.config["reference_groups"] == {"age_band": "26-35"}
    assert new.computed_by == "victor" and new.config["n_boot"] == 200
    kinds = [e["kind"] for e in evidence_for_version(session=session, version_id=version_id)]
    assert kinds.count("fairness") == 2  # the old evidence stays

    tab = _tab(at, "Age band")
    assert "Reference group: **26-35** (chosen reference group)" in tab.caption[0].value
    check = next(c for c in _feature(new, "age_band")["checks"] if c["label"] == FOUR_FIFTHS)
    assert _four_fifths_row(at)[INTERVAL_COLUMN] == format_estimate(check["value"])
    assert at.selectbox(key=f"fair_evidence_{version_id}").value.startswith(f"#{new.id} ")


def test_a_version_without_evidence_says_so(signed_in, demo_models) -> None:  # type: ignore[no-untyped-def]
    at = _open(signed_in("sme"), "credit-logit")
    assert "No fairness evidence has been computed for credit-logit v1 yet" in at.info[0].value
    assert "can compute it" in at.info[0].value
    assert len(at.dataframe) == 0

    at = _open(signed_in("developer"), "credit-logit")
    assert "Compute it above" in at.info[0].value
    assert at.button(key=f"fair_compute_{demo_models['credit-logit']}")
