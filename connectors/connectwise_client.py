"""The ConnectWise API as one source sees it: where it lives, how to sign in, how it pages.

The API root is `https://{api-host}/{codebase}apis/3.0/`. Cloud hosts take an `api-` prefix
(`na.myconnectwise.net` -> `api-na.myconnectwise.net`); the codebase comes, unauthenticated,
from `https://{site}/login/companyinfo/{companyId}` and is looked up again when the API answers
404, because hosted ConnectWise moves it during upgrades. Every API request carries Basic
`companyId+publicKey:privateKey` and the integration's `clientId` header.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx
from pydantic import SecretStr

from connectors.connectwise_models import CwCompanyInfo
from connectors.http import HttpStatusError, SourceHttp, describe_request
from connectors.pagination import LinkHeaderPaginator, Page, PageNumberPaginator
from connectors.settings import secret_env_name
from records import ConfigError, ConnectorError, PaginationLoop

if TYPE_CHECKING:
    from connectors.connectwise import ConnectWiseSettings

log = logging.getLogger(__name__)

Record = dict[str, Any]
_CLOUD_DOMAINS = ("myconnectwise.net", "connectwisedev.com")
_UI_CODEBASE = "v4_6_release/"
"""The router codebase that always serves the current version: used for stable ticket links."""


class ConnectWiseApi:
    """Signed, paged requests to one ConnectWise company's API, with codebase discovery."""

    def __init__(self, settings: ConnectWiseSettings, *, client: httpx.Client,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._settings = settings
        self._http = SourceHttp(client=client, settings=settings.http, source=settings.name,
                                sleep=sleep)
        self._codebase = normalise_codebase(settings.codebase) if settings.codebase else None
        self._auth: str | None = None

    @property
    def requests_made(self) -> int:
        """Requests sent so far (retries and discovery included)."""
        return self._http.requests_made

    def request(self, method: str, target: str, *, params: Any = None, json: Any = None,
                forward_only: bool = False, write: bool = False) -> httpx.Response:
        """Send an API request (`target` relative to the API root, or a next link); on a 404,
        look the codebase up again and, if it moved, send the request once more.

        A `write` is retried only after a 429: after a 5xx it may have been done already.
        """
        headers = self._headers(forward_only=forward_only)  # a missing secret fails first
        root = self._api_root()
        url = target if "://" in target else root + target
        try:
            return self._http.request(method, url, params=params, json=json, headers=headers,
                                      idempotent=not write)
        except HttpStatusError as exc:
            if exc.status_code != 404 or self._settings.codebase or not url.startswith(root):
                raise
            new_root = self._api_root(rediscover=True)
            if new_root == root:
                raise
            log.info("source %s: the ConnectWise codebase moved; sending again",
                     self._settings.name)
            return self._http.request(method, new_root + url[len(root):], params=params,
                                      json=json, headers=headers, idempotent=not write)

    def keyset_pages(self, path: str, conditions: Callable[[int | None], str],
                     after_id: int | None, *, fields: str | None = None,
                     ) -> Iterator[list[Record]]:
        """Pages of `path` in ascending id order, paged forward-only (Link with pageId).

        `conditions(after)` is the filter for ids above `after`. An endpoint that ignores
        `pagination-type: forward-only` answers without any Link header; a full page is then
        followed by asking again for ids above its last one.
        """
        page_size = self._settings.page_size
        paginator = LinkHeaderPaginator()
        request = paginator.first(path, self._list_params(conditions(after_id), fields))
        last = after_id
        while request is not None:
            response = self.request("GET", request.url, params=request.params,
                                    forward_only=True)
            records = json_list(response)
            if not records:
                return
            top = last_id(records)
            if top is not None:
                if last is not None and top <= last:
                    raise PaginationLoop(f"{describe_request(response.request)}: ids stopped "
                                         "increasing; the source is paging in a loop")
                last = top
            yield records
            request = paginator.next_request(Page(url=str(response.request.url),
                                                  item_count=len(records),
                                                  headers=response.headers))
            if request is None and "link" not in response.headers and len(records) >= page_size:
                request = paginator.first(path, self._list_params(conditions(last), fields))

    def navigable(self, path: str, params: dict[str, str | int]) -> Iterator[Record]:
        """Every record of a navigable (page/pageSize) listing; a short page ends it."""
        paginator = PageNumberPaginator(self._settings.page_size)
        request = paginator.first(path, params)
        while request is not None:
            response = self.request("GET", request.url, params=request.params)
            records = json_list(response)
            yield from records
            fingerprint = (f"{records[0].get('id')}:{records[-1].get('id')}:{len(records)}"
                           if records else None)
            request = paginator.next_request(Page(url=str(response.request.url),
                                                  item_count=len(records),
                                                  fingerprint=fingerprint))

    def ticket_url(self, ticket_id: int) -> str:
        """The ticket in the ConnectWise web UI (stable across codebase upgrades)."""
        return (f"{self._ui_origin()}/{_UI_CODEBASE}services/system_io/Service/"
                f"fv_sr100_request.rails?service_recid={ticket_id}"
                f"&companyName={quote(self._settings.company_id, safe='')}")

    def _list_params(self, conditions: str, fields: str | None) -> dict[str, str | int]:
        params: dict[str, str | int] = {"orderBy": "id asc", "pageSize": self._settings.page_size}
        if conditions:
            params["conditions"] = conditions
        if fields:
            params["fields"] = fields
        return params

    def _api_root(self, *, rediscover: bool = False) -> str:
        if self._codebase is None or rediscover:
            self._codebase = self._discover()
        return f"{self._api_origin()}/{self._codebase}apis/3.0/"

    def _discover(self) -> str:
        settings = self._settings
        url = f"{self._ui_origin()}/login/companyinfo/{quote(settings.company_id, safe='')}"
        key = f"sources.{settings.name}.company_id"
        try:
            response = self._http.get(url, headers={"Accept": "application/json"})
        except HttpStatusError as exc:
            if exc.status_code == 404:
                raise ConfigError(key, f"ConnectWise does not know company "
                                       f"{settings.company_id!r} at this site") from exc
            raise
        try:
            info = CwCompanyInfo.model_validate(response.json())
        except ValueError as exc:  # not JSON, or no Codebase in it
            raise ConfigError(key, f"/login/companyinfo named no codebase for company "
                                   f"{settings.company_id!r}") from exc
        codebase = normalise_codebase(info.codebase)
        log.debug("source %s: ConnectWise codebase %s", settings.name, codebase)
        return codebase

    def _headers(self, *, forward_only: bool = False) -> dict[str, str]:
        settings = self._settings
        if self._auth is None:
            public, private = self._secret("public_key"), self._secret("private_key")
            token = f"{settings.company_id}+{public}:{private}".encode()
            self._auth = "Basic " + base64.b64encode(token).decode("ascii")
        accept = "application/json"
        if settings.api_version:
            accept = f"application/vnd.connectwise.com+json; version={settings.api_version}"
        headers = {"Authorization": self._auth, "clientId": settings.client_id, "Accept": accept}
        if forward_only:
            headers["pagination-type"] = "forward-only"
        return headers

    def _secret(self, field: str) -> str:
        value: SecretStr | None = getattr(self._settings, field)
        if value is None or not value.get_secret_value():
            env = secret_env_name(self._settings.name, field)
            raise ConfigError(env, f"the ConnectWise {field.replace('_', ' ')} is not set; "
                                   f"put it in the environment variable {env}")
        return value.get_secret_value()

    def _ui_origin(self) -> str:
        settings = self._settings
        if settings.base_url is not None:
            return settings.base_url.rstrip("/")
        return f"https://{_host(settings.site or '').removeprefix('api-')}"

    def _api_origin(self) -> str:
        settings = self._settings
        if settings.base_url is not None:
            return settings.base_url.rstrip("/")
        host = _host(settings.site or "").removeprefix("api-")
        if host.endswith(_CLOUD_DOMAINS):
            host = f"api-{host}"
        return f"https://{host}"


def _host(site: str) -> str:
    text = site.strip()
    return (urlsplit(text).hostname or "") if "://" in text else text.strip("/")


def normalise_codebase(codebase: str) -> str:
    """`v2024_1`, `/v2024_1/` -> `v2024_1/` (how it is joined into the API root)."""
    return codebase.strip().strip("/") + "/"


def record_id(record: Any) -> int | None:
    """A record's integer `id`, or None when it has none."""
    value = record.get("id") if isinstance(record, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def last_id(records: Sequence[Record]) -> int | None:
    """The highest id on a page (None when no record has one)."""
    ids = [i for i in map(record_id, records) if i is not None]
    return max(ids) if ids else None


def json_body(response: httpx.Response) -> Any:
    """The decoded JSON body; ConnectorError when it is not JSON."""
    try:
        return response.json()
    except ValueError as exc:
        raise ConnectorError(f"{describe_request(response.request)}: response is not JSON") from exc


def json_list(response: httpx.Response) -> list[Record]:
    """A listing's JSON array; ConnectorError when the body is anything else."""
    body = json_body(response)
    if not isinstance(body, list):
        raise ConnectorError(f"{describe_request(response.request)}: expected a JSON array, "
                             f"got {type(body).__name__}")
    return [record if isinstance(record, dict) else {"value": record} for record in body]
