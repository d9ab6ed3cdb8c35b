"""The model inventory: registration, model cards, versions and stages, the inventory now or
"as of" a date, its export, and each model's history.

Every change writes an append-only row (card revision, stage change, model snapshot) and an audit
event in the caller's transaction, so the past is read back, never reconstructed. Services flush;
the edge (CLI command, page action) commits.
"""

from __future__ import annotations

from core.services.inventory.card import (
    CARD_FIELDS,
    PEOPLE_FIELDS,
    card_as_of,
    card_history,
    current_card,
    edit_card,
)
from core.services.inventory.export import describe, export_inventory_csv
from core.services.inventory.history import model_activity
from core.services.inventory.listing import inventory_facets, query_inventory
from core.services.inventory.registration import register_version
from core.services.inventory.results import (
    ActivityEntry,
    CardRevisionEntry,
    DatasetSummary,
    InventoryFacets,
    InventoryFilter,
    InventoryPage,
    InventoryRow,
    ModelOverview,
    RegistrationResult,
    StageEntry,
    VersionSummary,
)
from core.services.inventory.versions import (
    dataset_provenance,
    get_model,
    get_version,
    list_versions,
    model_choices,
    model_overview,
    promote_version,
    resolve_model_or_version,
    stage_history,
    version_summaries,
    version_summary,
    versions_as_of,
)

__all__ = [
    "CARD_FIELDS",
    "PEOPLE_FIELDS",
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
    "card_as_of",
    "card_history",
    "current_card",
    "dataset_provenance",
    "describe",
    "edit_card",
    "export_inventory_csv",
    "get_model",
    "get_version",
    "inventory_facets",
    "list_versions",
    "model_activity",
    "model_choices",
    "model_overview",
    "promote_version",
    "query_inventory",
    "register_version",
    "resolve_model_or_version",
    "stage_history",
    "version_summaries",
    "version_summary",
    "versions_as_of",
]
