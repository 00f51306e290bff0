"""The Autotask emulation over HTTP: auth, queries, paging, writes, and a full sync from it."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.routing import Mount

from connectors.autotask import Autotask, AutotaskSettings
from connectors.sandbox.autotask import (
    SANDBOX_INTEGRATION_CODE,
    SANDBOX_SECRET,
    SANDBOX_USERNAME,
    AutotaskEmulation,
    build_fixtures,
)
from connectors.sandbox.base import FIXTURES
from connectors.sandbox.corpus import load_corpus
from records import ConnectorError, Ticket

with warnings.catch_warnings():  # starlette warns when httpx2 is not installed
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

BASE = "http://sandbox.test"
API = f"{BASE}/autotask/ATServicesRest/V1.0/"
AUTH = {"ApiIntegrationCode": SANDBOX_INTEGRATION_CODE, "UserName": SANDBOX_USERNAME,
        "Secret": SANDBOX_SECRET}


@pytest.fixture
def emulation() -> AutotaskEmulation:
    return AutotaskEmulation(FIXTURES)  # state changes stay in memory


@pytest.fixture
def client(emulation: AutotaskEmulation) -> Iterator[TestClient]:
    app = Starlette(routes=[Mount(emulation.prefix, routes=list(emulation.routes()))])
    with TestClient(app, base_url=BASE) as test_client:
        yield test_client


def query(client: TestClient, entity: str, body: dict[str, Any], url: str | None = None,
          **headers: str) -> Any:
    return client.post(url or f"{API}{entity}/query", json=body, headers={**AUTH, **headers})


def window(start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {"MaxRecords": 50, **extra, "filter": [
        {"op": "gte", "field": "lastActivityDate", "value": start},
        {"op": "lt", "field": "lastActivityDate", "value": end}]}


def connector_for(emulation: AutotaskEmulation, client: TestClient, *,
                  later: timedelta = timedelta(0), **extra: Any) -> Autotask:
    options = {**emulation.source_config(BASE), **extra}
    secrets = {name: SecretStr(value) for name, value in emulation.secrets().items()}
    settings = AutotaskSettings(name="autotask-sandbox", **options, **secrets)
    return Autotask(settings, client=client, sleep=lambda seconds: None,
                    now=lambda: datetime.now(UTC) + later)


def stored(connector: Autotask, since: Any = None) -> tuple[dict[str, Ticket], Any]:
    tickets: dict[str, Ticket] = {}
    cursor = since
    for batch in connector.pull("ticket", since=since):
        tickets.update({item.external_id: item for item in batch.items
                        if isinstance(item, Ticket)})
        cursor = batch.cursor or cursor
    return tickets, cursor


def test_zone_lookup_needs_no_credentials_and_points_at_the_sandbox(client):
    response = client.get(f"{BASE}/autotask/atservicesrest/v1.0/zoneInformation",
                          params={"user": SANDBOX_USERNAME})

    assert response.status_code == 200
    assert response.json()["url"] == f"{BASE}/autotask/ATServicesRest/"


@pytest.mark.parametrize("headers", [
    {}, {**AUTH, "Secret": "wrong"}, {k: v for k, v in AUTH.items() if k != "ApiIntegrationCode"},
])
def test_missing_or_wrong_credentials_get_401_with_an_errors_body(client, headers):
    response = client.get(f"{API}ThresholdInformation", headers=headers)

    assert response.status_code == 401
    assert response.json()["errors"]


def test_window_filter_and_next_page_posted_with_the_same_body(client, emulation):
    body = window("2024-01-01T00:00:00Z", "2024-07-01T00:00:00Z")
    first = query(client, "Tickets", body).json()
    second_url = first["pageDetails"]["nextPageUrl"]
    second = query(client, "Tickets", body, url=second_url).json()

    pages = first["items"] + second["items"]
    ids = [item["id"] for item in pages]
    assert len(first["items"]) == 50 and first["pageDetails"]["count"] == 50
    assert ids == sorted(set(ids))
    assert all("2024-01-01" <= item["lastActivityDate"] < "2024-07-01" for item in pages)
    assert second["pageDetails"]["prevPageUrl"]
    assert client.get(second_url, headers=AUTH).status_code == 405
    assert client.post(second_url, headers=AUTH).status_code == 500  # no body, no filter


def test_max_records_and_operators_are_checked_like_autotask(client):
    too_many = query(client, "Tickets", {"MaxRecords": 501,
                                         "filter": [{"op": "gt", "field": "id", "value": 0}]})
    bad_op = query(client, "Tickets", {"filter": [{"op": "like", "field": "id", "value": 0}]})
    bad_field = query(client, "Tickets", {"filter": [{"op": "eq", "field": "nope", "value": 1}]})

    assert too_many.status_code == 500
    assert "between 1 and 500" in too_many.json()["errors"][0]
    assert bad_op.status_code == 400 and "like" in bad_op.json()["errors"][0]
    assert bad_field.status_code == 400


def test_children_by_ticket_id_and_include_fields(client, emulation):
    [first_id, second_id] = [int(key) for key in list(emulation.expected())[:2]]
    notes = query(client, "TicketNotes", {"filter": [
        {"op": "in", "field": "ticketID", "value": [first_id, second_id]}]}).json()["items"]
    ids_only = query(client, "Tickets", {"IncludeFields": ["id"], "MaxRecords": 3,
                                         "filter": [{"op": "gt", "field": "id", "value": 0}]})

    assert notes and {note["ticketID"] for note in notes} <= {first_id, second_id}
    assert ids_only.json()["items"] == [{"id": key} for key in
                                        sorted(int(k) for k in emulation.ticket_ids())[:3]]


def test_get_query_with_search_parameter_pages_with_get(client):
    search = json.dumps({"MaxRecords": 2, "filter": [{"op": "gt", "field": "id", "value": 0}]})
    first = client.get(f"{API}Tickets/query", params={"search": search}, headers=AUTH).json()
    second = client.get(first["pageDetails"]["nextPageUrl"], headers=AUTH)

    assert second.status_code == 200
    assert [item["id"] for item in second.json()["items"]] > [i["id"] for i in first["items"]]


def test_mutate_add_note_and_delete_are_visible_to_the_next_request(client, emulation):
    ticket_id, victim = list(emulation.expected())[:2]
    before = datetime.now(UTC) - timedelta(seconds=5)

    emulation.mutate(ticket_id)
    note_id = emulation.add_note(ticket_id, "replaced the toner")
    emulation.delete(victim)

    recent = query(client, "Tickets", window(before.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                             "2100-01-01T00:00:00Z")).json()["items"]
    assert [str(item["id"]) for item in recent] == [ticket_id]
    assert recent[0]["description"].endswith("(edited during sync)")
    assert note_id in emulation.expected()[ticket_id]
    assert victim not in emulation.expected() and victim not in emulation.ticket_ids()
    gone = query(client, "Tickets", {"filter": [{"op": "eq", "field": "id", "value": victim}]})
    assert gone.json()["items"] == []


def test_write_back_endpoint_creates_an_internal_note(client, emulation):
    ticket_id = next(iter(emulation.expected()))
    created = client.post(f"{API}Tickets/{ticket_id}/Notes", headers=AUTH, json={
        "ticketID": int(ticket_id), "title": "fixedit", "description": "see T20240108.0014",
        "noteType": 3, "publish": 2})
    refused = client.post(f"{API}Tickets/{ticket_id}/Notes", headers=AUTH, json={
        "title": "fixedit", "description": "x", "noteType": 777, "publish": 2})

    assert created.status_code == 200
    assert str(created.json()["itemId"]) in emulation.expected()[ticket_id]
    assert refused.status_code == 500
    listed = client.get(f"{API}Tickets/{ticket_id}/Notes", headers=AUTH).json()["items"]
    assert listed[-1]["id"] == created.json()["itemId"]
    assert (listed[-1]["publish"], listed[-1]["creatorResourceID"]) == (2, 29682940)


def test_a_full_sync_stores_exactly_what_the_sandbox_holds_and_picks_up_changes(client,
                                                                               emulation):
    connector = connector_for(emulation, client)

    tickets, cursor = stored(connector)
    assert {key: frozenset(n.external_id for n in t.notes) for key, t in tickets.items()} == \
        emulation.expected()

    changed, added = list(emulation.expected())[3:5]
    emulation.mutate(changed)
    note_id = emulation.add_note(added, "called back, all good now")
    # The next run (a few seconds on, past its safety lag) reads both changes.
    later, _ = stored(connector_for(emulation, client, later=timedelta(minutes=2)), since=cursor)

    assert set(later) == {changed, added}
    assert later[changed].description.endswith("(edited during sync)")
    assert note_id in {note.external_id for note in later[added].notes}
    assert sorted(connector.reconcile("ticket"), key=int) == emulation.ticket_ids()


def test_an_unknown_api_user_is_named_in_the_error(client, emulation):
    connector = connector_for(emulation, client, username="someone@else.example")

    with pytest.raises(ConnectorError, match=r"someone@else\.example.*username"):
        connector.check()


def test_scale_synthesises_fresh_tickets_with_their_children():
    single = AutotaskEmulation(FIXTURES).expected()
    triple = AutotaskEmulation(FIXTURES, scale=3).expected()

    assert len(triple) == 3 * len(single)
    sizes = sorted(len(notes) for notes in triple.values())
    assert sizes == sorted(len(notes) for notes in single.values() for _ in range(3))
    all_notes = [note for notes in triple.values() for note in notes]
    assert len(all_notes) == len(set(all_notes))


def test_fixtures_are_deterministic_and_hold_enough_vendor_shaped_tickets(tmp_path):
    corpus = load_corpus()
    build_fixtures(corpus, tmp_path / "a")
    build_fixtures(corpus, tmp_path / "b")

    for path in sorted((tmp_path / "a").iterdir()):
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name
    tickets = json.loads((FIXTURES / "autotask" / "tickets.json").read_text())["items"]
    assert len(tickets) >= 152
    assert all(isinstance(t["status"], int) and isinstance(t["priority"], int) for t in tickets)
    assert sum(isinstance(t["userDefinedFields"], list) for t in tickets) == len(tickets) - 1
    assert all(re.fullmatch(r"T\d{8}\.\d{4}", t["ticketNumber"]) for t in tickets)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", t["lastActivityDate"])
               for t in tickets)
    for path in (FIXTURES / "autotask").iterdir():
        text = path.read_text(encoding="utf-8")
        assert SANDBOX_SECRET not in text and SANDBOX_INTEGRATION_CODE not in text, path.name


def test_a_small_corpus_is_topped_up_with_re_dated_copies_at_other_companies():
    from connectors.sandbox.autotask_fixtures import MIN_TICKETS, render

    corpus = load_corpus()[:40]
    entities = render(corpus)

    tickets = entities["Tickets"]
    assert len(tickets) == MIN_TICKETS + 2
    assert len({ticket["id"] for ticket in tickets}) == len(tickets)
    assert len({ticket["ticketNumber"] for ticket in tickets}) == len(tickets)
    by_text: dict[tuple[str, str], list[dict]] = {}
    for ticket in tickets:
        by_text.setdefault((ticket["title"], ticket["description"]), []).append(ticket)
    copies = [group for group in by_text.values() if len(group) > 1]
    assert copies
    for group in copies:
        assert len({t["companyID"] for t in group}) == len(group)
        assert len({t["createDate"] for t in group}) == len(group)


def test_source_config_is_a_valid_autotask_source(emulation):
    config = emulation.source_config(BASE)
    settings = AutotaskSettings(name="sandbox", **config,
                                **{k: SecretStr(v) for k, v in emulation.secrets().items()})

    assert settings.zone_lookup_url == f"{BASE}/autotask/atservicesrest/"
    assert settings.username == SANDBOX_USERNAME
    first = settings.first_start(datetime.now(UTC))
    assert all(item["lastActivityDate"] >= first.strftime("%Y-%m-%dT%H:%M:%S")
               for item in json.loads((FIXTURES / "autotask" / "tickets.json").read_text())[
                   "items"])
