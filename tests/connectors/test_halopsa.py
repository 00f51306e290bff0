"""The HaloPSA connector against respx routes shaped like Halo's documented responses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from connectors.halopsa import HaloPsa, HaloPsaSettings
from connectors.halopsa_models import MappingOptions, parse_actions, parse_ticket, to_ticket
from connectors.incremental import Window
from connectors.sandbox.base import FIXTURES
from records import (
    AuthError,
    AuthorRole,
    Batch,
    ConfigError,
    ConnectorError,
    Cursor,
    NoteKind,
    PayloadError,
    Ticket,
)
from tests.contract.harness import NoteSpec, TicketSpec
from tests.contract.harness_halopsa import HaloPsaHarness
from tests.factories import Sleeps

BASE = "https://acme.halopsa.com"
TOKEN_URL = f"{BASE}/auth/token"
TICKETS = f"{BASE}/api/Tickets"
ACTIONS = f"{BASE}/api/Actions"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
SECRET = "halo-test-secret"




class Clock:
    """A settable clock for token expiry."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True) as mock:
        yield mock


@pytest.fixture(scope="module")
def recorded() -> tuple[dict[int, dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    """The well-formed recorded tickets in fixtures/halopsa/, and actions by ticket id."""
    folder = FIXTURES / "halopsa"
    tickets = json.loads((folder / "tickets.json").read_text(encoding="utf-8"))["tickets"]
    actions = json.loads((folder / "actions.json").read_text(encoding="utf-8"))
    malformed = json.loads((folder / "malformed.json").read_text(encoding="utf-8"))["tickets"]
    broken = {m["id"] for m in malformed}
    return ({t["id"]: t for t in tickets if t["id"] not in broken},
            {a["ticket_id"]: a["actions"] for a in actions})


def make_connector(sleep: Sleeps | None = None, now: Any = None, **overrides: Any) -> HaloPsa:
    values: dict[str, Any] = {"name": "halo-main", "base_url": BASE, "client_id": "fixedit-app",
                              "client_secret": SECRET, "tenant": "acme",
                              "start_date": "2024-05-01", "http": {"backoff_initial": 0.5},
                              **overrides}
    return HaloPsa(HaloPsaSettings.model_validate(values), client=httpx.Client(),
                   sleep=sleep if sleep is not None else Sleeps(), now=now or (lambda: NOW))


def token_route(router: respx.MockRouter, expires_in: int = 3600) -> respx.Route:
    counter = iter(range(1, 1000))
    return router.post(TOKEN_URL).mock(side_effect=lambda request: httpx.Response(200, json={
        "token_type": "Bearer", "access_token": f"tok-{next(counter)}",
        "expires_in": expires_in}))


def ticket(ticket_id: int, *, updated: str = "2024-05-31T10:00:00Z", **extra: Any) -> dict:
    return {"id": ticket_id, "summary": f"Printer offline ({ticket_id})",
            "details": "<p>HP M404 shows offline on all PCs</p>", "client_name": "Northwind",
            "user_name": "Sam Lee", "agent_name": "Chris Agent", "team": "1st Line",
            "status_id": 2, "priority_id": 3, "dateoccurred": "2024-05-30T08:10:00Z",
            "last_update": updated, "datecleared": "1900-01-01T00:00:00",
            "customfields": [], **extra}


def page(rows: list[dict], *, count: int | None = None) -> httpx.Response:
    return httpx.Response(200, json={"record_count": len(rows) if count is None else count,
                                     "tickets": rows})


def note_action(ticket_id: int, action_id: int, text: str = "checked spooler") -> dict:
    return {"id": action_id, "ticket_id": ticket_id, "outcome": "Private Note", "who": "Chris",
            "who_agentid": 4, "datetime": "2024-05-31T09:00:00Z", "note": text,
            "hiddenfromuser": True, "timetaken": 0}


def actions_route(router: respx.MockRouter, **by_ticket: list[dict]) -> respx.Route:
    def answer(request: httpx.Request) -> httpx.Response:
        ticket_id = request.url.params["ticket_id"]
        rows = by_ticket.get(f"t{ticket_id}", [note_action(int(ticket_id), 2)])
        return httpx.Response(200, json={"ticket_id": int(ticket_id), "record_count": len(rows),
                                         "actions": rows})
    return router.get(ACTIONS).mock(side_effect=answer)


def items(batches: list[Batch]) -> list[Ticket]:
    return [item for batch in batches for item in batch.items if isinstance(item, Ticket)]


def options() -> MappingOptions:
    return MappingOptions(source="halo-main", zone=UTC, ui_base=BASE)


# -- mapping recorded payloads ---------------------------------------------------------------

def test_recorded_tickets_map_every_note_with_halo_flags(recorded) -> None:
    tickets, actions = recorded
    for ticket_id, raw in tickets.items():
        rows = [a for a in actions[ticket_id] if not a["action_systemid"]]
        mapped = to_ticket(parse_ticket(raw), parse_actions(str(ticket_id), rows), options())
        assert [n.external_id for n in mapped.notes] == [f"{ticket_id}-{a['id']}" for a in rows]
        for action, note in zip(rows, mapped.notes, strict=True):
            if not action["who_agentid"]:
                assert (note.kind, note.author_role) == (NoteKind.CUSTOMER_REPLY,
                                                         AuthorRole.CONTACT)
            elif action["outcome"] == "Resolved":
                assert note.kind is NoteKind.RESOLUTION
            elif action["timetaken"]:
                assert note.kind is NoteKind.TIME_ENTRY
                assert note.minutes == pytest.approx(action["timetaken"] * 60, abs=0.01)
            elif action["hiddenfromuser"]:
                assert note.kind is NoteKind.INTERNAL
            else:
                assert note.kind is NoteKind.DISCUSSION
            assert note.author == action["who"]
        assert (mapped.closed_at is None) == (raw["status_id"] != 9)
        assert [f.key for f in mapped.custom_fields] == [c["name"] for c in raw["customfields"]]


def test_a_closed_recorded_ticket_reads_like_the_technician_wrote_it(recorded) -> None:
    tickets, actions = recorded
    closed = next(t for t in tickets.values()
                  if t["status_id"] == 9 and t["customfields"])
    mapped = to_ticket(parse_ticket(closed),
                       parse_actions(str(closed["id"]), actions[closed["id"]]), options())
    assert mapped.status == "Closed" and mapped.closed_at is not None
    assert mapped.description.startswith("<")  # Halo `details` is HTML; the extractor cleans it
    assert mapped.url == f"{BASE}/tickets?id={closed['id']}"
    assert any(n.kind is NoteKind.RESOLUTION for n in mapped.notes)
    system = [n for n in mapped.notes if n.author_role is AuthorRole.SYSTEM]
    assert system and all(n.kind is NoteKind.INTERNAL for n in system)
    field = mapped.custom_fields[0]
    raw_field = closed["customfields"][0]
    assert (field.label, field.value) == (raw_field["label"], raw_field["display"])


def test_halo_empty_dates_naive_stamps_and_nul_bytes() -> None:
    raw = ticket(7, updated="2024-05-31T10:00:00.583", datecleared="1900-01-01T00:00:00",
                 summary="VPN\x00 drops", client_name="North\x00wind")
    mapped = to_ticket(parse_ticket(raw), [], options())
    assert mapped.updated_at == datetime(2024, 5, 31, 10, 0, 0, 583000, tzinfo=UTC)
    assert mapped.created_at == datetime(2024, 5, 30, 8, 10, tzinfo=UTC)
    assert mapped.closed_at is None
    assert (mapped.title, mapped.company) == ("VPN drops", "Northwind")


def test_closing_action_is_the_resolution_even_with_a_custom_outcome() -> None:
    closing = {**note_action(7, 5, "new dhcp reservation, printer back"),
               "outcome": "Fixed by agent", "old_status": 2, "new_status": 9}
    after = {**note_action(7, 6, "ticket closed survey"), "old_status": 9, "new_status": 9}
    notes = to_ticket(parse_ticket(ticket(7, status_id=9)),
                      parse_actions("7", [closing, after]), options()).notes
    assert [n.kind for n in notes] == [NoteKind.RESOLUTION, NoteKind.INTERNAL]


def test_malformed_records_name_the_ticket_and_field() -> None:
    with pytest.raises(PayloadError, match=r"ticket 8: dateoccurred") as bad_date:
        parse_ticket(ticket(8, dateoccurred="2024-02-30T09:15:00"))
    assert bad_date.value.external_id == "8"
    negative = {**note_action(9, 3), "timetaken": -0.25}
    with pytest.raises(PayloadError, match=r"ticket 9: action 3 .*minutes"):
        to_ticket(parse_ticket(ticket(9)), parse_actions("9", [negative]), options())


# -- auth ----------------------------------------------------------------------------------

def test_check_gets_a_client_credentials_token_and_sends_it_as_bearer(router) -> None:
    tokens = token_route(router)
    listing = router.get(TICKETS).respond(200, json={"record_count": 1, "tickets": [{"id": 1}]})
    make_connector().check()
    sent = tokens.calls.last.request
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(sent.content.decode()) == {
        "grant_type": ["client_credentials"], "client_id": ["fixedit-app"],
        "client_secret": [SECRET], "scope": ["all"], "tenant": ["acme"]}
    request = listing.calls.last.request
    assert request.headers["Authorization"] == "Bearer tok-1"
    assert dict(request.url.params) == {"pageinate": "true", "page_size": "1", "page_no": "1",
                                        "ticketidonly": "true"}


def test_rejected_client_credentials_are_an_auth_error_naming_the_env_var(router) -> None:
    router.post(TOKEN_URL).respond(400, json={"error": "invalid_client"})
    with pytest.raises(AuthError, match="FIXEDIT_HALO_MAIN_CLIENT_SECRET") as error:
        make_connector().check()
    assert SECRET not in str(error.value)


def test_a_missing_secret_is_a_config_error_naming_the_env_var() -> None:
    with pytest.raises(ConfigError) as error:
        make_connector(client_secret=None).check()
    assert error.value.key == "FIXEDIT_HALO_MAIN_CLIENT_SECRET"


def test_token_is_renewed_before_it_expires(router) -> None:
    tokens = token_route(router, expires_in=600)
    listing = router.get(TICKETS).respond(200, json={"record_count": 0, "tickets": []})
    clock = Clock(NOW)
    connector = make_connector(now=clock)
    connector.check()
    clock.now = NOW + timedelta(seconds=550)  # before expiry but inside the renewal margin
    connector.check()
    assert tokens.call_count == 2
    assert listing.calls[1].request.headers["Authorization"] == "Bearer tok-2"


def test_a_401_renews_the_token_once_and_the_call_goes_on(router) -> None:
    tokens = token_route(router)
    listing = router.get(TICKETS).mock(side_effect=[
        httpx.Response(401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}),
        httpx.Response(200, json={"record_count": 0, "tickets": []})])
    make_connector().check()
    assert tokens.call_count == 2
    assert [c.request.headers["Authorization"] for c in listing.calls] == ["Bearer tok-1",
                                                                           "Bearer tok-2"]


def test_a_second_401_after_renewal_is_fatal(router) -> None:
    tokens = token_route(router)
    router.get(TICKETS).respond(401)
    with pytest.raises(AuthError, match="even after refreshing"):
        make_connector().check()
    assert tokens.call_count == 2


# -- incremental pull ----------------------------------------------------------------------

def test_window_query_asks_for_the_lookback_window_in_id_order(router) -> None:
    token_route(router)
    listing = router.get(TICKETS).mock(return_value=page([]))
    batches = list(make_connector(lookback="10m").pull(
        "ticket", since=Cursor(value="2024-05-31T10:00:00Z")))
    assert dict(listing.calls.last.request.url.params) == {
        "lastupdatefromdate": "2024-05-31T09:50:00", "lastupdatetodate": "2024-06-01T11:59:00",
        "order": "id", "orderdesc": "false", "pageinate": "true", "page_size": "100",
        "page_no": "1"}
    assert [b.cursor for b in batches] == [Cursor(value="2024-06-01T11:59:00Z")]


def test_pages_are_read_until_record_count_then_the_window_closes(router) -> None:
    token_route(router)
    listing = router.get(TICKETS).mock(side_effect=[
        page([ticket(1), ticket(2)], count=5), page([ticket(3), ticket(4)], count=5),
        page([ticket(5)], count=5)])
    actions = actions_route(router)
    batches = list(make_connector(page_size=2, start_date="2024-05-31").pull("ticket",
                                                                            since=None))
    assert [t.external_id for t in items(batches)] == ["1", "2", "3", "4", "5"]
    assert [c.request.url.params["page_no"] for c in listing.calls] == ["1", "2", "3"]
    assert actions.call_count == 5
    assert all(c.request.url.params["excludesys"] == "true" for c in actions.calls)
    assert [b.cursor.slice for b in batches] == ["2", "4", "5", None]


def test_a_page_shorter_than_asked_is_not_the_end_while_record_count_says_more(router) -> None:
    token_route(router)
    router.get(TICKETS).mock(side_effect=[page([ticket(1)], count=2), page([ticket(2)], count=2)])
    actions_route(router)
    assert len(items(list(make_connector(start_date="2024-05-31").pull("ticket",
                                                                       since=None)))) == 2


def test_429_waits_what_retry_after_says_then_succeeds(router) -> None:
    token_route(router)
    router.get(TICKETS).mock(side_effect=[httpx.Response(429, headers={"Retry-After": "7"}),
                                          page([ticket(1)])])
    actions_route(router)
    sleeps = Sleeps()
    batches = list(make_connector(sleep=sleeps, start_date="2024-05-31").pull("ticket",
                                                                              since=None))
    assert sleeps == [7.0]
    assert [t.external_id for t in items(batches)] == ["1"]


def test_5xx_is_retried_with_backoff(router) -> None:
    token_route(router)
    router.get(TICKETS).mock(side_effect=[httpx.Response(502), httpx.Response(503),
                                          page([ticket(1)])])
    actions_route(router)
    sleeps = Sleeps()
    assert len(items(list(make_connector(sleep=sleeps, start_date="2024-05-31").pull(
        "ticket", since=None)))) == 1
    assert len(sleeps) == 2 and all(0 < wait <= 60 for wait in sleeps)


def test_a_malformed_ticket_is_quarantined_and_the_page_kept(router) -> None:
    token_route(router)
    router.get(TICKETS).mock(return_value=page(
        [ticket(501), ticket(502, dateoccurred="2024-02-30T09:15:00"), ticket(503)]))
    actions = actions_route(router)
    batches = list(make_connector(start_date="2024-05-31").pull("ticket", since=None))
    assert [t.external_id for t in items(batches)] == ["501", "503"]
    [reject] = [r for b in batches for r in b.rejects]
    assert reject.external_id == "502" and "dateoccurred" in reject.reason
    assert json.loads(reject.payload)["id"] == 502
    assert batches[0].cursor.slice == "503"
    assert actions.call_count == 2  # the broken ticket costs no action call


def test_a_killed_backfill_resumes_after_the_last_stored_id(router) -> None:
    token_route(router)
    listing = router.get(TICKETS).mock(side_effect=[
        page([ticket(501), ticket(502), ticket(503)]), page([])])
    actions = actions_route(router)
    window = Window(start=datetime(2024, 5, 20, tzinfo=UTC), end=datetime(2024, 5, 27,
                                                                          tzinfo=UTC))
    batches = list(make_connector(backfill_slice="7d").pull("ticket",
                                                            since=window.cursor_after(502)))
    first = listing.calls[0].request.url.params
    assert (first["lastupdatefromdate"], first["lastupdatetodate"]) == ("2024-05-20T00:00:00",
                                                                        "2024-05-27T00:00:00")
    assert [t.external_id for t in items(batches)] == ["503"]
    assert [c.request.url.params["ticket_id"] for c in actions.calls] == ["503"]
    assert batches[0].cursor == window.cursor_after(503)
    assert batches[1].cursor == window.cursor_done()
    assert listing.calls[1].request.url.params["lastupdatefromdate"] == "2024-05-27T00:00:00"


def test_a_record_leaving_the_window_mid_listing_does_not_hide_its_neighbour(router) -> None:
    # Ticket 1 is updated after page 1 was read: it leaves the window, every later ticket
    # moves up one place, and page 2 would start at ticket 4, skipping ticket 3.
    token_route(router)
    listing = router.get(TICKETS).mock(side_effect=[
        page([ticket(1), ticket(2)], count=5), page([ticket(4), ticket(5)], count=4),
        page([ticket(2), ticket(3)], count=4), page([ticket(4), ticket(5)], count=4)])
    actions_route(router)
    batches = list(make_connector(page_size=2, start_date="2024-05-31").pull("ticket",
                                                                            since=None))
    assert [t.external_id for t in items(batches)] == ["1", "2", "3", "4", "5"]
    assert [c.request.url.params["page_no"] for c in listing.calls] == ["1", "2", "1", "2"]


def test_a_listing_not_in_id_order_is_refused(router) -> None:
    token_route(router)
    router.get(TICKETS).mock(return_value=page([ticket(9), ticket(3)]))
    with pytest.raises(ConnectorError, match="ascending id order"):
        list(make_connector(start_date="2024-05-31").pull("ticket", since=None))


def test_unknown_fields_and_bare_list_actions_are_tolerated(router) -> None:
    token_route(router)
    router.get(TICKETS).mock(return_value=page([ticket(1, brand_new={"x": [1]})]))
    router.get(ACTIONS).respond(200, json=[{**note_action(1, 2), "new_field": True}])
    [mapped] = items(list(make_connector(start_date="2024-05-31").pull("ticket", since=None)))
    assert [n.external_id for n in mapped.notes] == ["1-2"]


# -- reconcile and write-back ----------------------------------------------------------------

def test_reconcile_lists_every_id_across_pages(router) -> None:
    token_route(router)
    listing = router.get(TICKETS).mock(side_effect=[
        page([{"id": 1}, {"id": 2}], count=3), page([{"id": 7}], count=3)])
    assert list(make_connector(id_page_size=2).reconcile("ticket")) == ["1", "2", "7"]
    params = listing.calls.last.request.url.params
    assert (params["ticketidonly"], params["page_no"], params["page_size"]) == ("true", "2", "2")


def test_writeback_posts_a_private_note_action(router) -> None:
    token_route(router)
    posted = router.post(ACTIONS).respond(201, json={"id": 7, "ticket_id": 10452})
    connector = make_connector(writeback={"enabled": True, "dry_run": False})
    assert connector.post_internal_note("10452", "Similar fix: re-add the printer port") == (
        "10452-7")
    request = posted.calls.last.request
    assert json.loads(request.content) == [{"ticket_id": 10452, "outcome": "Private Note",
                                            "note": "Similar fix: re-add the printer port",
                                            "hiddenfromuser": True}]
    assert request.headers["Authorization"] == "Bearer tok-1"


def test_writeback_is_refused_unless_enabled(router) -> None:
    with pytest.raises(ConfigError, match=r"writeback\.enabled"):
        make_connector().post_internal_note("10452", "note")


def test_dry_run_posts_nothing(router) -> None:
    connector = make_connector(writeback={"enabled": True})
    assert connector.post_internal_note("10452", "note") == "dry-run"
    assert router.calls.call_count == 0


# -- settings ------------------------------------------------------------------------------

def test_settings_take_an_instance_or_a_base_url_and_derive_the_urls() -> None:
    by_instance = HaloPsaSettings(name="h", instance="acme", client_id="c")
    assert by_instance.token_url() == "https://acme.halopsa.com/auth/token"
    by_url = HaloPsaSettings(name="h", base_url="https://halo.example.com/api/", client_id="c",
                             auth_url="https://auth.example.com/auth")
    assert by_url.root_url() == "https://halo.example.com"
    assert by_url.token_url() == "https://auth.example.com/auth/token"
    with pytest.raises(ValueError, match="exactly one of base_url"):
        HaloPsaSettings(name="h", client_id="c")


# -- the contract harness --------------------------------------------------------------------

def test_the_contract_harness_serves_what_the_connector_reads(router) -> None:
    harness = HaloPsaHarness()
    stamp = NOW - timedelta(days=1)
    specs = [TicketSpec(id=i, title=f"t{i}", updated_at=stamp,
                        notes=(NoteSpec(id=1, text="rebooted", created_at=stamp),))
             for i in (10, 11, 12)]
    route = harness.serve_tickets(router, specs, page_size=2)
    harness.serve_ids(router, [10, 11, 12])
    connector = harness.connector(router, sleep=Sleeps(), now=NOW, start_date="2024-05-25")
    pulled = items(list(connector.pull("ticket", since=None)))
    assert {t.external_id: {n.external_id for n in t.notes} for t in pulled} == {
        str(s.id): harness.note_ids(s) for s in specs}
    assert harness.since_of(route.calls[0].request) == datetime(2024, 5, 25, tzinfo=UTC)
    assert sorted(connector.reconcile("ticket")) == ["10", "11", "12"]
