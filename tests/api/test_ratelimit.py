"""The per-key token bucket, on a clock the test moves."""

from __future__ import annotations

import pytest

from store.api.ratelimit import RateLimiter


class Clock:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refusal_with_retry_after() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=3, clock=clock)
    decisions = [limiter.hit(1) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    refused = decisions[-1]
    assert refused.retry_after == 1
    assert refused.headers()["Retry-After"] == "1"
    assert "Retry-After" not in decisions[0].headers()
    assert decisions[0].headers()["RateLimit-Limit"] == "3"


def test_tokens_refill_at_the_steady_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=30, burst=1, clock=clock)  # one every two seconds
    assert limiter.hit(7).allowed
    refused = limiter.hit(7)
    assert not refused.allowed and refused.retry_after == 2
    clock.now += 1.0
    assert not limiter.hit(7).allowed
    clock.now += 1.0
    assert limiter.hit(7).allowed


def test_keys_have_separate_buckets() -> None:
    limiter = RateLimiter(per_minute=1, burst=1, clock=Clock())
    assert limiter.hit(1).allowed
    assert not limiter.hit(1).allowed
    assert limiter.hit(2).allowed


def test_idle_buckets_are_forgotten_when_the_table_is_full(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock)
    monkeypatch.setattr(RateLimiter, "MAX_KEYS", 3)
    for key in (1, 2, 3):
        limiter.hit(key)
    clock.now += 10  # everyone has refilled
    limiter.hit(4)
    assert set(limiter._buckets) == {4}


@pytest.mark.parametrize(("per_minute", "burst"), [(0, 1), (1, 0)])
def test_limits_must_be_positive(per_minute: int, burst: int) -> None:
    with pytest.raises(ValueError):
        RateLimiter(per_minute=per_minute, burst=burst)
