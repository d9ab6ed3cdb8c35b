"""Evidence: performance, fairness and explanations of a model version, stored immutably.

A computation reads the version's artifact and evaluation data (both checked against the content
hashes recorded at registration), computes, and stores one ``Evidence`` row whose SHA-256 covers
inputs, configuration (seed included), environment and results. Pages and reports read stored
evidence; nobody recomputes to show it. Computing again with the same inputs and seed in the same
environment gives the same numbers, hence the same hash: the existing row is returned and the
reproduction is recorded in the audit trail.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve
from sqlmodel import Session, col, func, select

from core.errors import InputProblems, NotFound
from core.files.artifacts import load_artifact
from core.files.datasets import read_data
from core.files.store import sha256_file
from core.metrics.counts import MetricInputError
from core.metrics.fairness import FairnessPolicy, compute_fairness
from core.metrics.performance import compute_performance
from core.rules.thresholds import PerformancePolicy
from core.services.audit import append_event, canonical_json
from core.services.auth import Role, require_role
from core.services.environment import environment
from core.services.policy import thresholds_for_version
from core.tables import Dataset, Evidence, ModelEntry, ModelVersion, User, utcnow

__all__ = [
    "EVIDENCE_ROLES",
    "Evaluation",
    "StoredEvidence",
    "checked_file",
    "evaluate_version",
    "evidence_for_version",
    "evidence_overview",
    "feature_frame",
    "get_evidence",
    "get_version",
    "latest_evidence",
    "load_evaluation_data",
    "load_version_model",
    "performance_checks",
    "predictions",
    "roc_points",
    "store_evidence",
    "verify_evidence",
]

#: Who may compute evidence. Everyone signed in may read it.
EVIDENCE_ROLES = (
    Role.developer,
    Role.model_owner,
    Role.validator,
    Role.risk_manager,
    Role.ml_engineer,
    Role.admin,
)

TAMPERED = (
    "The stored {what} of version {version} no longer matches the hash recorded at registration "
    "({expected}); restore it from backup or register the model again."
)
FILE_GONE = (
    "The stored {what} of version {version} is missing at {path}; restore the data folder "
    "(GATEHOUSE_DATA_DIR) from backup."
)
UNKNOWN_COLUMNS = "{role} columns not in the evaluation data: {missing}; choose from {columns}."
NO_SENSITIVE = (
    "Version {version} names no sensitive columns; pass --sensitive COLUMN (e.g. {example})."
)
BAD_REFERENCE = (
    "The reference group {spec!r} is not of the form COLUMN=GROUP; write it like age_band=36-50."
)
UNKNOWN_VERSION = (
    "No model version with id {version_id}; list them with `gatehouse model show NAME`."
)
UNKNOWN_EVIDENCE = "No evidence with id {ref}; list a version's evidence on its model page."
METRIC_PROBLEM = "The evaluation data cannot be evaluated: {problem}"


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


@dataclass(frozen=True)
class Evaluation:
    """The evidence one `evaluate` produced."""

    version_id: int
    performance: StoredEvidence
    fairness: StoredEvidence | None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "performance": self.performance.summary(),
            "fairness": self.fairness.summary() if self.fairness else None,
            "notes": list(self.notes),
        }


# --- Reading a version's inputs -----------------------------------------------------------------


def checked_file(path: str, expected: str, what: str, version: ModelVersion) -> Path:
    """The stored file, if it still has the content hash recorded at registration."""
    file = Path(path)
    if not file.is_file():
        raise InputProblems([FILE_GONE.format(what=what, version=version.id, path=file)])
    if sha256_file(file) != expected:
        raise InputProblems([TAMPERED.format(what=what, version=version.id, expected=expected)])
    return file


def load_version_model(version: ModelVersion) -> Any:
    """The version's fitted model, after checking the stored bytes are the registered ones."""
    file = checked_file(version.artifact_path, version.artifact_sha256, "artifact", version)
    return load_artifact(file, extra_trusted=json.loads(version.trusted_json or "[]"))


def load_evaluation_data(session: Session, version: ModelVersion) -> tuple[pd.DataFrame, Dataset]:
    """The version's evaluation data and its dataset row, checked against the registered hash."""
    dataset = session.get(Dataset, version.eval_dataset_id)
    if dataset is None:
        raise NotFound([f"The evaluation dataset of version {version.id} is not in the database."])
    file = checked_file(dataset.path, dataset.sha256, "evaluation data", version)
    return read_data(file).frame, dataset


def get_version(session: Session, version_id: int) -> ModelVersion:
    """The version evidence is about, or NotFound saying how to list versions."""
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound([UNKNOWN_VERSION.format(version_id=version_id)])
    return version


def feature_frame(version: ModelVersion, frame: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``frame`` the version's model takes, in its order."""
    features = json.loads(version.features_json)
    return frame[features] if features else frame.drop(columns=[version.target])


def _positive_index(model: Any, positive_label: str | None) -> int:
    classes = [str(c) for c in getattr(model, "classes_", [])]
    if positive_label is not None and positive_label in classes:
        return classes.index(positive_label)
    return len(classes) - 1


def predictions(model: Any, version: ModelVersion, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Truth, scores and predictions on ``frame`` as the metrics take them (positive = 1)."""
    X = feature_frame(version, frame)
    truth = frame[version.target]
    if version.task == "regression":
        return {
            "y_true": truth.to_numpy(dtype=float),
            "y_pred": np.asarray(model.predict(X), float),
        }
    index = _positive_index(model, version.positive_label)
    positive = str(model.classes_[index])
    y_true = (truth.astype(str) == positive).to_numpy(dtype=np.int8)
    if hasattr(model, "predict_proba"):
        score = np.asarray(model.predict_proba(X))[:, index].astype(float)
        return {"y_true": y_true, "y_score": score}
    y_pred = (pd.Series(model.predict(X)).astype(str) == positive).to_numpy(dtype=np.int8)
    return {"y_true": y_true, "y_pred": y_pred}


# --- Storing -----------------------------------------------------------------------------------


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
    actor: User | None,
    version: ModelVersion,
    kind: str,
    inputs: Mapping[str, Any],
    config: Mapping[str, Any],
    results: Mapping[str, Any],
    status: str | None,
    seconds: float,
) -> StoredEvidence:
    """Store evidence (in the caller's transaction), or return the identical row already stored."""
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
        computed_by=actor.id if actor else None,
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


# --- Reading -------------------------------------------------------------------------------------


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
    rows = session.exec(
        select(Evidence.id, Evidence.kind, Evidence.sha256, Evidence.status, Evidence.computed_at)
        .where(Evidence.version_id == version_id)
        .order_by(col(Evidence.id).desc())
    ).all()
    return [
        {"evidence_id": i, "kind": k, "sha256": s, "status": st, "computed_at": at}
        for i, k, s, st, at in rows
    ]


def evidence_overview(*, session: Session) -> list[dict[str, Any]]:
    """Per model, its current version and the status of that version's newest evidence of each
    kind ("not computed" where there is none), in two queries whatever the inventory's size."""
    models = session.exec(
        select(
            ModelEntry.id, ModelEntry.name, ModelEntry.current_stage, ModelEntry.current_version_id
        )
        .where(col(ModelEntry.current_version_id).is_not(None))
        .order_by(ModelEntry.name)
    ).all()
    newest = (
        select(func.max(Evidence.id))
        .where(col(Evidence.version_id).in_(select(ModelEntry.current_version_id)))
        .group_by(Evidence.version_id, Evidence.kind)
    )
    statuses: dict[tuple[int, str], str | None] = {
        (v, k): st
        for v, k, st in session.exec(
            select(Evidence.version_id, Evidence.kind, Evidence.status).where(
                col(Evidence.id).in_(newest)
            )
        ).all()
    }
    return [
        {
            "model_id": model_id,
            "model": name,
            "stage": stage,
            "version_id": version_id,
            **{
                kind: statuses.get((version_id, kind), "not computed")
                for kind in ("performance", "fairness", "explanation")
            },
        }
        for model_id, name, stage, version_id in models
    ]


# --- Performance and fairness ---------------------------------------------------------------


def _check(
    label: str, value: float | None, threshold: float, direction: str, basis: str, unit: str = ""
) -> dict[str, Any]:
    if value is None:
        status = "insufficient_data"
        sentence = f"{label} is undefined on this data, so the check cannot be made."
    else:
        ok = value >= threshold if direction == "at_least" else value <= threshold
        status = "pass" if ok else "fail"
        relation = {
            ("at_least", True): "at or above",
            ("at_least", False): "below",
            ("at_most", True): "at or below",
            ("at_most", False): "above",
        }[(direction, ok)]
        sentence = f"{label} is {value:.3f}{unit}, {relation} the {threshold:g} policy threshold."
    return {
        "feature": None,
        "label": label,
        "status": status,
        "value": {"value": value},
        "threshold": threshold,
        "direction": direction,
        "basis": basis,
        "sentence": sentence,
    }


def performance_checks(
    results: Mapping[str, Any], policy: PerformancePolicy
) -> list[dict[str, Any]]:
    """The policy's performance checks on a performance result (as stored)."""
    metrics = results["overall"]["metrics"]
    checks = []

    def value(name: str) -> float | None:
        return (metrics.get(name) or {}).get("value")

    if results["task"] == "classification":
        if policy.min_roc_auc is not None and "roc_auc" in metrics:
            checks.append(
                _check(
                    "ROC AUC",
                    value("roc_auc"),
                    policy.min_roc_auc,
                    "at_least",
                    policy.min_roc_auc_basis,
                )
            )
        if policy.max_brier_score is not None and "brier_score" in metrics:
            checks.append(
                _check(
                    "Brier score",
                    value("brier_score"),
                    policy.max_brier_score,
                    "at_most",
                    policy.max_brier_score_basis,
                )
            )
    elif policy.min_r2 is not None:
        checks.append(_check("R²", value("r2"), policy.min_r2, "at_least", policy.min_r2_basis))
    return checks


def roc_points(y_true: np.ndarray, score: np.ndarray, most: int = 200) -> dict[str, list[float]]:
    """The ROC curve (scikit-learn's, with its corner points), thinned to at most ``most`` points
    evenly spaced along it, so the stored evidence holds the chart without every row."""
    if len(np.unique(y_true)) < 2:
        return {"fpr": [], "tpr": [], "threshold": []}
    fpr, tpr, thresholds = roc_curve(y_true, score, drop_intermediate=True)
    if len(fpr) > most:
        keep = np.unique(np.linspace(0, len(fpr) - 1, most).round().astype(int))
        fpr, tpr, thresholds = fpr[keep], tpr[keep], thresholds[keep]
    finite = np.where(np.isfinite(thresholds), thresholds, np.nan)
    return {
        "fpr": [float(v) for v in fpr],
        "tpr": [float(v) for v in tpr],
        # The first threshold is +inf (nothing selected); stored as null.
        "threshold": [None if np.isnan(v) else float(v) for v in finite],
    }


def _overall_status(checks: Sequence[Mapping[str, Any]]) -> str | None:
    statuses = {c["status"] for c in checks}
    for status in ("fail", "insufficient_data", "pass"):
        if status in statuses:
            return status
    return None


def _parse_references(specs: Sequence[str]) -> dict[str, str]:
    references = {}
    for spec in specs:
        column, sep, group = spec.partition("=")
        if not sep or not column.strip() or not group.strip():
            raise InputProblems([BAD_REFERENCE.format(spec=spec)])
        references[column.strip()] = group.strip()
    return references


def evaluate_version(
    *,
    session: Session,
    actor: User | None,
    version_id: int,
    sensitive: Sequence[str] | None = None,
    segments: Sequence[str] = (),
    references: Sequence[str] = (),
    threshold: float = 0.5,
    n_boot: int = 1000,
    seed: int = 0,
    fairness_policy: FairnessPolicy | None = None,
    performance_policy: PerformancePolicy | None = None,
) -> Evaluation:
    """Compute and store performance and fairness evidence for a version, in one transaction.

    ``sensitive`` defaults to the columns named at registration; ``references`` are
    ``COLUMN=GROUP`` choices of the fairness reference group (default: the most-favoured group).
    ``actor`` None is the operator (the demo).
    """
    if actor is not None:
        require_role(session, actor, "compute evidence", *EVIDENCE_ROLES)
    version = get_version(session, version_id)
    model_row = session.get(ModelEntry, version.model_id)
    frame, dataset = load_evaluation_data(session, version)
    columns = [str(c) for c in frame.columns]
    sensitive = list(sensitive) if sensitive else json.loads(version.sensitive_json)
    reference_groups = _parse_references(references)
    problems = []
    for role, chosen in (
        ("Sensitive", sensitive),
        ("Segment", segments),
        ("Reference", list(reference_groups)),
    ):
        if missing := [c for c in chosen if c not in frame.columns]:
            problems.append(UNKNOWN_COLUMNS.format(role=role, missing=missing, columns=columns))
    if problems:
        raise InputProblems(problems)

    model = load_version_model(version)
    data = predictions(model, version, frame)
    pack_fairness, pack_performance, policy_version = thresholds_for_version(session, version)
    fairness_policy = fairness_policy or pack_fairness
    performance_policy = performance_policy or pack_performance
    inputs = {
        "artifact_sha256": version.artifact_sha256,
        "eval_sha256": dataset.sha256,
        "eval_rows": len(frame),
        "model": model_row.name if model_row else None,
        "version": version.version,
        "policy_version": policy_version,
    }
    try:
        started = time.perf_counter()
        performance = compute_performance(
            **data,
            task=version.task,  # type: ignore[arg-type]
            threshold=threshold,
            positive_label=1,
            segments={c: frame[c] for c in segments},
            n_boot=n_boot,
            seed=seed,
        )
        perf_seconds = time.perf_counter() - started
        started = time.perf_counter()
        decisions = data.get("y_pred")
        if decisions is None:
            decisions = (data["y_score"] >= threshold).astype(np.int8)
        fairness = (
            compute_fairness(
                y_true=data["y_true"],
                y_pred=decisions,
                sensitive={c: frame[c] for c in sensitive},
                intersections=len(sensitive) > 1,
                reference_groups=reference_groups or None,
                policy=fairness_policy,
                n_boot=n_boot,
                seed=seed,
                task=version.task,  # type: ignore[arg-type]
                positive_label=1,
            )
            if sensitive
            else None
        )
    except MetricInputError as err:
        raise InputProblems([METRIC_PROBLEM.format(problem=p) for p in err.problems]) from err
    fair_seconds = time.perf_counter() - started

    perf_results = performance.to_dict()
    if "y_score" in data:
        perf_results["roc_curve"] = roc_points(data["y_true"], data["y_score"])
    perf_results["checks"] = performance_checks(perf_results, performance_policy)
    perf_results["policy"] = performance_policy.to_dict()
    perf_config = {
        "threshold": threshold,
        "segments": list(segments),
        "n_boot": n_boot,
        "seed": seed,
        "ci": 0.95,
    }
    stored_perf = store_evidence(
        session=session,
        actor=actor,
        version=version,
        kind="performance",
        inputs=inputs,
        config=perf_config,
        results=perf_results,
        status=_overall_status(perf_results["checks"]),
        seconds=perf_seconds,
    )
    stored_fair = None
    notes: list[str] = []
    if fairness is not None:
        fair_config = {
            "threshold": threshold,
            "sensitive": sensitive,
            "intersections": len(sensitive) > 1,
            "reference_groups": reference_groups,
            "n_boot": n_boot,
            "seed": seed,
            "ci": 0.95,
        }
        stored_fair = store_evidence(
            session=session,
            actor=actor,
            version=version,
            kind="fairness",
            inputs=inputs,
            config=fair_config,
            results=fairness.to_dict(),
            status=fairness.status,
            seconds=fair_seconds,
        )
    else:
        example = next((c for c in columns if c != version.target), "COLUMN")
        notes.append(NO_SENSITIVE.format(version=version.id, example=example))
    session.commit()
    return Evaluation(version.id, stored_perf, stored_fair, tuple(notes))  # type: ignore[arg-type]
