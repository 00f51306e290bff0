"""The HTTP layer every vendor connector shares: retries, Retry-After, auth failures, budgets.

One `SourceHttp` wraps the injected `httpx.Client` of one source for one sync run. It sends a
request, retries what is worth retrying (429, 500, 502, 503, 504, timeouts, dropped connections)
with tenacity, and maps everything else onto the error tree in `records.errors`:

    2xx                              the response
    401 / 403                        AuthError at once (after one refresh via `on_unauthorized`)
    429, 500, 502-504, timeouts      retried; RetriableError (with retry_after) when we give up
    any other status                 HttpStatusError (a ConnectorError), never retried
    request budget spent             BudgetExhausted, before the request is sent

Messages and logs name the method, host and path of a request, never its query string, headers
or body: query strings carry tokens in some APIs (Pipedrive `api_token`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import tenacity
from pydantic import BaseModel, ConfigDict, Field, model_validator

from records import AuthError, BudgetExhausted, ConnectorError, RetriableError

log = logging.getLogger(__name__)

RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Statuses that mean "try again later"; every other non-2xx status is final."""

# `Client.request` accepts these, `Client.build_request` does not: they go to `Client.send`.
_SEND_KWARGS = ("auth", "follow_redirects")
_DELAY_SECONDS = re.compile(r"\d+(?:\.\d+)?")


class HttpSettings(BaseModel):
    """How one source's HTTP calls are timed out, retried and budgeted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_seconds: float = Field(default=30, gt=0, description="Timeout of one attempt.")
    max_attempts: int = Field(default=5, ge=1, description="Attempts per request, first included.")
    max_retry_seconds: float = Field(
        default=120, ge=0, description="Total time one request may take, waits included."
    )
    request_budget: int | None = Field(
        default=None, ge=1, description="Most requests one run may send to this source."
    )
    backoff_initial: float = Field(default=1.0, ge=0, description="First backoff wait (seconds).")
    backoff_max: float = Field(default=60.0, ge=0, description="Longest backoff wait (seconds).")

    @model_validator(mode="after")
    def _check_backoff(self) -> HttpSettings:
        if self.backoff_max < self.backoff_initial:
            raise ValueError("backoff_max must not be smaller than backoff_initial")
        return self


class HttpStatusError(ConnectorError):
    """A final (non-retriable, non-auth) HTTP status, e.g. 404; `status_code` holds it."""

    def __init__(self, message: str, *, status_code: int) -> None:
        self.status_code = status_code
        super().__init__(message)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait as a Retry-After header asks (delay-seconds or HTTP-date, RFC 9110 10.2.3).

    Returns None when the header is absent or unreadable, 0 for a date in the past.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _DELAY_SECONDS.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    reference = now or datetime.now(UTC)
    if when.tzinfo is None:  # "-0000" and asctime dates carry no zone; HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=UTC)
    return max(0.0, (when - reference).total_seconds())


def describe_request(request: httpx.Request) -> str:
    """`METHOD host/path` of a request: safe to log, no query string, no credentials."""
    return f"{request.method} {request.url.host}{request.url.path}"


def _map_httpx_error(exc: Exception, target: str) -> ConnectorError:
    """The one place that turns an httpx exception into fixedit's error tree."""
    kind = type(exc).__name__  # str(exc) may quote the URL or a proxy's credentials
    if isinstance(exc, httpx.TimeoutException):
        return RetriableError(f"{target}: timed out ({kind})")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ConnectorError(f"{target}: unsupported URL scheme")
    if isinstance(exc, httpx.TransportError):
        return RetriableError(f"{target}: connection failed ({kind})")
    return ConnectorError(f"{target}: {kind}")


def _worth_retrying(exc: BaseException, call: _Call) -> bool:
    if not isinstance(exc, RetriableError):
        return False
    return call.idempotent or exc.status_code == 429


@dataclass
class _Call:
    """The state of one `SourceHttp.request` call across its attempts."""

    method: str
    url: str | httpx.URL
    build_kwargs: dict[str, Any]
    send_kwargs: dict[str, Any]
    idempotent: bool = True
    refreshed: bool = False
    busy_seconds: float = 0.0  # time spent waiting for responses; sleeps are counted by tenacity
    stop_reason: str = field(default="")


class SourceHttp:
    """Sends one source's HTTP requests with retries, Retry-After, fatal auth and a budget.

    Create one per source per sync run: `requests_made` and the budget count that run.
    `on_unauthorized` is for OAuth sources: on a 401 it is called once per request; when it
    returns True (it refreshed the token on the injected client) the request is built again
    from the client's now-current headers and sent once more.
    """

    def __init__(
        self,
        *,
        client: httpx.Client,
        settings: HttpSettings,
        source: str,
        sleep: Callable[[float], None] = time.sleep,
        on_unauthorized: Callable[[], bool] | None = None,
    ) -> None:
        self._client = client
        self._settings = settings
        self._source = source
        self._sleep = sleep
        self._on_unauthorized = on_unauthorized
        self._requests_made = 0
        # backoff_initial * 2**(attempt - 1) plus up to backoff_initial of jitter, capped below.
        self._backoff = tenacity.wait_exponential(
            multiplier=settings.backoff_initial, max=settings.backoff_max
        ) + tenacity.wait_random(0, settings.backoff_initial)

    @property
    def source(self) -> str:
        """Name of the configured source these requests belong to."""
        return self._source

    @property
    def requests_made(self) -> int:
        """Requests sent so far (every attempt counts), as charged against the budget."""
        return self._requests_made

    def request(
        self, method: str, url: str | httpx.URL, *, idempotent: bool = True, **kwargs: Any
    ) -> httpx.Response:
        """Send a request (httpx `Client.request` arguments) and return its 2xx response.

        Pass `idempotent=False` for a request that must not happen twice (a write-back note):
        it is then retried only after a 429, which says the server did not act on it, never
        after a 5xx or a timeout, where it may have.
        """
        kwargs.setdefault("timeout", self._settings.timeout_seconds)
        send_kwargs = {name: kwargs.pop(name) for name in _SEND_KWARGS if name in kwargs}
        call = _Call(method.upper(), url, kwargs, send_kwargs, idempotent=idempotent)
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda exc: _worth_retrying(exc, call)),
            wait=self._wait,
            stop=lambda state: self._should_stop(call, state),
            sleep=self._sleep,
            before_sleep=self._log_retry,
        )
        try:
            return retrying(self._attempt, call)
        except tenacity.RetryError as exc:
            last = exc.last_attempt.exception()
            if not isinstance(last, RetriableError):  # the retry predicate admits nothing else
                raise
            raise RetriableError(
                f"{last}; gave up: {call.stop_reason}", retry_after=last.retry_after
            ) from last

    def get(self, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        """`request("GET", url, ...)`."""
        return self.request("GET", url, **kwargs)

    def post(self, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        """`request("POST", url, ...)`."""
        return self.request("POST", url, **kwargs)

    def request_json(self, method: str, url: str | httpx.URL, **kwargs: Any) -> Any:
        """Send a request and decode its JSON body; a non-JSON body is a ConnectorError."""
        response = self.request(method, url, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            content_type = response.headers.get("content-type", "no content type")
            raise ConnectorError(
                f"{describe_request(response.request)}: response is not JSON ({content_type})"
            ) from exc

    def _attempt(self, call: _Call) -> httpx.Response:
        response = self._send(call)
        if response.status_code == 401 and self._on_unauthorized and not call.refreshed:
            call.refreshed = True
            if self._on_unauthorized():
                log.info("source %s: %s: HTTP 401, credentials refreshed, sending again",
                         self._source, describe_request(response.request))
                response = self._send(call)
        return self._check_status(call, response)

    def _send(self, call: _Call) -> httpx.Response:
        try:
            request = self._client.build_request(call.method, call.url, **call.build_kwargs)
        except httpx.InvalidURL as exc:  # the message would quote the URL
            raise ConnectorError(f"{call.method}: invalid URL for source {self._source!r}") from exc
        target = describe_request(request)
        budget = self._settings.request_budget
        if budget is not None and self._requests_made >= budget:
            raise BudgetExhausted(
                f"source {self._source!r}: request budget of {budget} spent; {target} not sent"
            )
        self._requests_made += 1
        started = time.monotonic()
        try:
            response = self._client.send(request, **call.send_kwargs)
        except (httpx.HTTPError, httpx.StreamError) as exc:
            elapsed = time.monotonic() - started
            call.busy_seconds += elapsed
            log.debug("source %s: %s -> %s after %.0f ms", self._source, target,
                      type(exc).__name__, elapsed * 1000)
            raise _map_httpx_error(exc, target) from exc
        elapsed = time.monotonic() - started
        call.busy_seconds += elapsed
        log.debug("source %s: %s -> %d in %.0f ms", self._source, target,
                  response.status_code, elapsed * 1000)
        return response

    def _check_status(self, call: _Call, response: httpx.Response) -> httpx.Response:
        status = response.status_code
        if response.is_success:
            return response
        target = describe_request(response.request)
        if status == 401:
            again = " even after refreshing them" if call.refreshed else ""
            raise AuthError(f"{target}: HTTP 401: the source rejected the credentials{again}")
        if status == 403:
            raise AuthError(f"{target}: HTTP 403: the credentials lack permission for this")
        if status in RETRIABLE_STATUSES:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise RetriableError(f"{target}: HTTP {status}", retry_after=retry_after,
                                 status_code=status)
        raise HttpStatusError(f"{target}: HTTP {status} {response.reason_phrase}".rstrip(),
                              status_code=status)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetriableError) and error.retry_after is not None:
            return error.retry_after
        return min(float(self._backoff(state)), self._settings.backoff_max)

    def _should_stop(self, call: _Call, state: tenacity.RetryCallState) -> bool:
        settings = self._settings
        if state.attempt_number >= settings.max_attempts:
            call.stop_reason = f"{state.attempt_number} attempt(s) made"
            return True
        spent = call.busy_seconds + state.idle_for
        left = settings.max_retry_seconds - spent
        if state.upcoming_sleep > left:
            call.stop_reason = (
                f"waiting {state.upcoming_sleep:.1f}s would exceed the {left:.1f}s left of "
                f"max_retry_seconds={settings.max_retry_seconds:g}"
            )
            return True
        return False

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("source %s: %s; attempt %d of %d, retrying in %.1fs", self._source, error,
                    state.attempt_number, self._settings.max_attempts, state.upcoming_sleep)
