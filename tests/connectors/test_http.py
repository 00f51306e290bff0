"""The shared HTTP layer: retries, Retry-After, fatal auth, budgets, secrets kept out of errors."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx
from pydantic import ValidationError

from connectors import HttpSettings, HttpStatusError, SourceHttp, parse_retry_after
from records import AuthError, BudgetExhausted, ConnectorError, RetriableError
from tests.factories import Sleeps as FakeSleep

BASE = "https://api-na.myconnectwise.net/v4_6_release/apis/3.0/"
TICKETS = "https://api-na.myconnectwise.net/v4_6_release/apis/3.0/service/tickets"




@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(base_url=BASE) as http_client:
        yield http_client


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True) as mock_router:
        yield mock_router


def make_http(client: httpx.Client, sleep: FakeSleep, **settings: object) -> SourceHttp:
    return SourceHttp(client=client, settings=HttpSettings.model_validate(settings),
                      source="cw-prod", sleep=sleep)


def test_ok_response_is_returned_and_counted(client, sleep, router):
    route = router.get(TICKETS).respond(200, json=[{"id": 48213}])
    http = make_http(client, sleep)

    response = http.get("service/tickets", params={"pageSize": 1000})

    assert response.json() == [{"id": 48213}]
    assert route.calls.last.request.url.params["pageSize"] == "1000"
    assert http.requests_made == 1
    assert sleep.waits == []


def test_timeout_setting_goes_out_with_every_attempt(client, sleep, router):
    route = router.get(TICKETS).respond(200, json=[])
    make_http(client, sleep, timeout_seconds=7.5).get("service/tickets")

    timeout = route.calls.last.request.extensions["timeout"]
    assert timeout == {"connect": 7.5, "read": 7.5, "write": 7.5, "pool": 7.5}


def test_429_with_retry_after_seconds_waits_exactly_that(client, sleep, router):
    route = router.get(TICKETS).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(200, json=[{"id": 1}]),
    ])
    http = make_http(client, sleep)

    assert http.get("service/tickets").json() == [{"id": 1}]
    assert sleep.waits == [7.0]
    assert route.call_count == 2
    assert http.requests_made == 2


def test_429_with_http_date_retry_after_waits_until_then(client, sleep, router):
    then = datetime.now(UTC) + timedelta(seconds=30)
    router.get(TICKETS).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": format_datetime(then, usegmt=True)}),
        httpx.Response(200, json=[]),
    ])

    make_http(client, sleep).get("service/tickets")

    [wait] = sleep.waits
    assert 28.0 < wait <= 30.0  # the header has whole seconds


def test_503_then_200_backs_off_with_jitter(client, sleep, router):
    route = router.get(TICKETS).mock(side_effect=[httpx.Response(503), httpx.Response(200)])

    make_http(client, sleep, backoff_initial=0.5).get("service/tickets")

    assert route.call_count == 2
    [wait] = sleep.waits
    assert 0.5 <= wait <= 1.0


def test_backoff_grows_and_stops_at_backoff_max(client, sleep, router):
    router.get(TICKETS).mock(side_effect=[httpx.Response(502)] * 5 + [httpx.Response(200)])

    make_http(client, sleep, max_attempts=6, backoff_initial=1, backoff_max=3,
              max_retry_seconds=1000).get("service/tickets")

    assert len(sleep.waits) == 5
    assert 1 <= sleep.waits[0] <= 2
    assert 2 <= sleep.waits[1] <= 3
    assert sleep.waits[2:] == [3, 3, 3]


@pytest.mark.parametrize("error", [httpx.ReadTimeout("read timed out"),
                                   httpx.ConnectError("connection refused")])
def test_timeout_or_dropped_connection_then_200(client, sleep, router, error):
    route = router.get(TICKETS).mock(side_effect=[error, httpx.Response(200, json=[])])

    assert make_http(client, sleep).get("service/tickets").status_code == 200
    assert route.call_count == 2
    assert len(sleep.waits) == 1


def test_401_is_fatal_after_exactly_one_call(client, sleep, router):
    route = router.get(TICKETS).respond(401, json={"code": "Unauthorized"})

    with pytest.raises(AuthError, match="401"):
        make_http(client, sleep).get("service/tickets")
    assert route.call_count == 1
    assert sleep.waits == []


def test_403_is_fatal_at_once(client, sleep, router):
    route = router.get(TICKETS).respond(403)

    with pytest.raises(AuthError, match="403"):
        make_http(client, sleep).get("service/tickets")
    assert route.call_count == 1


def test_404_is_a_connector_error_naming_status_and_path_not_retried(client, sleep, router):
    route = router.get(f"{TICKETS}/99").respond(404)

    with pytest.raises(HttpStatusError) as caught:
        make_http(client, sleep).get("service/tickets/99")
    assert isinstance(caught.value, ConnectorError)
    assert not isinstance(caught.value, RetriableError)
    assert caught.value.status_code == 404
    assert "HTTP 404" in str(caught.value)
    assert "/v4_6_release/apis/3.0/service/tickets/99" in str(caught.value)
    assert route.call_count == 1


def test_501_is_not_retried(client, sleep, router):
    route = router.get(TICKETS).respond(501)

    with pytest.raises(HttpStatusError):
        make_http(client, sleep).get("service/tickets")
    assert route.call_count == 1


def test_attempts_are_capped(client, sleep, router):
    route = router.get(TICKETS).respond(503)

    with pytest.raises(RetriableError, match="3 attempt"):
        make_http(client, sleep, max_attempts=3).get("service/tickets")
    assert route.call_count == 3
    assert len(sleep.waits) == 2


def test_total_retry_time_is_capped(client, sleep, router):
    route = router.get(TICKETS).respond(429, headers={"Retry-After": "4"})

    with pytest.raises(RetriableError, match="max_retry_seconds") as caught:
        make_http(client, sleep, max_attempts=10, max_retry_seconds=10).get("service/tickets")
    # 4s after the first attempt, 4s after the second; a third wait would pass 10s.
    assert sleep.waits == [4.0, 4.0]
    assert route.call_count == 3
    assert caught.value.retry_after == 4.0


def test_retry_after_beyond_the_time_left_gives_up_at_once_with_retry_after(client, sleep, router):
    route = router.get(TICKETS).respond(429, headers={"Retry-After": "3600"})

    with pytest.raises(RetriableError) as caught:
        make_http(client, sleep, max_retry_seconds=120).get("service/tickets")
    assert route.call_count == 1
    assert sleep.waits == []
    assert caught.value.retry_after == 3600.0


def test_budget_exhausted_before_the_extra_request_is_sent(client, sleep, router):
    route = router.get(TICKETS).respond(200, json=[])
    http = make_http(client, sleep, request_budget=2)
    http.get("service/tickets")
    http.get("service/tickets")

    with pytest.raises(BudgetExhausted, match="budget of 2"):
        http.get("service/tickets")
    assert route.call_count == 2
    assert http.requests_made == 2


def test_retries_spend_the_budget_too(client, sleep, router):
    route = router.get(TICKETS).respond(503)

    with pytest.raises(BudgetExhausted):
        make_http(client, sleep, request_budget=2).get("service/tickets")
    assert route.call_count == 2


def test_on_unauthorized_refresh_resends_once_with_the_new_token(client, sleep, router):
    route = router.get(TICKETS).mock(side_effect=[httpx.Response(401), httpx.Response(200)])
    client.headers["Authorization"] = "Bearer old"
    refreshes: list[str] = []

    def refresh() -> bool:
        refreshes.append("refreshed")
        client.headers["Authorization"] = "Bearer new"
        return True

    http = SourceHttp(client=client, settings=HttpSettings(), source="halo", sleep=sleep,
                      on_unauthorized=refresh)

    assert http.get("service/tickets").status_code == 200
    assert refreshes == ["refreshed"]
    assert [call.request.headers["Authorization"] for call in route.calls] == [
        "Bearer old", "Bearer new"]


def test_on_unauthorized_declining_is_fatal(client, sleep, router):
    route = router.get(TICKETS).respond(401)
    http = SourceHttp(client=client, settings=HttpSettings(), source="halo", sleep=sleep,
                      on_unauthorized=lambda: False)

    with pytest.raises(AuthError):
        http.get("service/tickets")
    assert route.call_count == 1


def test_401_after_a_refresh_is_fatal_and_refreshes_only_once(client, sleep, router):
    route = router.get(TICKETS).respond(401)
    calls: list[int] = []
    http = SourceHttp(client=client, settings=HttpSettings(), source="halo", sleep=sleep,
                      on_unauthorized=lambda: calls.append(1) or True)

    with pytest.raises(AuthError, match="even after refreshing"):
        http.get("service/tickets")
    assert route.call_count == 2
    assert calls == [1]


@pytest.mark.parametrize(("response", "error"), [
    (httpx.Response(404), HttpStatusError),
    (httpx.Response(401), AuthError),
    (httpx.Response(503), RetriableError),
    (httpx.ConnectError("failed to connect to host?token=secret"), RetriableError),
])
def test_errors_and_logs_never_carry_the_query_string(client, sleep, router, caplog,
                                                      response, error):
    router.get(TICKETS).mock(side_effect=[response] * 2)
    caplog.set_level(logging.DEBUG, logger="connectors.http")

    with pytest.raises(error) as caught:
        make_http(client, sleep, max_attempts=2).get("service/tickets?token=secret")

    assert "secret" not in str(caught.value)
    assert "/apis/3.0/service/tickets" in str(caught.value)
    ours = [record.getMessage() for record in caplog.records if record.name == "connectors.http"]
    assert ours, "expected DEBUG lines per request"
    assert all("secret" not in line and "token=" not in line for line in ours)


def test_debug_line_per_request_and_warning_per_retry(client, sleep, router, caplog):
    router.get(TICKETS).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200)])
    caplog.set_level(logging.DEBUG, logger="connectors.http")

    make_http(client, sleep).get("service/tickets")

    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "connectors.http"]
    path = re.escape("api-na.myconnectwise.net/v4_6_release/apis/3.0/service/tickets")
    debug = [message for level, message in lines if level == logging.DEBUG]
    assert len(debug) == 2
    assert re.fullmatch(rf"source cw-prod: GET {path} -> 429 in \d+ ms", debug[0])
    assert re.fullmatch(rf"source cw-prod: GET {path} -> 200 in \d+ ms", debug[1])
    warnings = [message for level, message in lines if level == logging.WARNING]
    assert len(warnings) == 1
    assert re.fullmatch(
        rf"source cw-prod: GET {path}: HTTP 429; attempt 1 of 5, retrying in 2.0s", warnings[0])


def test_request_json_rejects_a_non_json_page(client, sleep, router):
    router.get(TICKETS).respond(200, text="<html>Just a moment...</html>",
                                headers={"content-type": "text/html"})

    with pytest.raises(ConnectorError, match="not JSON"):
        make_http(client, sleep).request_json("GET", "service/tickets")


def test_unsupported_scheme_is_not_retried(client, sleep):
    with pytest.raises(ConnectorError, match="unsupported URL scheme") as caught:
        make_http(client, sleep).get("ftp://files.example.test/export.csv?key=secret")
    assert not isinstance(caught.value, RetriableError)
    assert "secret" not in str(caught.value)
    assert sleep.waits == []


@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120.0),
    (" 5 ", 5.0),
    ("0", 0.0),
    ("1.5", 1.5),
    ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
    ("Wednesday, 21-Oct-15 07:28:45 GMT", 45.0),  # obsolete RFC 850 form
    ("Wed Oct 21 07:29:00 2015", 60.0),  # obsolete asctime form
    ("Wed, 21 Oct 2015 07:20:00 GMT", 0.0),  # in the past
    ("-5", None),
    ("soon", None),
    ("", None),
    (None, None),
])
def test_parse_retry_after(value, expected):
    now = datetime(2015, 10, 21, 7, 28, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == expected


@pytest.mark.parametrize("bad", [{"max_attempts": 0}, {"timeout_seconds": 0},
                                 {"request_budget": 0}, {"retries": 3},
                                 {"backoff_initial": 10, "backoff_max": 5}])
def test_http_settings_reject_nonsense(bad):
    with pytest.raises(ValidationError):
        HttpSettings.model_validate(bad)


def test_non_idempotent_post_is_not_repeated_after_a_server_error(client, sleep, router):
    route = router.post("https://psa.example/notes").respond(502)
    http = make_http(client, sleep)
    with pytest.raises(RetriableError):
        http.request("POST", "https://psa.example/notes", json={"text": "x"}, idempotent=False)
    assert route.call_count == 1  # the note may have been written: never post it twice
    assert sleep.waits == []


def test_non_idempotent_post_is_retried_after_a_429(client, sleep, router):
    route = router.post("https://psa.example/notes").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "3"}),
                     httpx.Response(201, json={"id": 1})])
    http = make_http(client, sleep)
    response = http.request("POST", "https://psa.example/notes", json={"text": "x"},
                            idempotent=False)
    assert response.status_code == 201
    assert route.call_count == 2
    assert sleep.waits == [3.0]
