"""Registration: a model version from a skops artifact and its data, checked, stored, recorded.

Concurrent registrations take one lock (PostgreSQL advisory lock; SQLite's write lock, taken by
``BEGIN IMMEDIATE``) once their input is checked, so each caller either creates the version or
gets the one registered first, and a version's files are stored only by the caller that writes
its rows (removed again, still under the lock, if the call fails after storing them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, func, select

from core.errors import InputProblems
from core.files.datasets import LoadedData
from core.files.store import sha256_file, store_file, stored_path
from core.rules.gates import rollup_status
from core.services.audit import append_event
from core.services.environment import environment
from core.services.inventory.card import (
    add_card_revision,
    apply_card,
    check_people,
    current_card,
    record_people_change,
)
from core.services.inventory.checks import CheckedInput, check_input
from core.services.inventory.names import check_name
from core.services.inventory.results import RegistrationResult
from core.services.model_snapshots import record_snapshot
from core.services.permissions import REGISTER_ROLES, Actor, require_role
from core.services.trusted_types import trusted_type_names
from core.tables import Dataset, ModelEntry, ModelVersion, StageChange

__all__ = ["REGISTER_ROLES", "register_version"]

# Any fixed number: the advisory lock that serialises registrations' writes on PostgreSQL.
_PG_REGISTRATION_LOCK = 0x6A7E_4A06


def _environment() -> dict[str, str]:
    return environment(
        "scikit-learn", "numpy", "pandas", "scipy", "skops", "lightgbm", "xgboost",
        with_platform=True,
    )  # fmt: skip


def _refuse(session: Session, actor: Actor, name: str, problems: list[str]) -> None:
    """Record the refusal and raise: the one place registration ends its caller's transaction.

    The refusal event must outlive the rollback the edge does on the error, so what the call
    read is rolled back (registration writes nothing before its checks pass) and the event is
    committed alone. Registration is therefore the only action of its transaction.
    """
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


def _lock_registrations(session: Session) -> None:
    """Serialise registrations from here to the commit (SQLite's write lock already does)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_REGISTRATION_LOCK})


@contextmanager
def _new_files() -> Iterator[list[Path]]:
    """Files stored inside the block that did not exist before; removed again if it fails."""
    created: list[Path] = []
    try:
        yield created
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        raise


def _store(source: Path, kind: str, sha: str, suffix: str, created: list[Path]) -> Path:
    fresh = not stored_path(kind, sha, suffix).exists()
    target = store_file(source, kind=kind, sha256=sha, suffix=suffix)
    if fresh:
        created.append(target)
    return target


def _store_dataset(
    session: Session,
    loaded: LoadedData,
    source: Path,
    actor: Actor,
    provenance: str,
    created: list[Path],
) -> Dataset:
    sha = sha256_file(source)
    existing = session.exec(select(Dataset).where(Dataset.sha256 == sha)).first()
    if existing is not None:
        return existing
    stored = _store(source, "datasets", sha, loaded.suffix, created)
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


def _model_for(session: Session, actor: Actor, checked: CheckedInput) -> ModelEntry:
    """The model by name, created (owned by the registrant) if new, with the card applied."""
    model = session.exec(select(ModelEntry).where(ModelEntry.name == checked.name)).first()
    assigned = check_people(
        session, actor, model, checked.people, fields=checked.card, name=checked.name,
        registering=True,
    )  # fmt: skip
    if model is None:
        model = ModelEntry(name=checked.name, created_by=actor.id if actor else None)
        model.owner_id = actor.id
        session.add(model)
        session.flush()
        append_event(
            session=session,
            actor=actor,
            action="model_created",
            subject_type="model",
            subject_id=str(model.id),
            details={"name": checked.name},
        )
    assert model.id is not None
    if checked.card:
        old = current_card(session=session, model_id=model.id)
        merged = {**old, **checked.card}
        changes = {
            k: {"old": old.get(k), "new": v} for k, v in checked.card.items() if old.get(k) != v
        }
        apply_card(model, merged, checked.people)
        add_card_revision(session, model, merged, changes, actor)
        record_people_change(session, actor, model, assigned)
    return model


def _name_taken_meanwhile(session: Session, name: str) -> list[str]:
    """A look-alike of a new name registered by a concurrent caller since the name was checked."""
    if session.exec(select(ModelEntry.id).where(ModelEntry.name == name)).first() is not None:
        return []
    problems: list[str] = []
    check_name(session, name, problems)
    return problems


def _existing(session: Session, name: str, sha: str) -> RegistrationResult | None:
    row = session.exec(
        select(ModelEntry.id, ModelVersion.id, ModelVersion.version)
        .join(ModelVersion, ModelVersion.model_id == ModelEntry.id)  # type: ignore[arg-type]
        .where(ModelEntry.name == name, ModelVersion.artifact_sha256 == sha)
    ).first()
    if row is None:
        return None
    model_id, version_id, number = row
    assert model_id is not None and version_id is not None
    return RegistrationResult(model_id, version_id, number, sha, created=False)


def register_version(
    *,
    session: Session,
    actor: Actor,
    name: str,
    artifact: Path,
    eval_data: Path,
    target: str,
    train_data: Path | None = None,
    sensitive: Sequence[str] = (),
    positive_label: str | None = None,
    task: str | None = None,
    card: Path | Mapping[str, Any] | None = None,
    provenance: str = "",
) -> RegistrationResult:
    """Register a model version from a skops artifact and its data; flushes, the caller commits.

    Every problem with the input is reported at once, and nothing is written but an audit event
    of the refusal (committed by ``_refuse``, the one exception to "the edge commits").
    Registering identical artifact bytes again returns the existing version. ``actor`` None is
    the operator (the demo); anyone else needs a developer, owner or admin role, and a card that
    assigns people follows the card's rules (``check_people``).
    """
    require_role(session, actor, "register models", *REGISTER_ROLES)
    problems: list[str] = []
    # Extra trusted types come from the admin's allowlist only; the registrant never chooses.
    trusted = trusted_type_names(session=session)
    checked = check_input(
        session, name=name, artifact=artifact, eval_data=eval_data, train_data=train_data,
        target=target, sensitive=sensitive, positive_label=positive_label, task=task,
        card=card, trusted=trusted, problems=problems,
    )  # fmt: skip
    if checked is None:
        _refuse(session, actor, name.strip(), problems)
    assert checked is not None
    sha = sha256_file(Path(artifact))
    _lock_registrations(session)
    if (existing := _existing(session, checked.name, sha)) is not None:
        return existing
    if clash := _name_taken_meanwhile(session, checked.name):
        _refuse(session, actor, name.strip(), clash)
    with _new_files() as created:
        model = _model_for(session, actor, checked)
        eval_row = _store_dataset(
            session, checked.evaluation, Path(eval_data), actor, provenance, created
        )
        train_row = (
            _store_dataset(session, checked.training, Path(train_data), actor, provenance, created)
            if checked.training is not None and train_data is not None
            else None
        )
        stored = _store(Path(artifact), "artifacts", sha, ".skops", created)
        version = _add_version(
            session, actor, model, checked, sha, stored, eval_row, train_row, trusted
        )
    assert model.id is not None and version.id is not None
    return RegistrationResult(model.id, version.id, version.version, sha, created=True)


def _add_version(
    session: Session,
    actor: Actor,
    model: ModelEntry,
    checked: CheckedInput,
    sha: str,
    stored: Path,
    eval_row: Dataset,
    train_row: Dataset | None,
    trusted: Sequence[str],
) -> ModelVersion:
    """The version row, its first stage, the model's new snapshot and the audit event."""
    assert model.id is not None and eval_row.id is not None
    number = session.exec(
        select(func.max(ModelVersion.version)).where(ModelVersion.model_id == model.id)
    ).one()
    version = ModelVersion(
        model_id=model.id,
        version=(number or 0) + 1,
        artifact_sha256=sha,
        artifact_path=str(stored),
        framework="scikit-learn",
        estimator_class=checked.estimator_class,
        task=checked.task,
        target=checked.target,
        positive_label=checked.positive_label,
        features_json=json.dumps(checked.features),
        sensitive_json=json.dumps(list(checked.sensitive)),
        environment_json=json.dumps(_environment(), sort_keys=True),
        train_dataset_id=train_row.id if train_row else None,
        eval_dataset_id=eval_row.id,
        parent_version_id=model.current_version_id,
        registered_by=actor.id if actor else None,
    )
    session.add(version)
    session.flush()
    assert version.id is not None
    session.add(
        StageChange(
            model_id=model.id,
            version_id=version.id,
            stage="development",
            changed_by=actor.id if actor else None,
            reason="registered",
        )
    )
    model.current_version_id = version.id
    model.current_stage = "development"
    model.gate_status = rollup_status([])  # a new version has no gates until its policy opens them
    record_snapshot(session, model)
    _record_registration(session, actor, checked, version, eval_row, train_row, trusted)
    return version


def _record_registration(
    session: Session,
    actor: Actor,
    checked: CheckedInput,
    version: ModelVersion,
    eval_row: Dataset,
    train_row: Dataset | None,
    trusted: Sequence[str],
) -> None:
    append_event(
        session=session,
        actor=actor,
        action="version_registered",
        subject_type="model_version",
        subject_id=str(version.id),
        details={
            "model": checked.name,
            "version": version.version,
            "artifact_sha256": version.artifact_sha256,
            "eval_sha256": eval_row.sha256,
            "train_sha256": train_row.sha256 if train_row else None,
            "estimator": checked.estimator_class,
        },
    )
    session.flush()
