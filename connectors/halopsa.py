"""The HaloPSA connector: tickets and their actions over Halo's REST API, with OAuth2.

Auth is the OAuth2 client-credentials grant: `POST {base}/auth/token` (form body
`grant_type=client_credentials`, `client_id`, `client_secret`, `scope`, and `tenant` for hosted
tenants) returns `access_token` and `expires_in`; every API call carries `Authorization: Bearer`.
The token is renewed shortly before it expires, and once more when the API answers 401.

Kind "ticket". Its cursor follows `connectors.incremental`: `Cursor(value=<window start>,
slice=<last ticket id stored>)` part-way through a window, `Cursor(value=<window end>)` once the
window is done. A window is read from `GET /api/Tickets?lastupdatefromdate=&lastupdatetodate=`
ordered by id, `pageinate=true&page_size=&page_no=` (Halo's spelling). Halo has no "id greater
than" filter, so a window resumed mid-way is paged from its start and ids up to the stored one
are skipped client-side. Each listed ticket's actions come from
`GET /api/Actions?ticket_id=&excludesys=true`: there is no bulk action listing, so actions are
re-read whenever their ticket changes (adding an action stamps the ticket).

Offset paging can skip a record when one before it leaves the window mid-listing (it was updated:
its new stamp lies after the window). `record_count` shrinking between pages shows that; the
listing is then read again from its first page, skipping ids already handed on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from connectors.halopsa_models import (
    DEFAULT_PRIORITIES,
    DEFAULT_STATUSES,
    MappingOptions,
    parse_actions,
    parse_ticket,
    to_ticket,
)
from connectors.http import HttpStatusError, SourceHttp
from connectors.incremental import Window, plan_windows
from connectors.pagination import Page, PageRequest
from connectors.settings import ApiSourceSettings, secret_env_name
from connectors.timestamps import ZoneName
from records import (
    AuthError,
    Batch,
    ConfigError,
    ConnectorError,
    Cursor,
    PaginationLoop,
    PayloadError,
    Reject,
    Ticket,
)

log = logging.getLogger(__name__)

MAX_REWINDS = 10
"""How often one listing may be re-read from its first page because records left it mid-way."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class HaloPsaSettings(ApiSourceSettings):
    """A `[[sources]]` table of kind "halopsa". The client secret comes from the environment."""

    secret_fields: ClassVar[tuple[str, ...]] = ("client_secret",)

    kind: Literal["halopsa"] = "halopsa"
    base_url: str | None = Field(default=None, description="e.g. https://acme.halopsa.com")
    instance: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$",
                                 description="'acme' for https://acme.halopsa.com")
    auth_url: str | None = Field(default=None, description="Authorisation server; {base}/auth.")
    tenant: str | None = Field(default=None, description="Tenant name (hosted Halo only).")
    client_id: str = Field(min_length=1)
    client_secret: SecretStr | None = None
    scope: str = Field(default="all", min_length=1)
    page_size: int = Field(default=100, ge=1, le=10_000, description="Tickets per page.")
    id_page_size: int = Field(default=1000, ge=1, le=10_000, description="Ids per page.")
    timezone: ZoneName = Field(default="UTC", description="Zone of timestamps sent without Z.")
    closed_status_ids: list[int] = Field(default_factory=lambda: [9], min_length=1)
    resolution_outcomes: list[str] = Field(default_factory=lambda: ["Resolved"])
    statuses: dict[int, str] = Field(default_factory=lambda: dict(DEFAULT_STATUSES))
    priorities: dict[int, str] = Field(default_factory=lambda: dict(DEFAULT_PRIORITIES))

    @model_validator(mode="after")
    def _one_address(self) -> HaloPsaSettings:
        if (self.base_url is None) == (self.instance is None):
            raise ValueError("set exactly one of base_url (https://acme.halopsa.com) or instance")
        for name in ("base_url", "auth_url"):
            value = getattr(self, name)
            if value is not None and not value.startswith(("https://", "http://")):
                raise ValueError(f"{name} must start with https:// (got {value!r})")
        return self

    def root_url(self) -> str:
        """The instance's root URL, without a trailing slash or /api."""
        if self.base_url is None:
            return f"https://{self.instance}.halopsa.com"
        return self.base_url.rstrip("/").removesuffix("/api")

    def token_url(self) -> str:
        """Where client-credentials tokens are requested."""
        return f"{(self.auth_url or self.root_url() + '/auth').rstrip('/')}/token"


class _TokenResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")

    access_token: str = Field(min_length=1)
    expires_in: float = Field(default=3600, gt=0)


class _Bearer(httpx.Auth):
    """Puts the current token on each request as it is sent, so a retry carries a renewed one."""

    def __init__(self) -> None:
        self.token: str | None = None

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        """Add `Authorization: Bearer <token>`."""
        if self.token is not None:
            request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


class RecordCountPaginator:
    """Halo's numbered pages: `record_count`, not a short page, says when the last one was read.

    A page shorter than asked for is not the end while `record_count` says more remain (a tenant
    may cap the page size). Without `record_count` a short page ends paging. A page whose
    fingerprint repeats an earlier one raises PaginationLoop.
    """

    def __init__(self, page_size: int) -> None:
        self.page_size = page_size
        self._url = ""
        self._params: dict[str, str | int] = {}
        self._page = 1
        self._items_seen = 0
        self._seen: set[str] = set()

    def first(self, url: str, params: Mapping[str, str | int]) -> PageRequest:
        """The request for page 1; `params` go with every page."""
        self._url, self._params = url, dict(params)
        self._page, self._items_seen = 1, 0
        self._seen.clear()
        return self._request()

    def next_request(self, page: Page) -> PageRequest | None:
        """The next page's request, or None when `page` was the last."""
        if page.fingerprint is not None:
            if page.fingerprint in self._seen:
                raise PaginationLoop(f"page {self._page} repeats an earlier page: the source is "
                                     "paging in a loop")
            self._seen.add(page.fingerprint)
        self._items_seen += page.item_count
        if page.item_count == 0:
            return None
        if page.total is not None:
            if self._items_seen >= page.total:
                return None
        elif page.item_count < self.page_size:
            return None
        self._page += 1
        return self._request()

    def _request(self) -> PageRequest:
        params = {**self._params, "pageinate": "true", "page_size": self.page_size,
                  "page_no": self._page}
        return PageRequest(url=self._url, params=params)


class HaloPsa:
    """Pulls HaloPSA tickets with all their actions; lists ids; posts private notes."""

    name: ClassVar[str] = "halopsa"
    kinds: ClassVar[frozenset[str]] = frozenset({"ticket"})

    def __init__(
        self,
        settings: HaloPsaSettings,
        *,
        client: httpx.Client,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._settings = settings
        self._now = now
        self._api = f"{settings.root_url()}/api"
        self._zone: tzinfo = ZoneInfo(settings.timezone)
        self._bearer = _Bearer()
        self._expires_at: datetime | None = None
        self._http = SourceHttp(client=client, settings=settings.http, source=settings.name,
                                sleep=sleep, on_unauthorized=self._refresh_after_401)
        self._token_http = SourceHttp(client=client, settings=settings.http,
                                      source=settings.name, sleep=sleep)
        self._options = MappingOptions(
            source=settings.name, zone=self._zone, ui_base=settings.root_url(),
            closed_statuses=frozenset(settings.closed_status_ids),
            resolution_outcomes=frozenset(o.strip().lower() for o in settings.resolution_outcomes),
            statuses=dict(settings.statuses), priorities=dict(settings.priorities),
        )

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far, token requests included."""
        return self._http.requests_made + self._token_http.requests_made

    def check(self) -> None:
        """Get a token and list one ticket id: proves the credentials and the scope."""
        self._get("Tickets", {"pageinate": "true", "page_size": 1, "page_no": 1,
                              "ticketidonly": "true"})

    def pull(self, kind: str, *, since: Cursor | None) -> Iterator[Batch]:
        """Yield the tickets changed since `since`, window by window, page by page."""
        self._check_kind(kind)
        settings, now = self._settings, self._now()
        for window in plan_windows(since, now=now, first_start=settings.first_start(now),
                                   lookback=settings.lookback, safety_lag=settings.safety_lag,
                                   slice_size=settings.backfill_slice):
            yield from self._pull_window(kind, window)

    def reconcile(self, kind: str) -> Iterator[str]:
        """Every ticket id Halo lists now (ids only), across all pages."""
        self._check_kind(kind)
        params = {"ticketidonly": "true", "order": "id", "orderdesc": "false"}
        for rows in self._walk(params, page_size=self._settings.id_page_size, after_id=None):
            for raw in rows:
                row_id = _row_id(raw)
                if row_id is None:
                    log.warning("source %s: an id listing row has no usable id; skipped",
                                self._settings.name)
                    continue
                yield str(row_id)

    def post_internal_note(self, ticket_id: str, text: str) -> str:
        """Add a private note (an action hidden from the end user); return its note id."""
        settings = self._settings
        if not settings.writeback.should_post(source=settings.name, vendor="HaloPSA",
                                              ticket_id=ticket_id, text=text):
            return "dry-run"
        if not ticket_id.isdigit():
            raise ValueError(f"HaloPSA ticket ids are numbers, not {ticket_id!r}")
        body = [{"ticket_id": int(ticket_id), "note": text, "outcome": "Private Note",
                 "hiddenfromuser": True}]
        self._ensure_token()
        created = self._http.request_json("POST", f"{self._api}/Actions", json=body,
                                          auth=self._bearer, idempotent=False)
        first = created[0] if isinstance(created, list) and created else created
        action_id = _row_id(first)
        if action_id is None:
            raise ConnectorError("POST /api/Actions: the response names no action id")
        return f"{ticket_id}-{action_id}"

    def _pull_window(self, kind: str, window: Window) -> Iterator[Batch]:
        start, end = _halo_time(window.start, self._zone), _halo_time(window.end, self._zone)
        if start >= end:
            yield Batch(kind=kind, cursor=window.cursor_done())
            return
        params = {"lastupdatefromdate": start.isoformat(), "lastupdatetodate": end.isoformat(),
                  "order": "id", "orderdesc": "false"}
        last = window.after_id or 0
        for rows in self._walk(params, page_size=self._settings.page_size,
                               after_id=window.after_id):
            items: list[Ticket] = []
            rejects: list[Reject] = []
            for raw in rows:
                result = self._read_ticket(raw)
                (items if isinstance(result, Ticket) else rejects).append(result)
                last = max(last, _row_id(raw) or 0)
            log.debug("source %s: %d tickets, %d rejects up to id %d", self._settings.name,
                      len(items), len(rejects), last)
            yield Batch(kind=kind, items=items, rejects=rejects, cursor=window.cursor_after(last))
        yield Batch(kind=kind, cursor=window.cursor_done())

    def _read_ticket(self, raw: Any) -> Ticket | Reject:
        action_rows: list[Any] | None = None
        try:
            ticket = parse_ticket(raw)
            action_rows = self._action_rows(ticket.id)
            actions = parse_actions(str(ticket.id), action_rows)
            return to_ticket(ticket, actions, self._options)
        except PayloadError as exc:
            payload = raw if action_rows is None else {"ticket": raw, "actions": action_rows}
            return Reject(external_id=exc.external_id, reason=exc.reason,
                          payload=json.dumps(payload, default=str))

    def _action_rows(self, ticket_id: int) -> list[Any]:
        body = self._get("Actions", {"ticket_id": ticket_id, "excludesys": "true"})
        rows, _ = _unwrap(body, "actions", what=f"actions of ticket {ticket_id}")
        return rows

    def _walk(self, params: Mapping[str, str], *, page_size: int,
              after_id: int | None) -> Iterator[list[Any]]:
        """Pages of a listing ordered by id, each cut to the rows after the last one handed on."""
        paginator = RecordCountPaginator(page_size)
        url = f"{self._api}/Tickets"
        request: PageRequest | None = paginator.first(url, params)
        last, total, rewinds = after_id or 0, None, 0
        while request is not None:
            body = self._get_url(request.url, request.params)
            rows, count = _unwrap(body, "tickets", what="the ticket listing")
            if total is not None and count is not None and count < total:
                rewinds += 1
                if rewinds > MAX_REWINDS:
                    raise ConnectorError(f"source {self._settings.name}: the ticket listing "
                                         f"kept shrinking while it was read ({rewinds} times)")
                log.debug("source %s: record_count fell from %d to %d mid-listing; reading it "
                          "again from page 1 after id %d", self._settings.name, total, count, last)
                total = count
                request = paginator.first(url, params)
                continue
            total = count if count is not None else total
            ids = [row_id for row_id in map(_row_id, rows) if row_id is not None]
            if ids != sorted(ids):
                raise ConnectorError("the ticket listing is not in ascending id order; "
                                     "the source ignored order=id")
            fresh = [raw for raw in rows if (_row_id(raw) or last + 1) > last]
            if fresh:
                yield fresh
                last = max([last, *ids])
            fingerprint = f"{ids[0]}..{ids[-1]}/{len(rows)}" if ids else None
            request = paginator.next_request(Page(url=url, item_count=len(rows), body=body,
                                                  total=count, fingerprint=fingerprint))

    def _get(self, path: str, params: Mapping[str, str | int]) -> Any:
        return self._get_url(f"{self._api}/{path}", params)

    def _get_url(self, url: str, params: Mapping[str, str | int] | None) -> Any:
        self._ensure_token()
        return self._http.request_json("GET", url, params=params, auth=self._bearer)

    def _ensure_token(self) -> None:
        expires = self._expires_at
        if self._bearer.token is None or expires is None or self._now() >= expires:
            self._fetch_token()

    def _refresh_after_401(self) -> bool:
        log.info("source %s: the API answered 401; requesting a new token", self._settings.name)
        self._fetch_token()
        return True

    def _fetch_token(self) -> None:
        settings = self._settings
        form = {"grant_type": "client_credentials", "client_id": settings.client_id,
                "client_secret": self._secret(), "scope": settings.scope}
        if settings.tenant:
            form["tenant"] = settings.tenant
        try:
            body = self._token_http.request_json("POST", settings.token_url(), data=form)
        except HttpStatusError as exc:
            if exc.status_code != 400:
                raise
            raise AuthError(
                f"source {settings.name}: the token endpoint refused the client credentials "
                f"(HTTP 400): check client_id, tenant and scope in the config and "
                f"{secret_env_name(settings.name, 'client_secret')}") from exc
        try:
            token = _TokenResponse.model_validate(body)
        except ValidationError as exc:
            raise ConnectorError(f"source {settings.name}: the token response has no usable "
                                 "access_token/expires_in") from exc
        lifetime = timedelta(seconds=token.expires_in)
        self._bearer.token = token.access_token
        # Renew a little early so a token does not expire between check and use.
        self._expires_at = self._now() + lifetime - min(timedelta(seconds=60), lifetime / 10)
        log.debug("source %s: new access token, valid %.0fs", settings.name, token.expires_in)

    def _secret(self) -> str:
        secret = self._settings.client_secret
        if secret is None or not secret.get_secret_value():
            env = secret_env_name(self._settings.name, "client_secret")
            raise ConfigError(env, "the HaloPSA client secret is not set in the environment")
        return secret.get_secret_value()

    def _check_kind(self, kind: str) -> None:
        if kind not in self.kinds:
            raise ValueError(f"HaloPSA pulls {sorted(self.kinds)}, not {kind!r}")


def _halo_time(moment: datetime, zone: tzinfo) -> datetime:
    """A window bound as Halo's filters take it: naive, in the source's zone, to the second."""
    return moment.astimezone(zone).replace(tzinfo=None, microsecond=0)


def _unwrap(body: Any, key: str, *, what: str) -> tuple[list[Any], int | None]:
    """Rows and `record_count` of a list response, wrapped (`{key: [...]}`) or bare (`[...]`)."""
    if isinstance(body, list):
        return body, None
    if isinstance(body, dict) and isinstance(body.get(key), list):
        count = body.get("record_count")
        return body[key], count if isinstance(count, int) and not isinstance(count, bool) else None
    raise ConnectorError(f"{what}: expected a list or an object with {key!r}, got "
                         f"{type(body).__name__}")


def _row_id(raw: Any) -> int | None:
    value = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
