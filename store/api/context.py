"""What the API's routes share: the engine, the search index, the rate limiter, limits and the
keys verified lately.

The app factory (fixedit/app.py) builds one `ApiContext` and puts it on ``app.state``; routes
reach it through the `api_context` dependency, so tests can build apps with their own.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from fastapi import Request

from extract.pii import RedactionSettings
from store.api.ratelimit import RateLimiter
from store.keys import ApiKey, digest
from store.lookup import SearchIndex

log = logging.getLogger(__name__)


@dataclass
class ApiContext:
    """Everything a request needs besides its own input."""

    engine: sa.Engine
    index: SearchIndex
    limiter: RateLimiter
    max_page_size: int = 100
    redaction: RedactionSettings | None = None
    refresh_seconds: float = 0.0
    """How stale the index may get. 0: every lookup first takes in what changed (tests, small
    stores). Above 0: lookups never wait; at most one background refresh runs at a time, started
    by the first lookup after this many seconds."""
    key_cache_seconds: float = 0.0
    """How long a verified key is trusted without asking the store again. 0: every request
    checks the store, so a revoked key is refused at once. Above 0: a key revoked (or a company
    or scope changed) in the store may still be served for up to this many seconds by a process
    that verified it lately; unknown and revoked keys are never remembered."""
    _refresh_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _refreshed_at: float = field(default=float("-inf"), repr=False)
    _keys: dict[str, tuple[float, ApiKey]] = field(default_factory=dict, repr=False)

    MAX_CACHED_KEYS = 10_000
    """Verified keys remembered at most; the memory is dropped whole when it is full."""

    def cached_key(self, token: str) -> ApiKey | None:
        """The key `token` was verified as within the last `key_cache_seconds`, if it was."""
        if self.key_cache_seconds <= 0:
            return None
        entry = self._keys.get(digest(token))
        if entry is None or time.monotonic() - entry[0] >= self.key_cache_seconds:
            return None
        return entry[1]

    def remember_key(self, token: str, key: ApiKey) -> None:
        """Trust `key` (just verified from the store) for `key_cache_seconds`."""
        if self.key_cache_seconds <= 0:
            return
        if len(self._keys) >= self.MAX_CACHED_KEYS:
            self._keys.clear()
        self._keys[digest(token)] = (time.monotonic(), key)

    def fresh_index(self) -> SearchIndex:
        """The index, current to within `refresh_seconds` of the store."""
        if self.refresh_seconds <= 0:
            with self._refresh_lock:
                self.index.refresh()
            return self.index
        now = time.monotonic()
        if now - self._refreshed_at >= self.refresh_seconds and \
                self._refresh_lock.acquire(blocking=False):
            self._refreshed_at = now
            threading.Thread(target=self._refresh_in_background, name="fixedit-index-refresh",
                             daemon=True).start()
        return self.index

    def _refresh_in_background(self) -> None:
        try:
            self.index.refresh()
        except Exception:  # a failed refresh leaves the last good snapshot serving
            log.exception("refreshing the lookup index failed; serving the previous snapshot")
        finally:
            self._refresh_lock.release()


async def api_context(request: Request) -> ApiContext:
    """The app's context (a FastAPI dependency)."""
    context = getattr(request.app.state, "fixedit", None)
    if not isinstance(context, ApiContext):
        raise RuntimeError("the app has no ApiContext on app.state.fixedit")
    return context
