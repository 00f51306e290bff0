"""Stored resolutions by row id: one at a time with its source-ticket link, or a filtered page.

This is what the API's resolution routes read. Company scoping is a filter like any other here;
the API passes the company an API key is limited to, so rows of other companies are invisible
(absent, not forbidden).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, func, select

from records import Resolution
from store.search import MAX_QUERY_TERMS, tokenize
from store.tables import LookupRow, ResolutionRow, nul_free

MAX_ROW_ID = 2**31 - 1
"""Row ids are 32-bit integers on PostgreSQL: a larger id cannot exist (and cannot be bound)."""


@dataclass(frozen=True)
class CatalogEntry:
    """One stored resolution with its row id and where it came from."""

    id: int
    resolution: Resolution
    source: str
    external_id: str
    company: str | None
    updated_at: datetime

    @property
    def source_url(self) -> str | None:
        """The link back to the ticket in the PSA, when the source gave one."""
        return self.resolution.ticket.url


@dataclass(frozen=True)
class CatalogPage:
    """One page of entries and how many match in all."""

    items: list[CatalogEntry]
    total: int


@dataclass(frozen=True)
class CatalogFilters:
    """What a listing keeps. `text` keeps rows holding every one of its search tokens."""

    text: str | None = None
    company: str | None = None
    category: str | None = None
    source: str | None = None
    outcome: str | None = None
    usable_only: bool = False
    closed_after: datetime | None = None
    closed_before: datetime | None = None


def get_entry(
    session: Session, *, resolution_id: int, company: str | None = None
) -> CatalogEntry | None:
    """The resolution in row `resolution_id`, or None when absent or of another `company`."""
    if not 0 < resolution_id <= MAX_ROW_ID:
        return None
    stmt = select(ResolutionRow).where(col(ResolutionRow.id) == resolution_id)
    if company is not None:
        stmt = stmt.where(col(ResolutionRow.company) == nul_free(company))
    row = session.exec(stmt).first()
    return None if row is None else _entry(row)


def list_entries(
    session: Session, *, filters: CatalogFilters = CatalogFilters(), limit: int = 20,
    offset: int = 0,
) -> CatalogPage:
    """A page of resolutions matching `filters`, most recently closed first, and the total."""
    scope = _scope(filters)
    if scope is None:
        return CatalogPage(items=[], total=0)
    total = int(session.exec(select(func.count()).select_from(ResolutionRow).where(*scope)).one())
    if limit <= 0 or offset >= total:
        return CatalogPage(items=[], total=total)
    rows = session.exec(
        select(ResolutionRow)
        .where(*scope)
        .order_by(col(ResolutionRow.closed_at).desc().nulls_last(), col(ResolutionRow.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return CatalogPage(items=[_entry(row) for row in rows], total=total)


def lookup_visible(session: Session, *, lookup_id: int, company: str | None = None) -> bool:
    """Whether lookup `lookup_id` exists (and, given `company`, was made for that company)."""
    if not 0 < lookup_id <= MAX_ROW_ID:
        return False
    stmt = select(LookupRow.id).where(col(LookupRow.id) == lookup_id)
    if company is not None:
        stmt = stmt.where(col(LookupRow.company) == nul_free(company))
    return session.exec(stmt).first() is not None


def _scope(filters: CatalogFilters) -> list[ColumnElement[bool]] | None:
    """SQL conditions for `filters`; None when the text holds no searchable token."""
    scope: list[ColumnElement[bool]] = []
    for column, value in ((ResolutionRow.company, filters.company),
                          (ResolutionRow.category, filters.category),
                          (ResolutionRow.source, filters.source),
                          (ResolutionRow.outcome, filters.outcome)):
        if value is not None:
            # Stored values had NUL replaced (PostgreSQL refuses it): compare like with like.
            scope.append(col(column) == nul_free(value))
    if filters.usable_only:
        scope.append(col(ResolutionRow.usable).is_(True))
    if filters.closed_after is not None:
        scope.append(col(ResolutionRow.closed_at) >= filters.closed_after)
    if filters.closed_before is not None:
        scope.append(col(ResolutionRow.closed_at) < filters.closed_before)
    if filters.text is not None and filters.text.strip():
        terms = list(dict.fromkeys(tokenize(filters.text)))[:MAX_QUERY_TERMS]
        if not terms:
            return None
        scope.extend(_has(term) for term in terms)
    return scope


def _has(term: str) -> ColumnElement[bool]:
    """The row's search tokens include `term` (search_text is space-padded)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return col(ResolutionRow.search_text).like(f"% {escaped} %", escape="\\")


def _entry(row: ResolutionRow) -> CatalogEntry:
    assert row.id is not None
    return CatalogEntry(id=row.id, resolution=Resolution.model_validate_json(row.payload),
                        source=row.source, external_id=row.external_id, company=row.company,
                        updated_at=row.updated_at)
