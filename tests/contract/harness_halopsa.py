"""HaloPSA's side of the contract suite: TicketSpecs served as Halo tickets and actions.

Routes (all on https://acme.halopsa.com):

    POST /auth/token                                  a fresh token per call ("tok-1", "tok-2")
    GET  /api/Tickets?...lastupdatefromdate=...       the window listing (`serve_tickets`)
    GET  /api/Actions?ticket_id=N&excludesys=true     each ticket's notes as private-note actions
                                                      (routed once the listing names a ticket)
    GET  /api/Tickets?...ticketidonly=true            the id listing (`serve_ids`)
    GET  /api/Tickets?...ticketidonly=true&page_size=1...  the cheap check (`serve_check`)

The listing pages with the `page_size` given to `serve_tickets`, whatever page size the request
asks for, the way a Halo tenant caps it; `record_count` tells the connector when it is done.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import respx

from connectors.halopsa import HaloPsa, HaloPsaSettings
from tests.contract.harness import TicketSpec

BASE = "https://acme.halopsa.com"
TOKEN_URL = f"{BASE}/auth/token"
TICKETS_URL = f"{BASE}/api/Tickets"
ACTIONS_URL = f"{BASE}/api/Actions"
_LISTING = re.compile(rf"^{re.escape(TICKETS_URL)}\?(?=(?:.*&)?lastupdatefromdate=)")
_IDS = re.compile(rf"^{re.escape(TICKETS_URL)}\?(?=(?:.*&)?ticketidonly=true)")
_CHECK = re.compile(rf"^{re.escape(TICKETS_URL)}\?(?=(?:.*&)?ticketidonly=true)"
                    r"(?=(?:.*&)?page_size=1(?:&|$))")


def halo_stamp(moment: datetime) -> str:
    """A UTC timestamp the way Halo writes it (no Z, milliseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _halo_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _bearer_missing(request: httpx.Request) -> bool:
    return not request.headers.get("Authorization", "").startswith("Bearer tok-")


class HaloPsaHarness:
    """Renders TicketSpecs as HaloPSA payloads on respx routes; builds HaloPsa on them."""

    vendor = "halopsa"

    def __init__(self) -> None:
        self.tokens_issued = 0

    def connector(
        self,
        router: respx.Router,
        *,
        sleep: Callable[[float], None],
        now: datetime,
        **settings: Any,
    ) -> HaloPsa:
        """HaloPsa on a client whose requests `router` answers; registers the token endpoint."""
        router.post(TOKEN_URL).mock(side_effect=self._token)
        values: dict[str, Any] = {"name": "halo-contract", "base_url": BASE,
                                  "client_id": "contract-client",
                                  "client_secret": "contract-secret", **settings}
        client = httpx.Client(transport=httpx.MockTransport(router.handler))
        return HaloPsa(HaloPsaSettings.model_validate(values), client=client, sleep=sleep,
                       now=lambda: now)

    def serve_tickets(
        self,
        router: respx.Router,
        tickets: list[TicketSpec],
        *,
        page_size: int,
        before: list[httpx.Response] | None = None,
    ) -> respx.Route:
        """The window listing (filtered, ordered by id, `page_size` per page) and the actions."""
        queued = list(before or [])
        by_id = {spec.id: spec for spec in tickets}

        def listing(request: httpx.Request) -> httpx.Response:
            if queued:
                return queued.pop(0)
            if _bearer_missing(request):
                return httpx.Response(401, headers={"WWW-Authenticate": "Bearer"})
            params = request.url.params
            since = _halo_time(params["lastupdatefromdate"])
            until = _halo_time(params["lastupdatetodate"])
            chosen = sorted((s for s in tickets if since <= s.updated_at < until),
                            key=lambda s: s.id)
            page_no = int(params.get("page_no", "1"))
            page = chosen[(page_no - 1) * page_size: page_no * page_size]
            if page:  # registered once a ticket is listed, so assert_all_called stays fair
                router.get(ACTIONS_URL).mock(side_effect=actions)
            return httpx.Response(200, json={
                "page_no": page_no, "page_size": page_size, "record_count": len(chosen),
                "tickets": [self._ticket(spec) for spec in page]})

        def actions(request: httpx.Request) -> httpx.Response:
            if _bearer_missing(request):
                return httpx.Response(401, headers={"WWW-Authenticate": "Bearer"})
            ticket_id = int(request.url.params["ticket_id"])
            spec = by_id.get(ticket_id)
            rows = [self._action(spec, n) for n in spec.notes] if spec else []
            return httpx.Response(200, json={"ticket_id": ticket_id, "record_count": len(rows),
                                             "actions": rows})

        return router.get(url__regex=_LISTING).mock(side_effect=listing)

    def since_of(self, request: httpx.Request) -> datetime | None:
        """The `lastupdatefromdate` of a listing request, as an aware UTC datetime."""
        value = request.url.params.get("lastupdatefromdate")
        return _halo_time(value) if value else None

    def serve_ids(self, router: respx.Router, ids: list[int]) -> respx.Route:
        """The `ticketidonly=true` listing, paged as the request asks."""
        ordered = sorted(ids)

        def listing(request: httpx.Request) -> httpx.Response:
            params = request.url.params
            size, page_no = int(params["page_size"]), int(params["page_no"])
            page = ordered[(page_no - 1) * size: page_no * size]
            return httpx.Response(200, json={
                "page_no": page_no, "page_size": size, "record_count": len(ordered),
                "tickets": [{"id": i, "sla_id": 1, "status_id": 2, "client_id": 12,
                             "client_name": "Northwind Accounting"} for i in page]})

        return router.get(url__regex=_IDS).mock(side_effect=listing)

    def serve_check(self, router: respx.Router, *, status: int = 200) -> respx.Route:
        """`check()`'s one-row id listing, answering `status`."""
        body: Any = ({"page_no": 1, "page_size": 1, "record_count": 1, "tickets": [{"id": 1}]}
                     if status == 200 else None)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return router.get(url__regex=_CHECK).mock(
            return_value=httpx.Response(status, json=body, headers=headers))

    def note_ids(self, ticket: TicketSpec) -> set[str]:
        """Halo action ids are per ticket: notes are keyed "<ticket id>-<action id>"."""
        return {f"{ticket.id}-{note.id}" for note in ticket.notes}

    def _token(self, request: httpx.Request) -> httpx.Response:
        self.tokens_issued += 1
        return httpx.Response(200, json={"token_type": "Bearer", "expires_in": 3600,
                                         "access_token": f"tok-{self.tokens_issued}"})

    @staticmethod
    def _ticket(spec: TicketSpec) -> dict[str, Any]:
        opened = min([spec.updated_at, *(note.created_at for note in spec.notes)])
        return {
            "id": spec.id, "summary": spec.title, "details": f"<p>{spec.title}</p>",
            "client_id": 12, "client_name": "Northwind Accounting", "user_id": 301,
            "user_name": "Sam Lee", "agent_id": 4, "agent_name": "Chris Agent",
            "team": "1st Line", "status_id": 2, "priority_id": 3,
            "dateoccurred": halo_stamp(opened), "last_update": halo_stamp(spec.updated_at),
            "lastactiondate": halo_stamp(spec.updated_at), "datecleared": "1900-01-01T00:00:00",
            "customfields": [], **spec.extra,
        }

    @staticmethod
    def _action(spec: TicketSpec, note: Any) -> dict[str, Any]:
        return {
            "id": note.id, "ticket_id": spec.id, "outcome": "Private Note", "outcome_id": 7,
            "who": "Chris Agent", "who_agentid": 4, "action_systemid": 0,
            "datetime": halo_stamp(note.created_at),
            "actiondatecreated": halo_stamp(note.created_at), "note": note.text,
            "note_html": f"<p>{note.text}</p>", "hiddenfromuser": True, "timetaken": 0.0,
            "old_status": 2, "new_status": 2,
        }
