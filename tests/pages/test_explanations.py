"""The Explanations page: stored SHAP evidence shown without recomputing, jobs started by
EVIDENCE_ROLES with a progress bar, SMEs only read, and one decision explained live."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from app.charts.explanations import waterfall_figure
from core.demo.seed import DEMO_VOCABULARY
from core.services.evidence import compute_explanation, explain_decision
from core.services.jobs import run_job
from core.services.users import get_user
from core.services.vocabulary import Vocabulary
from core.tables import Evidence, Job, ModelVersion, User
from tests.pages.conftest import texts

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "explanations.py")
ROWS = 300


def _open(at, name: str):  # type: ignore[no-untyped-def]
    at.switch_page(PAGE).run()
    picker = at.selectbox(key="expl_model")
    picker.select_index(list(picker.options).index(name)).run()
    assert not at.exception
    return at


def _charts(at):  # type: ignore[no-untyped-def]
    return at.get("plotly_chart")


def _reader(session: Session, demo_users: dict[str, str]) -> User:
    """The auditor, who reads everything, as the acting user of applicant-level reads."""
    return get_user(session=session, username=demo_users["auditor"])


def _job(session: Session, version_id: int) -> Job:
    job = session.exec(
        select(Job).where(Job.version_id == version_id).order_by(Job.id.desc())  # type: ignore[union-attr]
    ).first()
    assert job is not None
    session.commit()  # end the read: on SQLite an open transaction holds the write lock
    return job


def test_sme_reads_stored_explanations_without_a_compute_button(
    signed_in, demo_models, demo_users, session: Session
) -> None:  # type: ignore[no-untyped-def]
    vid = demo_models["credit-gbm"]
    stored = compute_explanation(
        session=session,
        actor=get_user(session=session, username=demo_users["validator"]),
        version_id=vid,
        rows=ROWS,
    )
    session.commit()  # services flush; the edge (here, the test) commits
    at = _open(signed_in("sme"), "credit-gbm")
    assert not [b for b in at.button if b.key == f"expl_compute_{vid}"]
    assert "Additivity holds" in at.success[0].value
    shown = texts(at)
    assert "Contributions to the log\\-odds of approved" not in shown  # hyphens stay literal
    assert "Contributions to the log-odds of approved (SHAP values)" in shown
    assert "not causation" in shown
    # importance, beeswarm, dependence, partial dependence, waterfall of row 0
    assert len(_charts(at)) == 5
    stability = at.dataframe[0].value
    names = DEMO_VOCABULARY["features"]
    top = stored.results["stability"]["top_features"]
    assert list(stability["Input"]) == [names[f]["name"] for f in top]
    assert set(stability["Stable"]) == {"stable"}
    provenance = at.dataframe[1].value.set_index("Field")["Value"]
    assert provenance["SHA-256"] == stored.sha256
    assert provenance["Sample SHA-256"] == stored.results["provenance"]["sample_sha256"]
    assert provenance["Explainer"].startswith("tree (shap.TreeExplainer)")
    assert "shap version" in provenance.index


def test_validator_starts_a_job_sees_its_progress_then_the_result(
    signed_in, demo_models, session: Session
) -> None:  # type: ignore[no-untyped-def]
    vid = demo_models["credit-logit"]
    at = _open(signed_in("validator"), "credit-logit")
    assert "No explanation evidence has been computed" in at.info[0].value
    at.number_input(key=f"expl_rows_{vid}").set_value(ROWS)
    at.button(key=f"expl_compute_{vid}").click().run()
    assert not at.exception
    job = _job(session, vid)
    assert (job.state, job.params_json) == ("queued", '{"background":100,"rows":300,"seed":0}')
    (bar,) = at.get("progress")
    assert f"Explanation job #{job.id} (queued)" in bar.proto.text

    finished = run_job(job.id)  # what the background worker would do
    assert finished.state == "done"
    at.run()
    assert not at.exception
    assert not at.get("progress")
    successes = [s.value for s in at.success]
    assert (
        f"Explanation job #{job.id} stored new explanation evidence #{finished.evidence_id}."
        in successes
    )
    assert any("Additivity holds" in s for s in successes)
    chosen = at.selectbox(key=f"expl_evidence_{vid}").value
    assert chosen.startswith(f"#{finished.evidence_id} ")
    evidence = session.get(Evidence, finished.evidence_id)
    assert evidence is not None and evidence.kind == "explanation"
    session.commit()  # end the read, which holds SQLite's lock

    # The same settings again reproduce the stored evidence: the page says so and shows it.
    at.button(key=f"expl_compute_{vid}").click().run()
    again = _job(session, vid)
    assert again.id != job.id
    assert run_job(again.id).evidence_id == finished.evidence_id
    at.run()
    assert not at.exception
    (info,) = [i.value for i in at.info if "identical" in i.value]
    assert info.startswith(
        f"Explanation job #{again.id} gave a result identical to the stored evidence "
        f"#{finished.evidence_id} (computed "
    )
    assert at.selectbox(key=f"expl_evidence_{vid}").value.startswith(f"#{finished.evidence_id} ")


def test_a_failed_job_shows_its_error(signed_in, demo_models, session: Session) -> None:  # type: ignore[no-untyped-def]
    vid = demo_models["credit-forest"]
    at = _open(signed_in("developer"), "credit-forest")
    # The stored artifact is damaged after submission: the job must fail and say why.
    at.button(key=f"expl_compute_{vid}").click().run()
    job = _job(session, vid)
    version = session.get(ModelVersion, vid)
    session.commit()
    assert version is not None
    Path(version.artifact_path).write_bytes(b"not a model")
    assert run_job(job.id).state == "failed"
    at.run()
    assert "no longer matches the hash recorded at registration" in at.error[0].value
    assert f"Explanation job #{job.id} failed" in at.error[0].value


def test_one_decision_shows_three_drivers_and_flags_a_what_if(
    signed_in, demo_models, demo_users, session: Session
) -> None:  # type: ignore[no-untyped-def]
    vid = demo_models["credit-gbm"]
    at = _open(signed_in("auditor"), "credit-gbm")
    at.number_input(key=f"expl_row_{vid}").set_value(7).run()
    assert not at.exception
    expected = explain_decision(
        session=session, actor=_reader(session, demo_users), version_id=vid, row_index=7
    )
    session.commit()
    assert len(expected["drivers"]) == 3
    drivers = next(m.value for m in at.markdown if m.value.startswith("**Top drivers**"))
    names = DEMO_VOCABULARY["features"]
    for rank, c in enumerate(expected["contributions"][:3], 1):
        way = "raises" if c["contribution"] >= 0 else "lowers"
        assert f"{rank}. {names[c['feature']]['name']} = " in drivers.replace("\\", "")
        words = "log-odds" if expected["output_space"] == "log_odds" else "probability"
        assert f"{way} the {words} of approved by {abs(c['contribution']):.3f}." in drivers
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Probability of approved"] == f"{expected['probability']:.3f}"

    at.toggle(key=f"expl_what_if_{vid}").set_value(True).run()
    at.number_input(key=f"expl_form_{vid}_7_income").set_value(10_000_000.0)
    at.button(key=f"FormSubmitter:expl_form_{vid}_7-Explain this what-if").click().run()
    assert not at.exception
    (warning,) = at.warning
    assert warning.value.startswith("Income 10,000,000 is outside the training range")
    assert any(i.value.startswith("Hypothetical: ") for i in at.info)
    after = explain_decision(
        session=session,
        actor=_reader(session, demo_users),
        version_id=vid,
        record={**expected["row"], "income": 10_000_000.0},
    )
    session.commit()
    metrics = {m.label: m.value for m in at.metric}
    shown = f"{expected['probability']:.3f} → {after['probability']:.3f}"
    assert metrics["Probability of approved"] == shown


def test_rows_found_by_search_are_the_ones_explained(
    signed_in, demo_models, demo_users, demo_files, session: Session
) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    vid = demo_models["credit-gbm"]
    frame = pd.read_csv(demo_files.eval_csv)
    at = _open(signed_in("sme"), "credit-gbm")
    at.text_input(key=f"expl_search_{vid}").input("18-25 female").run()
    assert not at.exception
    found = next(d.value for d in at.dataframe if "row" in d.value.columns)
    expected = frame[(frame["age_band"] == "18-25") & (frame["sex"] == "female")]
    rows = [int(r) for r in found["row"]]
    assert rows == list(expected.index[: len(found)]) and len(found) == 20
    at.selectbox(key=f"expl_found_{vid}").set_value(f"row {rows[3]}").run()
    chosen = explain_decision(
        session=session, actor=_reader(session, demo_users), version_id=vid, row_index=rows[3]
    )
    session.commit()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Probability of approved"] == f"{chosen['probability']:.3f}"
    at.text_input(key=f"expl_search_{vid}").input("nobody-has-this").run()
    assert any("No row of the evaluation data" in c.value for c in at.caption)


def test_the_waterfall_runs_from_the_base_value_to_the_model_output() -> None:
    contributions = [
        {"feature": f"x{i}", "value": float(i), "contribution": 0.1 * (12 - i)} for i in range(12)
    ]
    decision = {
        "contributions": contributions,
        "base_value": -1.0,
        "prediction": -1.0 + sum(c["contribution"] for c in contributions),
        "output_space": "log_odds",
        "output_label": "log-odds of class 1",
    }
    vocab = Vocabulary(target="approved", positive="1", features={"x0": ("First input", "")})
    fig = waterfall_figure(decision, vocab)
    trace, *legend = fig.data
    assert [t.name for t in legend] == ["raises the output", "lowers the output"]
    assert list(trace.y) == [
        "average applicant",
        "First input = 0",
        *[f"X{i} = {i}" for i in range(1, 10)],
        "2 other features",
        "this applicant",
    ]
    assert list(trace.measure) == ["absolute", *["relative"] * 11, "total"]
    assert trace.x[-2] == pytest.approx(0.2 + 0.1)
    assert fig.layout.yaxis.autorange == "reversed"  # base value on top
    assert fig.layout.xaxis.title.text == "log-odds of approved 1"  # no outcome labels given
