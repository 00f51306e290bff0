"""`find_hosts`' patterns open with the character before a name instead of looking back at it
(see `extract.hosts._HOST`): the same names at the same spans as the look-behind forms they
replace, on random texts made of host-shaped pieces and the characters around them."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from extract.hosts import _FQDN, _HOST

# The patterns as they were: a look-behind for the character before the name.
_LOOKING_BACK = {
    pattern: re.compile(re.sub(r"^\[\^", "(?<![", pattern.pattern, count=1).replace(
        "](?P<name>", "])(?P<name>", 1), pattern.flags)
    for pattern in (_HOST, _FQDN)
}

_PIECES = st.lists(st.sampled_from(
    ["DC01", "dc1", "SRV-FS01", "srv", "KPM-SHOP02", "DESKTOP-7F3K2LQ", "desktop-", "WIN-",
     "RDS2", "pc1", "SQL2019", "ex", "corp", "local", "example", ".com", ".", "mail.", "host",
     "a-b", "-", "@", "/", "\\", "\\\\", "_", " ", "\n", "\t", "0", "9", "x", "Q", "é", "\u212a",
     "\u0130", ":", ",", "(", ")", "01", "KB5001", "fs", "FS-"]),
    max_size=14).map("".join)


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int, str]]:
    return [(*match.span("name"), match.group("name")) for match in pattern.finditer(text)]


@settings(max_examples=3000, deadline=None)
@given(_PIECES)
def test_leading_class_matches_look_behind(text: str) -> None:
    for pattern, looking_back in _LOOKING_BACK.items():
        shifted = [(start - 1, end - 1, name) for start, end, name in _spans(pattern, " " + text)]
        assert shifted == _spans(looking_back, text)

