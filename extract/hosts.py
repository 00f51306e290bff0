"""Hostnames, FQDNs and UNC paths named in ticket text ("rebooted DC01", "\\\\SRV-FS01\\share").

`records.Resolution` has no field for them yet, so `find_hosts` stands apart from the spaCy
pipeline: plain text in, `Host` values out. A name counts as a host when it has the shape of a
machine name that MSPs give (a role prefix and a number such as DC01 or RDS02, a site prefix and a
role such as KPM-SHOP02, a Windows default name such as DESKTOP-7F3K2LQ) and is not an error
code, KB number, ticket number or model string of the same shape.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

__all__ = ["Host", "find_hosts", "host_spans"]

# Role words machines are named after; a host is <role><digits>, optionally after a site prefix.
_ROLES = (r"DC|ADDC|FS|FILE|SRV|SVR|SERVER|SQL|DB|EXCH|EX|MAIL|RDS|RDSH|TS|RDP|APP|WEB|PRN|PRINT"
          r"|NAS|HV|HYPERV|HOST|ESX|ESXI|VM|BKP|BACKUP|VEEAM|DEV|UTIL|MGMT|PC|WS|LT|LAP|DT|WKS"
          r"|KIOSK|SCAN|FW|SW|AP|RTR|CAM|NVR|VOIP|PBX|SHOP|FRONT|RECEP|OFFICE|ACCT|LAB")
# `_HOST` and `_FQDN` take the character before the name (one that may not precede it) as their
# first character, instead of looking back at it: a pattern opening with a character class lets
# `re` skip in C to the next such character, where a look-behind is tried at every position.
# `find_hosts` searches the text after a space (which stands for the text's start, where the
# look-behind saw nothing) and reads the "name" group's span, one less. The matches are the
# same: a name ends with a letter or digit, so the character before the next name never lies
# inside the previous match.
_HOST_PATTERN = (
    rf"[^\w.@\\/-](?P<name>"
    r"(?:DESKTOP|LAPTOP|WIN)-[A-Z0-9]{6,8}"                        # Windows' default names
    rf"|(?:[A-Z][A-Z0-9]{{1,7}}-){{1,3}}(?:{_ROLES})[A-Z]*-?\d{{1,4}}[A-Z]?"  # SITE-ROLE01
    rf"|(?:[A-Z][A-Z0-9]{{1,7}}-){{1,3}}[A-Z]{{2,8}}\d{{1,4}}"     # SITE-ANY01 (two parts+)
    rf"|(?:{_ROLES})-?\d{{1,4}}[A-Z]?"                            # DC01, SRV-01, RDS2
    r")(?![\w-]|\.\w)"
)
_HOST = re.compile(_HOST_PATTERN, re.IGNORECASE)
# Its letters are all uppercase, so over the uppercased text of an ASCII text (same length, same
# offsets) it finds, case-sensitively, exactly the spans IGNORECASE finds in the text: about
# twice as fast, as `re` then compares characters without case-folding each. The name is read
# from the text itself. (`_FQDN_LOWER` likewise, its letters lowercase.)
_HOST_UPPER = re.compile(_HOST_PATTERN)
_TLDS = (r"com|net|org|edu|gov|io|co|us|uk|ca|au|de|nl|info|biz|local|lan|internal|corp|intra"
         r"|home|example|test|cloud|app|dev|ai|me|tech")
_FQDN_PATTERN = (
    rf"[^\w.@/\\-](?P<name>(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:{_TLDS}))"
    r"(?![\w@-]|\.\w)"
)
_FQDN = re.compile(_FQDN_PATTERN, re.IGNORECASE)
_FQDN_LOWER = re.compile(_FQDN_PATTERN)
_UNC = re.compile(r"\\\\(?P<name>[A-Za-z0-9][A-Za-z0-9.-]{0,62})(?=\\|\s|$)")
# Both alternatives start only where a word or token starts, so a long run with no "://" or "@"
# (a 1 MB pasted token) is scanned once, not once per character.
_URL_OR_EMAIL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+|(?<!\S)\S+@\S+", re.IGNORECASE)
_DIGIT = re.compile(r"\d")
# Same shape as a host, but a code or a reference: ticket and change numbers, error codes, KBs.
_NOT_HOSTS = re.compile(r"(?:KB|INC|REQ|CHG|RITM|TKT|TICKET|CASE|SR|PO|INV|ORA|CVE|MS|ISO|RFC"
                        r"|AADSTS|CAA|ERR|SO|WO|PRJ|Q)-?\d", re.IGNORECASE)
_DIGIT_END = re.compile(r"\d[A-Z]?$", re.IGNORECASE)
_ROLE_YEAR = re.compile(r"[A-Z]+-?(?:19|20)\d\d", re.IGNORECASE)  # SQL2019, EX2016: versions


@dataclass(frozen=True, slots=True)
class Host:
    """One machine named in a text: its name as written, its kind and its character span."""

    name: str
    kind: str  # "hostname", "fqdn" or "unc"
    start: int
    end: int


def _plain_host(name: str) -> bool:
    """True when a hostname-shaped word is a machine name rather than a code or reference."""
    if _NOT_HOSTS.match(name):
        return False
    if name.upper().startswith(("DESKTOP-", "LAPTOP-", "WIN-")):
        return any(ch.isdigit() for ch in name)
    if not _DIGIT_END.search(name) or _ROLE_YEAR.fullmatch(name):
        return False
    # Lowercase "pc1" or "ws2" in running text is too often not a machine name.
    return name.isupper() or "-" in name or len(name) >= 4


def _starts_inside(ranges: list[tuple[int, int]], start: int) -> bool:
    """True when `start` lies inside one of the sorted, non-overlapping `ranges`."""
    index = bisect_right(ranges, (start, 1 << 62)) - 1
    return index >= 0 and ranges[index][0] <= start < ranges[index][1]


def find_hosts(text: str) -> list[Host]:
    """Hostnames, FQDNs and UNC share hosts in `text`, in order, each once per span.

    Each pattern runs only when the text has what every match of it needs (a backslash pair, a
    dot, a digit), and the overlap checks bisect sorted ranges, so a note naming thousands of
    hosts costs linear time."""
    return [Host(name, kind, start, end) for start, end, name, kind in host_spans(text)]


def host_spans(text: str) -> list[tuple[int, int, str, str]]:
    """`find_hosts` as (start, end, name, kind) tuples, for a caller that reads them at once:
    building a frozen dataclass per host cost more than finding it."""
    digits = _DIGIT.search(text) is not None
    if not digits and "." not in text and "\\\\" not in text:
        return []  # a hostname needs a digit, an FQDN a dot, a UNC path two backslashes
    blocked = ([m.span() for m in _URL_OR_EMAIL.finditer(text)]
               if "@" in text or "://" in text else [])
    # (start, end) -> (start, end, name, kind); the spans never overlap, so no two share a start
    found: dict[tuple[int, int], tuple[int, int, str, str]] = {}
    taken: list[tuple[int, int]] = []  # spans of `found`, sorted, non-overlapping
    if "\\\\" in text:
        for match in _UNC.finditer(text):
            start, end = match.span("name")
            found[(start, end)] = (start, end, match.group("name"), "unc")
        taken = sorted(found)
    spaced = " " + text  # see `_HOST`: offsets in `spaced` are one more than in `text`
    ascii_text = text.isascii()  # see `_HOST_UPPER`
    if "." in text:
        fqdns = []
        for match in (_FQDN_LOWER.finditer(spaced.lower()) if ascii_text
                      else _FQDN.finditer(spaced)):
            start, end = match.span("name")
            name = spaced[start:end]
            start, end = start - 1, end - 1
            if not _starts_inside(blocked, start) and not _starts_inside(taken, start) \
                    and "." in name:
                fqdns.append((start, end))
                found[(start, end)] = (start, end, name, "fqdn")
        if fqdns:
            taken = sorted(found)
    hostnames = (_HOST_UPPER.finditer(spaced.upper()) if ascii_text
                 else _HOST.finditer(spaced)) if digits else ()
    for match in hostnames:
        start, end = match.span("name")
        name = spaced[start:end]
        start, end = start - 1, end - 1
        if not _starts_inside(blocked, start) and not _starts_inside(taken, start) \
                and _plain_host(name):
            found[(start, end)] = (start, end, name, "hostname")
    return sorted(found.values())
