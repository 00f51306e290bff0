"""Proactive request limits: a rolling-hour request budget and a per-endpoint concurrency cap.

Autotask allows 10,000 requests per hour per database, shared by every integration of the
tenant; going over suspends API access for all of them until usage drops (REST thresholds
page). It also allows 3 concurrent requests per object endpoint per integration (Autotask
ThreadLimiting page). Waiting before we hit either limit is cheaper than a suspension, so the
connector takes a slot and a budget token before every request. Neither class knows Autotask:
any connector with an hourly quota or a thread limit can use them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


class HourlyRequestLimiter:
    """Keeps one tenant under `per_hour` requests in any rolling `window` seconds.

    `acquire()` is called before a request; when the window is full it sleeps (through the
    injected `sleep`) until the oldest request leaves it. `charge(n)` records requests that were
    sent without asking (e.g. retries the HTTP layer made), so the count matches what the
    vendor counts. Share one instance between the connectors of one tenant so they share the
    budget. Thread-safe.
    """

    def __init__(
        self,
        per_hour: int,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        window: float = 3600.0,
    ) -> None:
        if per_hour < 1:
            raise ValueError("per_hour must be at least 1")
        self.per_hour = per_hour
        self.window = window
        self._sleep = sleep
        self._clock = clock
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self._waited = 0.0
        self._last = float("-inf")

    @property
    def used(self) -> int:
        """Requests counted in the current window."""
        with self._lock:
            self._expire(self._time())
            return len(self._sent)

    @property
    def waited(self) -> float:
        """Seconds spent waiting for the budget so far."""
        return self._waited

    def acquire(self) -> float:
        """Wait until one more request fits in the window, count it, return the seconds waited."""
        with self._lock:
            now = self._time()
            self._expire(now)
            wait = 0.0
            if len(self._sent) >= self.per_hour:
                wait = max(0.0, self._sent[0] + self.window - now)
                log.warning("request budget of %d per hour reached; waiting %.0fs", self.per_hour,
                            wait)
                self._sleep(wait)
                self._waited += wait
                now = max(self._time(), now + wait)
                self._expire(now)
            self._record(now, 1)
            return wait

    def charge(self, count: int = 1) -> None:
        """Count `count` requests that were sent without `acquire` (never waits)."""
        if count > 0:
            with self._lock:
                self._record(self._time(), count)

    def _time(self) -> float:
        # An injected (fake) sleep does not move the clock, yet the wait did pass: time never
        # runs backwards behind the last request counted.
        return max(self._clock(), self._last)

    def _record(self, now: float, count: int) -> None:
        self._sent.extend([now] * count)
        self._last = now

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()


class EndpointSlots:
    """At most `limit` requests in flight per endpoint; a caller over the limit blocks."""

    def __init__(self, limit: int = 3) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, endpoint: str) -> Iterator[None]:
        """Hold one of `endpoint`'s slots for the duration of the block."""
        with self._lock:
            semaphore = self._slots.setdefault(endpoint, threading.BoundedSemaphore(self.limit))
        with semaphore:
            yield
