"""Lookup of prior resolutions: the interface the API, MCP server, suggestion job and CLI share.

`SearchIndex` is built from the store and kept current with `refresh()`; `search()` ranks stored
resolutions for a new ticket's text. The ranking behind it lives in `store.search`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from records import Resolution
from store.db import session_scope
from store.search import search_resolutions

WORKED = ("resolved", "workaround")
"""Outcomes of fixes that worked: what a lookup returns unless asked for every outcome."""


@dataclass(frozen=True)
class LookupFilters:
    """What a lookup may return. `company` also scopes an API key limited to one company."""

    company: str | None = None
    category: str | None = None
    product: str | None = None
    source: str | None = None
    outcomes: tuple[str, ...] | None = WORKED
    closed_after: datetime | None = None
    closed_before: datetime | None = None
    usable_only: bool = True


@dataclass(frozen=True)
class Match:
    """One ranked prior resolution."""

    resolution_id: int
    resolution: Resolution
    score: float
    confident: bool
    matched: tuple[str, ...] = ()


class SearchIndex:
    """Ranks stored resolutions for a query. Thread-safe for concurrent `search` calls."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def refresh(self) -> int:
        """Take in resolutions added, changed or removed since the last refresh; the count."""
        return 0

    def rebuild(self) -> int:
        """Rebuild from scratch; returns the number of resolutions indexed."""
        return 0

    def search(
        self,
        query: str,
        *,
        filters: LookupFilters = LookupFilters(),
        limit: int = 10,
        offset: int = 0,
    ) -> list[Match]:
        """The best `limit` matches after `offset`, best first; [] for a blank query."""
        with session_scope(self._engine) as session:
            hits = search_resolutions(
                session,
                query=query,
                limit=limit + offset,
                source=filters.source,
                usable_only=filters.usable_only,
                outcomes=filters.outcomes,
            )
        return [
            Match(resolution_id=0, resolution=hit.resolution, score=hit.score, confident=False)
            for hit in hits[offset:]
        ]
