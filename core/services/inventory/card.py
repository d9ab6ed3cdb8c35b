"""The model card: its fields, append-only revisions, edits, and who may assign a model's people.

Assigning owner, developer and validator is for the model's owner, a risk manager or an admin;
the validator is never the model's developer nor anyone who registered one of its versions.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, col, func, select

from core.errors import InputProblems, PermissionDenied, SegregationOfDuties
from core.rules.card_fields import CARD_FIELDS
from core.rules.kpis import KPI_TARGETS_FIELD, parse_kpi_targets
from core.services.audit import append_event
from core.services.gate_status import refresh_staleness
from core.services.inventory.results import CardRevisionEntry
from core.services.inventory.versions import get_model
from core.services.model_snapshots import record_snapshot
from core.services.permissions import (
    CARD_ROLES,
    PEOPLE_ROLES,
    Actor,
    Operator,
    require_role,
    roles_of,
)
from core.services.vocabulary import VOCABULARY_FIELD, vocabulary_problems
from core.tables import ModelCardRevision, ModelEntry, ModelVersion, User

__all__ = [
    "CARD_FIELDS",
    "PEOPLE_FIELDS",
    "card_as_of",
    "card_history",
    "current_card",
    "edit_card",
]

#: Besides the model's own owner, who may assign a model's owner, developer and validator.

PEOPLE_FIELDS = ("owner", "developer", "validator")

CARD_NOT_MAPPING = (
    "The card file {name} does not hold a mapping of fields; write it as YAML 'field: value' lines."
)
CARD_UNKNOWN = "The card has unknown fields {unknown}; use only: {allowed}."
UNKNOWN_PERSON = "The card names {field} {username!r}, who is not a Gatehouse user; add the user first or correct the name."
PEOPLE_NOT_ALLOWED = "{who} may not assign the {fields} of {model}: that is for the model's owner, a risk manager or an admin."
VALIDATOR_DEVELOPS = "{who} cannot be the validator of {model} while also its developer; name a validator who did not build the model."
VALIDATOR_REGISTERED = "{who} cannot be the validator of {model}: they registered a version of it; name a validator who did not build the model."


def load_card(card: Path | Mapping[str, Any] | None, problems: list[str]) -> dict[str, Any]:
    """The card's known fields from a YAML file or a mapping; problems are appended."""
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
    fields = {str(k): v for k, v in data.items() if str(k) in CARD_FIELDS}
    if isinstance(targets := fields.get(KPI_TARGETS_FIELD), str):
        # The card editor writes KPI targets as YAML text; the card stores them as data.
        try:
            fields[KPI_TARGETS_FIELD] = targets = yaml.safe_load(targets)
        except yaml.YAMLError as err:
            problems.append(f"The card's kpi_targets are not valid YAML ({err}); fix the syntax.")
            return fields
    problems.extend(parse_kpi_targets(targets)[1])
    return fields


def person_ids(session: Session, card: Mapping[str, Any], problems: list[str]) -> dict[str, int]:
    """The user ids the card's owner, developer and validator name; unknown users are problems."""
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


def _username(session: Session, user_id: int | None) -> str | None:
    user = session.get(User, user_id) if user_id is not None else None
    return user.username if user else None


def _may_assign(session: Session, actor: User, model: ModelEntry | None) -> bool:
    if model is None or actor.id == model.owner_id:
        return True
    return not roles_of(session, actor).isdisjoint(PEOPLE_ROLES)


def check_people(
    session: Session,
    actor: Actor,
    model: ModelEntry | None,
    people: Mapping[str, int],
    *,
    fields: Collection[str],
    name: str,
    registering: bool = False,
) -> dict[str, dict[str, str | None]]:
    """Check a change of the model's people; returns each changed person's old and new username.

    ``model`` None is a model being created: its registrant becomes its owner, so may name its
    people. ``fields`` are the card fields the change names; ``registering`` counts the
    acting user among the model's registrants. Raises PermissionDenied or SegregationOfDuties.
    """
    current = {f: getattr(model, f"{f}_id") if model else None for f in PEOPLE_FIELDS}
    after = {f: people.get(f, current[f]) for f in PEOPLE_FIELDS}
    # Naming the person already assigned changes nothing (a pipeline passes the same card each time).
    touched = [f for f in PEOPLE_FIELDS if f in fields and after[f] != current[f]]
    if not touched:
        return {}
    if not isinstance(actor, Operator) and not _may_assign(session, actor, model):
        raise PermissionDenied(
            PEOPLE_NOT_ALLOWED.format(who=actor.username, fields=", ".join(touched), model=name)
        )
    validator = after["validator"]
    if validator is not None and ("validator" in touched or "developer" in touched):
        who = _username(session, validator) or str(validator)
        if validator == after["developer"]:
            raise SegregationOfDuties(VALIDATOR_DEVELOPS.format(who=who, model=name))
        registrants = set()
        if model is not None:
            registrants = set(
                session.exec(
                    select(ModelVersion.registered_by).where(ModelVersion.model_id == model.id)
                ).all()
            )
        if registering and actor is not None:
            registrants.add(actor.id)
        if validator in registrants:
            raise SegregationOfDuties(VALIDATOR_REGISTERED.format(who=who, model=name))
    return {
        f: {"old": _username(session, current[f]), "new": _username(session, after[f])}
        for f in touched
    }


def apply_card(model: ModelEntry, card: Mapping[str, Any], people: Mapping[str, int]) -> None:
    """Copy the card's inventory columns and people onto the model row."""
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


def add_card_revision(
    session: Session,
    model: ModelEntry,
    card: Mapping[str, Any],
    changes: Mapping[str, Any],
    actor: Actor,
) -> ModelCardRevision:
    """Append the next revision of the model's card."""
    last = session.exec(
        select(func.max(ModelCardRevision.revision)).where(ModelCardRevision.model_id == model.id)
    ).one()
    assert model.id is not None
    revision = ModelCardRevision(
        model_id=model.id,
        revision=(last or 0) + 1,
        card_json=json.dumps(dict(card), sort_keys=True, default=str),
        edited_by=actor.id if actor else None,
        changes_json=json.dumps(dict(changes), sort_keys=True, default=str),
    )
    session.add(revision)
    return revision


def record_people_change(
    session: Session, actor: Actor, model: ModelEntry, changes: Mapping[str, Any]
) -> None:
    """The audit event of a change of owner, developer or validator."""
    if changes:
        append_event(
            session=session,
            actor=actor,
            action="model_people_changed",
            subject_type="model",
            subject_id=str(model.id),
            details={"model": model.name, "changes": dict(changes)},
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
    card: dict[str, Any] = json.loads(row) if row else {}
    return card


def card_history(*, session: Session, model_id: int) -> list[CardRevisionEntry]:
    """Every card edit, newest first: revision, who, when, and each field's old and new value."""
    rows = session.exec(
        select(ModelCardRevision, User.username)
        .join(User, col(User.id) == ModelCardRevision.edited_by, isouter=True)
        .where(ModelCardRevision.model_id == model_id)
        .order_by(col(ModelCardRevision.revision).desc())
    ).all()
    return [
        CardRevisionEntry(
            revision=rev.revision,
            edited_at=rev.edited_at,
            edited_by=username or "system",
            changes=json.loads(rev.changes_json),
        )
        for rev, username in rows
    ]


def edit_card(
    *, session: Session, actor: Actor, model_id: int, changes: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Change card fields; records who, when, and each field's old and new value.

    Returns the changes that were real (fields whose value differs). Card text is for the model
    owner, developers and admins; the people fields follow ``check_people``. Flushes; the caller
    commits.
    """
    require_role(session, actor, "edit model cards", *CARD_ROLES, *PEOPLE_ROLES)
    model = get_model(session=session, model_id=model_id)
    problems: list[str] = []
    new_fields = load_card(dict(changes), problems)
    people = person_ids(session, new_fields, problems)
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
    if set(diff) - set(PEOPLE_FIELDS):
        require_role(session, actor, "edit model cards", *CARD_ROLES)
    assigned = check_people(session, actor, model, people, fields=diff, name=model.name)
    merged = {**old, **new_fields}
    apply_card(model, merged, people)
    add_card_revision(session, model, merged, diff, actor)
    record_snapshot(session, model)
    append_event(
        session=session,
        actor=actor,
        action="card_edited",
        subject_type="model",
        subject_id=str(model.id),
        details={"changes": diff},
    )
    record_people_change(session, actor, model, assigned)
    session.flush()
    # An approval that signed one of these fields no longer stands for the card as it is.
    versions = select(ModelVersion.id).where(col(ModelVersion.model_id) == model.id)
    for version_id in session.exec(versions).all():
        refresh_staleness(session, version_id or 0, reason="card edited")
    return diff
