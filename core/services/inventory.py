"""The model inventory: registration, model cards, stages, and the inventory now or "as of" a date.

Every change writes an append-only row (card revision, stage change, model snapshot) and an audit
event in the same transaction, so the past is read back, never reconstructed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
import yaml
from sklearn.base import is_classifier
from sqlmodel import Session, col, func, select

from core.errors import GatehouseError, InputProblems, NotFound
from core.files.artifacts import load_artifact
from core.files.datasets import LoadedData, read_data
from core.files.store import sha256_file, store_file
from core.services.audit import append_event
from core.services.auth import Role, require_role
from core.services.environment import environment
from core.services.vocabulary import VOCABULARY_FIELD, vocabulary_problems
from core.tables import (
    OPEN_END,
    STAGES,
    Dataset,
    ModelCardRevision,
    ModelEntry,
    ModelSnapshot,
    ModelVersion,
    StageChange,
    User,
    utcnow,
)

__all__ = [
    "CARD_FIELDS",
    "InventoryFilter",
    "InventoryPage",
    "RegistrationResult",
    "card_as_of",
    "card_history",
    "compare_versions",
    "current_card",
    "describe",
    "edit_card",
    "export_inventory_csv",
    "get_model",
    "get_version",
    "inventory_facets",
    "list_versions",
    "model_activity",
    "model_choices",
    "promote_version",
    "query_inventory",
    "register_version",
    "resolve_model_or_version",
    "stage_history",
    "version_summary",
    "versions_as_of",
]

REGISTER_ROLES = (Role.developer, Role.model_owner, Role.admin)
CARD_ROLES = (Role.model_owner, Role.developer, Role.admin)
PROMOTE_ROLES = (Role.ml_engineer, Role.model_owner, Role.admin)

# The model card, in the words regulators use (SR 11-7 / SR 26-2, PRA SS1/23, EU AI Act Annex IV,
# Model Cards). Order is the order shown.
CARD_FIELDS: dict[str, str] = {
    "purpose": "Purpose",
    "business_unit": "Business unit",
    "tags": "Tags",
    "intended_use": "Intended use",
    "out_of_scope_uses": "Out-of-scope uses",
    "restrictions": "Restrictions on use",
    "users_and_consumers": "Users and consuming systems",
    "business_objective": "Business objective",
    "kpis": "KPIs",
    "assumptions_limitations": "Assumptions and limitations",
    "inputs": "Inputs (name, type, source)",
    "outputs": "Outputs and their use",
    "upstream_models": "Upstream models it depends on",
    "downstream_models": "Downstream models it feeds",
    "owner": "Owner",
    "developer": "Developer",
    "validator": "Validator",
    "validation_done": "Validation done (date)",
    "validation_planned": "Validation planned (date)",
    "validity_horizon": "Expected validity horizon",
    "exceptions_to_policy": "Exceptions to policy",
    VOCABULARY_FIELD: "Business language (display names and descriptions)",
}
PEOPLE_FIELDS = ("owner", "developer", "validator")
SORTABLE = {
    "name": "name",
    "business_unit": "business_unit",
    "risk_tier": "risk_tier",
    "stage": "current_stage",
    "next_review": "next_review_date",
    "open_findings": "open_findings",
}

NAME_SHAPE = "The model name {name!r} is not usable; use 2–120 characters: letters, digits, spaces, dots, dashes or underscores."
TASKS = ("classification", "regression")
BAD_TASK = "The task {task!r} is unknown; use classification or regression."
TARGET_MISSING = (
    "The target column {target!r} is not in the evaluation data; its columns are {columns}."
)
SENSITIVE_MISSING = "Sensitive columns not in the evaluation data: {missing}; check the names (columns are {columns})."
FEATURES_MISSING = "The model expects feature columns that the evaluation data lacks: {missing}; give data with the columns the model was trained on."
ONE_CLASS = "The target column {target!r} has a single value ({value!r}); a classification model needs both outcomes in the evaluation data."
NOT_NUMERIC = "Columns {columns} are not numeric, but the model takes numbers directly; encode them, or register a pipeline that does."
PREDICT_FAILED = "The model failed to predict on the evaluation data: {error}"
BAD_POSITIVE = "The positive label {label!r} is not one of the model's classes {classes}; give one of them with --positive-label."
TASK_MISMATCH = "The model is a {actual} model but --task says {task}; drop --task or correct it."
CARD_NOT_MAPPING = (
    "The card file {name} does not hold a mapping of fields; write it as YAML 'field: value' lines."
)
CARD_UNKNOWN = "The card has unknown fields {unknown}; use only: {allowed}."
UNKNOWN_PERSON = "The card names {field} {username!r}, who is not a Gatehouse user; add the user first or correct the name."
UNKNOWN_MODEL = "No model or version matches {ref!r}; list them with `gatehouse model list`."
BAD_STAGE = "The stage {stage!r} is unknown; use one of {stages}."
SAME_STAGE = "Version {version} of {name} is already in {stage}."
BAD_PAGE = "Page {page} is out of range; there are {pages} pages."


# --- Results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationResult:
    """What registration returns: ids, version number, hash, and whether it was new."""

    model_id: int
    version_id: int
    version: int
    artifact_sha256: str
    created: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "version_id": self.version_id,
            "version": self.version,
            "artifact_sha256": self.artifact_sha256,
            "created": self.created,
        }


@dataclass(frozen=True)
class InventoryFilter:
    """Filters of the inventory table; empty means no filter."""

    text: str = ""
    tiers: Sequence[str] = ()
    stages: Sequence[str] = ()
    owners: Sequence[str] = ()
    business_units: Sequence[str] = ()
    overdue: bool = False


@dataclass(frozen=True)
class InventoryPage:
    """One page of the inventory and the total that matched."""

    rows: list[dict[str, Any]]
    total: int
    page: int
    page_size: int
    as_of: datetime | None = None
    facets: dict[str, list[str]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


# --- Registration --------------------------------------------------------------------------------


def _environment() -> dict[str, str]:
    return environment(
        "scikit-learn",
        "numpy",
        "pandas",
        "scipy",
        "skops",
        "lightgbm",
        "xgboost",
        with_platform=True,
    )


def _read(path: Path | None, role: str, problems: list[str]) -> LoadedData | None:
    if path is None:
        return None
    try:
        return read_data(Path(path))
    except ValueError as err:
        problems.append(f"{role.capitalize()} data: {err}")
        return None


def _load_card(card: Path | Mapping[str, Any] | None, problems: list[str]) -> dict[str, Any]:
    if card is None:
        return {}
    if isinstance(card, Mapping):
        data: Any = dict(card)
        name = "given"
    else:
        name = Path(card).name
        try:
            data = yaml.safe_load(Path(card).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as err:
            problems.append(f"The card file {name} could not be read: {err}.")
            return {}
    if not isinstance(data, Mapping):
        problems.append(CARD_NOT_MAPPING.format(name=name))
        return {}
    if unknown := sorted(set(map(str, data)) - set(CARD_FIELDS)):
        problems.append(CARD_UNKNOWN.format(unknown=unknown, allowed=", ".join(CARD_FIELDS)))
    problems.extend(vocabulary_problems(data.get(VOCABULARY_FIELD)))
    return {str(k): v for k, v in data.items() if str(k) in CARD_FIELDS}


def _check_model(
    model: Any,
    frame: pd.DataFrame,
    *,
    target: str,
    task: str | None,
    positive_label: str | None,
    problems: list[str],
) -> tuple[str, list[str], str | None, str]:
    """Check the model against the evaluation data; returns task, features, positive label, class."""
    estimator_class = f"{type(model).__module__}.{type(model).__qualname__}"
    actual = "classification" if is_classifier(model) else "regression"
    if task is not None and task != actual:
        problems.append(TASK_MISMATCH.format(actual=actual, task=task))
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        features = [str(n) for n in names]
    else:
        n = int(getattr(model, "n_features_in_", 0))
        features = [c for c in frame.columns if c != target][:n]
    if missing := [f for f in features if f not in frame.columns]:
        problems.append(FEATURES_MISSING.format(missing=missing))
        return actual, features, positive_label, estimator_class
    X = frame[features]
    if target in frame.columns and actual == "classification":
        values = frame[target].dropna().unique()
        if len(values) < 2:
            problems.append(
                ONE_CLASS.format(target=target, value=values[0].item() if len(values) else None)
            )
    takes_raw = type(model).__name__ in ("Pipeline", "ColumnTransformer")
    if not takes_raw and (text := [c for c in features if not pd.api.types.is_numeric_dtype(X[c])]):
        problems.append(NOT_NUMERIC.format(columns=text))
        return actual, features, positive_label, estimator_class
    try:
        model.predict(X.head(min(len(X), 1000)))
    except Exception as err:  # the model's own error, whatever it is, is what the user needs
        problems.append(PREDICT_FAILED.format(error=f"{type(err).__name__}: {err}"))
    if actual == "classification":
        classes = [str(c) for c in getattr(model, "classes_", [])]
        if positive_label is None and classes:
            positive_label = "1" if "1" in classes else classes[-1]
        elif positive_label is not None and classes and str(positive_label) not in classes:
            problems.append(BAD_POSITIVE.format(label=positive_label, classes=classes))
    return actual, features, positive_label, estimator_class


def _check_name(name: str, problems: list[str]) -> str:
    name = name.strip()
    if not (2 <= len(name) <= 120) or not all(c.isalnum() or c in " ._-" for c in name):
        problems.append(NAME_SHAPE.format(name=name))
    return name


def _store_dataset(
    session: Session, loaded: LoadedData, source: Path, actor: User | None, provenance: str
) -> Dataset:
    sha = sha256_file(source)
    existing = session.exec(select(Dataset).where(Dataset.sha256 == sha)).first()
    if existing is not None:
        return existing
    stored = store_file(source, kind="datasets", sha256=sha, suffix=loaded.suffix)
    dataset = Dataset(
        sha256=sha,
        name=source.name,
        format=loaded.format,
        path=str(stored),
        rows=len(loaded.frame),
        columns=loaded.frame.shape[1],
        columns_json=json.dumps(loaded.schema),
        provenance=provenance,
        created_by=actor.id if actor else None,
    )
    session.add(dataset)
    session.flush()
    append_event(
        session=session,
        actor=actor,
        action="dataset_stored",
        subject_type="dataset",
        subject_id=str(dataset.id),
        details={"sha256": sha, "name": source.name, "rows": dataset.rows},
    )
    return dataset


def _person_ids(session: Session, card: Mapping[str, Any], problems: list[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for fieldname in PEOPLE_FIELDS:
        username = card.get(fieldname)
        if not username:
            continue
        user = session.exec(select(User).where(User.username == str(username))).first()
        if user is None or user.id is None:
            problems.append(UNKNOWN_PERSON.format(field=fieldname, username=username))
        else:
            ids[fieldname] = user.id
    return ids


def _snapshot(session: Session, model: ModelEntry) -> None:
    model.updated_at = utcnow()
    session.add(model)
    session.flush()
    session.execute(
        sa.update(ModelSnapshot)
        .where(col(ModelSnapshot.model_id) == model.id, col(ModelSnapshot.valid_to) == OPEN_END)
        .values(valid_to=model.updated_at)
    )
    session.add(
        ModelSnapshot(
            model_id=model.id,  # type: ignore[arg-type]
            valid_from=model.updated_at,
            name=model.name,
            purpose=model.purpose,
            business_unit=model.business_unit,
            tags=model.tags,
            owner_id=model.owner_id,
            risk_tier=model.risk_tier,
            current_version_id=model.current_version_id,
            current_stage=model.current_stage,
            production_version_id=model.production_version_id,
            next_review_date=model.next_review_date,
            open_findings=model.open_findings,
            gate_status=model.gate_status,
        )
    )


def _apply_card(model: ModelEntry, card: Mapping[str, Any], people: Mapping[str, int]) -> None:
    if "purpose" in card:
        model.purpose = str(card["purpose"] or "")
    if "business_unit" in card:
        model.business_unit = str(card["business_unit"] or "")
    if "tags" in card:
        tags = card["tags"]
        model.tags = ", ".join(map(str, tags)) if isinstance(tags, list) else str(tags or "")
    model.owner_id = people.get("owner", model.owner_id)
    model.developer_id = people.get("developer", model.developer_id)
    model.validator_id = people.get("validator", model.validator_id)


def _add_card_revision(
    session: Session,
    model: ModelEntry,
    card: Mapping[str, Any],
    changes: Mapping[str, Any],
    actor: User | None,
) -> ModelCardRevision:
    last = session.exec(
        select(func.max(ModelCardRevision.revision)).where(ModelCardRevision.model_id == model.id)
    ).one()
    revision = ModelCardRevision(
        model_id=model.id,  # type: ignore[arg-type]
        revision=(last or 0) + 1,
        card_json=json.dumps(dict(card), sort_keys=True, default=str),
        edited_by=actor.id if actor else None,
        changes_json=json.dumps(dict(changes), sort_keys=True, default=str),
    )
    session.add(revision)
    return revision


def _refuse(session: Session, actor: User | None, name: str, problems: list[str]) -> None:
    """Roll back, keep only an audit event of the refusal, and raise."""
    session.rollback()
    append_event(
        session=session,
        actor=actor,
        action="registration_refused",
        subject_type="model",
        subject_id=name[:64] or "?",
        details={"problems": problems},
    )
    session.commit()
    raise InputProblems(problems)


def register_version(
    *,
    session: Session,
    actor: User | None,
    name: str,
    artifact: Path,
    eval_data: Path,
    target: str,
    train_data: Path | None = None,
    sensitive: Sequence[str] = (),
    positive_label: str | None = None,
    task: str | None = None,
    card: Path | Mapping[str, Any] | None = None,
    trusted: Sequence[str] = (),
    provenance: str = "",
) -> RegistrationResult:
    """Register a model version from a skops artifact and its data, in one transaction.

    Every problem with the input is reported at once, and nothing is written but an audit event
    of the refusal. Registering identical artifact bytes again returns the existing version.
    ``actor`` None is the operator (the demo); anyone else needs a developer, owner or admin role.
    """
    if actor is not None:
        require_role(session, actor, "register models", *REGISTER_ROLES)
    problems: list[str] = []
    name = _check_name(name, problems)
    if task is not None and task not in TASKS:
        problems.append(BAD_TASK.format(task=task))
        task = None
    model_obj: Any = None
    try:
        model_obj = load_artifact(Path(artifact), extra_trusted=trusted)
    except GatehouseError as err:
        problems.extend(err.problems)
    evaluation = _read(eval_data, "evaluation", problems)
    training = _read(train_data, "training", problems)
    card_data = _load_card(card, problems)
    people = _person_ids(session, card_data, problems)
    features: list[str] = []
    estimator_class = ""
    if evaluation is not None:
        frame = evaluation.frame
        columns = list(map(str, frame.columns))
        if target not in frame.columns:
            problems.append(TARGET_MISSING.format(target=target, columns=columns))
        if missing := [c for c in sensitive if c not in frame.columns]:
            problems.append(SENSITIVE_MISSING.format(missing=missing, columns=columns))
        if model_obj is not None:
            task, features, positive_label, estimator_class = _check_model(
                model_obj,
                frame,
                target=target,
                task=task,
                positive_label=positive_label,
                problems=problems,
            )
    if training is not None and target not in training.frame.columns:
        problems.append(
            "Training data: "
            + TARGET_MISSING.format(target=target, columns=list(training.frame.columns))
        )
    if problems:
        _refuse(session, actor, name, problems)
    assert evaluation is not None and model_obj is not None and task is not None

    sha = sha256_file(Path(artifact))
    model = session.exec(select(ModelEntry).where(ModelEntry.name == name)).first()
    if model is not None:
        existing = session.exec(
            select(ModelVersion).where(
                ModelVersion.model_id == model.id, ModelVersion.artifact_sha256 == sha
            )
        ).first()
        if existing is not None:
            assert model.id is not None and existing.id is not None
            return RegistrationResult(model.id, existing.id, existing.version, sha, created=False)
    else:
        model = ModelEntry(name=name, created_by=actor.id if actor else None)
        if actor is not None:
            model.owner_id = actor.id
        session.add(model)
        session.flush()
        append_event(
            session=session,
            actor=actor,
            action="model_created",
            subject_type="model",
            subject_id=str(model.id),
            details={"name": name},
        )
    if card_data:
        old = current_card(session=session, model_id=model.id)  # type: ignore[arg-type]
        merged = {**old, **card_data}
        changes = {
            k: {"old": old.get(k), "new": v} for k, v in card_data.items() if old.get(k) != v
        }
        _apply_card(model, merged, people)
        _add_card_revision(session, model, merged, changes, actor)

    eval_row = _store_dataset(session, evaluation, Path(eval_data), actor, provenance)
    train_row = (
        _store_dataset(session, training, Path(train_data), actor, provenance)
        if training is not None and train_data is not None
        else None
    )
    stored = store_file(Path(artifact), kind="artifacts", sha256=sha, suffix=".skops")
    number = session.exec(
        select(func.max(ModelVersion.version)).where(ModelVersion.model_id == model.id)
    ).one()
    version = ModelVersion(
        model_id=model.id,  # type: ignore[arg-type]
        version=(number or 0) + 1,
        artifact_sha256=sha,
        artifact_path=str(stored),
        framework="scikit-learn",
        estimator_class=estimator_class,
        task=task,
        target=target,
        positive_label=positive_label,
        features_json=json.dumps(features),
        sensitive_json=json.dumps(list(sensitive)),
        environment_json=json.dumps(_environment(), sort_keys=True),
        trusted_json=json.dumps(sorted(trusted)),
        train_dataset_id=train_row.id if train_row else None,
        eval_dataset_id=eval_row.id,  # type: ignore[arg-type]
        parent_version_id=model.current_version_id,
        registered_by=actor.id if actor else None,
    )
    session.add(version)
    try:
        session.flush()
    except sa.exc.IntegrityError as err:  # a concurrent registration of the same bytes
        session.rollback()
        raise InputProblems(
            [
                f"Version of {name} with artifact {sha[:12]} was registered at the same moment; run the command again to get it."
            ]
        ) from err
    session.add(
        StageChange(
            model_id=model.id,  # type: ignore[arg-type]
            version_id=version.id,  # type: ignore[arg-type]
            stage="development",
            changed_by=actor.id if actor else None,
            reason="registered",
        )
    )
    model.current_version_id = version.id
    model.current_stage = "development"
    _snapshot(session, model)
    append_event(
        session=session,
        actor=actor,
        action="version_registered",
        subject_type="model_version",
        subject_id=str(version.id),
        details={
            "model": name,
            "version": version.version,
            "artifact_sha256": sha,
            "eval_sha256": eval_row.sha256,
            "train_sha256": train_row.sha256 if train_row else None,
            "estimator": estimator_class,
            "trusted_extra": list(trusted),
        },
    )
    session.commit()
    assert model.id is not None and version.id is not None
    return RegistrationResult(model.id, version.id, version.version, sha, created=True)


# --- Reading -------------------------------------------------------------------------------------


def get_model(*, session: Session, model_id: int) -> ModelEntry:
    """The model with that id, or NotFound."""
    model = session.get(ModelEntry, model_id)
    if model is None:
        raise NotFound(UNKNOWN_MODEL.format(ref=model_id))
    return model


def get_version(*, session: Session, version_id: int) -> ModelVersion:
    """The version with that id, or NotFound."""
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound(UNKNOWN_MODEL.format(ref=version_id))
    return version


def resolve_model_or_version(
    *, session: Session, ref: str
) -> tuple[ModelEntry, ModelVersion | None]:
    """A model by name or id, or a version as ``name:v3`` or ``v<version id>``."""
    ref = ref.strip()
    if ref.startswith("v") and ref[1:].isdigit():
        version = get_version(session=session, version_id=int(ref[1:]))
        return get_model(session=session, model_id=version.model_id), version
    name, _, number = ref.partition(":")
    model = session.exec(select(ModelEntry).where(ModelEntry.name == name)).first()
    if model is None and name.isdigit():
        model = session.get(ModelEntry, int(name))
    if model is None:
        raise NotFound(UNKNOWN_MODEL.format(ref=ref))
    if not number:
        return model, None
    version = session.exec(
        select(ModelVersion).where(
            ModelVersion.model_id == model.id, ModelVersion.version == int(number.lstrip("v") or 0)
        )
    ).first()
    if version is None:
        raise NotFound(UNKNOWN_MODEL.format(ref=ref))
    return model, version


def list_versions(*, session: Session, model_id: int) -> list[ModelVersion]:
    """All versions of a model, newest first."""
    return list(
        session.exec(
            select(ModelVersion)
            .where(ModelVersion.model_id == model_id)
            .order_by(col(ModelVersion.version).desc())
        ).all()
    )


def current_card(*, session: Session, model_id: int) -> dict[str, Any]:
    """The newest card revision's fields (empty when the card was never written)."""
    return card_as_of(session=session, model_id=model_id, when=None)


def card_as_of(*, session: Session, model_id: int, when: datetime | None) -> dict[str, Any]:
    """The card as it read at ``when`` (None: now)."""
    query = select(ModelCardRevision.card_json).where(ModelCardRevision.model_id == model_id)
    if when is not None:
        query = query.where(ModelCardRevision.edited_at <= when)
    row = session.exec(query.order_by(col(ModelCardRevision.revision).desc()).limit(1)).first()
    return json.loads(row) if row else {}


def card_history(*, session: Session, model_id: int) -> list[dict[str, Any]]:
    """Every card edit: revision, who, when, and each field's old and new value."""
    rows = session.exec(
        select(ModelCardRevision, User.username)
        .join(User, col(User.id) == ModelCardRevision.edited_by, isouter=True)
        .where(ModelCardRevision.model_id == model_id)
        .order_by(col(ModelCardRevision.revision).desc())
    ).all()
    return [
        {
            "revision": rev.revision,
            "edited_at": rev.edited_at,
            "edited_by": username or "system",
            "changes": json.loads(rev.changes_json),
        }
        for rev, username in rows
    ]


def stage_history(*, session: Session, model_id: int) -> list[dict[str, Any]]:
    """Every stage change of a model's versions, newest first."""
    rows = session.exec(
        select(StageChange, ModelVersion.version, User.username)
        .join(ModelVersion, col(ModelVersion.id) == StageChange.version_id)
        .join(User, col(User.id) == StageChange.changed_by, isouter=True)
        .where(StageChange.model_id == model_id)
        .order_by(col(StageChange.id).desc())
    ).all()
    return [
        {
            "version": number,
            "stage": change.stage,
            "changed_at": change.changed_at,
            "changed_by": username or "system",
            "reason": change.reason,
        }
        for change, number, username in rows
    ]


def versions_as_of(*, session: Session, model_id: int, when: datetime) -> dict[int, str]:
    """Each version's stage at ``when`` (versions registered later are absent)."""
    last = (
        select(StageChange.version_id, func.max(StageChange.id).label("last_id"))
        .where(StageChange.model_id == model_id, StageChange.changed_at <= when)
        .group_by(StageChange.version_id)
        .subquery()
    )
    rows = session.exec(
        select(ModelVersion.version, StageChange.stage)
        .join(last, col(StageChange.id) == last.c.last_id)
        .join(ModelVersion, col(ModelVersion.id) == StageChange.version_id)
    ).all()
    return {int(v): str(s) for v, s in rows}


# --- Changes -------------------------------------------------------------------------------------


def edit_card(
    *, session: Session, actor: User | None, model_id: int, changes: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Change card fields; records who, when, and each field's old and new value.

    Returns the changes that were real (fields whose value differs).
    """
    if actor is not None:
        require_role(session, actor, "edit model cards", *CARD_ROLES)
    model = get_model(session=session, model_id=model_id)
    problems: list[str] = []
    new_fields = _load_card(dict(changes), problems)
    people = _person_ids(session, new_fields, problems)
    if problems:
        raise InputProblems(problems)
    old = current_card(session=session, model_id=model_id)
    diff = {
        k: {"old": old.get(k), "new": v}
        for k, v in new_fields.items()
        if (old.get(k) or None) != (v or None)
    }
    if not diff:
        return {}
    merged = {**old, **new_fields}
    _apply_card(model, merged, people)
    _add_card_revision(session, model, merged, diff, actor)
    _snapshot(session, model)
    append_event(
        session=session,
        actor=actor,
        action="card_edited",
        subject_type="model",
        subject_id=str(model.id),
        details={"changes": diff},
    )
    session.commit()
    return diff


def promote_version(
    *, session: Session, actor: User | None, version_id: int, stage: str, reason: str = ""
) -> None:
    """Move a version to a stage. A new production version retires the one it replaces."""
    if actor is not None:
        require_role(session, actor, "change a version's stage", *PROMOTE_ROLES)
    if stage not in STAGES:
        raise InputProblems([BAD_STAGE.format(stage=stage, stages=", ".join(STAGES))])
    version = get_version(session=session, version_id=version_id)
    model = get_model(session=session, model_id=version.model_id)
    if version.stage == stage:
        raise InputProblems(
            [SAME_STAGE.format(version=version.version, name=model.name, stage=stage)]
        )
    now = utcnow()
    moves = [(version, stage, reason)]
    if stage == "production" and model.production_version_id not in (None, version.id):
        previous = get_version(session=session, version_id=model.production_version_id)  # type: ignore[arg-type]
        moves.append((previous, "retired", f"replaced by version {version.version}"))
    for moved, new_stage, why in moves:
        old_stage = moved.stage
        moved.stage = new_stage
        session.add(moved)
        session.add(
            StageChange(
                model_id=model.id,  # type: ignore[arg-type]
                version_id=moved.id,  # type: ignore[arg-type]
                stage=new_stage,
                changed_at=now,
                changed_by=actor.id if actor else None,
                reason=why,
            )
        )
        append_event(
            session=session,
            actor=actor,
            action="stage_changed",
            subject_type="model_version",
            subject_id=str(moved.id),
            details={
                "model": model.name,
                "version": moved.version,
                "old": old_stage,
                "new": new_stage,
                "reason": why,
            },
        )
    if stage == "production":
        model.production_version_id = version.id
    elif model.production_version_id == version.id:
        model.production_version_id = None
    if version.id == model.current_version_id:
        model.current_stage = stage
    _snapshot(session, model)
    session.commit()


# --- The inventory table -------------------------------------------------------------------------


def _source(as_of: datetime | None) -> Any:
    """The model table now, or each model's snapshot valid at ``as_of``, as one selectable."""
    if as_of is None:
        return ModelEntry.__table__  # type: ignore[attr-defined]
    snap = ModelSnapshot.__table__  # type: ignore[attr-defined]
    return (
        sa.select(
            *[c for c in snap.c if c.name not in ("id", "valid_to")], snap.c.model_id.label("id")
        )
        .where(snap.c.valid_to > as_of, snap.c.valid_from <= as_of)
        .subquery("inventory")
    )


def query_inventory(
    *,
    session: Session,
    actor: User,
    filters: InventoryFilter = InventoryFilter(),
    sort: str = "name",
    descending: bool = False,
    page: int = 1,
    page_size: int = 50,
    as_of: datetime | None = None,
) -> InventoryPage:
    """One page of the inventory, filtered and sorted in the database (never every row in memory).

    With ``as_of``, the inventory as it stood then, from the append-only snapshots.
    """
    require_role(session, actor, "read the inventory", *[r.value for r in Role])
    t = _source(as_of)
    owner = sa.orm.aliased(User)
    conditions = []
    if text := filters.text.strip():
        pattern = f"%{text.lower()}%"
        conditions.append(
            sa.or_(
                sa.func.lower(t.c.name).like(pattern),
                sa.func.lower(t.c.purpose).like(pattern),
                sa.func.lower(t.c.tags).like(pattern),
            )
        )
    if filters.tiers:
        conditions.append(t.c.risk_tier.in_(list(filters.tiers)))
    if filters.stages:
        conditions.append(t.c.current_stage.in_(list(filters.stages)))
    if filters.business_units:
        conditions.append(t.c.business_unit.in_(list(filters.business_units)))
    if filters.owners:
        conditions.append(owner.username.in_(list(filters.owners)))
    if filters.overdue:
        conditions.append(t.c.next_review_date < (as_of or utcnow()))
    base = sa.select(t).join(owner, owner.id == t.c.owner_id, isouter=True).where(*conditions)
    total = int(
        session.execute(sa.select(sa.func.count()).select_from(base.subquery())).scalar_one()
    )
    pages = max(1, -(-total // page_size))
    if page < 1 or page > pages:
        raise InputProblems([BAD_PAGE.format(page=page, pages=pages)])
    column = t.c[SORTABLE.get(sort, "name")]
    order = column.desc() if descending else column.asc()
    current_version = sa.orm.aliased(ModelVersion)
    rows = session.execute(
        sa.select(
            t.c.id,
            t.c.name,
            t.c.purpose,
            owner.display_name.label("owner"),
            t.c.business_unit,
            t.c.risk_tier,
            t.c.current_stage,
            current_version.version.label("version"),
            t.c.next_review_date,
            t.c.open_findings,
            t.c.gate_status,
            t.c.tags,
        )
        .join(owner, owner.id == t.c.owner_id, isouter=True)
        .join(current_version, current_version.id == t.c.current_version_id, isouter=True)
        .where(*conditions)
        .order_by(order, t.c.name.asc(), t.c.id.asc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return InventoryPage(
        rows=[
            {
                "id": r.id,
                "name": r.name,
                "purpose": r.purpose,
                "owner": r.owner or "",
                "business_unit": r.business_unit,
                "risk_tier": r.risk_tier or "not assessed",
                "stage": r.current_stage,
                "version": r.version,
                "next_review": r.next_review_date,
                "open_findings": r.open_findings,
                "gate_status": r.gate_status,
                "tags": r.tags,
            }
            for r in rows
        ],
        total=total,
        page=page,
        page_size=page_size,
        as_of=as_of,
    )


def inventory_facets(*, session: Session) -> dict[str, list[str]]:
    """The values the inventory filters offer (distinct, sorted)."""

    def distinct(column: Any) -> list[str]:
        return sorted(str(v) for v in session.execute(sa.select(column).distinct()).scalars() if v)

    owners = session.execute(
        sa.select(User.username).join(ModelEntry, col(ModelEntry.owner_id) == User.id).distinct()
    ).scalars()
    return {
        "tiers": distinct(ModelEntry.risk_tier),
        "stages": list(STAGES),
        "business_units": distinct(ModelEntry.business_unit),
        "owners": sorted(owners),
    }


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    text = str(value)
    # A leading = + - @ makes spreadsheets run the cell as a formula (CSV injection).
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_inventory_csv(
    *,
    session: Session,
    actor: User,
    filters: InventoryFilter = InventoryFilter(),
    as_of: datetime | None = None,
    excel: bool = False,
) -> bytes:
    """The whole filtered inventory as CSV, page by page; ``excel`` adds a BOM and CRLF lines."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n" if excel else "\n")
    header = ["name", "purpose", "owner", "business_unit", "risk_tier", "stage", "version",
              "next_review", "open_findings", "gate_status", "tags"]  # fmt: skip
    writer.writerow(header)
    page = 1
    while True:
        result = query_inventory(
            session=session, actor=actor, filters=filters, page=page, page_size=500, as_of=as_of
        )
        for row in result.rows:
            writer.writerow([_cell(row[h]) for h in header])
        if page >= result.pages:
            break
        page += 1
    data = buffer.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if excel else data


def describe(*, session: Session, ref: str) -> dict[str, Any]:
    """Everything the inventory holds on a model (and its versions) or on one version, as JSON."""
    model, only = resolve_model_or_version(session=session, ref=ref)
    assert model.id is not None
    versions = [only] if only is not None else list_versions(session=session, model_id=model.id)
    return {
        "model_id": model.id,
        "name": model.name,
        "risk_tier": model.risk_tier,
        "stage": model.current_stage,
        "current_version_id": model.current_version_id,
        "production_version_id": model.production_version_id,
        "card": current_card(session=session, model_id=model.id),
        "versions": [version_summary(session=session, version=v) for v in versions],
    }


def version_summary(*, session: Session, version: ModelVersion) -> dict[str, Any]:
    """A version's metadata with its datasets, for display, comparison and JSON output."""

    def dataset(dataset_id: int | None) -> dict[str, Any] | None:
        if dataset_id is None:
            return None
        row = session.get(Dataset, dataset_id)
        assert row is not None
        return {"id": row.id, "name": row.name, "sha256": row.sha256, "rows": row.rows,
                "columns": row.columns, "format": row.format, "schema": json.loads(row.columns_json)}  # fmt: skip

    registered_by = session.get(User, version.registered_by) if version.registered_by else None
    return {
        "version_id": version.id,
        "version": version.version,
        "stage": version.stage,
        "artifact_sha256": version.artifact_sha256,
        "framework": version.framework,
        "estimator_class": version.estimator_class,
        "task": version.task,
        "target": version.target,
        "positive_label": version.positive_label,
        "features": json.loads(version.features_json),
        "sensitive": json.loads(version.sensitive_json),
        "environment": json.loads(version.environment_json),
        "parent_version_id": version.parent_version_id,
        "registered_by": registered_by.username if registered_by else "system",
        "registered_at": version.registered_at,
        "train_dataset": dataset(version.train_dataset_id),
        "eval_dataset": dataset(version.eval_dataset_id),
    }


def model_choices(*, session: Session) -> list[tuple[int, str]]:
    """(id, name) of every model, by name, for pickers."""
    rows = session.exec(select(ModelEntry.id, ModelEntry.name).order_by(ModelEntry.name)).all()
    return [(int(i), str(n)) for i, n in rows if i is not None]


def model_activity(*, session: Session, model_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """Audit events about a model and its versions, newest first."""
    from core.services.audit import events_for

    version_ids = [str(v.id) for v in list_versions(session=session, model_id=model_id)]
    events = events_for(
        session=session, subject_type="model", subject_ids=[str(model_id)], limit=limit
    )
    events += events_for(
        session=session, subject_type="model_version", subject_ids=version_ids, limit=limit
    )
    events.sort(key=lambda e: e.id or 0, reverse=True)
    return [
        {
            "when": e.occurred_at,
            "who": e.actor,
            "action": e.action,
            "details": json.loads(e.details),
        }
        for e in events[:limit]
    ]


def compare_versions(*, session: Session, left_id: int, right_id: int) -> list[dict[str, Any]]:
    """Side-by-side rows of two versions' metadata, with whether each row differs."""
    left = version_summary(
        session=session, version=get_version(session=session, version_id=left_id)
    )
    right = version_summary(
        session=session, version=get_version(session=session, version_id=right_id)
    )

    def flat(summary: dict[str, Any]) -> dict[str, str]:
        out = {k: summary[k] for k in ("version", "stage", "estimator_class", "task", "target",
                                       "positive_label", "registered_by", "registered_at")}  # fmt: skip
        out["artifact_sha256"] = summary["artifact_sha256"][:16]
        out["features"] = ", ".join(summary["features"])
        out["sensitive"] = ", ".join(summary["sensitive"])
        for role in ("train_dataset", "eval_dataset"):
            data = summary[role]
            out[f"{role} sha256"] = data["sha256"][:16] if data else "—"
            out[f"{role} size"] = (
                f"{data['rows']:,} rows × {data['columns']} columns" if data else "—"
            )
        for pkg, ver in sorted(summary["environment"].items()):
            out[f"environment: {pkg}"] = ver
        out.update(_headline_metrics(session, summary["version_id"]))
        return {k: "" if v is None else str(v) for k, v in out.items()}

    a, b = flat(left), flat(right)
    keys = list(dict.fromkeys([*a, *b]))
    return [
        {"field": k, "left": a.get(k, "—"), "right": b.get(k, "—"), "differs": a.get(k) != b.get(k)}
        for k in keys
    ]


def _headline_metrics(session: Session, version_id: int) -> dict[str, str]:
    """The latest stored performance figures of a version, for comparisons (none if not computed)."""
    from core.services.evidence import (
        latest_evidence,  # evidence builds on the inventory, not the reverse
    )

    evidence = latest_evidence(session=session, version_id=version_id, kind="performance")
    if evidence is None:
        return {"metrics": "not computed"}
    out = {"metrics: evidence": evidence.sha256[:16]}
    for name, estimate in evidence.results["overall"]["metrics"].items():
        value = estimate.get("value")
        out[f"metric: {name}"] = "undefined" if value is None else f"{value:.4f}"
    return out
