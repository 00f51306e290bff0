"""ConnectWise PSA connector: mapping of vendor payloads, auth, discovery, windows, paging, errors.

Payloads follow the vendor's documented shapes (../shared/reference/psa-crm-apis.md §1.1) and
the recorded fixtures in fixtures/connectwise/. Every route is registered with
`assert_all_called`, and retries take no wall time (a fake sleep records the waits).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pydantic import ValidationError

from connectors.connectwise import ConnectWise, ConnectWiseSettings
from connectors.connectwise_models import CwNote, CwTicket, CwTimeEntry, to_ticket
from connectors.http import HttpStatusError
from connectors.incremental import Window
from records import (
    AuthError,
    AuthorRole,
    Batch,
    ConfigError,
    Cursor,
    CustomField,
    NoteKind,
    RetriableError,
    Ticket,
)
from tests.contract.harness import NoteSpec, TicketSpec
from tests.contract.harness_connectwise import ConnectWiseHarness
from tests.factories import Sleeps

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "connectwise"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
INFO_URL = "https://na.myconnectwise.net/login/companyinfo/northgate"
API = "https://api-na.myconnectwise.net/v2024_1/apis/3.0/"
API_NEXT = "https://api-na.myconnectwise.net/v2024_2/apis/3.0/"
NOTES = r"https://api-na\.myconnectwise\.net/v2024_1/apis/3\.0/service/tickets/\d+/allNotes"
INFO = {"CompanyName": "Northgate IT", "Codebase": "v2024_1/", "CompanyID": "northgate"}
CLIENT_ID = "0f1e2d3c-4b5a-4697-8877-665544332211"
JAE = {"id": 155, "identifier": "jkim", "name": "Jae Kim"}


def ticket_payload(ticket_id: int = 48213, **changes: Any) -> dict[str, Any]:
    """GET /service/tickets/48213 as the vendor documents it."""
    payload: dict[str, Any] = {
        "id": ticket_id, "summary": "Outlook keeps prompting for password",
        "recordType": "ServiceTicket", "board": {"id": 1, "name": "Help Desk"},
        "status": {"id": 34, "name": "Completed"},
        "company": {"id": 250, "identifier": "AcmeDental", "name": "Acme Dental LLC"},
        "contact": {"id": 912, "name": "Dana Ruiz"},
        "contactEmailAddress": "dana@acmedental.example",
        "priority": {"id": 8, "name": "Priority 3 - Normal Response"}, "severity": "Medium",
        "owner": JAE, "closedFlag": True, "closedDate": "2024-05-03T18:42:11Z",
        "closedBy": "jkim", "actualHours": 0.75,
        "customFields": [
            {"id": 5, "caption": "Root Cause", "type": "Text", "entryMethod": "EntryField",
             "numberOfDecimals": 0, "value": "stale cred"},
            {"id": 6, "caption": "Escalated", "type": "Checkbox", "value": True},
            {"id": 7, "caption": "Asset Tag", "type": "Text", "value": None}],
        "_info": {"lastUpdated": "2024-05-03T18:42:11Z", "updatedBy": "jkim",
                  "dateEntered": "2024-05-03T17:05:40Z", "enteredBy": "EmailConnector"},
    }
    payload.update(changes)
    return payload


def note_payload(note_id: int, ticket_id: int = 48213, *, when: str = "2024-05-03T17:05:40Z",
                 flag: str = "detailDescriptionFlag", **extra: Any) -> dict[str, Any]:
    """One TicketNote element of GET /service/tickets/{id}/allNotes."""
    return {"id": note_id, "noteType": "TicketNote", "ticket": {"id": ticket_id},
            "text": f"note {note_id}", "detailDescriptionFlag": False,
            "internalAnalysisFlag": False, "resolutionFlag": False, flag: True,
            "member": JAE, "createdBy": "jkim", "dateCreated": when,
            "_info": {"lastUpdated": when, "updatedBy": "jkim"}, **extra}


TIME_ENTRY = {
    "id": 330415, "company": {"id": 250, "identifier": "AcmeDental"}, "chargeToId": 48213,
    "chargeToType": "ServiceTicket", "member": {"id": 155, "identifier": "jkim"},
    "workType": {"id": 3, "name": "Remote Support"}, "timeStart": "2024-05-03T18:00:00Z",
    "timeEnd": "2024-05-03T18:45:00Z", "actualHours": 0.75, "hoursDeduct": 0.0,
    "billableOption": "Billable",
    "notes": "remoted in, cleared creds, rebuilt ost, tested send/recv ok",
    "internalNotes": "2 stale entries for outlook.office365.com",
    "addToDetailDescriptionFlag": False, "addToInternalAnalysisFlag": False,
    "addToResolutionFlag": True, "status": "Open", "ticket": {"id": 48213},
    "enteredBy": "jkim", "dateEntered": "2024-05-03T18:46:02Z",
    "_info": {"lastUpdated": "2024-05-03T18:46:02Z", "updatedBy": "jkim"},
}
ALL_NOTES = [
    note_payload(771890, member=None, contact={"id": 912, "name": "Dana Ruiz"},
                 text="Outlook asks for my password every few minutes since this morning"),
    note_payload(771893, when="2024-05-03T17:20:00Z", flag="internalAnalysisFlag",
                 text="cred mgr has 2 entries for outlook.office365.com"),
    {"id": 771902, "noteType": "TimeEntryNote", "ticket": {"id": 48213},
     "text": "cleared cached creds in cred mgr, rebuilt OST. fixed", "isMarkdownFlag": False,
     "detailDescriptionFlag": False, "internalAnalysisFlag": False, "resolutionFlag": True,
     "issueFlag": False, "timeStart": "2024-05-03T18:00:00Z", "timeEnd": "2024-05-03T18:45:00Z",
     "bundledFlag": False, "mergedFlag": False, "member": JAE,
     "_info": {"lastUpdated": "2024-05-03T18:46:02Z", "updatedBy": "jkim"}},
    {"id": 9001, "noteType": "MeetingNote", "ticket": {"id": 48213},
     "text": "call with Dana: walked through re-adding the profile", "detailDescriptionFlag": True,
     "timeStart": "2024-05-03T18:10:00Z", "timeEnd": "2024-05-03T18:20:00Z", "member": JAE},
    note_payload(771905, when="2024-05-03T18:41:00Z", member=None,
                 contact={"id": 912, "name": "Dana Ruiz"}, text="works now, thanks!\x00"),
    note_payload(771906, when="2024-05-03T18:42:00Z", flag="resolutionFlag",
                 text="stale cached creds; cleared cred mgr + rebuilt OST"),
    note_payload(771907, when="2024-05-03T18:42:11Z", flag="internalAnalysisFlag", member=None,
                 createdBy="zAdmin", originalAuthor="Email Connector",
                 text="Ticket closed via email connector"),
]


def mapped(ticket: dict[str, Any] | None = None, notes: list[dict[str, Any]] | None = None,
           entries: list[dict[str, Any]] | None = None) -> Ticket:
    """Run the pure mapping on raw payloads."""
    return to_ticket(CwTicket.model_validate(ticket or ticket_payload()),
                     [CwNote.model_validate(n) for n in (ALL_NOTES if notes is None else notes)],
                     [CwTimeEntry.model_validate(e) for e in
                      ([TIME_ENTRY] if entries is None else entries)],
                     source="cw-prod")




@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True) as mock:
        yield mock


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def connector(sleeps: Sleeps | None = None, **overrides: Any) -> ConnectWise:
    """A ConnectWise connector for company northgate on the NA cloud, its clock at NOW."""
    config: dict[str, Any] = {
        "name": "cw-prod", "site": "na.myconnectwise.net", "company_id": "northgate",
        "client_id": CLIENT_ID, "public_key": "pub", "private_key": "priv",
        "start_date": "2024-05-01", "backfill_slice": "60d", **overrides}
    return ConnectWise(ConnectWiseSettings.model_validate(config), client=httpx.Client(),
                       sleep=sleeps if sleeps is not None else Sleeps(), now=lambda: NOW)


def discovery(router: respx.MockRouter) -> respx.Route:
    return router.get(INFO_URL).respond(200, json=INFO)


def children(router: respx.MockRouter, notes: dict[int, list[dict[str, Any]]] | None = None,
             entries: list[dict[str, Any]] | None = None) -> tuple[respx.Route, respx.Route]:
    """allNotes (per ticket, from `notes`) and the bulk time entry lookup."""
    notes = notes or {}

    def all_notes(request: httpx.Request) -> httpx.Response:
        ticket_id = int(request.url.path.split("/")[-2])
        return httpx.Response(200, json=notes.get(ticket_id, []))

    return (router.get(url__regex=NOTES).mock(side_effect=all_notes),
            router.get(API + "time/entries").respond(200, json=entries or []))


def page(tickets: list[dict[str, Any]], next_id: int | None = None) -> httpx.Response:
    """A forward-only page: Link rel=next with pageId, or an empty Link on the last page."""
    link = ""
    if next_id is not None:
        link = f'<{API}service/tickets?pageSize=1000&pageId={next_id}>; rel="next"'
    return httpx.Response(200, json=tickets, headers={"Link": link})


def pull(conn: ConnectWise, kind: str = "ticket", since: Cursor | None = None) -> list[Batch]:
    return list(conn.pull(kind, since=since))


def items(batches: list[Batch]) -> list[Ticket]:
    return [item for batch in batches for item in batch.items if isinstance(item, Ticket)]


# -- mapping -------------------------------------------------------------------------------


def test_documented_payloads_become_one_ticket_with_every_note_kind() -> None:
    ticket = mapped()
    assert (ticket.external_id, ticket.title, ticket.company, ticket.contact, ticket.assignee) == (
        "48213", "Outlook keeps prompting for password", "Acme Dental LLC", "Dana Ruiz",
        "Jae Kim")
    assert (ticket.board, ticket.status, ticket.priority) == (
        "Help Desk", "Completed", "Priority 3 - Normal Response")
    assert ticket.created_at == datetime(2024, 5, 3, 17, 5, 40, tzinfo=UTC)
    assert ticket.closed_at == datetime(2024, 5, 3, 18, 42, 11, tzinfo=UTC)
    notes = {note.external_id: note for note in ticket.notes}
    assert {k: (n.kind, n.author_role, n.author) for k, n in notes.items()} == {
        "771890": (NoteKind.DESCRIPTION, AuthorRole.CONTACT, "Dana Ruiz"),
        "771893": (NoteKind.INTERNAL, AuthorRole.TECHNICIAN, "Jae Kim"),
        "meeting-9001": (NoteKind.DISCUSSION, AuthorRole.TECHNICIAN, "Jae Kim"),
        "time-330415": (NoteKind.TIME_ENTRY, AuthorRole.TECHNICIAN, "Jae Kim"),
        "time-330415-internal": (NoteKind.INTERNAL, AuthorRole.TECHNICIAN, "Jae Kim"),
        "771905": (NoteKind.CUSTOMER_REPLY, AuthorRole.CONTACT, "Dana Ruiz"),
        "771906": (NoteKind.RESOLUTION, AuthorRole.TECHNICIAN, "Jae Kim"),
        "771907": (NoteKind.INTERNAL, AuthorRole.SYSTEM, "Email Connector"),
    }
    assert ticket.description == notes["771890"].text
    assert notes["time-330415"].minutes == 45
    assert notes["time-330415"].text == TIME_ENTRY["notes"]
    assert notes["time-330415-internal"].text == TIME_ENTRY["internalNotes"]
    assert notes["771905"].text == "works now, thanks!"  # NUL stripped
    assert [n.created_at for n in ticket.notes] == sorted(n.created_at for n in ticket.notes)


def test_custom_fields_keep_id_caption_and_value_and_drop_empty_ones() -> None:
    assert mapped().custom_fields == [
        CustomField(key="5", label="Root Cause", value="stale cred"),
        CustomField(key="6", label="Escalated", value="true")]


def test_time_entry_note_without_readable_time_entry_is_kept_once() -> None:
    ticket = mapped(entries=[])
    time_notes = [n for n in ticket.notes if n.kind is NoteKind.TIME_ENTRY]
    assert [(n.external_id, n.minutes) for n in time_notes] == [("time-771902", 45)]


def test_html_stays_as_text_for_the_extractor() -> None:
    html = "<div>Password prompt is back<br>Sent from my iPhone</div>"
    ticket = mapped(notes=[note_payload(1, text=html)], entries=[])
    assert ticket.notes[0].text == html


def test_recorded_fixtures_map_and_the_two_malformed_tickets_fail_on_the_named_field() -> None:
    tickets = json.loads((FIXTURES / "tickets.json").read_text(encoding="utf-8"))
    notes = json.loads((FIXTURES / "all_notes.json").read_text(encoding="utf-8"))
    entries = json.loads((FIXTURES / "time_entries.json").read_text(encoding="utf-8"))
    manifest = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    notes_of: dict[int, list[dict[str, Any]]] = {}
    for note in notes:
        notes_of.setdefault(note["ticket"]["id"], []).append(note)
    entries_of: dict[int, list[dict[str, Any]]] = {}
    for entry in entries:
        entries_of.setdefault(entry["chargeToId"], []).append(entry)
    good, failed = [], {}
    for raw in tickets:
        try:
            good.append(mapped(raw, notes_of.get(raw["id"], []), entries_of.get(raw["id"], [])))
        except ValidationError as exc:
            failed[str(raw["id"])] = ".".join(str(p) for p in exc.errors()[0]["loc"])
    assert failed == {ticket_id: {"no dateEntered": "_info.dateEntered",
                                  "naive closedDate": "closedDate"}[defect]
                      for ticket_id, defect in manifest["malformed_tickets"].items()}
    assert len(good) >= 160
    all_notes = [note for ticket in good for note in ticket.notes]
    assert {note.kind for note in all_notes} == set(NoteKind)
    assert any(note.external_id.startswith("meeting-") for note in all_notes)
    assert any("\x00" in note["text"] for note in notes)
    assert not any("\x00" in note.text for note in all_notes)
    replies = [n for n in all_notes if n.kind is NoteKind.CUSTOMER_REPLY]
    assert replies and all(n.author_role is AuthorRole.CONTACT for n in replies)
    assert all(n.minutes is not None for n in all_notes if n.kind is NoteKind.TIME_ENTRY)
    assert any(t.custom_fields and t.custom_fields[0].label for t in good)
    assert all(t.description for t in good if any(n.kind is NoteKind.DESCRIPTION
                                                   for n in t.notes))


# -- auth and discovery --------------------------------------------------------------------


def test_every_api_call_is_signed_and_discovery_is_anonymous(router: respx.MockRouter) -> None:
    info = discovery(router)
    system = router.get(API + "system/info").respond(200, json={"version": "v2024.1"})
    connector(api_version="2022.1").check()
    sent = system.calls.last.request
    token = base64.b64encode(b"northgate+pub:priv").decode()
    assert sent.headers["Authorization"] == f"Basic {token}"
    assert sent.headers["clientId"] == CLIENT_ID
    assert sent.headers["Accept"] == "application/vnd.connectwise.com+json; version=2022.1"
    anonymous = info.calls.last.request
    assert "Authorization" not in anonymous.headers and "clientId" not in anonymous.headers


def test_codebase_is_discovered_once_and_again_after_a_404(router: respx.MockRouter) -> None:
    info = router.get(INFO_URL).mock(side_effect=[
        httpx.Response(200, json=INFO), httpx.Response(200, json={**INFO, "Codebase": "v2024_2/"})])
    old = router.get(API + "system/info").mock(side_effect=[
        httpx.Response(200, json={}), httpx.Response(200, json={}),
        httpx.Response(404, text="<html>404 - File or directory not found.</html>")])
    new = router.get(API_NEXT + "system/info").respond(200, json={})
    conn = connector()
    conn.check()
    conn.check()
    assert info.call_count == 1
    conn.check()  # hosted upgrade: the old codebase is gone
    assert (info.call_count, old.call_count, new.call_count) == (2, 3, 1)
    assert new.calls.last.request.headers["clientId"] == CLIENT_ID


def test_unknown_company_is_a_config_error_naming_company_id(router: respx.MockRouter) -> None:
    router.get(INFO_URL).respond(404, json={"code": "NotFound", "message": "Company not found"})
    with pytest.raises(ConfigError) as caught:
        connector().check()
    assert caught.value.key == "sources.cw-prod.company_id"


def test_missing_private_key_names_its_environment_variable(router: respx.MockRouter) -> None:
    with pytest.raises(ConfigError) as caught:
        connector(public_key="PUBKEY-8842", private_key=None).check()
    assert caught.value.key == "FIXEDIT_CW_PROD_PRIVATE_KEY"
    assert "PUBKEY-8842" not in str(caught.value)


def test_check_rejects_bad_keys_with_auth_error(router: respx.MockRouter) -> None:
    discovery(router)
    router.get(API + "system/info").respond(
        401, json={"code": "Unauthorized", "message": "The credentials are not valid"})
    with pytest.raises(AuthError):
        connector().check()


@pytest.mark.parametrize("overrides", [
    {"base_url": "https://cw.example.test"},  # site and base_url both
    {"site": None},  # neither
    {"client_id": "not-a-guid"},
    {"page_size": 5000},
])
def test_bad_settings_are_refused(overrides: dict[str, Any]) -> None:
    config = {"name": "cw", "site": "na.myconnectwise.net", "company_id": "northgate",
              "client_id": CLIENT_ID, **overrides}
    with pytest.raises(ValidationError):
        ConnectWiseSettings.model_validate(config)


# -- incremental windows, paging, errors ----------------------------------------------------


def test_window_query_asks_for_the_window_in_id_order_forward_only(
        router: respx.MockRouter) -> None:
    discovery(router)
    listing = router.get(API + "service/tickets").mock(return_value=page([]))
    batches = pull(connector())
    request = listing.calls.last.request
    assert request.url.params["conditions"] == (
        "lastUpdated>=[2024-05-01T00:00:00Z] and lastUpdated<[2024-06-01T11:59:00Z]")
    assert request.url.params["orderBy"] == "id asc"
    assert request.url.params["pageSize"] == "1000"
    assert request.headers["pagination-type"] == "forward-only"
    assert [b.cursor for b in batches] == [Cursor(value="2024-06-01T11:59:00Z")]


def test_conditions_encode_a_literal_plus_and_quotes(router: respx.MockRouter) -> None:
    discovery(router)
    listing = router.get(API + "service/tickets").mock(return_value=page([]))
    pull(connector(conditions='company/identifier="A+B Dental"'))
    request = listing.calls.last.request
    assert request.url.params["conditions"].endswith(' and company/identifier="A+B Dental"')
    assert b"%22A%2BB+Dental%22" in request.url.query  # `+` as %2B; a space as `+`


def test_pages_are_followed_to_the_end_with_a_cursor_after_each(
        router: respx.MockRouter) -> None:
    discovery(router)
    children(router)
    listing = router.get(API + "service/tickets").mock(side_effect=[
        page([ticket_payload(101), ticket_payload(102)], next_id=102),
        page([ticket_payload(103), ticket_payload(104)], next_id=104),
        page([ticket_payload(105)])])
    batches = pull(connector())
    assert [t.external_id for t in items(batches)] == ["101", "102", "103", "104", "105"]
    window = Window(start=datetime(2024, 5, 1, tzinfo=UTC), end=NOW - timedelta(minutes=1))
    assert [b.cursor for b in batches] == [window.cursor_after(102), window.cursor_after(104),
                                           window.cursor_after(105), window.cursor_done()]
    assert listing.calls[1].request.url.params["pageId"] == "102"
    assert listing.call_count == 3
    api_calls = [call.request for call in router.calls if call.request.url.host.startswith("api-")]
    assert len(api_calls) == 3 + 5 + 3  # pages, allNotes per ticket, time entries per page
    assert all(r.headers["clientId"] == CLIENT_ID and r.headers["Authorization"].startswith(
        "Basic ") for r in api_calls)


def test_a_429_is_waited_out_as_retry_after_asks(router: respx.MockRouter,
                                                 sleeps: Sleeps) -> None:
    discovery(router)
    children(router)
    router.get(API + "service/tickets").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "Too Many Requests"}),
        page([ticket_payload()])])
    assert [t.external_id for t in items(pull(connector(sleeps)))] == ["48213"]
    assert sleeps == [7.0]


def test_server_errors_are_retried(router: respx.MockRouter, sleeps: Sleeps) -> None:
    discovery(router)
    children(router)
    listing = router.get(API + "service/tickets").mock(side_effect=[
        httpx.Response(502), httpx.Response(503, json={"code": "ServiceUnavailable"}),
        page([ticket_payload()])])
    assert len(items(pull(connector(sleeps)))) == 1
    assert listing.call_count == 3 and len(sleeps) == 2


def test_401_is_fatal_at_once(router: respx.MockRouter, sleeps: Sleeps) -> None:
    discovery(router)
    listing = router.get(API + "service/tickets").respond(
        401, json={"code": "Unauthorized", "message": "The credentials are not valid"})
    with pytest.raises(AuthError):
        pull(connector(sleeps))
    assert listing.call_count == 1 and sleeps == []


def test_a_malformed_ticket_is_quarantined_and_the_rest_of_the_page_kept(
        router: respx.MockRouter) -> None:
    discovery(router)
    bad_info = {"lastUpdated": "2024-05-03T18:42:11Z"}
    undated = {"id": 900, "noteType": "TicketNote", "ticket": {"id": 48215}, "text": "?"}
    notes, _ = children(router, notes={48215: [undated, note_payload(901, 48215)]})
    router.get(API + "service/tickets").mock(return_value=page([
        ticket_payload(48213), ticket_payload(48214, _info=bad_info), ticket_payload(48215)]))
    batches = pull(connector())
    assert [t.external_id for t in items(batches)] == ["48213", "48215"]
    rejects = {r.external_id: r.reason for b in batches for r in b.rejects}
    assert rejects["48214"] == "ticket 48214: _info.dateEntered: Field required"
    assert rejects["48215"].startswith("ticket 48215: note 900: ")
    assert "dateCreated" in rejects["48215"]
    assert [n.external_id for n in items(batches)[1].notes] == ["901"]
    assert json.loads(next(r for b in batches for r in b.rejects).payload)["id"] == 48214
    assert notes.call_count == 2  # the malformed ticket's children are not fetched


def test_a_backfill_resumes_inside_its_window_after_the_last_stored_id(
        router: respx.MockRouter) -> None:
    discovery(router)
    listing = router.get(API + "service/tickets").mock(return_value=page([]))
    pull(connector(), since=Cursor(value="2024-05-10T00:00:00Z", slice="48213"))
    assert listing.calls[0].request.url.params["conditions"] == (
        "lastUpdated>=[2024-05-10T00:00:00Z] and lastUpdated<[2024-06-01T11:59:00Z] "
        "and id>48213")


def test_a_ticket_deleted_after_listing_is_skipped(router: respx.MockRouter) -> None:
    info = discovery(router)
    router.get(API + "time/entries").respond(200, json=[])
    router.get(API + "service/tickets").mock(return_value=page([ticket_payload(1),
                                                                ticket_payload(2)]))
    router.get(API + "service/tickets/1/allNotes").respond(
        404, json={"code": "NotFound", "message": "Ticket Not Found"})
    router.get(API + "service/tickets/2/allNotes").respond(200, json=[])
    assert [t.external_id for t in items(pull(connector()))] == ["2"]
    assert info.call_count == 2  # the 404 made it check the codebase, which had not moved


def test_time_entry_lookups_are_split_to_keep_urls_short(router: respx.MockRouter) -> None:
    discovery(router)
    children(router)
    tickets = [ticket_payload(1_000_000 + i) for i in range(400)]
    router.get(API + "service/tickets").mock(return_value=page(tickets))
    entries = router.get(API + "time/entries").respond(200, json=[])
    assert len(items(pull(connector()))) == 400
    asked: set[int] = set()
    for call in entries.calls:
        assert len(str(call.request.url)) < 2000
        condition = call.request.url.params["conditions"]
        assert condition.startswith('chargeToType="ServiceTicket" and chargeToId in (')
        asked.update(int(i) for i in condition.split("(")[1].rstrip(")").split(","))
    assert entries.call_count > 1 and asked == {t["id"] for t in tickets}


def test_time_entry_stream_reads_each_changed_parent_ticket_once(
        router: respx.MockRouter) -> None:
    discovery(router)
    second = {**TIME_ENTRY, "id": 330416}
    other = {**TIME_ENTRY, "id": 330417, "chargeToId": 48214, "ticket": {"id": 48214}}
    windowed = router.route(method="GET", url=API + "time/entries",
                            headers={"pagination-type": "forward-only"}).mock(
        return_value=httpx.Response(200, json=[TIME_ENTRY, second, other],
                                    headers={"Link": ""}))
    children(router, entries=[TIME_ENTRY, second, other])
    by_id = router.get(API + "service/tickets").respond(
        200, json=[ticket_payload(48213), ticket_payload(48214)])
    batches = pull(connector(), kind="time_entry")
    tickets = items(batches)
    assert [t.external_id for t in tickets] == ["48213", "48214"]
    assert "time-330416" in {n.external_id for n in tickets[0].notes}
    condition = windowed.calls[0].request.url.params["conditions"]
    assert condition == ('chargeToType="ServiceTicket" and lastUpdated>=[2024-05-01T00:00:00Z] '
                         "and lastUpdated<[2024-06-01T11:59:00Z]")
    assert by_id.call_count == 1
    assert by_id.calls[0].request.url.params["conditions"] == "id in (48213,48214)"
    window = Window(start=datetime(2024, 5, 1, tzinfo=UTC), end=NOW - timedelta(minutes=1))
    assert [b.cursor for b in batches] == [window.cursor_after(330417), window.cursor_done()]


def test_reconcile_lists_every_id_across_pages(router: respx.MockRouter) -> None:
    discovery(router)
    listing = router.get(API + "service/tickets").mock(side_effect=[
        httpx.Response(200, json=[{"id": 7}, {"id": 9}],
                       headers={"Link": f'<{API}service/tickets?fields=id&pageId=9>; rel="next"'}),
        httpx.Response(200, json=[{"id": 12}], headers={"Link": ""})])
    assert list(connector().reconcile("ticket")) == ["7", "9", "12"]
    assert listing.calls[0].request.url.params["fields"] == "id"


# -- write-back ----------------------------------------------------------------------------


def test_write_back_posts_an_internal_note(router: respx.MockRouter) -> None:
    discovery(router)
    post = router.post(API + "service/tickets/48213/notes").respond(
        201, json={"id": 1204999, "ticketId": 48213, "internalAnalysisFlag": True})
    conn = connector(writeback={"enabled": True, "dry_run": False})
    assert conn.post_internal_note("48213", "Similar fix: clear cred mgr") == "1204999"
    assert json.loads(post.calls.last.request.content) == {
        "text": "Similar fix: clear cred mgr", "detailDescriptionFlag": False,
        "internalAnalysisFlag": True, "resolutionFlag": False, "processNotifications": False}
    assert post.calls.last.request.headers["clientId"] == CLIENT_ID


def test_write_back_is_sent_once_even_on_a_server_error(router: respx.MockRouter) -> None:
    discovery(router)
    post = router.post(API + "service/tickets/48213/notes").respond(502)
    with pytest.raises(RetriableError):
        connector(writeback={"enabled": True, "dry_run": False}).post_internal_note("48213", "x")
    assert post.call_count == 1


def test_write_back_waits_out_a_429_which_says_nothing_was_posted(
        router: respx.MockRouter, sleeps: Sleeps) -> None:
    discovery(router)
    post = router.post(API + "service/tickets/48213/notes").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(201, json={"id": 5})])
    conn = connector(sleeps, writeback={"enabled": True, "dry_run": False})
    assert conn.post_internal_note("48213", "x") == "5"
    assert post.call_count == 2 and sleeps == [3.0]


def test_write_back_is_refused_unless_enabled(router: respx.MockRouter) -> None:
    with pytest.raises(ConfigError) as caught:
        connector().post_internal_note("48213", "Similar fix: clear cred mgr")
    assert caught.value.key == "sources.cw-prod.writeback.enabled"


def test_write_back_dry_run_posts_nothing(router: respx.MockRouter,
                                          caplog: pytest.LogCaptureFixture) -> None:
    conn = connector(writeback={"enabled": True})  # dry_run defaults to true
    with caplog.at_level(logging.INFO, logger="connectors"):
        assert conn.post_internal_note("48213", "secret-ish suggestion text") == "dry-run"
    assert "48213" in caplog.text and "secret-ish" not in caplog.text
    assert conn.requests_made == 0


# -- the contract harness ---------------------------------------------------------------------


def test_contract_harness_filters_by_conditions_and_pages_forward_only(
        router: respx.MockRouter) -> None:
    harness = ConnectWiseHarness()
    stamp = datetime(2024, 5, 30, 12, 0, tzinfo=UTC)
    specs = [TicketSpec(id=i, title=f"t{i}", updated_at=stamp,
                        notes=(NoteSpec(id=i * 10, text="fixed", created_at=stamp),))
             for i in (1, 2, 3)]
    old = TicketSpec(id=4, title="old", updated_at=datetime(2024, 1, 1, tzinfo=UTC))
    listing = harness.serve_tickets(router, [*specs, old], page_size=2)
    conn = harness.connector(router, sleep=Sleeps(), now=NOW, start_date="2024-05-01",
                             backfill_slice="60d")
    tickets = items(list(conn.pull("ticket", since=None)))
    assert [t.external_id for t in tickets] == ["1", "2", "3"]
    assert {n.external_id for n in tickets[0].notes} == harness.note_ids(specs[0])
    assert listing.call_count == 2
    assert harness.since_of(listing.calls[0].request) == datetime(2024, 5, 1, tzinfo=UTC)


def test_http_status_error_is_raised_for_other_404s(router: respx.MockRouter) -> None:
    discovery(router)
    router.get(API + "system/info").respond(404, json={"code": "NotFound"})
    with pytest.raises(HttpStatusError):
        connector().check()
