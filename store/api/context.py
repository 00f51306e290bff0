"""What the API's routes share: the engine, the search index, the rate limiter and limits.

The app factory (fixedit/app.py) builds one `ApiContext` and puts it on ``app.state``; routes
reach it through the `api_context` dependency, so tests can build apps with their own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import sqlalchemy as sa
from fastapi import Request

from extract.pii import RedactionSettings
from store.api.ratelimit import RateLimiter
from store.lookup import SearchIndex


@dataclass
class ApiContext:
    """Everything a request needs besides its own input."""

    engine: sa.Engine
    index: SearchIndex
    limiter: RateLimiter
    max_page_size: int = 100
    redaction: RedactionSettings | None = None
    _refresh_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fresh_index(self) -> SearchIndex:
        """The index, after taking in what changed since the last request (one at a time)."""
        with self._refresh_lock:
            self.index.refresh()
        return self.index


def api_context(request: Request) -> ApiContext:
    """The app's context (a FastAPI dependency)."""
    context = getattr(request.app.state, "fixedit", None)
    if not isinstance(context, ApiContext):
        raise RuntimeError("the app has no ApiContext on app.state.fixedit")
    return context
