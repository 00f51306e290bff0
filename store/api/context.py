"""What the API's routes share: the engine, the search index, the rate limiter and limits.

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
    _refresh_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _refreshed_at: float = field(default=float("-inf"), repr=False)

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
