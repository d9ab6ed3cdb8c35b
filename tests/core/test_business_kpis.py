"""Business KPIs across the portfolio: each model's newest KPI value beside the baseline and
hurdle its newest card states, checked against the rows written here; and the drift alerts
behind the dashboard's drift figure."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from core.db import get_engine
from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.demo.monitoring import DEMO_KPI_TARGETS, production_batch
from core.errors import PermissionDenied
from core.services.business_kpis import business_kpis
from core.services.inventory import edit_card, register_version
from core.services.kpi_lists import drift_alert_list
from core.services.kpis import governance_kpis
from core.services.monitoring import ingest_batch
from core.services.permissions import OPERATOR
from core.services.users import add_user, deactivate_user
from core.tables import ModelCardRevision, ModelVersion, MonitoringBatch
from tests.kpi_portfolio import Facts, build_portfolio

TARGETS = {
    "approval_rate": {"name": "approval_rate", "measured_as": "approved over applied",
                      "better": "higher", "baseline": 0.5, "hurdle": 0.55},
    "default_rate": {"name": "default_rate", "measured_as": "defaults over approved",
                     "better": "lower", "baseline": 0.06, "hurdle": 0.05},
}  # fmt: skip


@pytest.fixture
def portfolio(db_url: str) -> Facts:
    return build_portfolio(db_url, models=40, seed=3)


def _write(db_url: str, facts: Facts) -> dict[tuple[int, str], float | None]:
    """Cards and KPI-carrying batches for models 1 to 8; returns each (model, KPI) of the
    newest cards with the value of the newest batch holding it (None: never measured)."""
    rng = random.Random(8)
    cards, batches, expected = [], [], {}
    for m in range(1, 9):
        # An older revision with both KPIs, the newest with what the model is judged on now.
        names = rng.choice([["approval_rate"], ["default_rate"], list(TARGETS)])
        for revision, listed in ((1, list(TARGETS)), (2, names)):
            card = {"purpose": "x", "kpi_targets": [TARGETS[n] for n in listed]}
            if m == 8 and revision == 2:
                card = {"purpose": "no KPIs any more"}
            cards.append({"model_id": m, "revision": revision, "card_json": json.dumps(card),
                          "edited_at": facts.now, "changes_json": "{}"})  # fmt: skip
        history: list[tuple[Any, dict[str, float]]] = []
        for _ in range(rng.randint(0, 5) if m != 3 else 0):
            scored = facts.now - timedelta(days=rng.uniform(0, 90))
            values = {n: round(rng.uniform(0.0, 0.8), 4) for n in TARGETS if rng.random() < 0.7}
            history.append((scored, values))
            batches.append({"version_id": m, "model_id": m, "dataset_id": 1,
                            "scores_dataset_id": 1, "scored_at": scored, "ingested_at": scored,
                            "id_column": "id", "rows": 10, "kpis_json": json.dumps(values)})  # fmt: skip
        if m == 8:
            continue
        for name in names:
            measured = sorted((s, v[name]) for s, v in history if name in v)
            expected[(m, name)] = measured[-1][1] if measured else None
    with get_engine(db_url).begin() as conn:
        conn.execute(sa.insert(ModelCardRevision.__table__), cards)  # type: ignore[attr-defined]
        conn.execute(sa.insert(MonitoringBatch.__table__), batches)  # type: ignore[attr-defined]
    return expected


def test_each_models_newest_kpi_value_beside_its_newest_cards_targets(
    session: Session, db_url: str, portfolio: Facts
) -> None:
    expected = _write(db_url, portfolio)
    rows = business_kpis(session=session, actor=OPERATOR)
    assert {(r.model_id, r.kpi): r.latest for r in rows} == expected
    assert [r.model for r in rows] == sorted(r.model for r in rows)
    for r in rows:
        target = TARGETS[r.kpi]
        assert (r.baseline, r.hurdle, r.better) == (
            target["baseline"], target["hurdle"], target["better"]
        )  # fmt: skip
        if r.latest is None:
            assert r.status == "not measured recently" and not r.below_hurdle
            continue
        below = r.latest < r.hurdle if r.better == "higher" else r.latest > r.hurdle
        assert r.below_hurdle == below
        assert r.status == ("below hurdle" if below else "meets hurdle")
        assert r.version == 1 and r.version_id == r.model_id
    assert any(r.below_hurdle for r in rows) and any(not r.below_hurdle for r in rows)


def test_a_kpi_recorded_through_monitoring_shows_on_the_portfolio(
    session: Session, demo_files: DemoFiles, tmp_path: Path
) -> None:
    registered = register_version(
        session=session, actor=OPERATOR, name="credit-gbm",
        artifact=demo_files.model_paths["credit-gbm"], eval_data=demo_files.eval_csv,
        train_data=demo_files.train_csv, target=TARGET, sensitive=SENSITIVE,
    )  # fmt: skip
    model_id = session.get_one(ModelVersion, registered.version_id).model_id
    assert business_kpis(session=session, actor=OPERATOR) == ()
    edit_card(
        session=session, actor=OPERATOR, model_id=model_id,
        changes={"kpi_targets": DEMO_KPI_TARGETS},
    )  # fmt: skip
    files = production_batch(tmp_path, name="october", seed=103, n_rows=400)
    ingest_batch(
        session=session, actor=OPERATOR, version_id=registered.version_id, path=files.batch,
        kpis=["approval_rate=0.41", "default_rate=0.08"],
    )  # fmt: skip
    session.commit()
    rows = {r.kpi: r for r in business_kpis(session=session, actor=OPERATOR)}
    assert set(rows) == {t["name"] for t in DEMO_KPI_TARGETS}
    assert rows["approval_rate"].latest == 0.41 and rows["approval_rate"].below_hurdle
    assert rows["approval_rate"].beats_baseline is False
    assert rows["default_rate"].latest == 0.08 and not rows["default_rate"].below_hurdle


def test_drift_alerts_list_the_findings_the_figure_counts(session: Session, db_url: str) -> None:
    f = build_portfolio(db_url, models=200, seed=5)
    alerts = drift_alert_list(session=session, actor=OPERATOR, now=f.now)
    recent = [
        x for x in f.findings
        if x["type"] == "drift" and x["raised_at"] >= f.now - timedelta(days=30)
    ]  # fmt: skip
    assert recent and len(alerts) == len(recent)
    assert (
        len(alerts) == governance_kpis(session=session, actor=OPERATOR, now=f.now).drift_alerts_30d
    )
    assert sorted(a.model_id for a in alerts) == sorted(x["model"] for x in recent)
    assert [a.raised_at for a in alerts] == sorted((a.raised_at for a in alerts), reverse=True)
    assert all(a.model == f"model-{a.model_id:05d}" for a in alerts)


def test_a_deactivated_account_may_not_read_them(session: Session) -> None:
    former = add_user(
        session=session, actor=OPERATOR, username="former", password="a long enough password",
        roles=["risk_manager"],
    )  # fmt: skip
    deactivate_user(session=session, actor=OPERATOR, username="former")
    session.commit()
    with pytest.raises(PermissionDenied):
        business_kpis(session=session, actor=former)
    with pytest.raises(PermissionDenied):
        drift_alert_list(session=session, actor=former)
