"""Models and versions: finding them, their summaries, stages, and the snapshots of each change."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session, col, func, select

from core.errors import GateBlocked, InputProblems, NotFound
from core.services.audit import append_event
from core.services.gate_status import check_promotion
from core.services.inventory.results import (
    DatasetSummary,
    ModelOverview,
    StageEntry,
    VersionSummary,
)
from core.services.model_snapshots import record_snapshot
from core.services.permissions import PROMOTE_ROLES, Actor, require_role
from core.tables import (
    STAGES,
    Dataset,
    ModelEntry,
    ModelVersion,
    StageChange,
    User,
    utcnow,
)

__all__ = [
    "dataset_provenance",
    "get_model",
    "get_version",
    "list_versions",
    "model_choices",
    "model_overview",
    "promote_version",
    "resolve_model_or_version",
    "stage_history",
    "version_summaries",
    "version_summary",
    "versions_as_of",
]


UNKNOWN_MODEL = "No model or version matches {ref!r}; list them with `gatehouse model list`."
BAD_STAGE = "The stage {stage!r} is unknown; use one of {stages}."
SAME_STAGE = "Version {version} of {name} is already in {stage}."


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
        by_id = get_version(session=session, version_id=int(ref[1:]))
        return get_model(session=session, model_id=by_id.model_id), by_id
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


def model_choices(*, session: Session) -> list[tuple[int, str]]:
    """(id, name) of every model, by name, for pickers."""
    rows = session.exec(select(ModelEntry.id, ModelEntry.name).order_by(col(ModelEntry.name))).all()
    return [(int(i), str(n)) for i, n in rows if i is not None]


def model_overview(*, session: Session, model_id: int) -> ModelOverview:
    """A model's current inventory columns and people, or NotFound."""
    model = get_model(session=session, model_id=model_id)
    assert model.id is not None

    def username(user_id: int | None) -> str | None:
        user = session.get(User, user_id) if user_id is not None else None
        return user.username if user else None

    return ModelOverview(
        id=model.id,
        name=model.name,
        purpose=model.purpose,
        business_unit=model.business_unit,
        risk_tier=model.risk_tier,
        stage=model.current_stage,
        current_version_id=model.current_version_id,
        production_version_id=model.production_version_id,
        open_findings=model.open_findings,
        gate_status=model.gate_status,
        owner=username(model.owner_id),
        owner_id=model.owner_id,
        developer=username(model.developer_id),
        validator=username(model.validator_id),
    )


def _dataset(session: Session, dataset_id: int | None) -> DatasetSummary | None:
    if dataset_id is None:
        return None
    row = session.get(Dataset, dataset_id)
    assert row is not None and row.id is not None
    return DatasetSummary(
        id=row.id,
        name=row.name,
        sha256=row.sha256,
        rows=row.rows,
        columns=row.columns,
        format=row.format,
        schema=tuple(json.loads(row.columns_json)),
    )


def dataset_provenance(*, session: Session, dataset_ids: list[int]) -> dict[int, str]:
    """Where each dataset came from, as its registrant wrote it (empty when not given)."""
    rows = session.exec(
        select(Dataset.id, Dataset.provenance).where(col(Dataset.id).in_(dataset_ids))
    ).all()
    return {int(i or 0): str(p or "") for i, p in rows}


def version_summary(*, session: Session, version: ModelVersion) -> VersionSummary:
    """A version's metadata with its datasets, for display, comparison and JSON output."""
    assert version.id is not None
    registered_by = session.get(User, version.registered_by) if version.registered_by else None
    return VersionSummary(
        version_id=version.id,
        version=version.version,
        stage=version.stage,
        artifact_sha256=version.artifact_sha256,
        framework=version.framework,
        estimator_class=version.estimator_class,
        task=version.task,
        target=version.target,
        positive_label=version.positive_label,
        features=tuple(json.loads(version.features_json)),
        sensitive=tuple(json.loads(version.sensitive_json)),
        environment=json.loads(version.environment_json),
        parent_version_id=version.parent_version_id,
        registered_by=registered_by.username if registered_by else "system",
        registered_at=version.registered_at,
        train_dataset=_dataset(session, version.train_dataset_id),
        eval_dataset=_dataset(session, version.eval_dataset_id),
    )


def version_summaries(*, session: Session, model_id: int) -> list[VersionSummary]:
    """The summaries of every version of a model, newest first."""
    return [
        version_summary(session=session, version=v)
        for v in list_versions(session=session, model_id=model_id)
    ]


def promote_version(
    *, session: Session, actor: Actor, version_id: int, stage: str, reason: str = ""
) -> None:
    """Move a version to a stage. A new production version retires the one it replaces.

    Every caller (page, command, service) goes through the gates here: the move needs the gates
    the policy ties to it approved, and replacing a production version needs its retirement
    gates too. A refused move is recorded in the audit trail and committed before GateBlocked
    is raised. Otherwise flushes the stage changes, snapshot and audit events; the caller commits.
    """
    require_role(session, actor, "change a version's stage", *PROMOTE_ROLES)
    if stage not in STAGES:
        raise InputProblems([BAD_STAGE.format(stage=stage, stages=", ".join(STAGES))])
    version = get_version(session=session, version_id=version_id)
    model = get_model(session=session, model_id=version.model_id)
    assert model.id is not None and version.id is not None
    if version.stage == stage:
        raise InputProblems(
            [SAME_STAGE.format(version=version.version, name=model.name, stage=stage)]
        )
    moves = [(version, stage, reason)]
    replaced = model.production_version_id
    if stage == "production" and replaced is not None and replaced != version.id:
        previous = get_version(session=session, version_id=replaced)
        moves.append((previous, "retired", f"replaced by version {version.version}"))
    try:
        for moved, new_stage, _ in moves:
            check_promotion(session, moved.id or 0, new_stage)
    except GateBlocked as blocked:
        _refuse(session, actor, version, model.name, stage, blocked)
        raise
    now = utcnow()
    for moved, new_stage, why in moves:
        assert moved.id is not None
        old_stage = moved.stage
        moved.stage = new_stage
        session.add(moved)
        session.add(
            StageChange(
                model_id=model.id,
                version_id=moved.id,
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
    record_snapshot(session, model)
    session.flush()


def _refuse(
    session: Session,
    actor: Actor,
    version: ModelVersion,
    model_name: str,
    stage: str,
    blocked: GateBlocked,
) -> None:
    """Record the refused move and commit it (the edge rolls back on the error), as refused
    gate acts are."""
    subject, number, old = str(version.id), version.version, version.stage
    session.rollback()
    append_event(
        session=session,
        actor=actor,
        action="promotion_refused",
        subject_type="model_version",
        subject_id=subject,
        details={
            "model": model_name,
            "version": number,
            "old": old,
            "new": stage,
            "reason": " ".join(blocked.problems),
        },
    )
    session.commit()


def stage_history(*, session: Session, model_id: int) -> list[StageEntry]:
    """Every stage change of a model's versions, newest first."""
    rows = session.exec(
        select(StageChange, ModelVersion.version, User.username)
        .join(ModelVersion, col(ModelVersion.id) == StageChange.version_id)
        .join(User, col(User.id) == StageChange.changed_by, isouter=True)
        .where(StageChange.model_id == model_id)
        .order_by(col(StageChange.id).desc())
    ).all()
    return [
        StageEntry(
            version=number,
            stage=change.stage,
            changed_at=change.changed_at,
            changed_by=username or "system",
            reason=change.reason,
        )
        for change, number, username in rows
    ]


def versions_as_of(*, session: Session, model_id: int, when: datetime) -> dict[int, str]:
    """Each version's stage at ``when`` (versions registered later are absent)."""
    last = (
        select(col(StageChange.version_id), func.max(StageChange.id).label("last_id"))
        .where(StageChange.model_id == model_id, StageChange.changed_at <= when)
        .group_by(col(StageChange.version_id))
        .subquery()
    )
    rows = session.exec(
        select(ModelVersion.version, StageChange.stage)
        .join(last, col(StageChange.id) == last.c.last_id)
        .join(ModelVersion, col(ModelVersion.id) == StageChange.version_id)
    ).all()
    return {int(v): str(s) for v, s in rows}
