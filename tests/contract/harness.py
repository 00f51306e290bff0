"""What each vendor provides so one contract suite can run against every connector.

A harness renders neutral `TicketSpec`s as that vendor's payloads on respx routes, and builds
the vendor's connector on an httpx client the routes intercept. The suite in
`test_contract.py` drives every harness through the same scenarios.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx
import respx

from connectors.base import ApiConnector


@dataclass(frozen=True)
class NoteSpec:
    """A technician note on a ticket."""

    id: int
    text: str
    created_at: datetime


@dataclass(frozen=True)
class TicketSpec:
    """A vendor-neutral ticket: the harness renders it in its vendor's shape."""

    id: int
    title: str
    updated_at: datetime
    notes: tuple[NoteSpec, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    """Unknown vendor fields to add to the ticket payload (connectors must tolerate them)."""


class Harness(Protocol):
    """One vendor's side of the contract suite."""

    vendor: str

    def connector(
        self,
        router: respx.Router,
        *,
        sleep: Callable[[float], None],
        now: datetime,
        **settings: Any,
    ) -> ApiConnector:
        """The vendor's connector on a client routed through `router`; `now` fixes its clock.

        `settings` override the source settings (e.g. lookback, start_date, backfill_slice).
        Routes needed before any data call (token endpoint, zone or codebase discovery) are
        registered here.
        """
        ...

    def serve_tickets(
        self,
        router: respx.Router,
        tickets: list[TicketSpec],
        *,
        page_size: int,
        before: list[httpx.Response] | None = None,
    ) -> respx.Route:
        """Serve `tickets` from the ticket listing as the vendor pages them (`page_size` each),
        with every ticket's notes from the child endpoints; `before` are responses returned by
        the listing first (a 429, a 503). Returns the listing route, whose calls the suite
        inspects with `since_of`.
        """
        ...

    def since_of(self, request: httpx.Request) -> datetime | None:
        """The lower time bound a ticket-listing request asked for (None if it had none)."""
        ...

    def serve_ids(self, router: respx.Router, ids: list[int]) -> respx.Route:
        """Serve the id listing `reconcile` reads."""
        ...

    def serve_check(self, router: respx.Router, *, status: int = 200) -> respx.Route:
        """Serve the one cheap call `check()` makes, answering `status`."""
        ...

    def note_ids(self, ticket: TicketSpec) -> set[str]:
        """The external note ids the connector must produce for `ticket`'s notes."""
        ...
