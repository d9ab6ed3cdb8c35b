"""What the inventory services return: frozen, typed results that pages, the CLI and tests read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "NO_FILTER",
    "ActivityEntry",
    "CardRevisionEntry",
    "DatasetSummary",
    "InventoryFacets",
    "InventoryFilter",
    "InventoryPage",
    "InventoryRow",
    "ModelOverview",
    "RegistrationResult",
    "StageEntry",
    "VersionSummary",
]


@dataclass(frozen=True)
class RegistrationResult:
    """What registration returns: ids, version number, hash, and whether it was new."""

    model_id: int
    version_id: int
    version: int
    artifact_sha256: str
    created: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InventoryFilter:
    """Filters of the inventory table; empty means no filter."""

    text: str = ""
    tiers: Sequence[str] = ()
    stages: Sequence[str] = ()
    owners: Sequence[str] = ()
    business_units: Sequence[str] = ()
    overdue: bool = False


#: No filter at all: every model.
NO_FILTER = InventoryFilter()


@dataclass(frozen=True)
class InventoryRow:
    """One model as the inventory table shows it (now, or as it stood at a date)."""

    id: int
    name: str
    purpose: str
    owner: str
    business_unit: str
    risk_tier: str
    stage: str
    version: int | None
    next_review: datetime | None
    open_findings: int
    gate_status: str
    tags: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InventoryPage:
    """One page of the inventory and the total that matched."""

    rows: list[InventoryRow]
    total: int
    page: int
    page_size: int
    as_of: datetime | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class InventoryFacets:
    """The values the inventory filters offer (distinct, sorted)."""

    tiers: tuple[str, ...]
    stages: tuple[str, ...]
    business_units: tuple[str, ...]
    owners: tuple[str, ...]


@dataclass(frozen=True)
class ModelOverview:
    """A model's current inventory columns and its people, for a page header."""

    id: int
    name: str
    purpose: str
    business_unit: str
    risk_tier: str | None
    stage: str
    current_version_id: int | None
    production_version_id: int | None
    open_findings: int
    gate_status: str
    owner: str | None
    developer: str | None
    validator: str | None
    owner_id: int | None = None


@dataclass(frozen=True)
class DatasetSummary:
    """A stored dataset: identity, size and schema."""

    id: int
    name: str
    sha256: str
    rows: int
    columns: int
    format: str
    schema: tuple[Mapping[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "schema": [dict(c) for c in self.schema]}


@dataclass(frozen=True)
class VersionSummary:
    """A version's metadata with its datasets, for display, comparison and JSON output."""

    version_id: int
    version: int
    stage: str
    artifact_sha256: str
    framework: str
    estimator_class: str
    task: str
    target: str
    positive_label: str | None
    features: tuple[str, ...]
    sensitive: tuple[str, ...]
    environment: Mapping[str, str]
    parent_version_id: int | None
    registered_by: str
    registered_at: datetime
    train_dataset: DatasetSummary | None
    eval_dataset: DatasetSummary | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (lists, dicts), in the shape `gatehouse model show` prints."""
        out = {k: v for k, v in self.__dict__.items() if not k.endswith("_dataset")}
        out["features"] = list(self.features)
        out["sensitive"] = list(self.sensitive)
        out["environment"] = dict(self.environment)
        for role in ("train_dataset", "eval_dataset"):
            data: DatasetSummary | None = getattr(self, role)
            out[role] = data.to_dict() if data else None
        return out


@dataclass(frozen=True)
class CardRevisionEntry:
    """One card edit: revision, who, when, and each field's old and new value."""

    revision: int
    edited_at: datetime
    edited_by: str
    changes: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class StageEntry:
    """A version entered a stage."""

    version: int
    stage: str
    changed_at: datetime
    changed_by: str
    reason: str


@dataclass(frozen=True)
class ActivityEntry:
    """One audit event about a model or its versions."""

    when: datetime
    who: str
    action: str
    details: Mapping[str, Any]
