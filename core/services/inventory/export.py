"""The inventory out of Gatehouse: CSV for model risk reporting, and one model whole as JSON."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sqlmodel import Session

from core.services.inventory.card import current_card
from core.services.inventory.listing import query_inventory
from core.services.inventory.results import NO_FILTER, InventoryFilter
from core.services.inventory.versions import (
    list_versions,
    resolve_model_or_version,
    version_summary,
)
from core.tables import User

__all__ = ["CSV_COLUMNS", "describe", "export_inventory_csv"]

CSV_COLUMNS = ("name", "purpose", "owner", "business_unit", "risk_tier", "stage", "version",
               "next_review", "open_findings", "gate_status", "tags")  # fmt: skip
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
    filters: InventoryFilter = NO_FILTER,
    as_of: datetime | None = None,
    excel: bool = False,
) -> bytes:
    """The whole filtered inventory as CSV, page by page; ``excel`` adds a BOM and CRLF lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n" if excel else "\n")
    writer.writerow(CSV_COLUMNS)
    page = 1
    while True:
        result = query_inventory(
            session=session, actor=actor, filters=filters, page=page, page_size=500, as_of=as_of
        )
        for row in result.rows:
            values = row.to_dict()
            writer.writerow([_cell(values[h]) for h in CSV_COLUMNS])
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
        "versions": [version_summary(session=session, version=v).to_dict() for v in versions],
    }
