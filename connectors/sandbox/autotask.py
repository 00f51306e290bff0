"""Autotask PSA REST, emulated in memory from `fixtures/autotask/` and served over HTTP.

Mounted at `/autotask`; every path below is relative to it and, like Autotask's, matched without
regard to case:

    GET  /atservicesrest/v1.0/zoneInformation?user=     zone discovery, no credentials
    GET  /ATServicesRest/V1.0/ThresholdInformation      the tenant's hourly request usage
    POST /ATServicesRest/V1.0/{Entity}/query            body {"filter", "MaxRecords", ...}
    GET  /ATServicesRest/V1.0/{Entity}/query?search=    the same query as a URL parameter
    POST /ATServicesRest/V1.0/{Entity}/query/next?paging=   the same body again (GET -> 405)
    POST /ATServicesRest/V1.0/{Entity}/query/count      {"queryCount": n}
    GET  /ATServicesRest/V1.0/{Entity}/entityInformation/fields
    GET  /ATServicesRest/V1.0/{Entity}/{id}             {"item": {...}}
    GET  /ATServicesRest/V1.0/Tickets/{id}/Notes        one ticket's TicketNotes
    POST /ATServicesRest/V1.0/Tickets/{id}/Notes        create a TicketNote -> {"itemId": n}

Entities: Tickets, TicketNotes, TimeEntries, Companies, Contacts, Resources. Calls other than
the zone lookup need the headers ApiIntegrationCode, UserName and Secret; a missing or wrong one
gets 401 `{"errors": [...]}`. (Reported for live tenants: an unknown user name or integration
code answers 500, a wrong secret 401 — apigrate/autotask-restapi#19; the sandbox answers 401.)
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from connectors.autotask_models import (
    MAX_NOTE_CHARS,
    AtNote,
    AtTicket,
    AtTimeEntry,
    note_external_id,
    resolution_external_id,
    time_entry_external_id,
)
from connectors.sandbox.autotask_fixtures import (
    API_RESOURCE,
    FIELD_FILES,
    FILES,
    at_stamp,
    build_fixtures,
    synthesise,
)
from connectors.sandbox.autotask_query import (
    Query,
    QueryError,
    compile_filters,
    exact_values,
    paging_token,
    parse_instant,
    parse_query,
    project,
    read_paging,
)
from connectors.sandbox.base import utcnow

__all__ = ["AutotaskEmulation", "build_fixtures"]

SANDBOX_USERNAME = "fixedit-api@northgateit.example"
SANDBOX_INTEGRATION_CODE = "SANDBOX-TRACKING-ID-FIXEDIT"
SANDBOX_SECRET = "sandbox-not-a-real-secret"  # noqa: S105  (the sandbox's published fake)
REQUEST_THRESHOLD = 10_000
_CHILD_INDEX = {"TicketNotes": "ticketID", "TimeEntries": "ticketID"}
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _error(status: int, *messages: str) -> JSONResponse:
    return JSONResponse({"errors": list(messages)}, status_code=status)


class AutotaskEmulation:
    """Autotask's REST API over the fixture payloads; state changes are visible at once."""

    vendor: ClassVar[str] = "autotask"
    prefix: ClassVar[str] = "/autotask"

    def __init__(self, fixtures: Path, *, scale: int = 1) -> None:
        folder = fixtures / self.vendor if (fixtures / self.vendor).is_dir() else fixtures
        self._lock = threading.RLock()
        self._tables: dict[str, dict[int, dict]] = {}
        self._order: dict[str, list[int]] = {}
        self._fields: dict[str, dict] = {}
        self._names: dict[str, dict[str, str]] = {}
        self._children: dict[str, dict[int, list[int]]] = {}
        for entity, name in FILES.items():
            items = json.loads((folder / name).read_text(encoding="utf-8"))["items"]
            self._tables[entity] = {item["id"]: item for item in items}
        for entity, name in FIELD_FILES.items():
            self._fields[entity] = json.loads((folder / name).read_text(encoding="utf-8"))
        if scale > 1:
            synthesise(self._tables, scale, children=_CHILD_INDEX,
                       keep=lambda raw: _valid(AtTicket, raw))
        for entity, table in self._tables.items():
            self._order[entity] = sorted(table)
            self._names[entity] = {key.lower(): key for item in table.values() for key in item}
        for entity, parent in _CHILD_INDEX.items():
            index: dict[int, list[int]] = defaultdict(list)
            for item_id in self._order[entity]:
                index[self._tables[entity][item_id][parent]].append(item_id)
            self._children[entity] = index
        self._requests: deque[float] = deque()

    # --- the Emulation protocol ---------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        """One route that dispatches like Autotask does: case-insensitive paths."""
        return [Route("/{path:path}", self._dispatch, methods=_METHODS)]

    def source_config(self, base_url: str) -> dict[str, object]:
        """A `[[sources]]` table syncing every fixture ticket from this emulation."""
        with self._lock:
            stamps = [parse_instant(str(t.get("lastActivityDate")))
                      for t in self._tables["Tickets"].values()]
        first = min((stamp for stamp in stamps if stamp), default=utcnow())
        return {"kind": self.vendor, "username": SANDBOX_USERNAME,
                "zone_lookup_url": f"{base_url.rstrip('/')}{self.prefix}/atservicesrest/",
                "start_date": (first - timedelta(days=1)).date().isoformat(),
                "backfill_slice": "90d"}

    def secrets(self) -> dict[str, str]:
        """The sandbox's fake integration code and secret."""
        return {"integration_code": SANDBOX_INTEGRATION_CODE, "secret": SANDBOX_SECRET}

    def expected(self) -> dict[str, frozenset[str]]:
        """Live, well-formed tickets -> the note ids a connector must store for each."""
        with self._lock:
            tickets = self._tables["Tickets"]
            result: dict[str, frozenset[str]] = {}
            for ticket_id in self._order["Tickets"]:
                raw = tickets.get(ticket_id)
                if raw is None or not _valid(AtTicket, raw):
                    continue
                ids = {note_external_id(note["id"]) for note in self._kids("TicketNotes", ticket_id)
                       if _valid(AtNote, note)}
                ids |= {time_entry_external_id(entry["id"])
                        for entry in self._kids("TimeEntries", ticket_id)
                        if _valid(AtTimeEntry, entry)}
                if (raw.get("resolution") or "").strip():
                    ids.add(resolution_external_id(ticket_id))
                result[str(ticket_id)] = frozenset(ids)
            return result

    def ticket_ids(self) -> list[str]:
        """Ids of every live ticket (well-formed or not), ascending."""
        with self._lock:
            return [str(key) for key in self._order["Tickets"] if key in self._tables["Tickets"]]

    def mutate(self, ticket_id: str) -> None:
        """A technician edits the ticket's description now; Autotask stamps its activity."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            ticket["description"] = f"{ticket.get('description') or ''}\n\n(edited during sync)"
            self._touch(ticket)

    def add_note(self, ticket_id: str, text: str) -> str:
        """A technician adds an internal note now; return its id."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            resource = ticket.get("assignedResourceID") or API_RESOURCE["id"]
            return str(self._insert_note(ticket, {"title": "Internal note", "description": text,
                                                  "noteType": 3, "publish": 2}, resource))

    def delete(self, ticket_id: str) -> None:
        """Delete the ticket and its notes and time entries from every listing."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            del self._tables["Tickets"][ticket["id"]]
            for entity in _CHILD_INDEX:
                for child_id in self._children[entity].pop(ticket["id"], []):
                    self._tables[entity].pop(child_id, None)

    # --- HTTP ---------------------------------------------------------------------------

    async def _dispatch(self, request: Request) -> JSONResponse:
        parts = [part for part in request.path_params["path"].split("/") if part]
        lower = [part.lower() for part in parts]
        if lower == ["atservicesrest", "v1.0", "zoneinformation"] and request.method == "GET":
            return self._zone(request)
        if lower[:2] != ["atservicesrest", "v1.0"] or len(parts) < 3:
            return _error(404, "No HTTP resource was found that matches the request URI.")
        if not self._authorised(request):
            return _error(401, "Authorization has been denied for this request: the "
                               "ApiIntegrationCode, UserName or Secret header is missing or wrong.")
        body = await request.body()
        with self._lock:
            self._count_request()
            try:
                return self._api(request, parts[2:], lower[2:], body)
            except QueryError as exc:
                return _error(exc.status, exc.message)

    def _api(self, request: Request, parts: list[str], lower: list[str],
             body: bytes) -> JSONResponse:
        method = request.method
        if lower == ["thresholdinformation"] and method == "GET":
            return JSONResponse({"externalRequestThreshold": REQUEST_THRESHOLD,
                                 "requestThresholdTimeframe": 60,
                                 "currentTimeframeRequestCount": len(self._requests)})
        entity = next((name for name in self._tables if name.lower() == lower[0]), None)
        if entity is None:
            return _error(404, f"The entity {parts[0]} does not exist.")
        rest = lower[1:]
        if rest[:1] == ["query"] and len(rest) <= 2:
            return self._query(request, entity, rest[1:], body)
        if rest == ["entityinformation", "fields"] and method == "GET":
            return JSONResponse(self._fields.get(entity, {"fields": []}))
        if len(rest) == 1 and rest[0].isdigit() and method == "GET":
            item = self._tables[entity].get(int(rest[0]))
            return JSONResponse({"item": dict(item) if item is not None else None})
        if entity == "Tickets" and len(rest) == 2 and rest[0].isdigit() and rest[1] == "notes":
            if method == "GET":  # the child collection: one ticket's notes
                notes = self._kids("TicketNotes", int(rest[0]))
                return JSONResponse({"items": notes, "pageDetails": {
                    "count": len(notes), "requestCount": len(notes), "prevPageUrl": None,
                    "nextPageUrl": None}})
            if method != "POST":
                return _error(405, f"The requested resource does not support http method "
                                   f"'{method}'.")
            return self._create_note(int(rest[0]), body)
        return _error(404, "No HTTP resource was found that matches the request URI.")

    def _zone(self, request: Request) -> JSONResponse:
        user = request.query_params.get("user", "")
        if user.lower() != SANDBOX_USERNAME:
            return _error(404, f"Zone information could not be determined for user '{user}'.")
        root = self._root(request)
        return JSONResponse({"zoneName": "fixedit sandbox", "url": f"{root}/ATServicesRest/",
                             "webUrl": f"{root}/", "ci": 700001, "dataBaseType": "Sandbox",
                             "ciLevel": 1})

    def _query(self, request: Request, entity: str, tail: list[str], body: bytes) -> JSONResponse:
        method = request.method
        search = request.query_params.get("search")
        if tail == ["count"]:
            query = parse_query(self._body(body) if method == "POST" else _json(search))
            return JSONResponse({"queryCount": len(self._run(entity, query))})
        if tail and tail[0] not in ("next", "previous"):
            return _error(404, "No HTTP resource was found that matches the request URI.")
        if method == "POST":
            query = parse_query(self._body(body))
        elif method == "GET" and search is not None:
            query = parse_query(_json(search))
        else:  # a POSTed query's next page must be POSTed with its body again
            return _error(405, f"The requested resource does not support http method '{method}'.")
        paging = read_paging(request.query_params.get("paging")) if tail else None
        previous, start = paging if paging else ([], None)
        matches = self._run(entity, query, start=start)
        page = matches[: query.max_records]
        api = f"{self._root(request)}/ATServicesRest/V1.0/{entity}/query"
        suffix = f"&search={quote(search)}" if method == "GET" and search is not None else ""
        next_url = prev_url = None
        if len(matches) > len(page):
            token = paging_token(query.max_records, [*previous, page[0]["id"]],
                                 matches[len(page)]["id"])
            next_url = f"{api}/next?paging={quote(token)}{suffix}"
        if previous:
            token = paging_token(query.max_records, previous[:-1], previous[-1])
            prev_url = f"{api}/previous?paging={quote(token)}{suffix}"
        fields = self._names[entity]
        return JSONResponse({
            "items": [project(item, query.include_fields, fields) for item in page],
            "pageDetails": {"count": len(page), "requestCount": query.max_records,
                            "prevPageUrl": prev_url, "nextPageUrl": next_url},
        })

    def _run(self, entity: str, query: Query, *, start: int | None = None) -> list[dict]:
        """Matching items in ascending id order, from id `start` on."""
        table = self._tables[entity]
        predicate = compile_filters(query.filters, self._names[entity], entity)
        candidates: list[int] = self._order[entity]
        pinned = exact_values(query.filters, "id")
        parent = _CHILD_INDEX.get(entity)
        by_parent = exact_values(query.filters, parent) if parent else None
        if pinned is not None:
            candidates = sorted(key for key in pinned if isinstance(key, int))
        elif by_parent is not None and parent:
            candidates = sorted(child for key in by_parent if isinstance(key, int)
                                for child in self._children[entity].get(key, ()))
        return [item for key in candidates
                if (start is None or key >= start) and (item := table.get(key)) is not None
                and predicate(item)]

    def _create_note(self, ticket_id: int, body: bytes) -> JSONResponse:
        ticket = self._tables["Tickets"].get(ticket_id)
        if ticket is None:
            return _error(404, f"Ticket {ticket_id} does not exist.")
        data = self._body(body)
        if not isinstance(data, dict):
            return _error(400, "The request body must be a TicketNote object.")
        missing = [name for name in ("description", "noteType", "publish", "title")
                   if data.get(name) in (None, "")]
        if missing:
            return _error(500, *(f"{name} is required." for name in missing))
        if data.get("ticketID") not in (None, ticket_id):
            return _error(500, "ticketID does not match the parent ticket in the URL.")
        if len(str(data["description"])) > MAX_NOTE_CHARS:
            return _error(500, f"description is longer than {MAX_NOTE_CHARS} characters.")
        for name in ("noteType", "publish"):
            if str(data[name]) not in self._picklist("TicketNotes", name):
                return _error(500, f"{name} {data[name]!r} is not a valid picklist value.")
        note_id = self._insert_note(ticket, data, API_RESOURCE["id"])
        return JSONResponse({"itemId": note_id})

    # --- state --------------------------------------------------------------------------

    def _insert_note(self, ticket: dict, data: dict, resource: int | None) -> int:
        notes = self._tables["TicketNotes"]
        note_id = max(notes, default=5510000) + 1
        stamp = at_stamp(utcnow(), note_id)
        notes[note_id] = {"id": note_id, "ticketID": ticket["id"], "title": data.get("title"),
                          "description": data.get("description"),
                          "noteType": int(data["noteType"]), "publish": int(data["publish"]),
                          "createDateTime": stamp, "lastActivityDate": stamp,
                          "creatorResourceID": resource, "createdByContactID": None,
                          "impersonatorCreatorResourceID": None,
                          "impersonatorUpdaterResourceID": None}
        self._order["TicketNotes"].append(note_id)
        self._children["TicketNotes"][ticket["id"]].append(note_id)
        self._touch(ticket)
        return note_id

    def _touch(self, ticket: dict) -> None:
        stamp = at_stamp(utcnow(), ticket["id"])
        for name in ("lastActivityDate", "lastTrackedModifiedDateTime"):
            ticket[name] = stamp

    def _ticket(self, ticket_id: str) -> dict:
        ticket = self._tables["Tickets"].get(int(ticket_id)) if ticket_id.isdigit() else None
        if ticket is None:
            raise KeyError(f"no live Autotask ticket {ticket_id!r} in the sandbox")
        return ticket

    def _kids(self, entity: str, ticket_id: int) -> list[dict]:
        table = self._tables[entity]
        return [table[key] for key in self._children[entity].get(ticket_id, ()) if key in table]

    def _picklist(self, entity: str, name: str) -> set[str]:
        for entry in self._fields.get(entity, {}).get("fields", []):
            if entry.get("name") == name:
                return {str(value["value"]) for value in entry.get("picklistValues") or ()}
        return set()

    def _count_request(self) -> None:
        now = time.monotonic()
        self._requests.append(now)
        while self._requests and self._requests[0] <= now - 3600:
            self._requests.popleft()

    def _authorised(self, request: Request) -> bool:
        headers = request.headers
        return (headers.get("apiintegrationcode") == SANDBOX_INTEGRATION_CODE
                and headers.get("username", "").lower() == SANDBOX_USERNAME
                and headers.get("secret") == SANDBOX_SECRET)

    @staticmethod
    def _root(request: Request) -> str:
        url = str(request.url)
        at = url.lower().find("/atservicesrest")
        return url[:at] if at >= 0 else url.rstrip("/")

    @staticmethod
    def _body(body: bytes) -> Any:
        if not body:
            return None
        try:
            return json.loads(body)
        except ValueError as exc:
            raise QueryError(400, "The request body is not valid JSON.") from exc


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise QueryError(400, "The search parameter is not valid JSON.") from exc


def _valid(model: type[AtTicket | AtNote | AtTimeEntry], raw: dict) -> bool:
    try:
        model.model_validate(raw)
    except ValidationError:
        return False
    return True


if __name__ == "__main__":
    from connectors.sandbox.base import FIXTURES
    from connectors.sandbox.corpus import load_corpus

    build_fixtures(load_corpus(), FIXTURES / AutotaskEmulation.vendor)
