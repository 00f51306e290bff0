"""A per-key token bucket: a steady rate per minute plus a burst allowance, in memory.

Each API process keeps its own buckets, so N replicas allow N times the rate; put a shared
limiter in front (or divide the rate) when running several.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """The limiter's answer for one request, with what the RateLimit-* headers report."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        """RateLimit-Limit/Remaining/Reset, plus Retry-After when refused."""
        headers = {"RateLimit-Limit": str(self.limit),
                   "RateLimit-Remaining": str(self.remaining),
                   "RateLimit-Reset": str(self.reset_seconds)}
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RateLimiter:
    """Allows `per_minute` requests per minute per key, up to `burst` at once. Thread-safe."""

    MAX_KEYS = 100_000
    """Buckets kept before idle ones are dropped (an idle bucket is a full one anyway)."""

    def __init__(self, *, per_minute: int, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1 or burst < 1:
            raise ValueError("per_minute and burst must be at least 1")
        self.per_minute = per_minute
        self.burst = burst
        self._rate = per_minute / 60.0  # tokens per second
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[int, tuple[float, float]] = {}  # key id -> (tokens, at)

    def hit(self, key_id: int) -> Decision:
        """Spend one token of `key_id`'s bucket if there is one."""
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(key_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self._rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            if len(self._buckets) >= self.MAX_KEYS and key_id not in self._buckets:
                self._forget_full(now)
            self._buckets[key_id] = (tokens, now)
        missing_for_one = max(0.0, 1.0 - tokens)
        return Decision(
            allowed=allowed,
            limit=self.burst,
            remaining=math.floor(tokens),
            reset_seconds=math.ceil((self.burst - tokens) / self._rate),
            retry_after=0 if allowed else max(1, math.ceil(missing_for_one / self._rate)),
        )

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled completely: forgetting them changes nothing."""
        for key_id, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self._rate >= self.burst:
                del self._buckets[key_id]
