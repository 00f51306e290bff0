"""The Autotask connector against respx routes shaped like Autotask's documented payloads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from connectors.autotask import Autotask, AutotaskSettings, api_base
from connectors.base import ApiConnector
from connectors.incremental import to_iso
from records import AuthError, AuthorRole, Batch, ConfigError, Cursor, NoteKind, RetriableError
from tests.contract.harness import NoteSpec, TicketSpec
from tests.contract.harness_autotask import (
    API,
    INTEGRATION_CODE,
    PICKLISTS,
    SECRET,
    USERNAME,
    ZONE,
    ZONE_LOOKUP,
    AutotaskHarness,
)
from tests.factories import Sleeps as FakeSleep

NOW = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)
QUERY = API + "Tickets/query"
# Sample payloads from Autotask's entity pages (invented values, the vendor's field names).
DOC_TICKET: dict[str, Any] = {
    "id": 90211, "ticketNumber": "T20240503.0042", "title": "VPN drops every 10 minutes",
    "description": "User reports GlobalProtect disconnects on home Wi-Fi.",
    "resolution": "Updated GP client to 6.2.1 and disabled IPv6 on Wi-Fi adapter. Stable 24h.",
    "status": 5, "priority": 2, "queueID": 29682833, "companyID": 174, "contactID": 30684600,
    "assignedResourceID": 29682885, "completedByResourceID": 29682885, "issueType": 7,
    "subIssueType": 113, "ticketType": 1, "source": 4,
    "createDate": "2024-05-03T13:02:11.257Z", "lastActivityDate": "2024-05-03T19:20:44.120Z",
    "completedDate": "2024-05-03T19:20:40Z", "resolvedDateTime": "2024-05-03T19:20:40Z",
    "userDefinedFields": [{"name": "Root Cause", "value": "Client version"},
                          {"name": "Billable", "value": None}],
}
DOC_NOTE: dict[str, Any] = {
    "id": 5512093, "ticketID": 90211, "title": "Resolved",
    "description": "updated gp client, disabled ipv6. fixed", "noteType": 1, "publish": 1,
    "createDateTime": "2024-05-03T19:19:58Z", "lastActivityDate": "2024-05-03T19:19:58Z",
    "creatorResourceID": 29682885, "createdByContactID": None,
    "impersonatorCreatorResourceID": None, "impersonatorUpdaterResourceID": None,
}
DOC_TIME_ENTRY: dict[str, Any] = {
    "id": 77120, "ticketID": 90211, "taskID": None, "resourceID": 29682885, "roleID": 29682801,
    "dateWorked": "2024-05-03T00:00:00Z", "startDateTime": "2024-05-03T18:50:00Z",
    "endDateTime": "2024-05-03T19:20:00Z", "hoursWorked": 0.5, "hoursToBill": 0.5,
    "summaryNotes": "upgraded GP agent, disabled ipv6 on wlan", "internalNotes": "known bug 6.1.x",
    "isNonBillable": False, "timeEntryType": 2, "createDateTime": "2024-05-03T19:21:03Z",
    "lastModifiedDateTime": "2024-05-03T19:21:03Z",
}
NOTE_PICKLISTS = {**PICKLISTS, "fields": [*PICKLISTS["fields"], {
    "name": "issueType", "isPickList": True,
    "picklistValues": [{"value": "7", "label": "Printing & Scanning", "isActive": True}]}]}




@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True) as mock_router:
        yield mock_router


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


def page(items: list[dict], next_url: str | None = None) -> dict[str, Any]:
    """A query response as Autotask shapes it."""
    return {"items": items, "pageDetails": {"count": len(items), "requestCount": 500,
                                            "prevPageUrl": None, "nextPageUrl": next_url}}


def make(router: respx.MockRouter, sleep: FakeSleep, **settings: Any) -> Autotask:
    settings.setdefault("start_date", datetime(2024, 5, 1, tzinfo=UTC))
    return AutotaskHarness().connector(router, sleep=sleep, now=NOW, **settings)


def serve_lookups(router: respx.MockRouter, *, notes: list[dict] | None = None,
                  entries: list[dict] | None = None) -> dict[str, respx.Route]:
    """The child and name endpoints a page of DOC_TICKET-like tickets makes the connector call."""
    return {
        "notes": router.post(API + "TicketNotes/query").respond(200, json=page(notes or [])),
        "time": router.post(API + "TimeEntries/query").respond(200, json=page(entries or [])),
        "fields": router.get(API + "Tickets/entityInformation/fields").respond(
            200, json=NOTE_PICKLISTS),
        "resources": router.post(API + "Resources/query").respond(200, json=page(
            [{"id": 29682885, "firstName": "Priya", "lastName": "Nair"}])),
        "companies": router.post(API + "Companies/query").respond(200, json=page(
            [{"id": 174, "companyName": "Ledgerline CPAs"}])),
        "contacts": router.post(API + "Contacts/query").respond(200, json=page(
            [{"id": 30684600, "firstName": "Anita", "lastName": "Shah"}])),
    }


def body_of(request: httpx.Request) -> dict[str, Any]:
    return json.loads(request.content)


def tickets_of(batches: list[Batch]) -> list:
    return [item for batch in batches for item in batch.items]


# --- mapping ----------------------------------------------------------------------------

def test_documented_payloads_map_to_one_ticket_with_every_note(router, sleep):
    router.post(QUERY).respond(200, json=page([DOC_TICKET]))
    serve_lookups(router, notes=[DOC_NOTE, {**DOC_NOTE, "id": 5512094, "publish": 2,
                                            "description": "checked GP logs"}],
                  entries=[DOC_TIME_ENTRY])

    [ticket] = tickets_of(list(make(router, sleep, backfill_slice="90d").pull("ticket",
                                                                              since=None)))

    assert ticket.external_id == "90211"
    assert (ticket.company, ticket.contact, ticket.assignee) == (
        "Ledgerline CPAs", "Anita Shah", "Priya Nair")
    assert (ticket.status, ticket.priority, ticket.board) == ("Complete", "Medium", "Service Desk")
    assert ticket.updated_at == datetime(2024, 5, 3, 19, 20, 44, 120_000, tzinfo=UTC)
    assert ticket.url == "https://ww15.autotask.net/Mvc/ServiceDesk/TicketDetail.mvc?ticketId=90211"
    fields = {field.key: field.value for field in ticket.custom_fields}
    assert fields == {"ticketNumber": "T20240503.0042", "issueType": "Printing & Scanning",
                      "subIssueType": "113",  # not in the picklist: the value, not nothing
                      "Root Cause": "Client version"}  # null UDFs are left out
    kinds = {note.external_id: (note.kind, note.author_role, note.author) for note in ticket.notes}
    assert kinds == {
        "5512093": (NoteKind.DISCUSSION, AuthorRole.TECHNICIAN, "Priya Nair"),  # publish 1
        "5512094": (NoteKind.INTERNAL, AuthorRole.TECHNICIAN, "Priya Nair"),
        "time-77120": (NoteKind.TIME_ENTRY, AuthorRole.TECHNICIAN, "Priya Nair"),
        "resolution-90211": (NoteKind.RESOLUTION, AuthorRole.TECHNICIAN, "Priya Nair"),
    }
    time_entry = next(note for note in ticket.notes if note.kind == NoteKind.TIME_ENTRY)
    assert time_entry.minutes == 30
    assert time_entry.text == "upgraded GP agent, disabled ipv6 on wlan\n\nknown bug 6.1.x"
    assert [note.external_id for note in ticket.notes] == [  # in time order
        "5512093", "5512094", "resolution-90211", "time-77120"]
    assert ticket.notes[2].text.startswith("Updated GP client to 6.2.1")


@pytest.mark.parametrize(("note", "kind", "role", "author"), [
    ({"noteType": 13, "creatorResourceID": None}, NoteKind.INTERNAL, AuthorRole.SYSTEM, None),
    ({"noteType": 99, "publish": 1}, NoteKind.INTERNAL, AuthorRole.SYSTEM, "Priya Nair"),
    ({"noteType": 101, "creatorResourceID": None, "createdByContactID": 30684600},
     NoteKind.CUSTOMER_REPLY, AuthorRole.CONTACT, "Anita Shah"),
    ({"noteType": 3, "publish": 4}, NoteKind.INTERNAL, AuthorRole.TECHNICIAN, "Priya Nair"),
])
def test_note_kinds_follow_note_type_contact_and_publish(router, sleep, note, kind, role, author):
    router.post(QUERY).respond(200, json=page([{**DOC_TICKET, "resolution": None}]))
    serve_lookups(router, notes=[{**DOC_NOTE, "description": "x\x00y", **note}])

    [ticket] = tickets_of(list(make(router, sleep).pull("ticket", since=None)))

    [mapped] = ticket.notes
    assert (mapped.kind, mapped.author_role, mapped.author, mapped.text) == (kind, role, author,
                                                                           "xy")


def test_fixture_payloads_map_and_exactly_the_two_documented_ones_are_quarantined():
    from connectors.autotask_models import AtTicket, parse_items
    from connectors.sandbox.base import FIXTURES

    raw = json.loads((FIXTURES / "autotask" / "tickets.json").read_text())["items"]
    tickets, rejects = parse_items(AtTicket, raw, "ticket")

    assert len(tickets) >= 150
    assert sorted(reject.reason.split(":")[1].strip() for reject in rejects) == [
        "createDate", "userDefinedFields"]


# --- requests on the wire -----------------------------------------------------------------

def test_zone_is_discovered_once_without_credentials_and_every_call_has_the_three_headers(
        router, sleep):
    connector = make(router, sleep)
    zone = router.get(ZONE_LOOKUP, params={"user": USERNAME}).respond(200, json=ZONE)
    check = router.get(API + "ThresholdInformation").respond(200, json={
        "externalRequestThreshold": 10000, "currentTimeframeRequestCount": 12})
    listing = router.post(QUERY).respond(200, json=page([]))

    connector.check()
    list(connector.pull("ticket", since=None))

    assert zone.call_count == 1
    lookup = zone.calls.last.request
    assert lookup.url.params["user"] == USERNAME
    assert not {"apiintegrationcode", "username", "secret"} & set(lookup.headers.keys())
    for request in (check.calls.last.request, listing.calls.last.request):
        assert request.headers["ApiIntegrationCode"] == INTEGRATION_CODE
        assert request.headers["UserName"] == USERNAME
        assert request.headers["Secret"] == SECRET


def test_window_query_asks_for_activity_in_the_window_then_posts_next_page_with_same_body(
        router, sleep):
    second = API + "Tickets/query/next?paging=%7B%22pageSize%22%3A500%2C%22nextIds%22%3A%5B2%5D%7D"
    first_page = router.post(QUERY).respond(200, json=page(
        [{**DOC_TICKET, "id": 1, "resolution": None}], next_url=second))
    next_page = router.post(url__startswith=API + "Tickets/query/next").respond(
        200, json=page([{**DOC_TICKET, "id": 2, "resolution": None}]))
    serve_lookups(router)

    batches = list(make(router, sleep, lookback="10m", safety_lag="1m").pull(
        "ticket", since=Cursor(value="2024-05-20T08:00:00Z")))

    body = body_of(first_page.calls.last.request)
    assert body == {"MaxRecords": 500, "filter": [
        {"op": "gte", "field": "lastActivityDate", "value": "2024-05-20T07:50:00Z"},
        {"op": "lt", "field": "lastActivityDate", "value": "2024-05-20T11:59:00Z"}]}
    assert str(next_page.calls.last.request.url) == second
    assert body_of(next_page.calls.last.request) == body
    assert [ticket.external_id for ticket in tickets_of(batches)] == ["1", "2"]
    assert [batch.cursor for batch in batches] == [
        Cursor(value="2024-05-20T07:50:00Z", slice="1"),
        Cursor(value="2024-05-20T07:50:00Z", slice="2"),
        Cursor(value="2024-05-20T11:59:00Z")]


def test_children_are_asked_for_in_chunks_and_their_next_pages_followed(router, sleep):
    tickets = [{**DOC_TICKET, "id": ident, "resolution": None} for ident in (1, 2, 3)]
    router.post(QUERY).respond(200, json=page(tickets))
    lookups = serve_lookups(router)
    more = API + "TicketNotes/query/next?paging=%7B%22nextIds%22%3A%5B8%5D%7D"
    lookups["notes"].mock(side_effect=[
        httpx.Response(200, json=page([{**DOC_NOTE, "id": 7, "ticketID": 1}], next_url=more)),
        httpx.Response(200, json=page([{**DOC_NOTE, "id": 9, "ticketID": 3}]))])
    next_notes = router.post(url__startswith=API + "TicketNotes/query/next").respond(
        200, json=page([{**DOC_NOTE, "id": 8, "ticketID": 2}]))

    [batch, _] = list(make(router, sleep, children_per_query=2).pull("ticket", since=None))

    asked = [body_of(call.request)["filter"] for call in lookups["notes"].calls]
    assert asked == [[{"op": "in", "field": "ticketID", "value": [1, 2]}],
                     [{"op": "in", "field": "ticketID", "value": [3]}]]
    assert body_of(next_notes.calls.last.request)["filter"] == asked[0]
    assert {t.external_id: [n.external_id for n in t.notes] for t in batch.items} == {
        "1": ["7"], "2": ["8"], "3": ["9"]}
    assert lookups["resources"].call_count == 1  # names are asked for once per run


def test_backfill_walks_bounded_slices_and_resumes_mid_window_after_the_last_id(router, sleep):
    listing = router.post(QUERY).respond(200, json=page([]))

    batches = list(make(router, sleep, backfill_slice="7d").pull(
        "ticket", since=Cursor(value="2024-05-01T00:00:00Z", slice="90150")))

    first = body_of(listing.calls[0].request)["filter"]
    assert first == [
        {"op": "gte", "field": "lastActivityDate", "value": "2024-05-01T00:00:00Z"},
        {"op": "lt", "field": "lastActivityDate", "value": "2024-05-08T00:00:00Z"},
        {"op": "gt", "field": "id", "value": 90150}]
    second = body_of(listing.calls[1].request)["filter"]
    assert [item["field"] for item in second] == ["lastActivityDate", "lastActivityDate"]
    assert listing.call_count == 3  # May 1-8, 8-15, 15-20 (now minus the safety lag)
    assert [batch.cursor.value for batch in batches] == [
        "2024-05-08T00:00:00Z", "2024-05-15T00:00:00Z", to_iso(NOW - timedelta(minutes=1))]


def test_429_with_retry_after_then_success_waits_as_told(router, sleep):
    listing = router.post(QUERY).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "12"}, json={"errors": ["Too many"]}),
        httpx.Response(200, json=page([]))])

    list(make(router, sleep).pull("ticket", since=None))

    assert listing.call_count == 2
    assert sleep.waits == [12.0]


def test_5xx_is_retried_and_gives_up_after_max_attempts(router, sleep):
    listing = router.post(QUERY).mock(side_effect=[httpx.Response(503)] * 3)

    with pytest.raises(RetriableError, match="503"):
        list(make(router, sleep, http={"max_attempts": 3}).pull("ticket", since=None))
    assert listing.call_count == 3
    assert len(sleep.waits) == 2


def test_401_is_fatal_after_exactly_one_call(router, sleep):
    listing = router.post(QUERY).respond(401, json={"errors": ["Authorization denied"]})

    with pytest.raises(AuthError):
        list(make(router, sleep).pull("ticket", since=None))
    assert listing.call_count == 1
    assert sleep.waits == []


def test_missing_secret_names_its_environment_variable_before_any_request(sleep):
    settings = AutotaskSettings(name="at-prod", username=USERNAME,
                                integration_code=SecretStr("x"))
    with respx.mock(assert_all_called=False) as mock, pytest.raises(
            ConfigError, match="FIXEDIT_AT_PROD_SECRET"):
        Autotask(settings, client=httpx.Client(), sleep=sleep).check()
    assert mock.calls.call_count == 0


# --- quarantine and ordering ------------------------------------------------------------------

def test_malformed_ticket_is_quarantined_and_the_rest_of_the_page_kept(router, sleep):
    bad = {**DOC_TICKET, "id": 90212, "createDate": "2024-02-30T09:15:00.000Z"}
    router.post(QUERY).respond(200, json=page([DOC_TICKET, bad, {**DOC_TICKET, "id": 90213}]))
    serve_lookups(router, notes=[DOC_NOTE, {**DOC_NOTE, "id": 5512095, "createDateTime": None}])

    [batch, done] = list(make(router, sleep).pull("ticket", since=None))

    assert [ticket.external_id for ticket in batch.items] == ["90211", "90213"]
    reasons = {reject.external_id: reject.reason for reject in batch.rejects}
    assert reasons["90212"].startswith("ticket 90212: createDate:")
    assert "TicketNotes 5512095: createDateTime" in reasons["90211"]
    assert json.loads(next(r for r in batch.rejects if r.external_id == "90212").payload) == bad
    assert batch.cursor == Cursor(value="2024-05-01T00:00:00Z", slice="90213")
    assert done.cursor == Cursor(value=to_iso(NOW - timedelta(minutes=1)))


def test_ids_out_of_order_give_no_mid_window_checkpoint(router, sleep):
    router.post(QUERY).respond(200, json=page([{**DOC_TICKET, "id": 9}, {**DOC_TICKET, "id": 3}]))
    serve_lookups(router)

    [batch, done] = list(make(router, sleep).pull("ticket", since=None))

    assert len(batch.items) == 2
    assert batch.cursor is None
    assert done.cursor is not None and done.cursor.slice is None


# --- reconcile and write-back ---------------------------------------------------------------

def test_reconcile_lists_every_id_by_id_gt_pages(router, sleep):
    ids = list(range(1, 1201))
    harness = AutotaskHarness()
    route = harness.serve_ids(router, ids)
    connector = make(router, sleep)

    assert list(connector.reconcile("ticket")) == [str(i) for i in ids]
    assert route.call_count == 3
    assert [body_of(call.request)["filter"][0]["value"] for call in route.calls] == [0, 500, 1000]
    assert body_of(route.calls.last.request)["IncludeFields"] == ["id"]


def test_write_back_posts_an_internal_note_to_the_ticket(router, sleep):
    route = router.post(API + "Tickets/90211/Notes").respond(200, json={"itemId": 5512101})
    connector = make(router, sleep, writeback={"enabled": True, "dry_run": False})

    assert connector.post_internal_note("90211", "Similar: T20240503.0042") == "5512101"
    assert body_of(route.calls.last.request) == {
        "ticketID": 90211, "title": "fixedit: similar prior resolutions",
        "description": "Similar: T20240503.0042", "noteType": 3, "publish": 2}
    assert route.calls.last.request.headers["Secret"] == SECRET


def test_write_back_is_never_retried_so_a_note_is_not_posted_twice(router, sleep):
    route = router.post(API + "Tickets/90211/Notes").respond(503)
    connector = make(router, sleep, writeback={"enabled": True, "dry_run": False})

    with pytest.raises(RetriableError):
        connector.post_internal_note("90211", "text")
    assert route.call_count == 1


def test_write_back_refused_when_not_enabled_and_dry_run_posts_nothing(sleep):
    with respx.mock(assert_all_called=False) as mock:
        off = make(mock, sleep)
        with pytest.raises(ConfigError, match=r"writeback\.enabled"):
            off.post_internal_note("90211", "text")
        dry = make(mock, sleep, writeback={"enabled": True})
        assert dry.post_internal_note("90211", "text") == "dry-run"
    assert mock.calls.call_count == 0


# --- the contract harness itself ----------------------------------------------------------

def test_harness_serves_filtered_pages_with_notes_and_the_connector_reads_them(router, sleep):
    harness = AutotaskHarness()
    start = datetime(2024, 5, 10, tzinfo=UTC)
    specs = [TicketSpec(id=ident, title=f"ticket {ident}",
                        updated_at=start + timedelta(hours=ident),
                        notes=(NoteSpec(id=700 + ident, text="rebooted", created_at=start),),
                        extra={"brandNewField": {"nested": True}})
             for ident in range(1, 6)]
    old = TicketSpec(id=99, title="old", updated_at=datetime(2024, 1, 1, tzinfo=UTC))
    listing = harness.serve_tickets(router, [*specs, old], page_size=2,
                                    before=[httpx.Response(429, headers={"Retry-After": "1"})])
    connector = harness.connector(router, sleep=sleep, now=NOW, start_date=start,
                                  backfill_slice="30d")

    batches = list(connector.pull("ticket", since=None))

    assert isinstance(connector, ApiConnector)
    got = {ticket.external_id: {note.external_id for note in ticket.notes}
           for ticket in tickets_of(batches)}
    assert got == {str(spec.id): harness.note_ids(spec) for spec in specs}
    assert listing.call_count == 4  # the 429, then three pages of two
    assert harness.since_of(listing.calls.last.request) == start
    assert sleep.waits == [1.0]


def test_rolling_hour_limiter_waits_for_the_oldest_request_to_leave_the_window():
    from connectors.autotask_limits import HourlyRequestLimiter

    clock = [0.0]
    waits: list[float] = []

    def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    limiter = HourlyRequestLimiter(3, sleep=fake_sleep, clock=lambda: clock[0])
    for moment in (0.0, 10.0, 20.0):
        clock[0] = moment
        assert limiter.acquire() == 0
    clock[0] = 30.0
    assert limiter.acquire() == 3570.0  # the request at t=0 leaves the window at t=3600
    limiter.charge(2)  # retries the HTTP layer made: counted, never waited for
    assert waits == [3570.0]
    assert limiter.used == 5
    clock[0] = 3625.0  # t=10 and t=20 have left the window
    assert limiter.used == 3


@pytest.mark.parametrize(("zone_url", "expected"), [
    ("https://webservices15.autotask.net/ATServicesRest/",
     "https://webservices15.autotask.net/ATServicesRest/V1.0/"),
    ("https://webservices15.autotask.net//ATServicesRest",
     "https://webservices15.autotask.net/ATServicesRest/V1.0/"),
    ("https://webservices2.autotask.net/atservicesrest/v1.0/",
     "https://webservices2.autotask.net/atservicesrest/v1.0/"),
])
def test_api_base_tolerates_the_zone_urls_autotask_hands_out(zone_url, expected):
    assert api_base(zone_url) == expected


def test_the_hourly_budget_makes_the_connector_wait_before_going_over(router, sleep):
    router.get(API + "ThresholdInformation").respond(200, json={})
    connector = make(router, sleep, requests_per_hour=1)

    connector.check()
    connector.check()

    [wait] = sleep.waits
    assert 3590 < wait <= 3600  # the first request leaves the rolling hour


def test_a_fourth_concurrent_request_to_one_endpoint_waits_for_a_slot():
    import threading

    from connectors.autotask_limits import EndpointSlots

    slots = EndpointSlots(3)
    entered: list[str] = []

    def use(endpoint: str) -> None:
        with slots.slot(endpoint):
            entered.append(endpoint)

    with slots.slot("Tickets"), slots.slot("Tickets"), slots.slot("Tickets"):
        fourth = threading.Thread(target=use, args=("Tickets",))
        other = threading.Thread(target=use, args=("TicketNotes",))
        fourth.start()
        other.start()
        other.join(timeout=2)
        fourth.join(timeout=0.1)
        assert entered == ["TicketNotes"] and fourth.is_alive()
    fourth.join(timeout=2)
    assert entered == ["TicketNotes", "Tickets"]
