"""A constructed portfolio for the governance KPIs, written with bulk inserts: models across
tiers, stages and business units, their gates and signing acts with known times, findings,
waivers and audit events. Returns the plain facts it wrote, so a test can compute every KPI
independently (numpy, statistics) and the benchmark can fill 10,000 models quickly."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from core.db import get_engine
from core.tables import (
    AuditEvent,
    Dataset,
    Finding,
    Gate,
    GateAct,
    ModelEntry,
    ModelVersion,
    User,
    UserRole,
    Waiver,
)

UNITS = ("Consumer lending", "Cards", "Collections", "Fraud", "Marketing", "Operations")
TIERS = ("low", "medium", "high", "critical")
STAGES = ("development", "qa", "preproduction", "production", "retired")
# Gates per tier and the stage each unlocks (None: unlocks nothing, e.g. periodic monitoring).
PLANS: dict[str, list[tuple[str, str | None]]] = {
    "low": [("business_scoping", None), ("development", "qa"), ("deployment", "production"),
            ("monitoring", None)],
    "medium": [("business_scoping", None), ("development", "qa"),
               ("validation", "preproduction"), ("deployment", "production"), ("monitoring", None)],
    "high": [("business_scoping", None), ("ideation", None), ("development", "qa"),
             ("validation", "preproduction"), ("preproduction", None),
             ("deployment", "production"), ("monitoring", None)],
}  # fmt: skip
PLANS["critical"] = PLANS["high"]
SEVERITIES = ("low", "medium", "high", "critical")
STATUSES = ("open", "in_remediation", "resolved", "risk_accepted")
TYPES = ("business", "validation", "limitation", "policy_exception", "drift", "performance", "kpi")


@dataclass
class Facts:
    """What was written, as plain values."""

    now: datetime
    models: list[dict[str, Any]] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    waiting: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    waivers: list[dict[str, Any]] = field(default_factory=list)


def _chunks(rows: list[dict[str, Any]], size: int = 10_000) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _spec(gate_id: str, unlocks: str | None) -> str:
    return json.dumps(
        {"id": gate_id, "responsible": ["developer"], "accountable": "model_owner",
         "consulted": [], "informed": [], "approvers": 1, "consulted_objection_blocks": False,
         "unlocks_stage": unlocks, "evidence": [], "segregation": {}},
        sort_keys=True,
    )  # fmt: skip


def build_portfolio(url: str, *, models: int, events: int = 0, seed: int = 11) -> Facts:
    """Fill a migrated, empty database; returns the facts written."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    facts = Facts(now=now)
    users = [{"id": i, "username": f"user{i}", "display_name": f"User {i}", "is_active": True,
              "failed_logins": 0, "created_at": now} for i in range(1, 21)]  # fmt: skip
    rows: dict[Any, list[dict[str, Any]]] = {t: [] for t in (ModelEntry, ModelVersion, Gate)}
    acts: list[dict[str, Any]] = []
    waivers: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    gate_pk = 0
    for m in range(1, models + 1):
        unit = rng.choice(UNITS)
        tier = rng.choice(TIERS) if rng.random() > 0.05 else None
        stage = rng.choice(STAGES)
        prod = m if stage == "production" else None
        review = now + timedelta(days=rng.randint(-200, 300)) if tier else None
        rows[ModelVersion].append({
            "id": m, "model_id": m, "version": 1, "artifact_sha256": f"{m:064d}",
            "artifact_path": "-", "framework": "scikit-learn", "estimator_class": "x",
            "task": "classification", "target": "y", "features_json": "[]",
            "sensitive_json": "[]", "environment_json": "{}", "trusted_json": "[]",
            "eval_dataset_id": 1, "registered_at": now - timedelta(days=400), "stage": stage,
        })  # fmt: skip
        rows[ModelEntry].append({
            "id": m, "name": f"model-{m:05d}", "created_at": now - timedelta(days=400),
            "purpose": "", "business_unit": unit, "tags": "", "owner_id": 1 + m % 20,
            "risk_tier": tier, "current_version_id": m, "current_stage": stage,
            "production_version_id": prod, "next_review_date": review, "open_findings": 0,
            "gate_status": "", "updated_at": now,
        })  # fmt: skip
        plan = PLANS[tier] if tier else []
        needed = max((i for i, (_, u) in enumerate(plan) if u == "production"), default=-1) + 1
        if stage in ("production", "retired"):
            reached = needed
        else:
            reached = rng.randint(0, max(needed - 1, 0))
        violator = bool(plan) and stage == "production" and rng.random() < 0.05
        stale_at = rng.randrange(needed) if violator else -1
        model_facts = {"id": m, "tier": tier or "unassessed", "unit": unit,
                       "stage": "production" if prod else stage, "review": review,
                       "violator": prod is not None and (not plan or violator)}  # fmt: skip
        facts.models.append(model_facts)
        for position, (gate_id, unlocks) in enumerate(plan):
            gate_pk += 1
            start = now - timedelta(days=rng.uniform(40, 300))
            state, submitted_at = "not started", None
            if position < reached:
                state = "stale" if position == stale_at else "approved"
                rejected = rng.random() < 0.25
                first = start
                acts.append({"gate_pk": gate_pk, "round": 1, "act": "submit", "signed_at": first,
                             "state_after": "submitted"})  # fmt: skip
                rnd, at = 1, first
                if rejected:
                    at += timedelta(days=rng.uniform(0.5, 5))
                    acts.append({"gate_pk": gate_pk, "round": 1, "act": "reject",
                                 "signed_at": at, "state_after": "rejected"})  # fmt: skip
                    rnd, at = 2, at + timedelta(days=rng.uniform(0.5, 10))
                    acts.append({"gate_pk": gate_pk, "round": 2, "act": "submit",
                                 "signed_at": at, "state_after": "submitted"})  # fmt: skip
                approved_at = at + timedelta(days=rng.lognormvariate(1.0, 0.8))
                acts.append({"gate_pk": gate_pk, "round": rnd, "act": "approve",
                             "signed_at": approved_at, "state_after": "approved"})  # fmt: skip
                facts.approvals.append({"gate": gate_id, "tier": tier, "unit": unit,
                                        "days": (approved_at - first).total_seconds() / 86400,
                                        "first_time": not rejected})  # fmt: skip
                submitted_at = at
            elif position == reached and stage not in ("production", "retired"):
                state = rng.choice(("in progress", "submitted", "rejected"))
                if state == "submitted":
                    submitted_at = now - timedelta(days=rng.uniform(0.1, 40))
                    acts.append({"gate_pk": gate_pk, "round": 1, "act": "submit",
                                 "signed_at": submitted_at, "state_after": "submitted"})  # fmt: skip
                    facts.waiting.append({"model": m, "gate": gate_id, "since": submitted_at})
            elif position == needed and stage == "production":
                state = "in progress"  # periodic monitoring, after production
            rows[Gate].append({
                "id": gate_pk, "version_id": m, "model_id": m, "gate_id": gate_id,
                "position": position, "state": state, "round": 1, "revision": 1,
                "spec_json": _spec(gate_id, unlocks), "policy_version": 1, "tier": tier,
                "created_at": start, "updated_at": start, "submitted_at": submitted_at,
                "stale_reason": "",
            })  # fmt: skip
            if state == "approved" and rng.random() < 0.03:
                expires = now + timedelta(days=rng.uniform(-30, 120))
                acts.append({"gate_pk": gate_pk, "round": 1, "act": "waive",
                             "signed_at": start, "state_after": state})  # fmt: skip
                waivers.append({"act": len(acts), "version_id": m, "gate_id": gate_id,
                                "expires_at": expires})  # fmt: skip
                if expires > now:
                    facts.waivers.append({"model": m, "expires_at": expires})
        for _ in range(rng.choice((0, 0, 1, 2, 3))):
            raised = now - timedelta(days=rng.uniform(0, 200))
            item = {"model": m, "severity": rng.choice(SEVERITIES), "status": rng.choice(STATUSES),
                    "type": rng.choice(TYPES), "raised_at": raised,
                    "due": (raised + timedelta(days=rng.randint(10, 120))).date()}  # fmt: skip
            facts.findings.append(item)
            findings.append({
                "model_id": m, "version_id": m, "type": item["type"],
                "severity": item["severity"], "status": item["status"], "description": "-",
                "evidence_json": "[]", "remediation_plan": "", "raised_by_name": "x",
                "raised_at": raised, "updated_at": raised, "due_date": item["due"],
                "revision": 1,
            })  # fmt: skip
    for i, act in enumerate(acts, 1):
        act.update({"id": i, "version_id": rows[Gate][act["gate_pk"] - 1]["version_id"],
                    "printed_name": "", "role": "", "meaning": "", "comment": "",
                    "manifest_json": "", "manifest_sha256": ""})  # fmt: skip
    engine = get_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.insert(User.__table__), users)  # type: ignore[attr-defined]
        conn.execute(sa.insert(UserRole.__table__), [{"user_id": 1, "role": "risk_manager"}])  # type: ignore[attr-defined]
        conn.execute(sa.insert(Dataset.__table__), [{"id": 1, "sha256": "0" * 64, "name": "e", "format": "csv", "path": "-", "rows": 1, "columns": 1, "columns_json": "[]", "provenance": "", "created_at": now}])  # type: ignore[attr-defined]  # fmt: skip
        for table in (ModelEntry, ModelVersion, Gate):
            for chunk in _chunks(rows[table]):
                conn.execute(sa.insert(table.__table__), chunk)  # type: ignore[attr-defined]
        for chunk in _chunks(acts):
            conn.execute(sa.insert(GateAct.__table__), chunk)  # type: ignore[attr-defined]
        waiver_rows = [{"version_id": w["version_id"], "gate_id": w["gate_id"],
                        "check_name": "selection_rate_ratio", "justification": "-",
                        "controls": "-", "expires_at": w["expires_at"], "act_id": w["act"],
                        "signed_by": 1, "created_at": now} for w in waivers]  # fmt: skip
        for chunk in _chunks(waiver_rows):
            conn.execute(sa.insert(Waiver.__table__), chunk)  # type: ignore[attr-defined]
        for chunk in _chunks(findings):
            conn.execute(sa.insert(Finding.__table__), chunk)  # type: ignore[attr-defined]
        _events(conn, events, now)
        if conn.dialect.name == "postgresql":
            for table in ("user", "model", "model_version", "gate", "gate_act", "audit_event"):
                conn.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608 (fixed names)
                    f"(SELECT coalesce(max(id), 1) FROM \"{table}\"))"
                ))  # fmt: skip
        conn.execute(sa.text("ANALYZE"))
    return facts


def _events(conn: sa.Connection, events: int, now: datetime) -> None:
    prev, batch = "0" * 64, []
    for e in range(1, events + 1):
        digest = hashlib.sha256(f"{prev}{e}".encode()).hexdigest()
        batch.append({"id": e, "occurred_at": now - timedelta(seconds=events - e), "actor": "x",
                      "action": "card_edited", "subject_type": "model", "subject_id": "1",
                      "details": "{}", "prev_hash": prev, "hash": digest})  # fmt: skip
        prev = digest
        if len(batch) == 20_000:
            conn.execute(sa.insert(AuditEvent.__table__), batch)  # type: ignore[attr-defined]
            batch = []
    if batch:
        conn.execute(sa.insert(AuditEvent.__table__), batch)  # type: ignore[attr-defined]


def today(facts: Facts) -> date:
    return facts.now.date()
