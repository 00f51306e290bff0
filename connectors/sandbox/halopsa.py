"""The HaloPSA emulation: OAuth2 token endpoint, tickets and actions, from `fixtures/halopsa/`.

Served under `/halopsa` (so the source's `base_url` is `http://127.0.0.1:<port>/halopsa`):

    POST /auth/token     client-credentials grant (form body); 400 {"error": "invalid_client"}
                         for wrong credentials, short-lived Bearer tokens
    GET  /api/Tickets    lastupdatefromdate (>=) / lastupdatetodate (<), order, orderdesc,
                         ticketidonly, pageinate + page_size + page_no -> {record_count, tickets}
    GET  /api/Actions    ticket_id, excludesys -> {ticket_id, record_count, actions}
    POST /api/Actions    [{ticket_id, note, outcome, hiddenfromuser}] -> the created action

A missing, unknown or expired token is answered 401 with a `WWW-Authenticate: Bearer` header
and no body, as ASP.NET Core's JWT handler does; a token without the scope needed is answered
403. Query parameters the emulation does not implement are refused with a 400 validation problem
(`{"title": "One or more validation errors occurred.", "errors": {...}}`) instead of being
ignored, so a connector cannot rely on a filter that was never applied. Halo treats paths
case-insensitively; both `/api/Tickets` and `/api/tickets` are served.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from connectors.sandbox.base import FIXTURES, utcnow
from connectors.sandbox.halopsa_fixtures import build_fixtures

__all__ = ["HaloPsaEmulation", "build_fixtures"]

CLIENT_ID = "fixedit-sandbox-client"
CLIENT_SECRET = "sandbox-secret-not-for-production"  # noqa: S105 (a fixed, fake sandbox value)
TENANT = "fixedit-sandbox"
SCOPES = frozenset({"all", "read:tickets", "edit:tickets", "read:customers", "edit:customers",
                    "read:assets", "edit:assets", "read:agents"})
"""Scopes Halo grants; `read:actions` is not one of them (actions come under `:tickets`)."""
_TICKET_PARAMS = frozenset({"pageinate", "page_size", "page_no", "order", "orderdesc",
                            "lastupdatefromdate", "lastupdatetodate", "ticketidonly"})
_ORDERS = frozenset({"id", "last_update", "dateoccurred"})
_ID_ONLY_FIELDS = ("id", "sla_id", "status_id", "client_id", "client_name")
_DATE_KEYS = frozenset({"dateoccurred", "last_update", "lastactiondate", "datecleared",
                        "datetime", "actiondatecreated"})
_CLONE_STEP = timedelta(days=7)


def _parse_stamp(text: object) -> datetime | None:
    """A Halo timestamp as an aware UTC datetime; None for empty (1900) or unreadable ones."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.year <= 1980:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _format_like(example: object, moment: datetime) -> str:
    """`moment` written the way `example` was: with Z, with milliseconds, or plain naive."""
    moment = moment.astimezone(UTC)
    text = example if isinstance(example, str) else ""
    if text.endswith("Z"):
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if "." in text:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _problem(errors: dict[str, list[str]]) -> JSONResponse:
    """ASP.NET Core's validation problem, the shape Halo's 400s take."""
    return JSONResponse({"type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                         "title": "One or more validation errors occurred.", "status": 400,
                         "errors": errors}, status_code=400)


def _oauth_error(error: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status)


class HaloPsaEmulation:
    """HaloPSA over HTTP, in memory, from `fixtures/halopsa/`; see the module docstring."""

    vendor: ClassVar[str] = "halopsa"
    prefix: ClassVar[str] = "/halopsa"

    def __init__(self, fixtures: Path = FIXTURES, *, scale: int = 1, token_ttl: float = 300,
                 clock: Callable[[], datetime] = utcnow) -> None:
        folder = fixtures / self.vendor
        listing = json.loads((folder / "tickets.json").read_text(encoding="utf-8"))
        action_sets = json.loads((folder / "actions.json").read_text(encoding="utf-8"))
        malformed = json.loads((folder / "malformed.json").read_text(encoding="utf-8"))
        self._clock = clock
        self._token_ttl = token_ttl
        self._lock = threading.RLock()
        self._tokens: dict[str, tuple[datetime, frozenset[str]]] = {}
        self._tickets: dict[int, dict[str, Any]] = {}
        self._actions: dict[int, list[dict[str, Any]]] = {}
        self._stamps: dict[int, datetime] = {}
        self._malformed: set[int] = set()
        self._cache: dict[tuple[Any, ...], list[int]] = {}
        by_ticket = {entry["ticket_id"]: entry["actions"] for entry in action_sets}
        base = listing["tickets"]
        broken = {entry["id"] for entry in malformed["tickets"]}
        step = 10 ** len(str(max(t["id"] for t in base)))
        for copy_no in range(max(scale, 1)):
            shift = -_CLONE_STEP * copy_no
            for raw in base:
                new_id = raw["id"] + step * copy_no
                self._add(raw, by_ticket.get(raw["id"], []), new_id=new_id, shift=shift)
                if raw["id"] in broken:
                    self._malformed.add(new_id)

    def _add(self, raw: dict[str, Any], actions: list[dict[str, Any]], *, new_id: int,
             shift: timedelta) -> None:
        ticket = _shifted(raw, shift)
        ticket["id"] = new_id
        rows = []
        for action in actions:
            row = _shifted(action, shift)
            row["ticket_id"] = new_id
            rows.append(row)
        self._tickets[new_id] = ticket
        self._actions[new_id] = rows
        self._stamps[new_id] = _parse_stamp(ticket.get("last_update")) or datetime.min.replace(
            tzinfo=UTC)

    # -- the Emulation protocol ------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        """The token endpoint and the API, relative to `prefix`."""
        routes: list[BaseRoute] = [Route("/auth/token", self._token, methods=["POST"])]
        for tickets, actions in (("/api/Tickets", "/api/Actions"),
                                 ("/api/tickets", "/api/actions")):
            routes.append(Route(tickets, self._list_tickets, methods=["GET"]))
            routes.append(Route(actions, self._list_actions, methods=["GET"]))
            routes.append(Route(actions, self._post_actions, methods=["POST"]))
        return routes

    def source_config(self, base_url: str) -> dict[str, object]:
        """A `[[sources]]` table (without name) that syncs everything this emulation holds."""
        root = base_url.rstrip("/")
        if not root.endswith(self.prefix):
            root += self.prefix
        with self._lock:
            earliest = min((_parse_stamp(t.get("dateoccurred")) or self._stamps[i]
                            for i, t in self._tickets.items()), default=self._clock())
            earliest = min([earliest, *self._stamps.values()])
        return {"kind": self.vendor, "base_url": root, "client_id": CLIENT_ID, "tenant": TENANT,
                "start_date": (earliest - timedelta(days=1)).date().isoformat()}

    def secrets(self) -> dict[str, str]:
        """The sandbox's (fake) client secret."""
        return {"client_secret": CLIENT_SECRET}

    def expected(self) -> dict[str, frozenset[str]]:
        """Live, well-formed tickets -> the note ids a connector must store for them."""
        with self._lock:
            return {str(tid): frozenset(f"{tid}-{a['id']}" for a in self._actions[tid]
                                        if not a.get("action_systemid"))
                    for tid in self._tickets if tid not in self._malformed}

    def ticket_ids(self) -> list[str]:
        """Ids of every live ticket (malformed ones included: they exist in Halo)."""
        with self._lock:
            return [str(tid) for tid in sorted(self._tickets)]

    def malformed_ids(self) -> list[str]:
        """Ids of the tickets a connector must quarantine."""
        with self._lock:
            return [str(tid) for tid in sorted(self._malformed & self._tickets.keys())]

    def mutate(self, ticket_id: str) -> None:
        """A technician edits the ticket's details: Halo stamps `last_update`."""
        with self._lock:
            ticket = self._tickets[int(ticket_id)]
            ticket["details"] = (ticket.get("details") or "") + (
                "<p>Updated: the user reports the problem came back after a restart.</p>")
            self._touch(int(ticket_id), action=False)

    def add_note(self, ticket_id: str, text: str) -> str:
        """A technician adds a private note (an action) now; returns "<ticket>-<action>"."""
        with self._lock:
            return self._new_action(int(ticket_id), {"note": text, "outcome": "Private Note",
                                                     "hiddenfromuser": True}, who="Sandbox Agent")

    def delete(self, ticket_id: str) -> None:
        """Delete the ticket: it leaves every listing, its actions with it."""
        with self._lock:
            tid = int(ticket_id)
            self._tickets.pop(tid)
            self._actions.pop(tid, None)
            self._stamps.pop(tid, None)
            self._cache.clear()

    # -- state changes ---------------------------------------------------------------------

    def _touch(self, tid: int, *, action: bool) -> None:
        now = self._clock()
        ticket = self._tickets[tid]
        ticket["last_update"] = _format_like(ticket.get("last_update"), now)
        if action:
            ticket["lastactiondate"] = _format_like(ticket.get("lastactiondate"), now)
        self._stamps[tid] = now
        self._cache.clear()

    def _new_action(self, tid: int, item: dict[str, Any], *, who: str) -> str:
        actions = self._actions.setdefault(tid, [])
        action_id = max((a["id"] for a in actions), default=0) + 1
        stamp = _format_like(self._tickets[tid].get("last_update"), self._clock())
        status = self._tickets[tid].get("status_id", 2)
        actions.append({
            "id": action_id, "ticket_id": tid, "outcome": item.get("outcome") or "Private Note",
            "outcome_id": 7, "who": who, "who_type": 1, "who_agentid": 1, "actionby_user_id": 0,
            "action_systemid": 0, "datetime": stamp, "actiondatecreated": stamp,
            "note": item.get("note", ""), "note_html": item.get("note_html", ""),
            "hiddenfromuser": bool(item.get("hiddenfromuser", True)), "important": False,
            "timetaken": 0.0, "actisbillable": False, "old_status": status,
            "new_status": status, "attachment_count": 0,
        })
        self._touch(tid, action=True)
        return f"{tid}-{action_id}"

    # -- HTTP ------------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"):
            return _oauth_error("invalid_request")
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        if form.get("grant_type") != "client_credentials":
            return _oauth_error("unsupported_grant_type")
        if (form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET
                or form.get("tenant", TENANT) != TENANT):
            return _oauth_error("invalid_client")
        scopes = frozenset(form.get("scope", "all").split())
        if not scopes or not scopes <= SCOPES:
            return _oauth_error("invalid_scope")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (self._clock() + timedelta(seconds=self._token_ttl), scopes)
        return JSONResponse({"token_type": "Bearer", "access_token": token,
                             "expires_in": int(self._token_ttl), "scope": " ".join(sorted(scopes))})

    def _denied(self, request: Request, scope: str) -> Response | None:
        """None when the request's Bearer token is valid and has `scope` (or "all")."""
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        with self._lock:
            grant = self._tokens.get(header.removeprefix("Bearer ").strip())
        if grant is None:
            return Response(status_code=401, headers={
                "WWW-Authenticate": 'Bearer error="invalid_token"'})
        expires, scopes = grant
        if self._clock() >= expires:
            return Response(status_code=401, headers={"WWW-Authenticate": (
                'Bearer error="invalid_token", error_description="The token expired"')})
        if "all" not in scopes and scope not in scopes:
            return Response(status_code=403, headers={
                "WWW-Authenticate": 'Bearer error="insufficient_scope"'})
        return None

    async def _list_tickets(self, request: Request) -> Response:
        denied = self._denied(request, "read:tickets")
        if denied is not None:
            return denied
        query = request.query_params
        errors: dict[str, list[str]] = {
            name: [f"'{name}' is not supported by the fixedit sandbox"]
            for name in query if name not in _TICKET_PARAMS}
        flags = {name: _flag(query.get(name), name, errors)
                 for name in ("pageinate", "orderdesc", "ticketidonly")}
        page_no = _number(query.get("page_no", "1"), "page_no", errors)
        page_size = _number(query.get("page_size", "50"), "page_size", errors)
        since = _bound(query.get("lastupdatefromdate"), "lastupdatefromdate", errors)
        until = _bound(query.get("lastupdatetodate"), "lastupdatetodate", errors)
        order = query.get("order", "id").lower()
        if order not in _ORDERS:
            errors["order"] = [f"ordering by '{order}' is not supported by the fixedit sandbox"]
        if errors:
            return _problem(errors)
        with self._lock:
            ids = self._select(since, until, order, bool(flags["orderdesc"]))
            start = (page_no - 1) * page_size
            page = ids[start:start + page_size] if flags["pageinate"] else ids
            rows = [self._row(tid, id_only=bool(flags["ticketidonly"])) for tid in page]
            body: dict[str, Any] = {"record_count": len(ids), "tickets": rows}
            if flags["pageinate"]:
                body = {"page_no": page_no, "page_size": page_size, **body}
            return JSONResponse(body)

    def _select(self, since: datetime | None, until: datetime | None, order: str,
                descending: bool) -> list[int]:
        key = (since, until, order, descending)
        cached = self._cache.get(key)
        if cached is None:
            stamps = self._stamps
            cached = [tid for tid in self._tickets
                      if (since is None or stamps[tid] >= since)
                      and (until is None or stamps[tid] < until)]
            if order == "id":
                cached.sort(reverse=descending)
            else:
                cached.sort(key=lambda tid: (self._order_key(tid, order), tid),
                            reverse=descending)
            self._cache[key] = cached
        return cached

    def _order_key(self, tid: int, order: str) -> datetime:
        if order == "last_update":
            return self._stamps[tid]
        return _parse_stamp(self._tickets[tid].get(order)) or datetime.min.replace(tzinfo=UTC)

    def _row(self, tid: int, *, id_only: bool) -> dict[str, Any]:
        ticket = self._tickets[tid]
        if id_only:
            return {name: ticket.get(name) for name in _ID_ONLY_FIELDS}
        return ticket

    async def _list_actions(self, request: Request) -> Response:
        denied = self._denied(request, "read:tickets")
        if denied is not None:
            return denied
        query = request.query_params
        errors = {name: [f"'{name}' is not supported by the fixedit sandbox"]
                  for name in query if name not in ("ticket_id", "excludesys")}
        if "ticket_id" not in query:
            errors["ticket_id"] = ["The ticket_id field is required."]
        tid = _number(query.get("ticket_id", "0"), "ticket_id", errors)
        exclude_system = _flag(query.get("excludesys"), "excludesys", errors)
        if errors:
            return _problem(errors)
        with self._lock:
            rows = [a for a in self._actions.get(tid, []) if tid in self._tickets
                    and not (exclude_system and a.get("action_systemid"))]
            return JSONResponse({"ticket_id": tid, "record_count": len(rows), "actions": rows})

    async def _post_actions(self, request: Request) -> Response:
        denied = self._denied(request, "edit:tickets")
        if denied is not None:
            return denied
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _problem({"$": ["The JSON value could not be converted."]})
        items = body if isinstance(body, list) else [body]
        with self._lock:
            for position, item in enumerate(items):
                if not isinstance(item, dict) or item.get("ticket_id") not in self._tickets:
                    return _problem({f"[{position}].ticket_id": ["No ticket with this id."]})
            created = []
            for item in items:
                self._new_action(item["ticket_id"], item, who="fixedit (API)")
                created.append(copy.deepcopy(self._actions[item["ticket_id"]][-1]))
        return JSONResponse(created[0] if len(created) == 1 else created, status_code=201)


def _shifted(raw: dict[str, Any], shift: timedelta) -> dict[str, Any]:
    """A copy of `raw` with every readable, non-empty timestamp moved by `shift`."""
    result = dict(raw)
    if shift:
        for key in _DATE_KEYS & raw.keys():
            moment = _parse_stamp(raw[key])
            if moment is not None:
                result[key] = _format_like(raw[key], moment + shift)
    return result


def _flag(value: str | None, name: str, errors: dict[str, list[str]]) -> bool:
    if value is None:
        return False
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    errors[name] = [f"The value '{value}' is not valid."]
    return False


def _number(value: str, name: str, errors: dict[str, list[str]]) -> int:
    if value.isdigit() and int(value) >= 1:
        return int(value)
    errors[name] = [f"The value '{value}' is not valid."]
    return 1


def _bound(value: str | None, name: str, errors: dict[str, list[str]]) -> datetime | None:
    if value is None:
        return None
    moment = _parse_stamp(value)
    if moment is None:
        errors[name] = [f"The value '{value}' is not valid."]
    return moment


if __name__ == "__main__":
    from connectors.sandbox.corpus import load_corpus

    build_fixtures(load_corpus(), FIXTURES / HaloPsaEmulation.vendor)
