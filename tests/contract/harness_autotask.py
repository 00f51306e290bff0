"""Autotask's side of the contract suite: TicketSpecs served as Autotask REST payloads on respx.

The ticket listing honours the query like Autotask does (the sandbox's filter evaluator reads the
POSTed `filter`), pages `page_size` tickets at a time through `pageDetails.nextPageUrl`, and the
child and lookup endpoints (TicketNotes, TimeEntries, Resources, Companies, Contacts, ticket
picklists) are registered the first time a non-empty page is served, so `assert_all_called`
only asks for what the connector had reason to call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import respx
from pydantic import SecretStr

from connectors.autotask import Autotask, AutotaskSettings
from connectors.sandbox.autotask_fixtures import at_stamp
from connectors.sandbox.autotask_query import compile_filters, paging_token, read_paging
from tests.contract.harness import TicketSpec

ZONE_LOOKUP = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
ZONE = {"url": "https://webservices15.autotask.net/ATServicesRest/",
        "webUrl": "https://ww15.autotask.net/", "zoneName": "America East 3", "ci": 700001}
API = "https://webservices15.autotask.net/ATServicesRest/V1.0/"
USERNAME = "fixedit-api@northgateit.example"
INTEGRATION_CODE = "TRACKING-ID-FOR-TESTS"
SECRET = "not-a-real-secret"

TECH = {"id": 29682885, "firstName": "Priya", "lastName": "Nair"}
COMPANY = {"id": 174, "companyName": "Ledgerline CPAs"}
CONTACT = {"id": 30684600, "firstName": "Anita", "lastName": "Shah"}
PICKLISTS = {"fields": [
    {"name": "status", "isPickList": True, "picklistValues": [
        {"value": "1", "label": "New", "isActive": True},
        {"value": "5", "label": "Complete", "isActive": True},
        {"value": "8", "label": "In Progress", "isActive": True}]},
    {"name": "priority", "isPickList": True, "picklistValues": [
        {"value": "1", "label": "High", "isActive": True},
        {"value": "2", "label": "Medium", "isActive": True}]},
    {"name": "queueID", "isPickList": True, "picklistValues": [
        {"value": "29682833", "label": "Service Desk", "isActive": True}]},
    {"name": "title", "isPickList": False, "picklistValues": None},
]}
_TICKET_FIELDS = {name.lower(): name for name in (
    "id", "ticketNumber", "title", "description", "status", "priority", "queueID", "companyID",
    "contactID", "assignedResourceID", "createDate", "lastActivityDate", "completedDate")}


def render_ticket(spec: TicketSpec) -> dict[str, Any]:
    """A TicketSpec as a `Tickets/query` item."""
    created = spec.updated_at - timedelta(hours=1)
    return {
        "id": spec.id, "ticketNumber": f"T{created:%Y%m%d}.{spec.id % 10_000:04d}",
        "title": spec.title, "description": f"{spec.title}: reported by phone",
        "resolution": None, "status": 8, "priority": 2, "queueID": 29682833,
        "companyID": COMPANY["id"], "contactID": CONTACT["id"],
        "assignedResourceID": TECH["id"], "completedByResourceID": None, "issueType": None,
        "createDate": at_stamp(created), "lastActivityDate": _stamp(spec.updated_at),
        "completedDate": None,
        "userDefinedFields": [{"name": "Root Cause", "value": None}],
        **spec.extra,
    }


def render_notes(spec: TicketSpec) -> list[dict[str, Any]]:
    """A TicketSpec's notes as `TicketNotes/query` items (internal technician notes)."""
    return [{"id": note.id, "ticketID": spec.id, "title": "Internal note",
             "description": note.text, "noteType": 3, "publish": 2,
             "createDateTime": _stamp(note.created_at), "lastActivityDate": _stamp(note.created_at),
             "creatorResourceID": TECH["id"], "createdByContactID": None}
            for note in spec.notes]


def _stamp(moment: datetime) -> str:
    """Autotask's form, keeping the instant exactly (milliseconds)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _body(request: httpx.Request) -> dict[str, Any]:
    data = json.loads(request.content or b"{}")
    return data if isinstance(data, dict) else {}


def _page(request: httpx.Request, items: list[dict], page_size: int, path: str) -> httpx.Response:
    """One page of `items` (already filtered, ascending ids) starting where `paging` says."""
    paging = read_paging(request.url.params.get("paging"))
    previous, start = paging if paging else ([], None)
    rest = [item for item in items if start is None or item["id"] >= start]
    page = rest[:page_size]
    next_url = None
    if len(rest) > len(page):
        token = paging_token(page_size, [*previous, page[0]["id"]], rest[len(page)]["id"])
        next_url = f"{API}{path}/query/next?paging={quote(token)}"
    return httpx.Response(200, json={"items": page, "pageDetails": {
        "count": len(page), "requestCount": page_size, "prevPageUrl": None,
        "nextPageUrl": next_url}})


def _is_id_listing(body: dict[str, Any]) -> bool:
    return [name.lower() for name in body.get("IncludeFields") or []] == ["id"]


class AutotaskHarness:
    """Renders the contract suite's tickets as Autotask serves them."""

    vendor = "autotask"

    def connector(self, router: respx.Router, *, sleep: Callable[[float], None], now: datetime,
                  **settings: Any) -> Autotask:
        """An Autotask connector on a client routed through `router`; zone discovery served."""
        router.get(ZONE_LOOKUP, params={"user": USERNAME}).respond(200, json=ZONE)
        options: dict[str, Any] = {"name": "autotask-contract", "username": USERNAME,
                                   "integration_code": SecretStr(INTEGRATION_CODE),
                                   "secret": SecretStr(SECRET), **settings}
        client = httpx.Client(transport=httpx.MockTransport(router.handler))
        return Autotask(AutotaskSettings.model_validate(options), client=client, sleep=sleep,
                        now=lambda: now)

    def serve_tickets(self, router: respx.Router, tickets: list[TicketSpec], *, page_size: int,
                      before: list[httpx.Response] | None = None) -> respx.Route:
        """`Tickets/query` (and its next pages) honouring the POSTed filter, `page_size` a page."""
        rendered = sorted((render_ticket(spec) for spec in tickets), key=lambda t: t["id"])
        notes = {spec.id: render_notes(spec) for spec in tickets}
        pending = list(before or [])

        def listing(request: httpx.Request) -> httpx.Response | None:
            body = _body(request)
            if _is_id_listing(body):
                return None  # reconcile's id listing: serve_ids answers it
            if pending:
                return pending.pop(0)
            predicate = compile_filters(body.get("filter") or [], _TICKET_FIELDS, "Tickets")
            matches = [ticket for ticket in rendered if predicate(ticket)]
            response = _page(request, matches, page_size, "Tickets")
            if response.json()["items"]:
                self._serve_children(router, notes)
            return response

        pattern = rf"^{API.replace('.', '[.]')}Tickets/query(/next)?([?].*)?$"
        return router.post(url__regex=pattern).mock(side_effect=listing)

    def since_of(self, request: httpx.Request) -> datetime | None:
        """The `lastActivityDate gte` (or `gt`) bound of a Tickets/query body."""
        for item in _body(request).get("filter") or []:
            if (isinstance(item, dict) and item.get("field") == "lastActivityDate"
                    and item.get("op") in ("gte", "gt")):
                return datetime.fromisoformat(str(item["value"]).replace("Z", "+00:00"))
        return None

    def serve_ids(self, router: respx.Router, ids: list[int]) -> respx.Route:
        """The `IncludeFields: ["id"]` listing, honouring `id gt` and MaxRecords."""
        items = [{"id": ticket_id} for ticket_id in sorted(ids)]

        def id_listing(request: httpx.Request) -> httpx.Response | None:
            body = _body(request)
            if not _is_id_listing(body):
                return None
            predicate = compile_filters(body.get("filter") or [], {"id": "id"}, "Tickets")
            size = int(body.get("MaxRecords") or 500)
            return _page(request, [item for item in items if predicate(item)], size, "Tickets")

        return router.post(API + "Tickets/query").mock(side_effect=id_listing)

    def serve_check(self, router: respx.Router, *, status: int = 200) -> respx.Route:
        """`GET ThresholdInformation`, the call `check()` makes."""
        if status == 200:
            body: dict[str, Any] = {"externalRequestThreshold": 10_000,
                                    "requestThresholdTimeframe": 60,
                                    "currentTimeframeRequestCount": 42}
        else:
            body = {"errors": ["Authorization has been denied for this request."]}
        return router.get(API + "ThresholdInformation").respond(status, json=body)

    def note_ids(self, ticket: TicketSpec) -> set[str]:
        """TicketNotes keep their Autotask ids."""
        return {str(note.id) for note in ticket.notes}

    def _serve_children(self, router: respx.Router, notes: dict[int, list[dict]]) -> None:
        """Child and lookup endpoints (re-registering the same pattern updates the route)."""

        def ticket_notes(request: httpx.Request) -> httpx.Response:
            wanted = _in_values(_body(request), "ticketID")
            items = [note for ticket_id in sorted(wanted) for note in notes.get(ticket_id, [])]
            return _page(request, items, 500, "TicketNotes")

        def lookup(records: list[dict]) -> Callable[[httpx.Request], httpx.Response]:
            def answer(request: httpx.Request) -> httpx.Response:
                wanted = _in_values(_body(request), "id")
                return _page(request, [r for r in records if r["id"] in wanted], 500, "lookup")
            return answer

        router.post(API + "TicketNotes/query").mock(side_effect=ticket_notes)
        router.post(API + "TimeEntries/query").respond(200, json={
            "items": [], "pageDetails": {"count": 0, "requestCount": 500, "prevPageUrl": None,
                                         "nextPageUrl": None}})
        router.get(API + "Tickets/entityInformation/fields").respond(200, json=PICKLISTS)
        router.post(API + "Resources/query").mock(side_effect=lookup([TECH]))
        router.post(API + "Companies/query").mock(side_effect=lookup([COMPANY]))
        router.post(API + "Contacts/query").mock(side_effect=lookup([CONTACT]))


def _in_values(body: dict[str, Any], field: str) -> set[int]:
    for item in body.get("filter") or []:
        if isinstance(item, dict) and item.get("field") == field and item.get("op") == "in":
            return {int(value) for value in item.get("value") or []}
    return set()
