"""The dashboard's governance KPIs on a constructed portfolio: each tile equals the figure
counted here from the facts written, the lists behind them name the right models, the teams
rank by first-time approvals, a business KPI below its hurdle is flagged, and hostile model
names stay text."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from app.dashboard_kpis import findings_page
from core.db import get_engine
from core.tables import ModelCardRevision, ModelEntry, MonitoringBatch
from tests.kpi_portfolio import Facts, build_portfolio
from tests.pages.conftest import texts

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both

HOSTILE = "<b>evil</b> *bold* [link](http://x.example) $x$ :red[red]"
KPI = {"name": "approval_rate", "measured_as": "approved over applied", "better": "higher",
       "baseline": 0.5, "hurdle": 0.55}  # fmt: skip


@pytest.fixture
def portfolio(db_url: str) -> Facts:
    """300 models; the first model in production without its gates gets a hostile name, and
    two models record an approval rate KPI, one below its hurdle."""
    facts = build_portfolio(db_url, models=300, seed=5)
    violator = next(m for m in facts.models if m["violator"])
    ok = next(m for m in facts.models if m["id"] != violator["id"])
    cards, batches = [], []
    for model, value in ((violator, 0.41), (ok, 0.61)):
        card = {"purpose": "x", "kpi_targets": [KPI]}
        cards.append({"model_id": model["id"], "revision": 1, "card_json": json.dumps(card),
                      "edited_at": facts.now, "changes_json": "{}"})  # fmt: skip
        for days, v in ((20, 0.9), (2, value)):  # the newer batch is the one shown
            batches.append({"version_id": model["id"], "model_id": model["id"], "dataset_id": 1,
                            "scores_dataset_id": 1, "scored_at": facts.now - timedelta(days=days),
                            "id_column": "id", "rows": 10,
                            "kpis_json": json.dumps({"approval_rate": v})})  # fmt: skip
    with get_engine(db_url).begin() as conn:
        conn.execute(sa.insert(ModelCardRevision.__table__), cards)  # type: ignore[attr-defined]
        conn.execute(sa.insert(MonitoringBatch.__table__), batches)  # type: ignore[attr-defined]
        conn.execute(
            sa.update(ModelEntry.__table__)  # type: ignore[arg-type]
            .where(ModelEntry.__table__.c.id == violator["id"])  # type: ignore[attr-defined]
            .values(name=HOSTILE)
        )
    for m in facts.models:
        m["name"] = HOSTILE if m is violator else f"model-{m['id']:05d}"
    facts.models.sort(key=lambda m: m["id"])
    return facts


# Selectable tables are found by their key, the others by a column only they have.
COLUMNS = {"kpi_waiting": "Age (days)", "kpi_waivers": "Check waived", "kpi_drift": "Raised",
           "kpi_findings": "under 30 days", "kpi_teams": "Passed first time"}  # fmt: skip


def _frames(at: Any) -> dict[str, Any]:
    frames = {d.key: d.value for d in at.dataframe if d.key}
    for key, column in COLUMNS.items():
        frames[key] = next(d.value for d in at.dataframe if column in d.value.columns)
    return frames


def _open_dashboard(portfolio: Facts, signed_in: Any) -> Any:
    at = signed_in("risk_manager")
    assert not at.exception
    return at


def test_every_tile_equals_the_count_of_the_constructed_facts(
    portfolio: Facts, signed_in: Any, session: Session
) -> None:
    f = portfolio
    at = _open_dashboard(f, signed_in)
    tiles = {m.label: m.value for m in at.metric}

    violators = [m for m in f.models if m["violator"]]
    assert tiles["In production without approved gates"] == str(len(violators)) != "0"
    # Review dates are whole days from the portfolio's moment; the page reads a little later.
    overdue = [
        m for m in f.models if m["review"] is not None and m["review"] <= f.now
        and m["stage"] != "retired"
    ]  # fmt: skip
    assert tiles["Overdue periodic reviews"] == str(len(overdue))
    assert tiles["Gates waiting"] == str(len(f.waiting))
    first = sum(a["first_time"] for a in f.approvals)
    assert tiles["First-time approval rate"] == f"{first / len(f.approvals):.0%}"
    open_ = [x for x in f.findings if x["status"] in ("open", "in_remediation")]
    assert tiles["Open findings"] == str(len(open_))
    assert tiles["Overdue findings"] == str(sum(x["due"] < f.now.date() for x in open_))
    drift = [
        x for x in f.findings
        if x["type"] == "drift" and x["raised_at"] >= f.now - timedelta(days=30)
    ]  # fmt: skip
    assert tiles["Drift alerts (30 days)"] == str(len(drift))
    assert tiles["Waivers in force"] == str(len(f.waivers))
    expiring = sum(w["expires_at"] <= f.now + timedelta(days=30) for w in f.waivers)
    assert tiles["Waivers expiring within 30 days"] == str(expiring)

    # The stacked bars of tiers and stages count every model once, in its tier and stage.
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(charts) == 3
    tiers = next(c for c in charts if "tier and stage" in c["layout"]["title"]["text"])
    assert tiers["layout"]["barmode"] == "stack"
    drawn = {(x, t["name"]): y for t in tiers["data"] for x, y in zip(t["x"], t["y"], strict=True)}
    counted = Counter((m["tier"], m["stage"]) for m in f.models)
    assert {k: v for k, v in drawn.items() if v} == counted

    captions = texts(at)
    oldest = max((f.now - w["since"]).total_seconds() / 86400 for w in f.waiting)
    assert f"Oldest waiting {oldest:.0f} days." in captions or f"{oldest:.1f} days" in captions
    assert f"{first} of {len(f.approvals)} approved gates." in captions
    by_severity = defaultdict(int)
    for x in open_:
        by_severity[x["severity"]] += 1
    assert " · ".join(f"{s} {by_severity[s]}" for s in ("critical", "high", "medium", "low")) in (
        captions
    )


def test_the_lists_behind_the_tiles_name_the_right_models(portfolio: Facts, signed_in: Any) -> None:
    f = portfolio
    at = _open_dashboard(f, signed_in)
    frames = _frames(at)
    violators = sorted(m["name"] for m in f.models if m["violator"])
    assert sorted(frames["kpi_production"]["Model"]) == violators
    overdue = {
        m["name"] for m in f.models if m["review"] is not None and m["review"] <= f.now
        and m["stage"] != "retired"
    }  # fmt: skip
    assert set(frames["kpi_reviews"]["Model"]) == overdue
    names = {m["id"]: m["name"] for m in f.models}
    assert sorted(frames["kpi_waiting"]["Model"]) == sorted(names[w["model"]] for w in f.waiting)
    assert sorted(frames["kpi_waivers"]["Model"]) == sorted(names[w["model"]] for w in f.waivers)
    drift = [
        x for x in f.findings
        if x["type"] == "drift" and x["raised_at"] >= f.now - timedelta(days=30)
    ]  # fmt: skip
    assert sorted(frames["kpi_drift"]["Model"]) == sorted(names[x["model"]] for x in drift)
    grid = frames["kpi_findings"].set_index("Severity")
    open_ = [x for x in f.findings if x["status"] in ("open", "in_remediation")]
    for severity in ("critical", "high", "medium", "low"):
        assert grid.loc[severity].sum() == sum(x["severity"] == severity for x in open_)

    # Each waiting gate links to its Gate page with the version and the gate.
    gate_links = [
        parse_qs(link.proto.query_string) for link in at.page_link if link.proto.page == "gate"
    ]
    oldest = sorted(f.waiting, key=lambda w: w["since"])[0]
    assert {"version": [str(oldest["model"])], "gate": [oldest["gate"]]} in gate_links
    findings_links = [link for link in at.page_link if link.proto.page == "findings"]
    if findings_page() is None:
        assert not findings_links  # the page is not installed: the tables stand alone
    else:
        queries = [parse_qs(link.proto.query_string) for link in findings_links]
        assert {"severity": ["critical"], "open": ["1"]} in queries


def test_teams_rank_by_first_time_approvals_with_their_counts(
    portfolio: Facts, signed_in: Any
) -> None:
    at = _open_dashboard(portfolio, signed_in)
    teams: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for a in portfolio.approvals:
        teams[a["unit"]][0] += 1
        teams[a["unit"]][1] += a["first_time"]
    ranked = sorted(teams, key=lambda t: (-teams[t][1] / teams[t][0], -teams[t][1], t))
    board = _frames(at)["kpi_teams"]
    assert list(board["Team"]) == ranked
    assert list(board["Rank"]) == list(range(1, len(ranked) + 1))
    assert list(board["Passed first time"]) == [teams[t][1] for t in ranked]
    assert list(board["Gates approved"]) == [teams[t][0] for t in ranked]
    assert "Teams whose gates pass first time" in [h.value for h in at.subheader]


def test_a_business_kpi_below_its_hurdle_is_flagged_and_hostile_names_stay_text(
    portfolio: Facts, signed_in: Any
) -> None:
    at = _open_dashboard(portfolio, signed_in)
    table = _frames(at)["kpi_business"]
    rows = {(r["Model"], r["KPI"]): r for r in table.to_dict("records")}
    hostile = rows[(HOSTILE, "approval_rate")]
    assert (hostile["Latest"], hostile["Hurdle"], hostile["Baseline"]) == ("0.41", "0.55", "0.5")
    assert hostile["Status"] == "below hurdle" and hostile["Against the baseline"] == "not better"
    other = next(r for (m, _), r in rows.items() if m != HOSTILE)
    assert other["Latest"] == "0.61" and other["Status"] == "meets hurdle"

    escaped = r"\<b\>evil\</b\> \*bold\* \[link\](http://x.example) \$x\$ :red\[red\]"
    below = next(w.value for w in at.warning if w.value.startswith("Below the hurdle"))
    assert escaped in below and HOSTILE not in below
    alarm = at.error[0].value
    assert "in production without every required gate approved" in alarm
    assert escaped in alarm and HOSTILE not in alarm
