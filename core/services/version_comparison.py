"""Compare two versions: what changed in the model, its features, its data and its metrics.

The model's structure comes from the skops schema stored at registration (read as JSON, after
checking the stored bytes still have the registered hash; no model is loaded), the features and
data from the version rows, and the metrics from each version's newest stored performance
evidence, judged on their intervals by ``core.rules.version_change``. Nothing is computed
about the models here, so a page may call this on every rerun.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from sqlmodel import Session

from core.errors import GatehouseError
from core.files.estimator_schema import EstimatorStructure, stored_structure
from core.metrics.performance import CLASSIFICATION_METRICS, REGRESSION_METRICS
from core.rules.version_change import judge_change
from core.services.evidence import StoredEvidence, checked_file, latest_evidence
from core.services.inventory import current_card, get_version, version_summary
from core.services.inventory.results import DatasetSummary, VersionSummary
from core.services.version_comparison_results import (
    ComparedVersion,
    DatasetChange,
    MetricChange,
    SettingChange,
    VersionComparison,
)
from core.services.vocabulary import Vocabulary
from core.tables import ModelEntry, ModelVersion

__all__ = [
    "DIFFERENT_DATA",
    "DIFFERENT_THRESHOLDS",
    "NO_EVIDENCE",
    "NO_STRUCTURE",
    "compare_versions",
]

NO_EVIDENCE = (
    "{label} has no performance evidence yet, so its metrics cannot be compared; compute it "
    "on the Performance page or with `gatehouse evaluate`."
)
DIFFERENT_DATA = (
    "The two versions were evaluated on different data, so each metric's change mixes the "
    "model's change with the data's."
)
DIFFERENT_THRESHOLDS = (
    "Decisions were taken at different thresholds ({before} and {after}), so accuracy, "
    "precision, recall and F1 compare different decision rules."
)
NO_STRUCTURE = "The structure of {label} could not be read: {problem}"


@lru_cache(maxsize=256)
def _structure_of(path: str, sha256: str) -> EstimatorStructure:
    # Keyed by the content hash as well as the path: the same bytes always hold the same schema.
    return stored_structure(Path(path))


def _structure(version: ModelVersion, label: str, notes: list[str]) -> EstimatorStructure:
    try:
        checked_file(version.artifact_path, version.artifact_sha256, "artifact", version)
        return _structure_of(version.artifact_path, version.artifact_sha256)
    except GatehouseError as err:  # a missing or altered file is said, not hidden
        notes.append(NO_STRUCTURE.format(label=label, problem=" ".join(err.problems)))
        return EstimatorStructure(final=version.estimator_class)


def _side(
    session: Session, version: ModelVersion, summary: VersionSummary, notes: list[str]
) -> tuple[ComparedVersion, StoredEvidence | None]:
    model = session.get(ModelEntry, version.model_id)
    name = model.name if model else f"model {version.model_id}"
    label = f"{name} v{version.version}"
    evidence = latest_evidence(session=session, version_id=summary.version_id, kind="performance")
    side = ComparedVersion(
        version_id=summary.version_id,
        model=name,
        version=summary.version,
        stage=summary.stage,
        registered_at=summary.registered_at,
        registered_by=summary.registered_by,
        structure=_structure(version, label, notes),
        evidence_sha256=evidence.sha256 if evidence else None,
    )
    if evidence is None:
        notes.append(NO_EVIDENCE.format(label=label))
    return side, evidence


def _settings(before: dict[str, object], after: dict[str, object]) -> tuple[SettingChange, ...]:
    names = sorted(set(before) | set(after), key=str.lower)
    return tuple(
        SettingChange(
            name=n,
            before=before.get(n),  # type: ignore[arg-type]
            after=after.get(n),  # type: ignore[arg-type]
            present=(n in before, n in after),
        )
        for n in names
    )


def _dataset(role: str, a: DatasetSummary | None, b: DatasetSummary | None) -> DatasetChange:
    return DatasetChange(
        role=role,
        before_sha256=a.sha256 if a else None,
        after_sha256=b.sha256 if b else None,
        before_name=a.name if a else None,
        after_name=b.name if b else None,
        before_rows=a.rows if a else None,
        after_rows=b.rows if b else None,
    )


def _metrics(
    task: str, before: StoredEvidence | None, after: StoredEvidence | None
) -> tuple[MetricChange, ...]:
    labels = REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS
    old = before.results["overall"]["metrics"] if before else {}
    new = after.results["overall"]["metrics"] if after else {}
    return tuple(
        MetricChange(
            metric=key,
            label=label,
            before=old.get(key) if before else None,
            after=new.get(key) if after else None,
            verdict=judge_change(old.get(key), new.get(key), metric=key),
        )
        for key, label in labels.items()
        if key in old or key in new
    )


def _evidence_notes(before: StoredEvidence | None, after: StoredEvidence | None) -> list[str]:
    if before is None or after is None:
        return []
    notes = []
    if before.inputs.get("eval_sha256") != after.inputs.get("eval_sha256"):
        notes.append(DIFFERENT_DATA)
    a, b = before.results.get("threshold"), after.results.get("threshold")
    if a != b and a is not None and b is not None:
        notes.append(DIFFERENT_THRESHOLDS.format(before=f"{a:g}", after=f"{b:g}"))
    return notes


def compare_versions(*, session: Session, before_id: int, after_id: int) -> VersionComparison:
    """What changed from version ``before_id`` to version ``after_id``.

    The final estimator and its hyperparameters, the pipeline's steps, features added and
    removed, training and evaluation data (by content hash), each metric of the newest stored
    performance evidence with a verdict (better, worse, no clear change when the intervals
    overlap), and the library versions. Reads only; raises NotFound for an unknown version.
    """
    notes: list[str] = []
    rows = [get_version(session=session, version_id=i) for i in (before_id, after_id)]
    summaries = [version_summary(session=session, version=v) for v in rows]
    (old, old_evidence), (new, new_evidence) = (
        _side(session, v, s, notes) for v, s in zip(rows, summaries, strict=True)
    )
    notes += _evidence_notes(old_evidence, new_evidence)
    a, b = summaries
    card = current_card(session=session, model_id=rows[1].model_id)
    kept = set(a.features) & set(b.features)
    return VersionComparison(
        before=old,
        after=new,
        estimator_changed=old.structure.final != new.structure.final,
        steps_changed=old.structure.steps != new.structure.steps,
        hyperparameters=_settings(
            dict(old.structure.hyperparameters), dict(new.structure.hyperparameters)
        ),
        features_added=tuple(f for f in b.features if f not in kept),
        features_removed=tuple(f for f in a.features if f not in kept),
        features_kept=tuple(f for f in b.features if f in kept),
        data=(
            _dataset("training", a.train_dataset, b.train_dataset),
            _dataset("evaluation", a.eval_dataset, b.eval_dataset),
        ),
        metrics=_metrics(b.task, old_evidence, new_evidence),
        environment=_settings(
            json.loads(rows[0].environment_json), json.loads(rows[1].environment_json)
        ),
        vocabulary=Vocabulary.from_card(card, target=b.target, positive=b.positive_label),
        notes=tuple(notes),
    )
