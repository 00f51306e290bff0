"""Hostnames, FQDNs and UNC paths named in ticket text ("rebooted DC01", "\\\\SRV-FS01\\share").

`records.Resolution` has no field for them yet, so `find_hosts` stands apart from the spaCy
pipeline: plain text in, `Host` values out. A name counts as a host when it has the shape of a
machine name that MSPs give (a role prefix and a number such as DC01 or RDS02, a site prefix and a
role such as KPM-SHOP02, a Windows default name such as DESKTOP-7F3K2LQ) and is not an error
code, KB number, ticket number or model string of the same shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Host", "find_hosts"]

# Role words machines are named after; a host is <role><digits>, optionally after a site prefix.
_ROLES = (r"DC|ADDC|FS|FILE|SRV|SVR|SERVER|SQL|DB|EXCH|EX|MAIL|RDS|RDSH|TS|RDP|APP|WEB|PRN|PRINT"
          r"|NAS|HV|HYPERV|HOST|ESX|ESXI|VM|BKP|BACKUP|VEEAM|DEV|UTIL|MGMT|PC|WS|LT|LAP|DT|WKS"
          r"|KIOSK|SCAN|FW|SW|AP|RTR|CAM|NVR|VOIP|PBX|SHOP|FRONT|RECEP|OFFICE|ACCT|LAB")
_HOST = re.compile(
    rf"(?<![\w.@\\/-])(?P<name>"
    r"(?:DESKTOP|LAPTOP|WIN)-[A-Z0-9]{6,8}"                        # Windows' default names
    rf"|(?:[A-Z][A-Z0-9]{{1,7}}-){{1,3}}(?:{_ROLES})[A-Z]*-?\d{{1,4}}[A-Z]?"  # SITE-ROLE01
    rf"|(?:[A-Z][A-Z0-9]{{1,7}}-){{1,3}}[A-Z]{{2,8}}\d{{1,4}}"     # SITE-ANY01 (two parts+)
    rf"|(?:{_ROLES})-?\d{{1,4}}[A-Z]?"                            # DC01, SRV-01, RDS2
    r")(?![\w-]|\.\w)",
    re.IGNORECASE,
)
_TLDS = (r"com|net|org|edu|gov|io|co|us|uk|ca|au|de|nl|info|biz|local|lan|internal|corp|intra"
         r"|home|example|test|cloud|app|dev|ai|me|tech")
_FQDN = re.compile(
    rf"(?<![\w.@/\\-])(?P<name>(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:{_TLDS}))"
    r"(?![\w@-]|\.\w)",
    re.IGNORECASE,
)
_UNC = re.compile(r"\\\\(?P<name>[A-Za-z0-9][A-Za-z0-9.-]{0,62})(?=\\|\s|$)")
_URL_OR_EMAIL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+|\S+@\S+", re.IGNORECASE)
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


def find_hosts(text: str) -> list[Host]:
    """Hostnames, FQDNs and UNC share hosts in `text`, in order, each once per span."""
    blocked = [(m.start(), m.end()) for m in _URL_OR_EMAIL.finditer(text)]

    def free(start: int) -> bool:
        return not any(lo <= start < hi for lo, hi in blocked)

    found: dict[tuple[int, int], Host] = {}
    for match in _UNC.finditer(text):
        start, end = match.span("name")
        found[(start, end)] = Host(match.group("name"), "unc", start, end)
    for match in _FQDN.finditer(text):
        start, end = match.span("name")
        name = match.group("name")
        if free(start) and not any(s <= start < e for s, e in found) and "." in name:
            found[(start, end)] = Host(name, "fqdn", start, end)
    for match in _HOST.finditer(text):
        start, end = match.span("name")
        name = match.group("name")
        if free(start) and not any(s <= start < e for s, e in found) and _plain_host(name):
            found[(start, end)] = Host(name, "hostname", start, end)
    return sorted(found.values(), key=lambda host: host.start)
