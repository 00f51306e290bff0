"""The one error tree of fixedit.

::

    FixeditError
    ├── ConfigError            a bad or missing setting; names the key
    ├── ConnectorError         talking to a source went wrong
    │   ├── AuthError          401/403: fatal at once, never retried
    │   ├── RetriableError     429, 5xx, timeouts: retried, carries retry_after
    │   ├── BudgetExhausted    the per-source request budget is spent: stop cleanly, resume next run
    │   ├── PayloadError       one record is malformed: quarantined, the sync goes on
    │   └── PaginationLoop     the source handed back a page we have already seen
    ├── ExtractionError        text could not be turned into a record
    └── StoreError             the database refused or is unreachable

Messages never carry tokens, passwords or URLs with query strings: the shells print them as-is.
"""

from __future__ import annotations


class FixeditError(Exception):
    """Base of every error fixedit raises on purpose."""


class ConfigError(FixeditError):
    """A setting is missing or invalid; `key` names it (e.g. ``sources[0].path``)."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"{key}: {message}")


class ConnectorError(FixeditError):
    """Talking to an external source failed."""


class AuthError(ConnectorError):
    """The source rejected our credentials (401/403). Fatal: retrying cannot help."""


class RetriableError(ConnectorError):
    """A transient failure (429, 5xx, timeout); `retry_after` is the server's wish in seconds."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, status_code: int | None = None
    ) -> None:
        self.retry_after = retry_after
        self.status_code = status_code
        super().__init__(message)


class BudgetExhausted(ConnectorError):
    """The per-source request budget for this run is spent; the sync stops and resumes later."""


class PayloadError(ConnectorError):
    """One record from the source is malformed. Skippable: it is quarantined with `reason`."""

    def __init__(self, reason: str, *, external_id: str | None = None, payload: str = "") -> None:
        self.reason = reason
        self.external_id = external_id
        self.payload = payload
        super().__init__(reason)


class PaginationLoop(ConnectorError):
    """A paginator was handed a page token it has already followed."""


class ExtractionError(FixeditError):
    """Text could not be turned into a record."""


class StoreError(FixeditError):
    """The store refused an operation or could not be reached."""
