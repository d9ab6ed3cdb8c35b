"""Performance and fairness evidence of a model version, computed and stored in one go.

``evaluate_version`` reads the version's model (through its adapter) and evaluation data,
reads the recorded outcomes as the model's classes, computes performance and fairness with the
registered positive class, adds the policy's checks and stores both results. It flushes in the
caller's transaction; the edge commits.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import roc_curve
from sqlmodel import Session

from core.errors import InputProblems
from core.files.adapter import ModelAdapter
from core.files.sandbox import preload, run_limited
from core.metrics.inputs import MetricInputError
from core.metrics.performance import compute_performance
from core.rules.checks import overall_status
from core.rules.fairness_checks import assess_fairness
from core.rules.performance_checks import performance_checks
from core.rules.thresholds import (
    FairnessPolicy,
    PerformancePolicy,
)
from core.services.evidence.inputs import (
    EVIDENCE_ROLES,
    get_version,
    load_evaluation_data,
    load_version_model,
    predictions,
    version_adapter,
)
from core.services.evidence.store import StoredEvidence, store_evidence
from core.services.permissions import Actor, require_role
from core.services.policy import thresholds_for_version
from core.tables import ModelEntry

__all__ = [
    "BAD_REFERENCE",
    "BAD_THRESHOLD",
    "METRIC_PROBLEM",
    "NO_SENSITIVE",
    "UNKNOWN_COLUMNS",
    "Evaluation",
    "evaluate_version",
    "performance_checks",
    "roc_points",
]

UNKNOWN_COLUMNS = "{role} columns not in the evaluation data: {missing}; choose from {columns}."
NO_SENSITIVE = (
    "Version {version} names no sensitive columns; pass --sensitive COLUMN (e.g. {example})."
)
BAD_REFERENCE = (
    "The reference group {spec!r} is not of the form COLUMN=GROUP; write it like age_band=36-50."
)
BAD_THRESHOLD = (
    "The decision threshold {threshold!r} is outside [0, 1]; give a probability between 0 and "
    "1, e.g. --threshold 0.5."
)
METRIC_PROBLEM = "The evaluation data cannot be evaluated: {problem}"


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


def roc_points(
    y_true: np.ndarray, score: np.ndarray, most: int = 200
) -> dict[str, list[float | None]]:
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


def _parse_references(specs: Sequence[str]) -> dict[str, str]:
    references = {}
    for spec in specs:
        column, sep, group = spec.partition("=")
        if not sep or not column.strip() or not group.strip():
            raise InputProblems([BAD_REFERENCE.format(spec=spec)])
        references[column.strip()] = group.strip()
    return references


@dataclass(frozen=True)
class _Measured:
    performance: dict[str, Any]
    fairness: dict[str, Any] | None
    fairness_status: str | None
    seconds: tuple[float, float]


def _request_problems(
    frame_columns: Sequence[str],
    sensitive: Sequence[str],
    segments: Sequence[str],
    reference_groups: Mapping[str, str],
    threshold: float,
) -> list[str]:
    problems = []
    if not (isinstance(threshold, int | float) and 0 <= threshold <= 1):
        problems.append(BAD_THRESHOLD.format(threshold=threshold))
    columns = list(frame_columns)
    for role, chosen in (
        ("Sensitive", sensitive),
        ("Segment", segments),
        ("Reference", list(reference_groups)),
    ):
        if missing := [c for c in chosen if c not in columns]:
            problems.append(UNKNOWN_COLUMNS.format(role=role, missing=missing, columns=columns))
    return problems


def _measure(
    *,
    adapter: ModelAdapter,
    data: Mapping[str, np.ndarray],
    task: Any,
    frame: Any,
    sensitive: Sequence[str],
    segments: Sequence[str],
    reference_groups: Mapping[str, str],
    threshold: float,
    n_boot: int,
    seed: int,
    fairness_policy: FairnessPolicy,
    performance_policy: PerformancePolicy,
) -> _Measured:
    """Performance and fairness of the positive class, as the results to store."""
    positive = adapter.positive_class
    try:
        started = time.perf_counter()
        performance = compute_performance(
            y_true=data["y_true"],
            y_score=data.get("y_score"),
            y_pred=data.get("y_pred"),
            task=task,
            threshold=threshold,
            positive_label=positive if task == "classification" else 1,
            segments={c: frame[c] for c in segments},
            n_boot=n_boot,
            seed=seed,
        )
        perf_seconds = time.perf_counter() - started
        started = time.perf_counter()
        decisions = data.get("y_pred")
        if decisions is None:
            decisions = adapter.decisions(data["y_score"], threshold)
        fairness = (
            assess_fairness(
                y_true=data["y_true"],
                y_pred=decisions,
                sensitive={c: frame[c] for c in sensitive},
                intersections=len(sensitive) > 1,
                reference_groups=dict(reference_groups) or None,
                policy=fairness_policy,
                n_boot=n_boot,
                seed=seed,
                task=task,
                positive_label=positive if task == "classification" else 1,
            )
            if sensitive
            else None
        )
    except MetricInputError as err:
        raise InputProblems([METRIC_PROBLEM.format(problem=p) for p in err.problems]) from err
    fair_seconds = time.perf_counter() - started
    results = performance.to_dict()
    if "y_score" in data:
        truth = np.asarray(data["y_true"] == positive, dtype=np.int8)
        results["roc_curve"] = roc_points(truth, data["y_score"])
    results["checks"] = performance_checks(results, performance_policy)
    results["policy"] = performance_policy.to_dict()
    return _Measured(
        performance=results,
        fairness=None if fairness is None else fairness.to_dict(),
        fairness_status=None if fairness is None else fairness.status,
        seconds=(perf_seconds, fair_seconds),
    )


def evaluate_version(
    *,
    session: Session,
    actor: Actor,
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
    ``threshold`` (in [0, 1]) turns positive-class probabilities into decisions. Both results
    are about the registered positive class. ``actor`` None is the operator (the demo).
    Flushes; the caller commits.
    """
    require_role(session, actor, "compute evidence", *EVIDENCE_ROLES)
    version = get_version(session, version_id)
    model_row = session.get(ModelEntry, version.model_id)
    frame, dataset = load_evaluation_data(session, version)
    columns = [str(c) for c in frame.columns]
    sensitive = list(sensitive) if sensitive else json.loads(version.sensitive_json)
    reference_groups = _parse_references(references)
    if problems := _request_problems(columns, sensitive, segments, reference_groups, threshold):
        raise InputProblems(problems)

    adapter = version_adapter(version, load_version_model(version), frame)
    pack_fairness, pack_performance, policy_version = thresholds_for_version(session, version)
    measured = _measure(
        adapter=adapter,
        data=run_limited(
            predictions, adapter, version, frame, what=f"the model of version {version.id}"
        ),
        task=version.task,
        frame=frame,
        sensitive=sensitive,
        segments=segments,
        reference_groups=reference_groups,
        threshold=threshold,
        n_boot=n_boot,
        seed=seed,
        fairness_policy=fairness_policy or pack_fairness,
        performance_policy=performance_policy or pack_performance,
    )
    inputs = {
        "policy_version": policy_version,
        "artifact_sha256": version.artifact_sha256,
        "eval_sha256": dataset.sha256,
        "eval_rows": len(frame),
        "model": model_row.name if model_row else None,
        "version": version.version,
    }
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
        results=measured.performance,
        status=overall_status(c["status"] for c in measured.performance["checks"]),
        seconds=measured.seconds[0],
    )
    stored_fair = None
    notes: list[str] = []
    if measured.fairness is not None:
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
            results=measured.fairness,
            status=measured.fairness_status,
            seconds=measured.seconds[1],
        )
    else:
        example = next((c for c in columns if c != version.target), "COLUMN")
        notes.append(NO_SENSITIVE.format(version=version.id, example=example))
    return Evaluation(version.id, stored_perf, stored_fair, tuple(notes))  # type: ignore[arg-type]


preload(__name__)  # children run predictions from this module
