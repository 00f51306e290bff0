"""One contract suite, run against every PSA connector through its vendor harness.

Each scenario is a promise a trustworthy sync makes (../shared/reference/psa-crm-apis.md §4):
records are valid and complete, the cursor is honoured, replays are idempotent, pagination ends,
rate limits and server errors are retried, bad credentials are handled, records on a cursor
boundary are not lost, unknown fields are tolerated, and deletions can be found.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from records import AuthError, Batch, Cursor, Ticket
from tests.contract.harness import Harness, NoteSpec, TicketSpec
from tests.factories import Sleeps

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
HARNESSES = {
    "connectwise": "tests.contract.harness_connectwise:ConnectWiseHarness",
    "autotask": "tests.contract.harness_autotask:AutotaskHarness",
    "halopsa": "tests.contract.harness_halopsa:HaloPsaHarness",
}


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest) -> Harness:
    module, name = HARNESSES[request.param].split(":")
    return getattr(importlib.import_module(module), name)()


@pytest.fixture
def router() -> Iterator[respx.Router]:
    with respx.mock(assert_all_called=True) as mock:
        yield mock




def _tickets(count: int, *, stamp: datetime | None = None, start_id: int = 100) -> list[TicketSpec]:
    tickets = []
    for offset in range(count):
        updated = stamp or (NOW - timedelta(days=2, minutes=offset))
        ticket_id = start_id + offset
        tickets.append(TicketSpec(
            id=ticket_id,
            title=f"Outlook keeps prompting for password ({ticket_id})",
            updated_at=updated,
            notes=(
                NoteSpec(id=ticket_id * 10 + 1, text="cleared cred mgr, rebuilt ost",
                         created_at=updated - timedelta(minutes=30)),
                NoteSpec(id=ticket_id * 10 + 2, text="tested send/recv ok. fixed",
                         created_at=updated - timedelta(minutes=5)),
            ),
        ))
    return tickets


def _pull(harness: Harness, router: respx.Router, *, since: Cursor | None = None,
          sleep: Sleeps | None = None, **settings: Any) -> list[Batch]:
    settings.setdefault("start_date", (NOW - timedelta(days=5)).isoformat())
    settings.setdefault("backfill_slice", "30d")
    connector = harness.connector(router, sleep=sleep if sleep is not None else Sleeps(),
                                  now=NOW, **settings)
    return list(connector.pull("ticket", since=since))


def _items(batches: list[Batch]) -> list[Ticket]:
    return [item for batch in batches for item in batch.items if isinstance(item, Ticket)]


def test_check_passes_with_good_credentials(harness: Harness, router: respx.Router) -> None:
    harness.serve_check(router)
    harness.connector(router, sleep=Sleeps(), now=NOW).check()


def test_check_fails_with_bad_credentials(harness: Harness, router: respx.Router) -> None:
    harness.serve_check(router, status=403)
    with pytest.raises(AuthError):
        harness.connector(router, sleep=Sleeps(), now=NOW).check()


def test_records_are_valid_and_complete(harness: Harness, router: respx.Router) -> None:
    specs = _tickets(3)
    harness.serve_tickets(router, specs, page_size=50)
    tickets = {t.external_id: t for t in _items(_pull(harness, router))}
    assert set(tickets) == {str(spec.id) for spec in specs}
    for spec in specs:
        ticket = tickets[str(spec.id)]
        assert spec.title in ticket.title
        assert {note.external_id for note in ticket.notes} >= harness.note_ids(spec)
        assert any("rebuilt ost" in note.text for note in ticket.notes)


def test_cursor_is_honoured_with_lookback(harness: Harness, router: respx.Router) -> None:
    route = harness.serve_tickets(router, _tickets(1), page_size=50)
    since = Cursor(value="2024-05-30T00:00:00Z")
    _pull(harness, router, since=since, lookback="10m")
    asked = harness.since_of(route.calls[0].request)
    assert asked == datetime(2024, 5, 29, 23, 50, tzinfo=UTC)


def test_mid_sync_updates_fall_after_the_final_cursor(
    harness: Harness, router: respx.Router
) -> None:
    # A record updated after the run started is stamped after this cursor, so the next run
    # (which starts `lookback` before it) is bound to read it.
    harness.serve_tickets(router, _tickets(2), page_size=50)
    batches = _pull(harness, router, since=Cursor(value="2024-05-31T00:00:00Z"))
    final = batches[-1].cursor
    assert final is not None and final.slice is None
    assert datetime.fromisoformat(final.value.replace("Z", "+00:00")) <= NOW - timedelta(
        minutes=1)


def test_replay_gives_identical_records(harness: Harness, router: respx.Router) -> None:
    specs = _tickets(2)
    harness.serve_tickets(router, specs, page_size=50)
    first = _items(_pull(harness, router))
    second = _items(_pull(harness, router))
    assert [t.content_hash() for t in first] == [t.content_hash() for t in second]


def test_pagination_reads_every_page_then_stops(harness: Harness, router: respx.Router) -> None:
    specs = _tickets(5)
    route = harness.serve_tickets(router, specs, page_size=2)
    tickets = _items(_pull(harness, router))
    assert sorted(t.external_id for t in tickets) == sorted(str(s.id) for s in specs)
    assert len({t.external_id for t in tickets}) == len(tickets)
    assert route.call_count >= 3


def test_rate_limit_is_waited_out_then_the_sync_succeeds(
    harness: Harness, router: respx.Router
) -> None:
    sleeps = Sleeps()
    limited = httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "slow down"})
    harness.serve_tickets(router, _tickets(2), page_size=50, before=[limited])
    tickets = _items(_pull(harness, router, sleep=sleeps))
    assert len(tickets) == 2
    assert 7.0 in sleeps


def test_server_errors_are_retried(harness: Harness, router: respx.Router) -> None:
    failing = [httpx.Response(503, json={"message": "unavailable"})] * 2
    harness.serve_tickets(router, _tickets(2), page_size=50, before=failing)
    assert len(_items(_pull(harness, router))) == 2


def test_unauthorized_is_fatal_or_refreshed(harness: Harness) -> None:
    denied = httpx.Response(401, json={"message": "Unauthorized"})
    if harness.vendor == "halopsa":
        # OAuth: one 401 triggers a token refresh, and the sync goes on.
        with respx.mock(assert_all_called=True) as router:
            harness.serve_tickets(router, _tickets(1), page_size=50, before=[denied])
            assert len(_items(_pull(harness, router))) == 1
        return
    with respx.mock(assert_all_called=False) as loose:
        route = harness.serve_tickets(loose, [], page_size=50, before=[denied])
        with pytest.raises(AuthError):
            _pull(harness, loose)
    assert route.call_count == 1


def test_records_on_the_cursor_boundary_are_not_lost(
    harness: Harness, router: respx.Router
) -> None:
    boundary = datetime(2024, 5, 31, 8, 0, tzinfo=UTC)
    specs = _tickets(3, stamp=boundary)
    harness.serve_tickets(router, specs, page_size=50)
    tickets = _items(_pull(harness, router, since=Cursor(value="2024-05-31T08:00:00Z")))
    assert sorted(t.external_id for t in tickets) == sorted(str(s.id) for s in specs)


def test_unknown_extra_fields_are_tolerated(harness: Harness, router: respx.Router) -> None:
    spec = _tickets(1)[0]
    odd = TicketSpec(id=spec.id, title=spec.title, updated_at=spec.updated_at, notes=spec.notes,
                     extra={"brandNewVendorField": {"nested": [1, 2, 3]}, "x_flag": True})
    harness.serve_tickets(router, [odd], page_size=50)
    assert [t.external_id for t in _items(_pull(harness, router))] == [str(spec.id)]


def test_reconcile_lists_every_live_id(harness: Harness, router: respx.Router) -> None:
    ids = list(range(1000, 1012))
    harness.serve_ids(router, ids)
    connector = harness.connector(router, sleep=Sleeps(), now=NOW)
    assert sorted(connector.reconcile("ticket")) == sorted(str(i) for i in ids)
