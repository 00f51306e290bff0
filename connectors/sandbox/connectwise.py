"""ConnectWise PSA (Manage) REST API v3, emulated from fixtures/connectwise/ for the sandbox.

Served under `/connectwise`, as the vendor serves it:

    GET  /login/companyinfo/{companyId}                     unauthenticated: the codebase
    GET  /{codebase}/apis/3.0/system/info                   the cheap call `check()` makes
    GET  /{codebase}/apis/3.0/service/tickets               conditions, orderBy, fields, paging
    GET  /{codebase}/apis/3.0/service/tickets/{id}
    GET  /{codebase}/apis/3.0/service/tickets/{id}/allNotes
    GET  /{codebase}/apis/3.0/service/tickets/{id}/notes    TicketNotes only (ServiceNote shape)
    POST /{codebase}/apis/3.0/service/tickets/{id}/notes    write-back
    GET  /{codebase}/apis/3.0/time/entries                  conditions, orderBy, paging

Every API call needs Basic `companyId+publicKey:privateKey` and the `clientId` header (401 and
the vendor's error body otherwise); a stale codebase answers 404, as after a hosted upgrade.
Listings page with `page`/`pageSize` (at most 1000) and a navigable `Link` header; tickets and
time entries also page forward-only (`pagination-type: forward-only`, `pageId` in the next link).
`conditions` are parsed for real (connectwise_conditions.py); what is not understood is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
from bisect import bisect_right
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from connectors.sandbox.base import FIXTURES, utcnow
from connectors.sandbox.connectwise_conditions import Node, id_candidates, lower_bound
from connectors.sandbox.connectwise_fixtures import (
    CODEBASE,
    COMPANY_ID,
    build_fixtures,
    shift_payload,
    stamp,
)
from connectors.sandbox.connectwise_http import (
    ENTRY_FIELDS,
    NOTE_FIELDS,
    TICKET_FIELDS,
    bad_request,
    error,
    listing,
    project,
    service_note,
)

__all__ = ["ConnectWiseEmulation", "build_fixtures"]

CLIENT_ID = "0f1e2d3c-4b5a-4697-8877-665544332211"
"""The sandbox integration's clientId (a made-up GUID)."""
PUBLIC_KEY = "sandbox-public-key"
PRIVATE_KEY = "sandbox-private-key"
CLONE_STRIDE = 1_000_000
"""Synthetic copy k of a record gets id + k * CLONE_STRIDE (every id space stays unique)."""
CLONE_SHIFT = timedelta(days=3)
"""Synthetic copy k of a record is stamped k * CLONE_SHIFT earlier."""
API_MEMBER = {"id": 178, "identifier": "fixedit-api", "name": "fixedit API"}


class ConnectWiseEmulation:
    """ConnectWise PSA, in memory, from the fixture payloads (and synthetic copies).

    With `scale` = k, the well-formed fixture tickets (with their notes and time entries) are
    copied k - 1 times, copy j with ids + j * CLONE_STRIDE and stamps j * CLONE_SHIFT earlier.
    """

    vendor: ClassVar[str] = "connectwise"
    prefix: ClassVar[str] = "/connectwise"

    def __init__(self, fixtures: Path = FIXTURES, *, scale: int = 1) -> None:
        folder = fixtures / "connectwise" if (fixtures / "connectwise").is_dir() else fixtures
        self.company_id = COMPANY_ID
        self.codebase = CODEBASE
        self.company_info = _load(folder / "company_info.json")
        manifest = _load(folder / "manifest.json")
        self._lock = threading.RLock()
        self._tickets: dict[int, dict[str, Any]] = {}
        self._notes: dict[int, list[dict[str, Any]]] = {}
        self._entries: dict[int, dict[str, Any]] = {}
        self._entries_of: dict[int, list[int]] = {}
        self._malformed = {int(i) for i in manifest.get("malformed_tickets", {})}
        self._edits: dict[int, int] = {}
        self.posted: list[dict[str, Any]] = []
        """Notes created through POST .../notes (write-back), in order."""
        tickets, notes = _load(folder / "tickets.json"), _load(folder / "all_notes.json")
        entries = _load(folder / "time_entries.json")
        for k in range(max(scale, 1)):
            self._add(tickets, notes, entries, k)
        self._order = sorted(self._tickets)
        self._entry_order = sorted(self._entries)
        self._next_note = max((n["id"] for ns in self._notes.values() for n in ns), default=0)

    def _add(self, tickets: list[dict[str, Any]], notes: list[dict[str, Any]],
             entries: list[dict[str, Any]], k: int) -> None:
        offset, delta = k * CLONE_STRIDE, -k * CLONE_SHIFT

        def copy(record: dict[str, Any]) -> dict[str, Any]:
            return shift_payload(record, delta) if k else json.loads(json.dumps(record))

        skip = self._malformed if k else set()  # synthetic copies are all well-formed
        for raw in tickets:
            if raw["id"] in skip:
                continue
            ticket = copy(raw)
            ticket["id"] += offset
            self._tickets[ticket["id"]] = ticket
            self._notes.setdefault(ticket["id"], [])
        for raw in notes:
            if raw["ticket"]["id"] in skip:
                continue
            note = copy(raw)
            note["id"] += offset
            note["ticket"]["id"] += offset
            self._notes.setdefault(note["ticket"]["id"], []).append(note)
        for raw in entries:
            if raw["chargeToId"] in skip:
                continue
            entry = copy(raw)
            entry["id"] += offset
            entry["chargeToId"] += offset
            entry["ticket"]["id"] += offset
            self._entries[entry["id"]] = entry
            self._entries_of.setdefault(entry["chargeToId"], []).append(entry["id"])

    # -- Emulation protocol ----------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        """The vendor's endpoints, relative to `prefix`."""
        api = "/{codebase}/apis/3.0"
        return [
            Route("/login/companyinfo/{company}", self._company_info),
            Route(f"{api}/system/info", self._api(self._system_info)),
            Route(f"{api}/service/tickets", self._api(self._list_tickets)),
            Route(f"{api}/service/tickets/{{ticket:int}}", self._api(self._get_ticket)),
            Route(f"{api}/service/tickets/{{ticket:int}}/allNotes", self._api(self._all_notes)),
            Route(f"{api}/service/tickets/{{ticket:int}}/notes", self._api(self._notes_api),
                  methods=["GET", "POST"]),
            Route(f"{api}/time/entries", self._api(self._list_entries)),
        ]

    def source_config(self, base_url: str) -> dict[str, object]:
        """A `[[sources]]` table (without name) that syncs from this emulation at `base_url`."""
        url = base_url.rstrip("/")
        if not url.endswith(self.prefix):
            url += self.prefix
        with self._lock:
            stamps = [t["_info"]["lastUpdated"] for t in self._tickets.values()]
            stamps += [e["_info"]["lastUpdated"] for e in self._entries.values()]
        earliest = min(stamps)[:10] if stamps else "2023-01-01"
        return {"kind": "connectwise", "base_url": url, "company_id": self.company_id,
                "client_id": CLIENT_ID, "start_date": earliest, "backfill_slice": "90d"}

    def secrets(self) -> dict[str, str]:
        """The sandbox's fake API keys, by settings field name."""
        return {"public_key": PUBLIC_KEY, "private_key": PRIVATE_KEY}

    def expected(self) -> dict[str, frozenset[str]]:
        """Valid live tickets -> the note external ids the connector must make of them."""
        with self._lock:
            return {str(tid): self._note_ids(tid) for tid in self._order
                    if tid not in self._malformed}

    def ticket_ids(self) -> list[str]:
        """Every live ticket id, the malformed ones included (they exist at the source)."""
        with self._lock:
            return [str(tid) for tid in self._order]

    def mutate(self, ticket_id: str) -> None:
        """Edit the ticket's summary and stamp `_info.lastUpdated` now."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            count = self._edits[ticket["id"]] = self._edits.get(ticket["id"], 0) + 1
            base = ticket["summary"].split(" (edit ")[0]
            ticket["summary"] = f"{base[:88]} (edit {count})"
            self._touch(ticket, (ticket.get("owner") or API_MEMBER)["identifier"])

    def add_note(self, ticket_id: str, text: str) -> str:
        """A technician's Discussion note written now; returns its id (also the note's
        external id). Assumed, not documented: adding a note bumps the ticket's lastUpdated."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            member = ticket.get("owner") or API_MEMBER
            note = self._new_note(ticket, text, member, flags={"detailDescriptionFlag": True})
            return str(note["id"])

    def delete(self, ticket_id: str) -> None:
        """Delete a ticket with its notes and time entries; it vanishes from every listing."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            tid = ticket["id"]
            del self._tickets[tid]
            self._order.remove(tid)
            self._notes.pop(tid, None)
            for entry_id in self._entries_of.pop(tid, []):
                self._entries.pop(entry_id, None)
                self._entry_order.remove(entry_id)

    def set_codebase(self, codebase: str) -> None:
        """Move the API to another codebase, as a hosted upgrade does (old paths answer 404)."""
        with self._lock:
            self.codebase = codebase.strip("/") + "/"
            self.company_info = {**self.company_info, "Codebase": self.codebase}

    # -- state helpers -----------------------------------------------------------------------

    def _ticket(self, ticket_id: str | int) -> dict[str, Any]:
        ticket = self._tickets.get(int(ticket_id))
        if ticket is None:
            raise KeyError(f"no live ConnectWise ticket {ticket_id}")
        return ticket

    def _touch(self, ticket: dict[str, Any], by: str) -> None:
        ticket["_info"] = {**ticket["_info"], "lastUpdated": stamp(utcnow()), "updatedBy": by}

    def _new_note(self, ticket: dict[str, Any], text: str, member: dict[str, Any], *,
                  flags: dict[str, bool]) -> dict[str, Any]:
        self._next_note += 1
        now = stamp(utcnow())
        note = {"id": self._next_note, "noteType": "TicketNote",
                "ticket": {"id": ticket["id"], "summary": ticket["summary"]}, "text": text,
                "isMarkdownFlag": False, "detailDescriptionFlag": False,
                "internalAnalysisFlag": False, "resolutionFlag": False, "issueFlag": False,
                "bundledFlag": False, "mergedFlag": False, **flags, "member": member,
                "createdBy": member["identifier"], "dateCreated": now,
                "_info": {"lastUpdated": now, "updatedBy": member["identifier"]}}
        self._notes.setdefault(ticket["id"], []).append(note)
        self._touch(ticket, member["identifier"])
        return note

    def _note_ids(self, ticket_id: int) -> frozenset[str]:
        ids: set[str] = set()
        for note in self._notes.get(ticket_id, []):
            prefix = {"TicketNote": "", "MeetingNote": "meeting-", "TimeEntryNote": "time-"}
            ids.add(prefix.get(note["noteType"], f"{note['noteType'].lower()}-") + str(note["id"]))
        for entry_id in self._entries_of.get(ticket_id, []):
            entry = self._entries[entry_id]
            ids.add(f"time-{entry_id}")
            if (entry.get("internalNotes") or "").strip():
                ids.add(f"time-{entry_id}-internal")
        return frozenset(ids)

    # -- HTTP --------------------------------------------------------------------------------

    def _api(self, handler: Callable[[Request], Response]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            if request.path_params["codebase"] + "/" != self.codebase:
                return HTMLResponse("<html><body><h2>404 - File or directory not found."
                                    "</h2></body></html>", status_code=404)
            denied = self._denied(request)
            if denied is not None:
                return denied
            if request.method == "POST":
                try:
                    request.state.body = json.loads(await request.body() or b"null")
                except ValueError:
                    return bad_request("The request body is not valid JSON", field="body")
            with self._lock:
                return handler(request)
        return endpoint

    def _denied(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            decoded = base64.b64decode(token, validate=True).decode() if token else ""
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        user, _, private = decoded.partition(":")
        company, _, public = user.partition("+")
        if (scheme.lower() != "basic" or company.lower() != self.company_id.lower()
                or not secrets.compare_digest(public, PUBLIC_KEY)
                or not secrets.compare_digest(private, PRIVATE_KEY)):
            return error(401, "Unauthorized", "The credentials are not valid for this company")
        client_id = request.headers.get("clientid", "")
        if client_id.lower() != CLIENT_ID:
            return error(401, "Unauthorized",
                         "A valid clientId header is required with all API requests; "
                         "see developer.connectwise.com")
        return None

    async def _company_info(self, request: Request) -> Response:
        if request.path_params["company"].lower() != self.company_id.lower():
            return error(404, "NotFound", "Company not found")
        return JSONResponse(self.company_info)

    def _system_info(self, request: Request) -> Response:
        version = self.company_info.get("VersionNumber", "v4.6")
        return JSONResponse({"version": version, "isCloud": True,
                             "serverTimeZone": "Eastern Standard Time", "cloudRegion": "NA"})

    def _list_tickets(self, request: Request) -> Response:
        def candidates(node: Node | None) -> list[dict[str, Any]]:
            ids = id_candidates(node, "id") if node is not None else None
            if ids is not None:
                return [self._tickets[i] for i in sorted(ids) if i in self._tickets]
            low = lower_bound(node, "id") if node is not None else None
            start = bisect_right(self._order, low) if low is not None else 0
            return [self._tickets[i] for i in self._order[start:]]
        return listing(request, candidates, TICKET_FIELDS, forward_only=True)

    def _list_entries(self, request: Request) -> Response:
        def candidates(node: Node | None) -> list[dict[str, Any]]:
            parents = id_candidates(node, "chargeToId") if node is not None else None
            if parents is not None:
                ids = sorted(i for p in parents for i in self._entries_of.get(p, []))
                return [self._entries[i] for i in ids]
            low = lower_bound(node, "id") if node is not None else None
            start = bisect_right(self._entry_order, low) if low is not None else 0
            return [self._entries[i] for i in self._entry_order[start:]]
        return listing(request, candidates, ENTRY_FIELDS, forward_only=True)

    def _get_ticket(self, request: Request) -> Response:
        ticket = self._tickets.get(request.path_params["ticket"])
        if ticket is None:
            return error(404, "NotFound", "Ticket Not Found")
        return JSONResponse(project(ticket, request.query_params.get("fields")))

    def _all_notes(self, request: Request) -> Response:
        ticket_id = request.path_params["ticket"]
        if ticket_id not in self._tickets:
            return error(404, "NotFound", "Ticket Not Found")
        notes = self._notes.get(ticket_id, [])
        return listing(request, lambda node: notes, NOTE_FIELDS, forward_only=False)

    def _notes_api(self, request: Request) -> Response:
        ticket = self._tickets.get(request.path_params["ticket"])
        if ticket is None:
            return error(404, "NotFound", "Ticket Not Found")
        if request.method == "POST":
            return self._post_note(ticket, request.state.body)
        plain = [service_note(n) for n in self._notes.get(ticket["id"], [])
                 if n["noteType"] == "TicketNote"]
        return listing(request, lambda node: plain, NOTE_FIELDS, forward_only=False)

    def _post_note(self, ticket: dict[str, Any], body: Any) -> Response:
        if not isinstance(body, dict) or not str(body.get("text") or "").strip():
            return error(400, "InvalidObject", "serviceNote object is invalid", errors=[
                {"code": "NullOrEmpty", "message": "text may not be empty",
                 "resource": "serviceNote", "field": "text"}])
        flags = {name: body.get(name) is True for name in
                 ("detailDescriptionFlag", "internalAnalysisFlag", "resolutionFlag")}
        if not any(flags.values()):
            return error(400, "InvalidObject", "serviceNote object is invalid", errors=[
                {"code": "InvalidField", "message": "At least one of detailDescriptionFlag, "
                 "internalAnalysisFlag or resolutionFlag must be true",
                 "resource": "serviceNote", "field": "flags"}])
        note = self._new_note(ticket, str(body["text"]), API_MEMBER, flags=flags)
        self.posted.append(note)
        return JSONResponse(service_note(note), status_code=201)


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    from connectors.sandbox.corpus import load_corpus

    build_fixtures(load_corpus(), FIXTURES / "connectwise")
