"""The index behind the API stays current without making lookups wait for a refresh."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from store.api.context import ApiContext
from store.api.ratelimit import RateLimiter
from store.lookup import SearchIndex


class CountingIndex(SearchIndex):
    """A real index that counts refreshes and can be held inside one."""

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(engine)
        self.refreshes = 0
        self.gate = threading.Event()

    def refresh(self) -> int:
        self.refreshes += 1
        self.gate.wait(30)
        return super().refresh()


def context(engine: sa.Engine, index: SearchIndex, seconds: float) -> ApiContext:
    return ApiContext(engine=engine, index=index, refresh_seconds=seconds,
                      limiter=RateLimiter(per_minute=60, burst=10))


def test_with_no_lag_allowed_every_lookup_refreshes_first(engine, seeded) -> None:
    index = CountingIndex(engine)
    index.gate.set()
    api = context(engine, index, 0)
    assert api.fresh_index().size == len(seeded.ids)
    api.fresh_index()
    assert index.refreshes == 2


def test_a_background_refresh_never_blocks_a_lookup_and_runs_once_at_a_time(
    engine, seeded
) -> None:
    index = CountingIndex(engine)
    api = context(engine, index, 0.000_001)
    # The first lookup starts a refresh that is held open; lookups meanwhile return at once,
    # from the (still empty) snapshot, and start no second refresh.
    assert api.fresh_index().size == 0
    assert api.fresh_index().size == 0
    assert index.refreshes == 1
    index.gate.set()
    assert api._refresh_lock.acquire(timeout=30)  # the refresh finished and let go
    api._refresh_lock.release()
    assert index.size == len(seeded.ids)
    api.fresh_index()
    assert api._refresh_lock.acquire(timeout=30)
    api._refresh_lock.release()
    assert index.refreshes == 2
