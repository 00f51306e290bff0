"""Paginators: what they ask for next, when they stop, and how they refuse to loop."""

from __future__ import annotations

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from connectors import (
    CursorPaginator,
    HttpSettings,
    LinkHeaderPaginator,
    NextUrlPaginator,
    Page,
    PageNumberPaginator,
    PageRequest,
    SourceHttp,
    parse_link_header,
)
from records import ConnectorError, PaginationLoop

CW = "https://api-na.myconnectwise.net/v4_6_release/apis/3.0/service/tickets"
AUTOTASK = "https://webservices15.autotask.net/ATServicesRest/V1.0/Tickets/query"


# --- page numbers (ConnectWise page/pageSize, Halo page_no/page_size) ---------------------

def test_page_numbers_advance_on_full_pages_and_stop_on_a_short_one():
    paginator = PageNumberPaginator(page_size=2)
    first = paginator.first(CW, {"conditions": "lastUpdated > [2024-05-01T00:00:00Z]"})
    assert first == PageRequest(CW, {"conditions": "lastUpdated > [2024-05-01T00:00:00Z]",
                                     "page": 1, "pageSize": 2})

    second = paginator.next_request(Page(url=CW, item_count=2, fingerprint="1-2"))
    assert second is not None
    assert second.params["page"] == 2
    assert second.params["conditions"] == "lastUpdated > [2024-05-01T00:00:00Z]"

    assert paginator.next_request(Page(url=CW, item_count=1, fingerprint="3")) is None


def test_page_numbers_stop_when_the_reported_total_is_reached():
    paginator = PageNumberPaginator(page_size=50, page_param="page_no", size_param="page_size")
    first = paginator.first("https://acme.halopsa.com/api/Tickets", {"pageinate": "true"})
    assert first.params == {"pageinate": "true", "page_no": 1, "page_size": 50}

    assert paginator.next_request(Page(url="", item_count=50, total=100)) is not None
    # Halo's record_count says 100: no third request for an empty page.
    assert paginator.next_request(Page(url="", item_count=50, total=100)) is None


def test_page_numbers_stop_on_an_empty_page():
    paginator = PageNumberPaginator(page_size=25)
    paginator.first(CW)
    assert paginator.next_request(Page(url=CW, item_count=0)) is None


def test_page_numbers_loop_guard_catches_an_api_that_ignores_the_page_parameter():
    paginator = PageNumberPaginator(page_size=2)
    paginator.first(CW)
    paginator.next_request(Page(url=CW, item_count=2, fingerprint="48213-48214"))

    with pytest.raises(PaginationLoop, match="page 2 repeats"):
        paginator.next_request(Page(url=CW, item_count=2, fingerprint="48213-48214"))


def test_page_numbers_start_over_on_first():
    paginator = PageNumberPaginator(page_size=2, start=0)
    paginator.first(CW)
    paginator.next_request(Page(url=CW, item_count=2, fingerprint="a"))

    assert paginator.first(CW).params["page"] == 0
    assert paginator.next_request(Page(url=CW, item_count=2, fingerprint="a")) is not None


def test_page_numbers_need_first():
    with pytest.raises(RuntimeError):
        PageNumberPaginator(page_size=2).next_request(Page(url=CW, item_count=2))


# --- RFC 8288 Link header (ConnectWise navigable and forward-only) ------------------------

def test_link_header_follows_rel_next():
    paginator = LinkHeaderPaginator()
    assert paginator.first(CW, {"pageSize": 2}) == PageRequest(CW, {"pageSize": 2})
    link = (f'<{CW}?pageSize=2&page=2>; rel="next", <{CW}?pageSize=2&page=9>; rel="last"')

    following = paginator.next_request(Page(url=f"{CW}?pageSize=2", item_count=2,
                                            headers={"Link": link}))

    assert following == PageRequest(f"{CW}?pageSize=2&page=2")


def test_link_header_reads_httpx_headers_case_insensitively_and_resolves_relative_links():
    headers = httpx.Headers({"LINK": "</v4_6_release/apis/3.0/service/tickets?pageId=48213>; "
                                     "REL=NEXT"})
    paginator = LinkHeaderPaginator()
    paginator.first(CW)

    following = paginator.next_request(Page(url=f"{CW}?pageSize=2", item_count=2,
                                            headers=headers))

    assert following == PageRequest(f"{CW}?pageId=48213")


@pytest.mark.parametrize("headers", [{}, {"Link": f'<{CW}?page=1>; rel="prev"'}, {"Link": ""}])
def test_link_header_stops_without_a_next_link(headers):
    paginator = LinkHeaderPaginator()
    paginator.first(CW)
    assert paginator.next_request(Page(url=CW, item_count=5, headers=headers)) is None


def test_link_header_stops_on_an_empty_page_even_with_a_next_link():
    paginator = LinkHeaderPaginator()
    paginator.first(CW)
    page = Page(url=CW, item_count=0, headers={"Link": f'<{CW}?page=2>; rel="next"'})
    assert paginator.next_request(page) is None


def test_link_header_loop_guard():
    paginator = LinkHeaderPaginator()
    paginator.first(CW)
    page_one, page_two = f"{CW}?page=1", f"{CW}?page=2"
    paginator.next_request(Page(url=page_one, item_count=1,
                                headers={"Link": f'<{page_two}>; rel="next"'}))

    with pytest.raises(PaginationLoop, match="already fetched") as caught:
        paginator.next_request(Page(url=page_two, item_count=1,
                                    headers={"Link": f'<{page_one}>; rel="next"'}))
    assert "page=" not in str(caught.value)  # no query strings in messages


def test_link_header_treats_the_default_port_as_the_same_origin():
    paginator = LinkHeaderPaginator()
    paginator.first(CW)
    link = '<https://api-na.myconnectwise.net:443/v4_6_release/apis/3.0/x?page=2>; rel="next"'
    following = paginator.next_request(Page(url=CW, item_count=1, headers={"Link": link}))
    assert following is not None


def test_link_header_refuses_to_follow_another_origin():
    paginator = LinkHeaderPaginator()
    paginator.first(CW)
    page = Page(url=CW, item_count=1,
                headers={"Link": '<http://api-na.myconnectwise.net/x?page=2>; rel="next"'})
    with pytest.raises(ConnectorError, match="not following"):
        paginator.next_request(page)


def test_parse_link_header_handles_quoted_commas_and_several_rels():
    header = ('<https://x.test/a?b=1,2>; title="one, two; three"; rel="next last", '
              '<https://x.test/p>; rel=prev; rel=next, '
              'garbage, <https://x.test/q>;rel="Next";anchor="#\\"x\\""')
    links = parse_link_header(header)

    assert [link.target for link in links] == [
        "https://x.test/a?b=1,2", "https://x.test/p", "https://x.test/q"]
    assert links[0].rels == {"next", "last"}
    assert links[0].params["title"] == "one, two; three"
    assert links[1].rels == {"prev"}  # a repeated rel is ignored (RFC 8288 3.3)
    assert links[2].rels == {"next"}
    assert links[2].params["anchor"] == '#"x"'


_targets = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='<>"'),
                   min_size=1)
_rels = st.lists(st.sampled_from(["next", "prev", "last", "first", "self"]), min_size=1,
                 max_size=3, unique=True)


@given(st.lists(st.tuples(_targets, _rels), max_size=5))
def test_parse_link_header_reads_back_what_was_written(links):
    header = ", ".join(f'<{target}>; rel="{" ".join(rels)}"' for target, rels in links)
    parsed = parse_link_header(header)
    assert [(link.target, link.rels) for link in parsed] == [
        (target, frozenset(rels)) for target, rels in links]


# --- next URL in the body (Autotask nextPageUrl, Salesforce nextRecordsUrl) ---------------

def test_next_url_from_the_autotask_page_details():
    paginator = NextUrlPaginator()
    paginator.first(AUTOTASK)
    next_url = ('https://webservices15.autotask.net/ATServicesRest/V1.0/Tickets/query/next'
                '?paging={"pageSize":500,"previousIds":[],"nextIds":[725]}')
    body = {"items": [{"id": 1}], "pageDetails": {"count": 1, "nextPageUrl": next_url}}

    assert paginator.next_request(Page(url=AUTOTASK, item_count=1, body=body)) == PageRequest(
        next_url)

    last = {"items": [{"id": 2}], "pageDetails": {"count": 1, "nextPageUrl": None}}
    assert paginator.next_request(Page(url=next_url, item_count=1, body=last)) is None


def test_next_url_relative_to_the_instance_salesforce_style():
    query = "https://acme.my.salesforce.com/services/data/v59.0/query"
    paginator = NextUrlPaginator("nextRecordsUrl")
    paginator.first(query, {"q": "SELECT Id FROM Opportunity"})
    body = {"done": False, "records": [{}],
            "nextRecordsUrl": "/services/data/v59.0/query/01gD0000002HU6KIAW-2000"}

    following = paginator.next_request(Page(url=f"{query}?q=SELECT", item_count=1, body=body))

    assert following == PageRequest(
        "https://acme.my.salesforce.com/services/data/v59.0/query/01gD0000002HU6KIAW-2000")


def test_next_url_loop_guard():
    paginator = NextUrlPaginator()
    paginator.first(AUTOTASK)
    same = {"pageDetails": {"nextPageUrl": f"{AUTOTASK}/next?paging=1"}}
    paginator.next_request(Page(url=AUTOTASK, item_count=1, body=same))

    with pytest.raises(PaginationLoop):
        paginator.next_request(Page(url=f"{AUTOTASK}/next?paging=1", item_count=1, body=same))


def test_next_url_that_is_not_a_string_is_a_connector_error():
    paginator = NextUrlPaginator()
    paginator.first(AUTOTASK)
    with pytest.raises(ConnectorError, match=r"pageDetails\.nextPageUrl"):
        paginator.next_request(Page(url=AUTOTASK, item_count=1,
                                    body={"pageDetails": {"nextPageUrl": 725}}))


def test_next_url_to_another_host_is_refused():
    paginator = NextUrlPaginator()
    paginator.first(AUTOTASK)
    body = {"pageDetails": {"nextPageUrl": "https://evil.test/steal"}}
    with pytest.raises(ConnectorError, match=r"evil\.test"):
        paginator.next_request(Page(url=AUTOTASK, item_count=1, body=body))


# --- opaque cursor (HubSpot after) --------------------------------------------------------

def test_cursor_is_sent_back_as_a_parameter_until_absent():
    search = "https://api.hubapi.com/crm/v3/objects/deals"
    paginator = CursorPaginator("paging.next.after", param="after")
    assert paginator.first(search, {"limit": 100}) == PageRequest(search, {"limit": 100})

    following = paginator.next_request(Page(url=search, item_count=100,
                                            body={"paging": {"next": {"after": "100"}}}))
    assert following == PageRequest(search, {"limit": 100, "after": "100"})
    assert paginator.next_request(Page(url=search, item_count=3, body={"results": []})) is None


def test_cursor_loop_guard():
    paginator = CursorPaginator("paging.next.after", param="after")
    paginator.first("https://api.hubapi.com/crm/v3/objects/deals")
    body = {"paging": {"next": {"after": "100"}}}
    paginator.next_request(Page(url="", item_count=100, body=body))
    with pytest.raises(PaginationLoop, match="repeats"):
        paginator.next_request(Page(url="", item_count=100, body=body))


# --- the loop a connector writes, over real HTTP (respx) ----------------------------------

def test_forward_only_link_paging_through_source_http():
    with respx.mock(assert_all_called=True) as router, httpx.Client() as client:
        route = router.get(CW).mock(side_effect=[
            httpx.Response(200, json=[{"id": 1}, {"id": 2}],
                           headers={"Link": f'<{CW}?pageSize=2&pageId=2>; rel="next"'}),
            httpx.Response(200, json=[{"id": 3}]),
        ])
        http = SourceHttp(client=client, settings=HttpSettings(), source="cw", sleep=lambda _: None)
        paginator = LinkHeaderPaginator()
        ids: list[int] = []

        request = paginator.first(CW, {"pageSize": 2})
        while request is not None:
            response = http.get(request.url, params=request.params,
                                headers={"pagination-type": "forward-only"})
            items = response.json()
            ids.extend(item["id"] for item in items)
            request = paginator.next_request(Page(url=str(response.request.url),
                                                  item_count=len(items),
                                                  headers=response.headers))

    assert ids == [1, 2, 3]
    assert [call.request.url.params.get("pageId") for call in route.calls] == [None, "2"]
