"""The inventory table: filtered, sorted and paged in the database, now or as of a date."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from core.errors import InputProblems
from core.services.inventory.results import (
    NO_FILTER,
    InventoryFacets,
    InventoryFilter,
    InventoryPage,
    InventoryRow,
)
from core.services.permissions import Role, require_role
from core.tables import STAGES, ModelEntry, ModelSnapshot, ModelVersion, User, utcnow

__all__ = [
    "BAD_PAGE",
    "MAX_SEARCH_CHARS",
    "SEARCH_TOO_LONG",
    "escape_like",
    "inventory_facets",
    "query_inventory",
]

BAD_PAGE = "Page {page} is out of range; there are {pages} pages."
MAX_SEARCH_CHARS = 200
SEARCH_TOO_LONG = (
    "The search text is {n:,} characters long; search with at most {limit} characters."
)
SORTABLE = {
    "name": "name",
    "business_unit": "business_unit",
    "risk_tier": "risk_tier",
    "stage": "current_stage",
    "next_review": "next_review_date",
    "open_findings": "open_findings",
}
LIKE_ESCAPE = "\\"

_MODEL: sa.Table = ModelEntry.__table__  # type: ignore[attr-defined]
_SNAPSHOT: sa.Table = ModelSnapshot.__table__  # type: ignore[attr-defined]
_USER: sa.Table = User.__table__  # type: ignore[attr-defined]
_VERSION: sa.Table = ModelVersion.__table__  # type: ignore[attr-defined]


def escape_like(text: str) -> str:
    """The text with LIKE's wildcards (``%``, ``_``) and the escape character taken literally."""
    return (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )


def _source(as_of: datetime | None) -> Any:
    """The model table now, or each model's snapshot valid at ``as_of``, as one selectable."""
    if as_of is None:
        return _MODEL
    snap = _SNAPSHOT
    return (
        sa.select(
            *[c for c in snap.c if c.name not in ("id", "valid_to")], snap.c.model_id.label("id")
        )
        .where(snap.c.valid_to > as_of, snap.c.valid_from <= as_of)
        .subquery("inventory")
    )


def _conditions(t: Any, owner: Any, filters: InventoryFilter, as_of: datetime | None) -> list[Any]:
    conditions: list[Any] = []
    if text := filters.text.strip():
        if len(text) > MAX_SEARCH_CHARS:
            raise InputProblems([SEARCH_TOO_LONG.format(n=len(text), limit=MAX_SEARCH_CHARS)])
        pattern = f"%{escape_like(text.lower())}%"
        conditions.append(
            sa.or_(
                *(
                    sa.func.lower(t.c[name]).like(pattern, escape=LIKE_ESCAPE)
                    for name in ("name", "purpose", "tags")
                )
            )
        )
    if filters.tiers:
        conditions.append(t.c.risk_tier.in_(list(filters.tiers)))
    if filters.stages:
        conditions.append(t.c.current_stage.in_(list(filters.stages)))
    if filters.business_units:
        conditions.append(t.c.business_unit.in_(list(filters.business_units)))
    if filters.owners:
        conditions.append(owner.c.username.in_(list(filters.owners)))
    if filters.overdue:
        conditions.append(t.c.next_review_date < (as_of or utcnow()))
    return conditions


def _inventory_row(r: Any) -> InventoryRow:
    return InventoryRow(
        id=r.id,
        name=r.name,
        purpose=r.purpose,
        owner=r.owner or "",
        business_unit=r.business_unit,
        risk_tier=r.risk_tier or "not assessed",
        stage=r.current_stage,
        version=r.version,
        next_review=r.next_review_date,
        open_findings=r.open_findings,
        gate_status=r.gate_status,
        tags=r.tags,
    )


def query_inventory(
    *,
    session: Session,
    actor: User,
    filters: InventoryFilter = NO_FILTER,
    sort: str = "name",
    descending: bool = False,
    page: int = 1,
    page_size: int = 50,
    as_of: datetime | None = None,
) -> InventoryPage:
    """One page of the inventory, filtered and sorted in the database (never every row in memory).

    With ``as_of``, the inventory as it stood then, from the append-only snapshots. Search text
    matches literally (``%`` and ``_`` are not wildcards) and is at most ``MAX_SEARCH_CHARS`` long.
    """
    require_role(session, actor, "read the inventory", *[r.value for r in Role])
    t = _source(as_of)
    owner = _USER.alias("owner")
    conditions = _conditions(t, owner, filters, as_of)
    base = sa.select(t).join(owner, owner.c.id == t.c.owner_id, isouter=True).where(*conditions)
    total = int(
        session.execute(sa.select(sa.func.count()).select_from(base.subquery())).scalar_one()
    )
    pages = max(1, -(-total // page_size))
    if page < 1 or page > pages:
        raise InputProblems([BAD_PAGE.format(page=page, pages=pages)])
    column = t.c[SORTABLE.get(sort, "name")]
    order = column.desc() if descending else column.asc()
    current_version = _VERSION.alias("current_version")
    rows = session.execute(
        sa.select(
            t.c.id,
            t.c.name,
            t.c.purpose,
            owner.c.display_name.label("owner"),
            t.c.business_unit,
            t.c.risk_tier,
            t.c.current_stage,
            current_version.c.version.label("version"),
            t.c.next_review_date,
            t.c.open_findings,
            t.c.gate_status,
            t.c.tags,
        )
        .join(owner, owner.c.id == t.c.owner_id, isouter=True)
        .join(current_version, current_version.c.id == t.c.current_version_id, isouter=True)
        .where(*conditions)
        .order_by(order, t.c.name.asc(), t.c.id.asc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return InventoryPage(
        rows=[_inventory_row(r) for r in rows],
        total=total,
        page=page,
        page_size=page_size,
        as_of=as_of,
    )


def inventory_facets(*, session: Session) -> InventoryFacets:
    """The values the inventory filters offer (distinct, sorted)."""

    def distinct(column: Any) -> tuple[str, ...]:
        values = session.execute(sa.select(column).distinct()).scalars()
        return tuple(sorted(str(v) for v in values if v))

    owners = session.execute(
        sa.select(_USER.c.username).join(_MODEL, _MODEL.c.owner_id == _USER.c.id).distinct()
    ).scalars()
    return InventoryFacets(
        tiers=distinct(_MODEL.c.risk_tier),
        stages=tuple(STAGES),
        business_units=distinct(_MODEL.c.business_unit),
        owners=tuple(sorted(owners)),
    )
