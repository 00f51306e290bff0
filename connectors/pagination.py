"""Paginators, one per paging style, without I/O: they read a fetched page, say what comes next.

Every paginator has the same two calls::

    paginator = LinkHeaderPaginator()
    request = paginator.first("service/tickets", {"pageSize": 1000})
    while request is not None:
        response = http.get(request.url, params=request.params)
        items = response.json()
        ...                                              # hand the items on
        request = paginator.next_request(Page(
            url=str(response.request.url), item_count=len(items), headers=response.headers,
        ))

`first` starts (or restarts) a traversal; `next_request` returns the next `PageRequest`, or None
when the last page has been read. An empty page always ends paging. A paginator that is handed
a page it has already seen (the same next link, cursor or page fingerprint) raises
`records.PaginationLoop` instead of paging forever. Next links are followed only to the origin
(scheme, host, port) of the page that named them, so a source cannot send our credentials
elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

from records import ConnectorError, PaginationLoop

Params = Mapping[str, str | int]
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Page:
    """What a paginator may read of one fetched page; the connector builds it from its response.

    `url` is the absolute URL that was fetched (relative next links resolve against it);
    `body` the decoded JSON; `total` the record count the API reports, if any; `fingerprint`
    anything that tells pages apart (e.g. first and last item ids) for the loop guard.
    """

    url: str
    item_count: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    total: int | None = None
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Where the next page is: a URL and the query parameters to send with it.

    `params` is None when the URL carries its own query string (next links): pass it on as it
    is, because httpx replaces a URL's query with any `params` given, even an empty mapping.
    """

    url: str
    params: Params | None = None


@dataclass(frozen=True, slots=True)
class Link:
    """One link of an RFC 8288 Link header: its target and parameters (names lower-cased)."""

    target: str
    params: Mapping[str, str]

    @property
    def rels(self) -> frozenset[str]:
        """The relation types of this link, lower-cased (`rel` is a space-separated list)."""
        return frozenset(self.params.get("rel", "").lower().split())


def parse_link_header(value: str) -> list[Link]:
    """Parse an RFC 8288 `Link` header value; parts that are not `<target>; params` are skipped."""
    links: list[Link] = []
    pos, end = 0, len(value)
    while pos < end:
        pos = _skip(value, pos, " \t,")
        if pos >= end:
            break
        if value[pos] != "<":
            pos = _skip_past_comma(value, pos)
            continue
        close = value.find(">", pos + 1)
        if close < 0:
            break
        target = value[pos + 1 : close].strip()
        params: dict[str, str] = {}
        pos = _skip(value, close + 1, " \t")
        while pos < end and value[pos] == ";":
            name_start = _skip(value, pos + 1, " \t")
            pos = name_start
            while pos < end and value[pos] not in "=;, \t":
                pos += 1
            name = value[name_start:pos].lower()
            pos = _skip(value, pos, " \t")
            param_value = ""
            if pos < end and value[pos] == "=":
                param_value, pos = _read_value(value, _skip(value, pos + 1, " \t"))
            if name:
                params.setdefault(name, param_value)  # RFC 8288 3.3: later `rel`s are ignored
            pos = _skip(value, pos, " \t")
        links.append(Link(target=target, params=params))
        pos = _skip_past_comma(value, pos)
    return links


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _skip_past_comma(text: str, pos: int) -> int:
    """Move past the next comma that is outside a quoted string (or to the end)."""
    quoted = False
    while pos < len(text):
        char = text[pos]
        if quoted and char == "\\":
            pos += 1
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            return pos + 1
        pos += 1
    return pos


def _read_value(text: str, pos: int) -> tuple[str, int]:
    """Read a token or a quoted-string (with backslash escapes) starting at `pos`."""
    if pos < len(text) and text[pos] == '"':
        chars: list[str] = []
        pos += 1
        while pos < len(text) and text[pos] != '"':
            if text[pos] == "\\" and pos + 1 < len(text):
                pos += 1
            chars.append(text[pos])
            pos += 1
        return "".join(chars), pos + 1
    start = pos
    while pos < len(text) and text[pos] not in ";, \t":
        pos += 1
    return text[start:pos], pos


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that works for plain dicts and `httpx.Headers` alike."""
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


def _dig(body: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(body, Mapping):
            return None
        body = body.get(key)
    return body


def _label(url: str) -> str:
    """host/path of a URL for messages: never its query string."""
    parts = urlsplit(url)
    return f"{parts.hostname or ''}{parts.path}"


class _LoopGuard:
    """Remembers the tokens (links, cursors, fingerprints) a traversal has followed."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def reset(self) -> None:
        """Forget everything: a new traversal starts."""
        self._seen.clear()

    def remember(self, token: str) -> None:
        """Record `token` as followed (the page just fetched) without judging it."""
        self._seen.add(token)

    def check(self, token: str | None, message: str) -> None:
        """Record `token`; raise PaginationLoop(message) if it was seen before."""
        if token is None:
            return
        if token in self._seen:
            raise PaginationLoop(f"{message}: the source is paging in a loop")
        self._seen.add(token)


def _origin(parts: SplitResult) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in; a bad port is None."""
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme, parts.hostname or "", port or _DEFAULT_PORTS.get(parts.scheme)


def _follow(page: Page, link: str, guard: _LoopGuard, what: str) -> PageRequest:
    """Resolve a next link against the page URL, refuse other origins, guard against loops."""
    target = urljoin(page.url, link)
    here, there = urlsplit(page.url), urlsplit(target)
    if _origin(here) != _origin(there):
        raise ConnectorError(
            f"{what} points to {there.scheme}://{there.hostname}, not to {here.hostname}: "
            "not following it with this source's credentials"
        )
    guard.remember(page.url)
    guard.check(target, f"{what} {_label(target)} was already fetched")
    return PageRequest(url=target)


class PageNumberPaginator:
    """Numbered pages (`page=1, 2, ...`, ConnectWise; `page_no`, HaloPSA).

    Stops on a page shorter than `page_size` or once `total` items (when the API reports it,
    e.g. Halo `record_count`) have been seen. Its loop guard needs `Page.fingerprint`: an API
    that ignores the page parameter returns the same page again, which would never end.
    """

    def __init__(
        self,
        page_size: int,
        start: int = 1,
        *,
        page_param: str = "page",
        size_param: str = "pageSize",
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.page_size = page_size
        self.start = start
        self.page_param = page_param
        self.size_param = size_param
        self._guard = _LoopGuard()
        self._url: str | None = None
        self._params: dict[str, str | int] = {}
        self._page = start
        self._items_seen = 0

    def first(self, url: str, params: Params | None = None) -> PageRequest:
        """The request for the first page; extra `params` are sent with every page."""
        self._guard.reset()
        self._url, self._params = url, dict(params or {})
        self._page, self._items_seen = self.start, 0
        return self._request(url)

    def next_request(self, page: Page) -> PageRequest | None:
        """The request for the page after `page`, or None when `page` was the last."""
        if self._url is None:
            raise RuntimeError("call first() before next_request()")
        self._guard.check(page.fingerprint, f"page {self._page} repeats an earlier page")
        self._items_seen += page.item_count
        if page.item_count < self.page_size:
            return None
        if page.total is not None and self._items_seen >= page.total:
            return None
        self._page += 1
        return self._request(self._url)

    def _request(self, url: str) -> PageRequest:
        params = {**self._params, self.page_param: self._page, self.size_param: self.page_size}
        return PageRequest(url=url, params=params)


class LinkHeaderPaginator:
    """RFC 8288 `Link` header paging: follow `rel="next"` until there is none (ConnectWise,
    also in forward-only mode where the link carries `pageId`; ServiceNow; GitHub)."""

    def __init__(self, rel: str = "next") -> None:
        self.rel = rel.lower()
        self._guard = _LoopGuard()

    def first(self, url: str, params: Params | None = None) -> PageRequest:
        """The request for the first page; later pages take their parameters from the link."""
        self._guard.reset()
        return PageRequest(url=url, params=dict(params) if params else None)

    def next_request(self, page: Page) -> PageRequest | None:
        """The page the `rel="next"` link of `page` names, or None when there is none."""
        if page.item_count == 0:
            return None
        header = _header(page.headers, "link")
        if not header:
            return None
        for link in parse_link_header(header):
            if self.rel in link.rels and link.target:
                return _follow(page, link.target, self._guard, "Link rel=next")
        return None


class NextUrlPaginator:
    """The next page's URL is a body field (Autotask `pageDetails.nextPageUrl`, Salesforce
    `nextRecordsUrl`). Autotask wants the same JSON body POSTed to it again after a POST query."""

    def __init__(self, path: str | Sequence[str] = ("pageDetails", "nextPageUrl")) -> None:
        self.path = tuple(path.split(".")) if isinstance(path, str) else tuple(path)
        self._guard = _LoopGuard()

    def first(self, url: str, params: Params | None = None) -> PageRequest:
        """The request for the first page; later pages take their parameters from the URL."""
        self._guard.reset()
        return PageRequest(url=url, params=dict(params) if params else None)

    def next_request(self, page: Page) -> PageRequest | None:
        """The URL the body of `page` names as next, or None when it names none."""
        if page.item_count == 0:
            return None
        link = _dig(page.body, self.path)
        if link is None or link == "":
            return None
        if not isinstance(link, str):
            raise ConnectorError(f"{'.'.join(self.path)} is {type(link).__name__}, not a URL")
        return _follow(page, link, self._guard, ".".join(self.path))


class CursorPaginator:
    """An opaque cursor from the body is sent back as a query parameter (HubSpot `after` from
    `paging.next.after`, Pipedrive `cursor` from `additional_data.next_cursor`)."""

    def __init__(self, path: str | Sequence[str], param: str) -> None:
        self.path = tuple(path.split(".")) if isinstance(path, str) else tuple(path)
        self.param = param
        self._guard = _LoopGuard()
        self._url: str | None = None
        self._params: dict[str, str | int] = {}

    def first(self, url: str, params: Params | None = None) -> PageRequest:
        """The request for the first page; extra `params` are sent with every page."""
        self._guard.reset()
        self._url, self._params = url, dict(params or {})
        return PageRequest(url=url, params=dict(self._params) if self._params else None)

    def next_request(self, page: Page) -> PageRequest | None:
        """The same URL with the cursor of `page`, or None when `page` carries no cursor."""
        if self._url is None:
            raise RuntimeError("call first() before next_request()")
        if page.item_count == 0:
            return None
        cursor = _dig(page.body, self.path)
        if cursor is None or cursor == "":
            return None
        if not isinstance(cursor, str | int):
            raise ConnectorError(f"{'.'.join(self.path)} is {type(cursor).__name__}, not a cursor")
        self._guard.check(str(cursor), f"cursor at {'.'.join(self.path)} repeats")
        return PageRequest(url=self._url, params={**self._params, self.param: cursor})
