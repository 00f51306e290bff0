"""Configurable PII redaction: e-mail addresses, phone numbers, IP addresses and contact names.

All four are off by default. A resolution is only reusable when it keeps what a technician
acts on: the IP a printer was moved to, the address a mailbox forwarded to, the number the
vendor's support line answers on. Secrets are never useful to a colleague and are always
redacted (``extract.redact``); PII is redacted only where a client's policy asks for it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

__all__ = ["RedactionSettings", "redact_pii"]


class RedactionSettings(BaseModel):
    """Which kinds of personal data to redact besides secrets (all off by default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    emails: bool = False
    phones: bool = False
    ip_addresses: bool = False
    contact_names: bool = False

    @property
    def any(self) -> bool:
        """Whether any kind of PII is to be redacted."""
        return self.emails or self.phones or self.ip_addresses or self.contact_names


_NOT_MARKER = r"(?!\[REDACTED:)"
_EMAIL = re.compile(rf"(?<![\w.+-]){_NOT_MARKER}[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                    r"\.[A-Za-z]{2,}\b")
# North American numbers ("(410) 555-0123", "410.555.0123", "+1 410 555 0123") and
# international ones written with a leading "+" ("+44 20 7946 0958"). Bare digit runs are
# ticket and order numbers far more often than phones, so they are left alone.
_PHONE = re.compile(
    r"(?<![\w+.-])(?:(?:\+1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}"
    r"|\+(?:[2-9]\d{0,2})(?:[ .-]?\(?\d{1,4}\)?){2,5}\d)(?![\w.-]*\d)")
_DIGIT = re.compile(r"\d")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# Not part of a version string: "10.0.19045.4170" has more than four dotted parts.
_IPV4 = rf"(?<![\d.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\.?\d)"
_IPV6 = (r"(?<![\w:])(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}"
         r"|(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4})(?![\w:])")
_IP = re.compile(rf"{_IPV4}|{_IPV6}", re.IGNORECASE)


@lru_cache(maxsize=512)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern for the full names and their first and last parts, longest first."""
    variants: set[str] = set()
    for name in names:
        parts = name.split()
        if not parts:
            continue
        variants.add(" ".join(parts))
        variants.update(part for part in (parts[0], parts[-1]) if len(part) >= 3)
    if not variants:
        return None
    alternatives = "|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True))
    # Built per contact (cached): the names are only known from the ticket.
    return re.compile(rf"(?<![\w]){_NOT_MARKER}(?:{alternatives})(?![\w])")


def redact_pii(text: str, settings: RedactionSettings, *, names: Iterable[str] = ()
               ) -> tuple[str, Counter[str]]:
    """Replace the PII kinds `settings` turns on by markers; `names` are the contact's names."""
    counts: Counter[str] = Counter()

    def replace(pattern: re.Pattern[str], category: str, text: str) -> str:
        def substitute(match: re.Match[str]) -> str:
            """The marker that stands in for one match."""
            counts[category] += 1
            return f"[REDACTED:{category}]"

        return pattern.sub(substitute, text)

    # Each pattern needs a character most notes lack ("@"; "." or ":"; a digit), so a cheap
    # look for it first skips the scan without changing what is found.
    if settings.emails and "@" in text:
        text = replace(_EMAIL, "email", text)
    if settings.ip_addresses and ("." in text or ":" in text):
        text = replace(_IP, "ip_address", text)
    if settings.phones and _DIGIT.search(text) is not None:
        text = replace(_PHONE, "phone", text)
    if settings.contact_names:
        pattern = _names_pattern(tuple(sorted(set(names))))
        if pattern is not None:
            text = replace(pattern, "contact_name", text)
    return text, counts
