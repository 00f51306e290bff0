"""The host chunks' hints are tight (a digit only after a letter, or after a letter and a
hyphen) and still miss no host: `find_ticket_hosts` finds what `find_hosts` finds text by text,
on the real corpus and on host-shaped text around the hint's edges. `host_spans` is
`find_hosts` as tuples."""

from __future__ import annotations

from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract.assemble import find_ticket_hosts
from extract.hosts import find_hosts, host_spans
from extract.labelled import load_labelled
from extract.sources import ticket_sources


@cache
def _real_tickets() -> list[list[str]]:
    """Cleaned texts of each ticket of the sandbox corpus and the labelled tickets."""
    tickets = [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]
    return [[source.clean.text for source in ticket_sources(ticket)] for ticket in tickets]


def _each_host(texts: list[str]) -> list[list[tuple[str, int, int]]]:
    return [[(h.name, h.start, h.end) for h in find_hosts(text)] for text in texts]


def test_ticket_hosts_equal_find_hosts_text_by_text_on_real_text() -> None:
    for texts in _real_tickets():
        assert find_ticket_hosts(texts) == _each_host(texts)


# Host shapes cut into pieces: role and site words, Windows' default prefixes, digits after
# letters, hyphens and digits, phone- and date-shaped runs, and letters that IGNORECASE folds
# to ASCII or that are not ASCII (the Kelvin sign, the long s, the dotless i, "İ").
_PIECES = st.sampled_from(
    ["DC", "dc", "SRV", "FS", "KPM-", "SHOP", "WIN-", "DESKTOP-", "LAPTOP-", "0", "1", "07",
     "2019", "555-0171", "2024-01-15", "-", "--", "x", "Q", "7F3K2LQ", "123456", "AB12CD",
     ".com", ".", "\\\\", "@", "://", " ", "\n", "\t", "\u00a0", "\u212a", "\u017f", "\u0131",
     "\u0130", "\u0662", "(", "=", "_"])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(_PIECES, max_size=14).map("".join), max_size=4))
def test_ticket_hosts_equal_find_hosts_text_by_text(texts: list[str]) -> None:
    assert find_ticket_hosts(texts) == _each_host(texts)
    for text in texts:
        assert [(h.start, h.end, h.name, h.kind) for h in find_hosts(text)] == host_spans(text)
