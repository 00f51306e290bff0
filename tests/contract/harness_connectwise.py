"""ConnectWise PSA's side of the contract suite: vendor-shaped payloads on respx routes.

The ticket listing honours `conditions` (parsed by the sandbox's parser), forward-only paging
(`pageId` in a `Link: rel="next"`) and `fields=`. Child routes (allNotes, time entries) are added
when a listing first hands out tickets, so a run whose window holds no tickets leaves no route
uncalled.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import respx

from connectors.connectwise import ConnectWise, ConnectWiseSettings
from connectors.incremental import from_iso
from connectors.sandbox.connectwise_conditions import matches, parse_conditions
from connectors.sandbox.connectwise_fixtures import stamp
from tests.contract.harness import NoteSpec, TicketSpec

SITE = "na.myconnectwise.net"
COMPANY = "northgate"
CLIENT_ID = "0f1e2d3c-4b5a-4697-8877-665544332211"
COMPANY_INFO_URL = f"https://{SITE}/login/companyinfo/{COMPANY}"
API = "https://api-na.myconnectwise.net/v2024_1/apis/3.0/"
COMPANY_INFO = {"CompanyName": "Northgate IT", "Codebase": "v2024_1/", "VersionCode": "v2024.1",
                "CompanyID": COMPANY, "IsCloud": True, "SiteUrl": SITE}
FIELDS = {"id": "id", "lastUpdated": "_info/lastUpdated", "summary": "summary"}
MEMBER = {"id": 155, "identifier": "jkim", "name": "Jae Kim"}
_SINCE = re.compile(r"lastUpdated\s*>=?\s*\[([^\]]+)\]", re.IGNORECASE)


def render_ticket(spec: TicketSpec) -> dict[str, Any]:
    """A TicketSpec as GET /service/tickets returns it."""
    return {
        "id": spec.id, "summary": spec.title, "recordType": "ServiceTicket",
        "board": {"id": 1, "name": "Help Desk"}, "status": {"id": 34, "name": "Completed"},
        "company": {"id": 250, "identifier": "AcmeDental", "name": "Acme Dental LLC"},
        "owner": MEMBER, "closedFlag": False,
        "_info": {"lastUpdated": stamp(spec.updated_at), "updatedBy": "jkim",
                  "dateEntered": stamp(spec.updated_at - timedelta(days=1)),
                  "enteredBy": "jkim"},
        **spec.extra,
    }


def render_note(ticket: TicketSpec, note: NoteSpec) -> dict[str, Any]:
    """A NoteSpec as an element of GET /service/tickets/{id}/allNotes."""
    when = stamp(note.created_at)
    return {"id": note.id, "noteType": "TicketNote", "ticket": {"id": ticket.id},
            "text": note.text, "detailDescriptionFlag": True, "internalAnalysisFlag": False,
            "resolutionFlag": False, "member": MEMBER, "createdBy": "jkim", "dateCreated": when,
            "_info": {"lastUpdated": when, "updatedBy": "jkim"}}


def _copy(response: httpx.Response) -> httpx.Response:
    return httpx.Response(response.status_code, headers=response.headers,
                          content=response.content)


def forward_only_page(request: httpx.Request, rows: list[dict[str, Any]],
                      page_size: int) -> httpx.Response:
    """One forward-only page of `rows` (ascending ids) after the request's `pageId`."""
    params = request.url.params
    if "pageId" in params:
        rows = [row for row in rows if row["id"] > int(params["pageId"])]
    page = rows[:page_size]
    headers = {"Link": ""}
    if len(rows) > page_size:
        url = request.url.copy_remove_param("page").copy_set_param("pageId", page[-1]["id"])
        headers["Link"] = f'<{url}>; rel="next"'
    if params.get("fields") == "id":
        page = [{"id": row["id"]} for row in page]
    return httpx.Response(200, json=page, headers=headers)


class ConnectWiseHarness:
    """Renders TicketSpecs as ConnectWise payloads and builds the ConnectWise connector."""

    vendor = "connectwise"

    def connector(self, router: respx.Router, *, sleep: Callable[[float], None],
                  now: datetime, **settings: Any) -> ConnectWise:
        """The connector on the site's cloud API; the companyinfo route is registered here."""
        router.get(COMPANY_INFO_URL, name="cw-companyinfo").respond(200, json=COMPANY_INFO)
        config: dict[str, Any] = {"name": "cw-contract", "site": SITE, "company_id": COMPANY,
                                  "client_id": CLIENT_ID, "public_key": "test-public",
                                  "private_key": "test-private", **settings}
        return ConnectWise(ConnectWiseSettings.model_validate(config), client=httpx.Client(),
                           sleep=sleep, now=lambda: now)

    def serve_tickets(self, router: respx.Router, tickets: list[TicketSpec], *, page_size: int,
                      before: list[httpx.Response] | None = None) -> respx.Route:
        """The ticket listing (conditions + forward-only pages), then notes and time entries."""
        rows = sorted((render_ticket(t) for t in tickets), key=lambda row: row["id"])
        notes = {t.id: [render_note(t, n) for n in t.notes] for t in tickets}
        queue = [_copy(response) for response in before or []]

        def all_notes(request: httpx.Request) -> httpx.Response:
            ticket_id = int(request.url.path.rsplit("/", 2)[-2])
            return httpx.Response(200, json=notes.get(ticket_id, []))

        def listing(request: httpx.Request) -> httpx.Response:
            if queue:
                return queue.pop(0)
            conditions = request.url.params.get("conditions")
            node = parse_conditions(conditions, FIELDS) if conditions else None
            found = [row for row in rows if node is None or matches(node, row)]
            if found:
                router.get(url__regex=re.escape(API) + r"service/tickets/\d+/allNotes",
                           name="cw-all-notes").mock(side_effect=all_notes)
                router.get(API + "time/entries", name="cw-time-entries").respond(200, json=[])
            return forward_only_page(request, found, page_size)

        return router.get(API + "service/tickets", name="cw-tickets").mock(side_effect=listing)

    def since_of(self, request: httpx.Request) -> datetime | None:
        """The `lastUpdated>=[...]` bound of a ticket-listing request."""
        match = _SINCE.search(request.url.params.get("conditions", ""))
        return from_iso(match.group(1)) if match else None

    def serve_ids(self, router: respx.Router, ids: list[int]) -> respx.Route:
        """`fields=id` listings, five ids per forward-only page."""
        rows = [{"id": i} for i in sorted(ids)]
        return router.get(API + "service/tickets", name="cw-ids").mock(
            side_effect=lambda request: forward_only_page(request, rows, 5))

    def serve_check(self, router: respx.Router, *, status: int = 200) -> respx.Route:
        """GET /system/info, answering `status` (the vendor's error body when not 200)."""
        if status == 200:
            body: dict[str, Any] = {"version": "v2024.1.110422", "isCloud": True}
        else:
            body = {"code": "Unauthorized", "message": "The credentials are not valid"}
        return router.get(API + "system/info", name="cw-check").respond(status, json=body)

    def note_ids(self, ticket: TicketSpec) -> set[str]:
        """TicketNotes keep their ConnectWise id as the note's external id."""
        return {str(note.id) for note in ticket.notes}
