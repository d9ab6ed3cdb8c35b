"""Storing evidence immutably and reading it back.

One ``Evidence`` row per result, whose SHA-256 covers inputs, configuration (seed included),
environment and results. Computing again with the same inputs and seed in the same
environment gives the same numbers, hence the same hash: the existing row is returned and the
reproduction is recorded in the audit trail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.errors import NotFound
from core.services.audit import append_event, canonical_json
from core.services.environment import environment
from core.services.gate_status import refresh_staleness
from core.services.permissions import Actor
from core.tables import Evidence, ModelVersion, User, utcnow

__all__ = [
    "UNKNOWN_EVIDENCE",
    "StoredEvidence",
    "evidence_for_version",
    "evidence_hash",
    "get_evidence",
    "latest_evidence",
    "store_evidence",
    "verify_evidence",
]

UNKNOWN_EVIDENCE = "No evidence with id {ref}; list a version's evidence on its model page."


@dataclass(frozen=True)
class StoredEvidence:
    """An evidence row with its parsed parts."""

    id: int
    version_id: int
    kind: str
    sha256: str
    status: str | None
    inputs: dict[str, Any]
    config: dict[str, Any]
    environment: dict[str, Any]
    results: dict[str, Any]
    computed_by: str | None
    computed_at: Any
    seconds: float
    reproduced: bool = False

    def summary(self) -> dict[str, Any]:
        """What a list or the CLI shows: identity, status and the checks' outcomes."""
        checks = self.results.get("checks") or [
            c for f in self.results.get("features", []) for c in f.get("checks", [])
        ]
        return {
            "evidence_id": self.id,
            "kind": self.kind,
            "sha256": self.sha256,
            "status": self.status,
            "computed_by": self.computed_by,
            "computed_at": self.computed_at,
            "reproduced": self.reproduced,
            "checks": [
                {
                    "feature": c.get("feature"),
                    "check": c.get("label"),
                    "status": c.get("status"),
                    "value": (c.get("value") or {}).get("value"),
                    "threshold": c.get("threshold"),
                    "sentence": c.get("sentence"),
                }
                for c in checks
            ],
        }


def _environment() -> dict[str, str]:
    return environment("gatehouse", "numpy", "pandas", "scikit-learn", "scipy", "shap", "skops")


def _parsed(row: Evidence, session: Session, reproduced: bool = False) -> StoredEvidence:
    who = session.get(User, row.computed_by) if row.computed_by else None
    return StoredEvidence(
        id=row.id,  # type: ignore[arg-type]
        version_id=row.version_id,
        kind=row.kind,
        sha256=row.sha256,
        status=row.status,
        inputs=json.loads(row.inputs_json),
        config=json.loads(row.config_json),
        environment=json.loads(row.environment_json),
        results=json.loads(row.results_json),
        computed_by=who.username if who else None,
        computed_at=row.computed_at,
        seconds=row.seconds,
        reproduced=reproduced,
    )


def evidence_hash(
    *,
    kind: str,
    version_id: int,
    inputs: Mapping[str, Any],
    config: Mapping[str, Any],
    environment: Mapping[str, Any],
    results: Mapping[str, Any],
) -> str:
    """SHA-256 of the canonical JSON of everything that makes the numbers what they are."""
    body = {
        "kind": kind,
        "version_id": version_id,
        "inputs": inputs,
        "config": config,
        "environment": environment,
        "results": results,
    }
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def store_evidence(
    *,
    session: Session,
    actor: Actor,
    version: ModelVersion,
    kind: str,
    inputs: Mapping[str, Any],
    config: Mapping[str, Any],
    results: Mapping[str, Any],
    status: str | None,
    seconds: float,
) -> StoredEvidence:
    """Store evidence (in the caller's transaction), or return the identical row already stored.

    New evidence marks stale every approval of the version that signed older evidence of its
    kind, in the same transaction: an approval never outlives what it approved.
    """
    environment = _environment()
    # Stored as canonical JSON, so the text read back is exactly the text that was hashed.
    results = json.loads(canonical_json(results))
    sha = evidence_hash(
        kind=kind,
        version_id=version.id,  # type: ignore[arg-type]
        inputs=inputs,
        config=config,
        environment=environment,
        results=results,
    )
    existing = session.exec(select(Evidence).where(Evidence.sha256 == sha)).first()
    if existing is not None:
        append_event(
            session=session,
            actor=actor,
            action="evidence_reproduced",
            subject_type="evidence",
            subject_id=str(existing.id),
            details={"kind": kind, "version_id": version.id, "sha256": sha},
        )
        return _parsed(existing, session, reproduced=True)
    row = Evidence(
        version_id=version.id,  # type: ignore[arg-type]
        kind=kind,
        sha256=sha,
        status=status,
        inputs_json=canonical_json(inputs),
        config_json=canonical_json(config),
        environment_json=canonical_json(environment),
        results_json=canonical_json(results),
        computed_by=actor.id,
        computed_at=utcnow(),
        seconds=round(seconds, 3),
    )
    session.add(row)
    session.flush()
    append_event(
        session=session,
        actor=actor,
        action="evidence_computed",
        subject_type="evidence",
        subject_id=str(row.id),
        details={"kind": kind, "version_id": version.id, "sha256": sha, "status": status},
    )
    refresh_staleness(session, row.version_id)
    return _parsed(row, session)


def verify_evidence(*, session: Session, evidence_id: int) -> bool:
    """Whether the stored evidence still hashes to its recorded SHA-256."""
    row = session.get(Evidence, evidence_id)
    if row is None:
        raise NotFound([UNKNOWN_EVIDENCE.format(ref=evidence_id)])
    return row.sha256 == evidence_hash(
        kind=row.kind,
        version_id=row.version_id,
        inputs=json.loads(row.inputs_json),
        config=json.loads(row.config_json),
        environment=json.loads(row.environment_json),
        results=json.loads(row.results_json),
    )


def get_evidence(*, session: Session, evidence_id: int) -> StoredEvidence:
    """One evidence row, parsed."""
    row = session.get(Evidence, evidence_id)
    if row is None:
        raise NotFound([UNKNOWN_EVIDENCE.format(ref=evidence_id)])
    return _parsed(row, session)


def latest_evidence(*, session: Session, version_id: int, kind: str) -> StoredEvidence | None:
    """The newest evidence of this kind for the version, or None if none was computed."""
    row = session.exec(
        select(Evidence)
        .where(Evidence.version_id == version_id, Evidence.kind == kind)
        .order_by(col(Evidence.id).desc())
        .limit(1)
    ).first()
    return _parsed(row, session) if row else None


def evidence_for_version(*, session: Session, version_id: int) -> list[dict[str, Any]]:
    """Every evidence row of a version, newest first, without the (large) results."""
    rows = session.execute(
        sa.select(
            col(Evidence.id),
            col(Evidence.kind),
            col(Evidence.sha256),
            col(Evidence.status),
            col(Evidence.computed_at),
        )
        .where(col(Evidence.version_id) == version_id)
        .order_by(col(Evidence.id).desc())
    ).all()
    return [
        {"evidence_id": i, "kind": k, "sha256": s, "status": st, "computed_at": at}
        for i, k, s, st, at in rows
    ]
