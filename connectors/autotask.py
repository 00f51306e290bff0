"""The Autotask PSA (Datto/Kaseya) REST connector: tickets with their notes, time and resolution.

One stream, `ticket`: Autotask moves `Tickets.lastActivityDate` whenever a note or time entry is
added (REST best-practices page), so a changed ticket is re-read with all its children.

    zone        GET  {zone_lookup_url}v1.0/zoneInformation?user=   once per connector, no auth
    tickets     POST V1.0/Tickets/query   lastActivityDate gte start, lt end, id gt after_id
    children    POST V1.0/TicketNotes/query, V1.0/TimeEntries/query   ticketID in [...chunk]
    names       POST V1.0/Resources|Companies|Contacts/query   id in [...], only ids not seen
    picklists   GET  V1.0/Tickets/entityInformation/fields   once per connector
    check       GET  V1.0/ThresholdInformation   (also reports the tenant's hourly usage)
    reconcile   POST V1.0/Tickets/query   IncludeFields ["id"], id gt last, until a short page
    write-back  POST V1.0/Tickets/{id}/Notes   (POST TicketNotes answers 404)

Every call but the zone lookup carries the three headers ApiIntegrationCode, UserName and
Secret. Pages hold up to 500 records; `pageDetails.nextPageUrl` is POSTed with the same JSON
body (a GET answers 405). Requests are sequential today; each still takes one of 3 slots of its
endpoint (Autotask allows 3 concurrent requests per endpoint per integration) and a token of the
rolling-hour budget (10,000 requests per hour per tenant, shared by every integration).

Cursor (connectors/incremental.py): `Cursor(value=<window start>, slice=<last ticket id>)`
part-way through a window, `Cursor(value=<window end>)` once a window is done.
"""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import Field, SecretStr, ValidationError, field_validator

from connectors.autotask_limits import EndpointSlots, HourlyRequestLimiter
from connectors.autotask_models import (
    MAX_NOTE_CHARS,
    AtCompany,
    AtContact,
    AtNote,
    AtResource,
    AtTicket,
    AtTimeEntry,
    AutotaskModel,
    EntityFields,
    Lookups,
    ZoneInformation,
    children_of,
    parse_items,
    payload_text,
    person_name,
    to_ticket,
)
from connectors.http import HttpStatusError, SourceHttp
from connectors.incremental import Window, plan_windows, to_iso
from connectors.pagination import NextUrlPaginator, Page
from connectors.rejects import validation_reason
from connectors.settings import ApiSourceSettings, secret_env_name
from records import Batch, ConfigError, ConnectorError, Cursor, PaginationLoop, Reject, Ticket

log = logging.getLogger(__name__)

THREADS_PER_ENDPOINT = 3
"""Concurrent requests Autotask allows per object endpoint per integration (ThreadLimiting)."""

Filter = dict[str, Any]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AutotaskSettings(ApiSourceSettings):
    """One Autotask `[[sources]]` table. Secrets come from FIXEDIT_<SOURCE>_INTEGRATION_CODE and
    FIXEDIT_<SOURCE>_SECRET."""

    secret_fields: ClassVar[tuple[str, ...]] = ("integration_code", "secret")

    kind: Literal["autotask"] = "autotask"
    username: str = Field(min_length=3, description="User name of the API-only user (an e-mail).")
    integration_code: SecretStr | None = Field(
        default=None, description="The API tracking identifier (from the environment).")
    secret: SecretStr | None = Field(default=None, description="The API user's secret (env).")
    zone_lookup_url: str = Field(
        default="https://webservices.autotask.net/atservicesrest/",
        description="Where zone discovery is asked; the sandbox serves its own.")
    page_size: int = Field(default=500, ge=1, le=500, description="MaxRecords per query page.")
    children_per_query: int = Field(
        default=200, ge=1, le=500, description="Ticket ids per TicketNotes/TimeEntries query.")
    requests_per_hour: int = Field(
        default=10_000, ge=1, description="This source's share of the tenant's hourly limit.")
    writeback_note_type: int = Field(
        default=3, description="noteType of posted notes: 3 Task Notes.")
    writeback_publish: int = Field(
        default=2, description="publish of posted notes: 2 Internal Project Team (internal).")
    writeback_title: str = Field(default="fixedit: similar prior resolutions", min_length=1)

    @field_validator("zone_lookup_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).hostname:
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"


def api_base(zone_url: str) -> str:
    """The REST base (`.../ATServicesRest/V1.0/`) from a zone `url`, which may end with or
    without a slash and sometimes carries a doubled one."""
    parts = urlsplit(zone_url.strip())
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    if not path.lower().endswith("/v1.0"):
        path += "/V1.0"
    return urlunsplit((parts.scheme, parts.netloc, path + "/", "", ""))


class Autotask:
    """Pulls Autotask tickets with every note, time entry and resolution; writes notes back."""

    name: ClassVar[str] = "autotask"
    kinds: ClassVar[frozenset[str]] = frozenset({"ticket"})

    def __init__(
        self,
        settings: AutotaskSettings,
        *,
        client: httpx.Client,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = _utcnow,
        limiter: HourlyRequestLimiter | None = None,
    ) -> None:
        self._settings = settings
        self._key = f"sources.{settings.name}"
        self._now = now
        self._http = SourceHttp(client=client, settings=settings.http, source=settings.name,
                                sleep=sleep)
        # A POST that failed with a 5xx may have been stored: never send a note twice.
        self._write_http = SourceHttp(
            client=client, settings=settings.http.model_copy(update={"max_attempts": 1}),
            source=settings.name, sleep=sleep)
        self._limiter = limiter or HourlyRequestLimiter(settings.requests_per_hour, sleep=sleep)
        self._slots = EndpointSlots(THREADS_PER_ENDPOINT)
        self._zone: ZoneInformation | None = None
        self._picklists: dict[str, dict[str, str]] | None = None
        self._names: dict[str, dict[int, str | None]] = defaultdict(dict)

    @property
    def requests_made(self) -> int:
        """HTTP requests this connector has sent (every attempt counts)."""
        return self._http.requests_made + self._write_http.requests_made

    def check(self) -> None:
        """Discover the zone and read the tenant's request threshold: one authenticated call."""
        data = self._call("ThresholdInformation", "GET", f"{self._api()}ThresholdInformation")
        if isinstance(data, dict) and data.get("externalRequestThreshold"):
            log.info("source %s: %s of %s requests used in the current hour",
                     self._settings.name, data.get("currentTimeframeRequestCount"),
                     data.get("externalRequestThreshold"))

    def pull(self, kind: str, *, since: Cursor | None) -> Iterator[Batch]:
        """Yield tickets whose last activity falls in the windows after `since`, page by page."""
        self._require_kind(kind)
        self._api()
        settings = self._settings
        now = self._now()
        windows = plan_windows(since, now=now, first_start=settings.first_start(now),
                               lookback=settings.lookback, safety_lag=settings.safety_lag,
                               slice_size=settings.backfill_slice)
        count = 0
        for window in windows:
            for batch in self._pull_window(window):
                count += len(batch.items)
                yield batch
            yield Batch(kind=kind, cursor=window.cursor_done())
        log.info("source %s: %d tickets pulled in %d requests", settings.name, count,
                 self.requests_made)

    def reconcile(self, kind: str) -> Iterator[str]:
        """Every ticket id at the source, ascending, by `id gt` pages of ids only."""
        self._require_kind(kind)
        page_size = self._settings.page_size
        url = f"{self._api()}Tickets/query"
        last = 0
        while True:
            body = {"MaxRecords": page_size, "IncludeFields": ["id"],
                    "filter": [{"op": "gt", "field": "id", "value": last}]}
            items = _items(self._call("Tickets", "POST", url, json=body), "Tickets")
            ids = sorted(_ids(items))
            yield from (str(ticket_id) for ticket_id in ids)
            if len(items) < page_size or not ids:
                return
            if ids[-1] <= last:
                raise PaginationLoop(f"source {self._settings.name}: Tickets id listing repeats "
                                     f"id {ids[-1]}")
            last = ids[-1]

    def post_internal_note(self, ticket_id: str, text: str) -> str:
        """Post an internal TicketNote (publish = internal) to a ticket; return its id."""
        settings = self._settings
        if not settings.writeback.should_post(source=settings.name, vendor="Autotask",
                                              ticket_id=ticket_id, text=text):
            return "dry-run"
        if not ticket_id.isdigit():
            raise ConnectorError(f"Autotask ticket ids are numbers, not {ticket_id!r}")
        if len(text) > MAX_NOTE_CHARS:
            log.warning("source %s: note for ticket %s cut to %d characters", settings.name,
                        ticket_id, MAX_NOTE_CHARS)
            text = text[: MAX_NOTE_CHARS - 1] + "…"
        body = {"ticketID": int(ticket_id), "title": settings.writeback_title,
                "description": text, "noteType": settings.writeback_note_type,
                "publish": settings.writeback_publish}
        url = f"{self._api()}Tickets/{ticket_id}/Notes"
        data = self._call("TicketNotes", "POST", url, json=body, http=self._write_http)
        item_id = data.get("itemId") if isinstance(data, dict) else None
        if item_id is None:
            raise ConnectorError(f"source {settings.name}: the note was posted to ticket "
                                 f"{ticket_id} but Autotask returned no itemId")
        log.info("source %s: posted note %s to ticket %s", settings.name, item_id, ticket_id)
        return str(item_id)

    # --- one window ---------------------------------------------------------------------

    def _pull_window(self, window: Window) -> Iterator[Batch]:
        filters: list[Filter] = [
            {"op": "gte", "field": "lastActivityDate", "value": to_iso(window.start)},
            {"op": "lt", "field": "lastActivityDate", "value": to_iso(window.end)},
        ]
        if window.after_id is not None:
            filters.append({"op": "gt", "field": "id", "value": window.after_id})
        last_id, ordered = window.after_id, True
        for raws in self._query("Tickets", filters):
            if not raws:
                continue  # an empty window: the window's own batch carries its cursor
            ids = _ids(raws)
            if ordered and (ids != sorted(ids) or (ids and last_id is not None
                                                   and ids[0] <= last_id)):
                # The id cursor assumes ascending ids; without them only the window end is safe.
                log.warning("source %s: Tickets/query returned ids out of order; no mid-window "
                            "checkpoints for this window", self._settings.name)
                ordered = False
            items, rejects = self._map_page(raws)
            if ids:
                last_id = max([*ids, last_id if last_id is not None else ids[0]])
            cursor = window.cursor_after(last_id) if ordered and last_id is not None else None
            log.debug("source %s: %d tickets, %d rejects up to id %s", self._settings.name,
                      len(items), len(rejects), last_id)
            yield Batch(kind="ticket", items=items, rejects=rejects, cursor=cursor)

    def _map_page(self, raws: list[Any]) -> tuple[list[Ticket], list[Reject]]:
        tickets, rejects = parse_items(AtTicket, raws, "ticket")
        if not tickets:
            return [], rejects
        ticket_ids = [ticket.id for ticket in tickets]
        notes, note_rejects = parse_items(AtNote, self._children("TicketNotes", ticket_ids),
                                          "TicketNotes", parent="ticketID")
        entries, entry_rejects = parse_items(AtTimeEntry, self._children("TimeEntries", ticket_ids),
                                             "TimeEntries", parent="ticketID")
        rejects += note_rejects + entry_rejects
        lookups = self._lookups(tickets, notes, entries)
        notes_by_ticket: dict[int, list[AtNote]] = defaultdict(list)
        for note in notes:
            notes_by_ticket[note.ticketID].append(note)
        entries_by_ticket: dict[int, list[AtTimeEntry]] = defaultdict(list)
        for entry in entries:
            entries_by_ticket[entry.ticketID].append(entry)
        web_url = self._zone.webUrl if self._zone else None
        raw_by_id = {raw.get("id"): raw for raw in raws if isinstance(raw, dict)}
        items: list[Ticket] = []
        for ticket in tickets:
            mapped, child_rejects = children_of(ticket, notes_by_ticket[ticket.id],
                                                entries_by_ticket[ticket.id], lookups)
            rejects += child_rejects
            try:
                items.append(to_ticket(ticket, mapped, lookups, source=self._settings.name,
                                       web_url=web_url))
            except ValidationError as exc:
                rejects.append(Reject(external_id=str(ticket.id),
                                      reason=f"ticket {ticket.id}: {validation_reason(exc)}",
                                      payload=payload_text(raw_by_id.get(ticket.id, ticket))))
        return items, rejects

    def _children(self, entity: str, ticket_ids: list[int]) -> Iterator[Any]:
        step = self._settings.children_per_query
        for start in range(0, len(ticket_ids), step):
            chunk = ticket_ids[start : start + step]
            for page in self._query(entity, [{"op": "in", "field": "ticketID", "value": chunk}]):
                yield from page

    # --- names and picklists ------------------------------------------------------------

    def _lookups(self, tickets: list[AtTicket], notes: list[AtNote],
                 entries: list[AtTimeEntry]) -> Lookups:
        if self._picklists is None:
            url = f"{self._api()}Tickets/entityInformation/fields"
            data = self._call("Tickets", "GET", url)
            try:
                self._picklists = EntityFields.model_validate(data).picklists()
            except ValidationError as exc:
                raise ConnectorError(f"source {self._settings.name}: Tickets field information "
                                     f"is malformed: {validation_reason(exc)}") from exc
        resources = {ticket.assignedResourceID for ticket in tickets}
        resources |= {ticket.completedByResourceID for ticket in tickets}
        resources |= {note.creatorResourceID for note in notes}
        resources |= {entry.resourceID for entry in entries}
        contacts = {ticket.contactID for ticket in tickets}
        contacts |= {note.createdByContactID for note in notes}
        companies = {ticket.companyID for ticket in tickets}
        return Lookups(
            resources=self._resolve("Resources", resources, AtResource),
            companies=self._resolve("Companies", companies, AtCompany),
            contacts=self._resolve("Contacts", contacts, AtContact),
            picklists=self._picklists,
        )

    def _resolve(self, entity: str, wanted: set[int | None],
                 model: type[AtResource | AtCompany | AtContact]) -> dict[int, str | None]:
        """Names of `wanted` ids, asking Autotask only for the ones not seen before."""
        names = self._names[entity]
        missing = sorted(key for key in wanted if key is not None and key not in names)
        fields = ["id", "companyName"] if model is AtCompany else ["id", "firstName", "lastName"]
        step = self._settings.children_per_query
        for start in range(0, len(missing), step):
            chunk = missing[start : start + step]
            for page in self._query(entity, [{"op": "in", "field": "id", "value": chunk}],
                                    include=fields):
                found, _ = parse_items(model, page, entity)
                for item in found:
                    names[item.id] = _name_of(item)
            for key in chunk:
                names.setdefault(key, None)  # gone at the source: do not ask again this run
        return names

    # --- HTTP ---------------------------------------------------------------------------

    def _query(self, entity: str, filters: list[Filter], *,
               include: list[str] | None = None) -> Iterator[list[Any]]:
        """The pages of one query; `nextPageUrl` is POSTed with the same body."""
        body: dict[str, Any] = {"MaxRecords": self._settings.page_size, "filter": filters}
        if include:
            body["IncludeFields"] = include
        paginator = NextUrlPaginator()
        request = paginator.first(f"{self._api()}{entity}/query")
        while request is not None:
            data = self._call(entity, "POST", request.url, json=body)
            items = _items(data, entity)
            yield items
            request = paginator.next_request(Page(url=request.url, item_count=len(items),
                                                  body=data))

    def _call(self, entity: str, method: str, url: str, *, http: SourceHttp | None = None,
              **kwargs: Any) -> Any:
        """One authenticated request: an endpoint slot, a budget token, the three headers."""
        http = http or self._http
        headers = self._headers()
        with self._slots.slot(entity):
            self._limiter.acquire()
            before = http.requests_made
            try:
                return http.request_json(method, url, headers=headers, **kwargs)
            finally:
                self._limiter.charge(http.requests_made - before - 1)  # retries count too

    def _headers(self) -> dict[str, str]:
        return {"ApiIntegrationCode": self._secret("integration_code"),
                "UserName": self._settings.username,
                "Secret": self._secret("secret"),
                "Content-Type": "application/json"}

    def _secret(self, field: str) -> str:
        value: SecretStr | None = getattr(self._settings, field)
        if value is None or not value.get_secret_value():
            env = secret_env_name(self._settings.name, field)
            raise ConfigError(f"{self._key}.{field}", f"not set; put it in the environment "
                                                      f"variable {env}")
        return value.get_secret_value()

    def _api(self) -> str:
        """The zone's REST base URL, discovered once per connector (no credentials sent)."""
        if self._zone is None:
            self._secret("integration_code")
            self._secret("secret")
            settings = self._settings
            url = f"{settings.zone_lookup_url}v1.0/zoneInformation"
            try:
                data = self._http.request_json("GET", url, params={"user": settings.username})
            except HttpStatusError as exc:
                raise ConnectorError(
                    f"source {settings.name}: Autotask zone discovery failed for user "
                    f"{settings.username!r} (HTTP {exc.status_code}); check {self._key}.username"
                ) from exc
            try:
                self._zone = ZoneInformation.model_validate(data)
            except ValidationError as exc:
                raise ConnectorError(f"source {settings.name}: zone information has no usable "
                                     f"url: {validation_reason(exc)}") from exc
            log.debug("source %s: Autotask zone %s", settings.name, urlsplit(self._zone.url).netloc)
        return api_base(self._zone.url)

    def _require_kind(self, kind: str) -> None:
        if kind not in self.kinds:
            raise ValueError(f"Autotask pulls {sorted(self.kinds)}, not {kind!r}")


def _items(data: Any, entity: str) -> list[Any]:
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ConnectorError(f"{entity}/query: the response has no items list")
    return items


def _ids(items: Iterable[Any]) -> list[int]:
    """The integer ids of raw items, in order; items without one are left out."""
    ids = []
    for item in items:
        value = item.get("id") if isinstance(item, dict) else None
        if isinstance(value, int) and not isinstance(value, bool):
            ids.append(value)
    return ids


def _name_of(item: AutotaskModel) -> str | None:
    if isinstance(item, AtCompany):
        return item.companyName
    if isinstance(item, AtResource | AtContact):
        return person_name(item.firstName, item.lastName)
    return None
