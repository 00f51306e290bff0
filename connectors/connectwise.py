"""ConnectWise PSA (Manage) REST API v3: tickets with every note and time entry, incrementally.

Auth is Basic `companyId+publicKey:privateKey` plus the integration's `clientId` header on every
API request. The API lives under a versioned codebase (`https://api-na.myconnectwise.net/
v2024_1/apis/3.0/`) that is discovered, unauthenticated, from `/login/companyinfo/{companyId}`
and discovered again when the API answers 404, because hosted ConnectWise moves it on upgrades.

Kinds and their cursors (see connectors/incremental.py for the window semantics):

    ticket      windows over the ticket's `_info.lastUpdated`: GET /service/tickets with
                `conditions=lastUpdated>=[start] and lastUpdated<[end] and id>N`, `orderBy=id asc`,
                forward-only pages; each ticket comes with its allNotes and time entries.
                Cursor: the window start plus the last ticket id stored, then the window end.
    time_entry  windows over time entries' `_info.lastUpdated` (a note typed on a time entry does
                not have to bump its ticket): GET /time/entries?conditions=chargeToType=
                "ServiceTicket" and lastUpdated... ; the parent tickets of each page are read in
                full. Cursor: as for tickets, with the last time entry id. Its first sync, right
                after the ticket stream's in the same run, starts where the ticket stream started
                (minus lookback): the ticket backfill already read every older time entry.

Deletions: ConnectWise keeps no tombstones, so `reconcile` lists every live ticket id
(/service/tickets?fields=id, forward-only pages) and the pipeline marks the rest deleted.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field, SecretStr, ValidationError, model_validator

from connectors.connectwise_client import ConnectWiseApi, json_body, last_id, record_id
from connectors.connectwise_models import (
    SERVICE_TICKET,
    CwNote,
    CwTicket,
    CwTimeEntry,
    all_of,
    cw_datetime,
    cw_id_list,
    cw_string,
    to_ticket,
)
from connectors.http import HttpStatusError, describe_request
from connectors.incremental import Window, plan_windows
from connectors.rejects import validation_reason
from connectors.settings import ApiSourceSettings
from records import Batch, ConnectorError, Cursor, Reject, Ticket

log = logging.getLogger(__name__)

_GUID = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
_MAX_ID_LIST = 1400
"""Most URL-encoded characters an `id in (...)` list may take: ConnectWise URLs stay < ~2 KB."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ConnectWiseSettings(ApiSourceSettings):
    """A `[[sources]]` table of kind "connectwise"."""

    secret_fields: ClassVar[tuple[str, ...]] = ("public_key", "private_key")

    kind: Literal["connectwise"] = "connectwise"
    site: str | None = Field(default=None, description=(
        "The host you log in to: 'na.myconnectwise.net' (cloud; also eu, au, za) or your "
        "on-premises server. Give this or base_url."))
    base_url: str | None = Field(default=None, description=(
        "Instead of site: the URL under which /login/companyinfo and /{codebase}apis/3.0 live "
        "(the sandbox, a proxy)."))
    codebase: str | None = Field(default=None, description=(
        "Skip discovery and use this codebase, e.g. 'v2024_1/' (on-premises servers)."))
    company_id: str = Field(min_length=1, description="The company id you log in with.")
    client_id: str = Field(pattern=_GUID, description=(
        "The integration's clientId GUID from developer.connectwise.com (not a secret)."))
    public_key: SecretStr | None = None
    private_key: SecretStr | None = None
    api_version: str | None = Field(default=None, pattern=r"^\d{4}\.\d{1,2}$", description=(
        "Pin the response model version (Accept: ...; version=2022.1)."))
    conditions: str | None = Field(default=None, description=(
        'Extra ticket condition ANDed to every query, e.g. board/name in ("Help Desk").'))
    page_size: int = Field(default=1000, ge=1, le=1000)

    @model_validator(mode="after")
    def _one_location(self) -> ConnectWiseSettings:
        if (self.site is None) == (self.base_url is None):
            raise ValueError("give exactly one of site (e.g. 'na.myconnectwise.net') or base_url")
        return self


class ConnectWise:
    """Pulls ConnectWise service tickets, notes and time entries; lists ids; writes notes back."""

    name: ClassVar[str] = "connectwise"
    kinds: ClassVar[frozenset[str]] = frozenset({"ticket", "time_entry"})

    def __init__(
        self,
        settings: ConnectWiseSettings,
        *,
        client: httpx.Client,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._settings = settings
        self._now = now
        self._api = ConnectWiseApi(settings, client=client, sleep=sleep)
        self._tickets_read_from: datetime | None = None

    @property
    def requests_made(self) -> int:
        """HTTP requests sent by this connector so far (retries and discovery included)."""
        return self._api.requests_made

    def check(self) -> None:
        """Discover the codebase and read /system/info: proves the keys and clientId work."""
        self._api.request("GET", "system/info")

    def pull(self, kind: str, *, since: Cursor | None) -> Iterator[Batch]:
        """Yield batches of tickets changed since `since` (by ticket or by time entry)."""
        if kind not in self.kinds:
            raise ValueError(f"ConnectWise pulls {sorted(self.kinds)}, not {kind!r}")
        settings, now = self._settings, self._now()
        first_start = settings.first_start(now)
        if kind == "ticket":
            self._tickets_read_from = now
        elif since is None and self._tickets_read_from is not None:
            # The ticket stream of this run just read every ticket with all its time entries
            # up to its own start: the time-entry stream needs only what came after that, not
            # a second backfill of the whole history (which doubled a first sync's requests).
            first_start = self._tickets_read_from - settings.lookback - settings.safety_lag
        windows = plan_windows(since, now=now, first_start=first_start,
                               lookback=settings.lookback, safety_lag=settings.safety_lag,
                               slice_size=settings.backfill_slice)
        seen_parents: set[int] = set()
        for window in windows:
            if window.start < window.end:
                if kind == "ticket":
                    yield from self._ticket_window(window)
                else:
                    yield from self._time_entry_window(window, seen_parents)
            yield Batch(kind=kind, cursor=window.cursor_done())

    def reconcile(self, kind: str) -> Iterator[str]:
        """Every live ticket id (both kinds yield tickets, so both reconcile ticket ids)."""
        if kind not in self.kinds:
            raise ValueError(f"ConnectWise reconciles {sorted(self.kinds)}, not {kind!r}")
        extra = self._settings.conditions

        def conditions(after: int | None) -> str:
            return all_of(f"id>{after}" if after is not None else None, extra)

        for records in self._api.keyset_pages("service/tickets", conditions, None, fields="id"):
            for record in records:
                found = record_id(record)
                if found is not None:
                    yield str(found)

    def post_internal_note(self, ticket_id: str, text: str) -> str:
        """Add an Internal (internalAnalysisFlag) note to a ticket; return its id."""
        settings = self._settings
        if not settings.writeback.should_post(source=settings.name, vendor="ConnectWise",
                                              ticket_id=ticket_id, text=text):
            return "dry-run"
        if not ticket_id.isdigit():
            raise ValueError(f"{ticket_id!r} is not a ConnectWise ticket id")
        body = {"text": text, "detailDescriptionFlag": False, "internalAnalysisFlag": True,
                "resolutionFlag": False, "processNotifications": False}
        response = self._api.request("POST", f"service/tickets/{ticket_id}/notes", json=body,
                                     write=True)
        created = json_body(response)
        if not isinstance(created, dict) or record_id(created) is None:
            raise ConnectorError(f"{describe_request(response.request)}: no note id in the answer")
        return str(created["id"])

    def _ticket_window(self, window: Window) -> Iterator[Batch]:
        def conditions(after: int | None) -> str:
            return all_of(_stamped_in(window), f"id>{after}" if after is not None else None,
                          self._settings.conditions)

        for records in self._api.keyset_pages("service/tickets", conditions, window.after_id):
            items, rejects = self._tickets(records)
            last = last_id(records)
            log.debug("source %s: %d tickets, %d rejects up to id %s", self._settings.name,
                      len(items), len(rejects), last)
            yield Batch(kind="ticket", items=items, rejects=rejects,
                        cursor=window.cursor_after(last) if last is not None else None)

    def _time_entry_window(self, window: Window, seen: set[int]) -> Iterator[Batch]:
        def conditions(after: int | None) -> str:
            return all_of(f"chargeToType={cw_string(SERVICE_TICKET)}", _stamped_in(window),
                          f"id>{after}" if after is not None else None)

        for records in self._api.keyset_pages("time/entries", conditions, window.after_id):
            rejects: list[Reject] = []
            parents: list[int] = []
            for raw in records:
                try:
                    entry = CwTimeEntry.model_validate(raw)
                except ValidationError as exc:
                    rejects.append(_reject(f"time entry {raw.get('id')}", raw, exc))
                    continue
                if entry.charge_to_id is not None and entry.charge_to_id not in seen:
                    seen.add(entry.charge_to_id)
                    parents.append(entry.charge_to_id)
            items, ticket_rejects = self._tickets(self._tickets_by_id(parents))
            last = last_id(records)
            yield Batch(kind="time_entry", items=items, rejects=rejects + ticket_rejects,
                        cursor=window.cursor_after(last) if last is not None else None)

    def _tickets(self, records: Sequence[dict[str, Any]]) -> tuple[list[Ticket], list[Reject]]:
        """Validate a page of raw tickets, read their notes and time entries, map them."""
        rejects: list[Reject] = []
        parsed: list[CwTicket] = []
        for raw in records:
            try:
                parsed.append(CwTicket.model_validate(raw))
            except ValidationError as exc:
                rejects.append(_reject(f"ticket {raw.get('id')}", raw, exc))
        entries = self._time_entries([ticket.id for ticket in parsed], rejects)
        items: list[Ticket] = []
        for ticket in parsed:
            notes = self._all_notes(ticket.id, rejects)
            if notes is None:
                log.debug("source %s: ticket %d is gone since it was listed",
                          self._settings.name, ticket.id)
                continue
            try:
                items.append(to_ticket(ticket, notes, entries.get(ticket.id, []),
                                       source=self._settings.name,
                                       url=self._api.ticket_url(ticket.id)))
            except ValidationError as exc:
                rejects.append(_reject(f"ticket {ticket.id}", _find(records, ticket.id), exc))
        return items, rejects

    def _all_notes(self, ticket_id: int, rejects: list[Reject]) -> list[CwNote] | None:
        try:
            raws = list(self._api.navigable(f"service/tickets/{ticket_id}/allNotes", {}))
        except HttpStatusError as exc:
            if exc.status_code == 404:
                return None
            raise
        notes = []
        for raw in raws:
            try:
                notes.append(CwNote.model_validate(raw))
            except ValidationError as exc:
                rejects.append(_reject(f"ticket {ticket_id}: note {raw.get('id')}", raw, exc,
                                       external_id=str(ticket_id)))
        return notes

    def _time_entries(self, ticket_ids: Sequence[int],
                      rejects: list[Reject]) -> dict[int, list[CwTimeEntry]]:
        found: dict[int, list[CwTimeEntry]] = {}
        for chunk in _chunks(ticket_ids):
            conditions = all_of(f"chargeToType={cw_string(SERVICE_TICKET)}",
                                f"chargeToId in {cw_id_list(chunk)}")
            params: dict[str, str | int] = {"conditions": conditions, "orderBy": "id asc"}
            for raw in self._api.navigable("time/entries", params):
                try:
                    entry = CwTimeEntry.model_validate(raw)
                except ValidationError as exc:
                    parent = raw.get("chargeToId")
                    rejects.append(_reject(f"ticket {parent}: time entry {raw.get('id')}", raw,
                                           exc, external_id=str(parent)))
                    continue
                if entry.charge_to_id is not None:
                    found.setdefault(entry.charge_to_id, []).append(entry)
        return found

    def _tickets_by_id(self, ticket_ids: Sequence[int]) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for chunk in _chunks(ticket_ids):
            conditions = all_of(f"id in {cw_id_list(chunk)}", self._settings.conditions)
            params: dict[str, str | int] = {"conditions": conditions, "orderBy": "id asc"}
            records.extend(self._api.navigable("service/tickets", params))
        return records


def _stamped_in(window: Window) -> str:
    return f"lastUpdated>={cw_datetime(window.start)} and lastUpdated<{cw_datetime(window.end)}"


def _find(records: Sequence[dict[str, Any]], wanted: int) -> dict[str, Any]:
    return next((r for r in records if record_id(r) == wanted), {})


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    """Split ids into `in (...)` lists that keep the URL short (`,` travels as %2C)."""
    chunk: list[int] = []
    size = 0
    for item in ids:
        cost = len(str(item)) + 3
        if chunk and size + cost > _MAX_ID_LIST:
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += cost
    if chunk:
        yield chunk


def _reject(what: str, raw: dict[str, Any], exc: ValidationError, *,
            external_id: str | None = None) -> Reject:
    record_id = external_id if external_id is not None else raw.get("id")
    return Reject(external_id=str(record_id) if record_id is not None else None,
                  reason=f"{what}: {validation_reason(exc)}",
                  payload=json.dumps(raw, ensure_ascii=False, default=str))
