"""Find the parts of an e-mail that are not the message: quoted replies, signatures, disclaimers.

`noise_ranges` only finds character ranges; `extract.clean` removes them while keeping the map to
the original text. The rules are deliberately conservative about what they cut *inside* a message
(single quoted lines, one disclaimer paragraph, "Sent from my iPhone") and bold about what follows
a reply header, which is always an older message.
"""

from __future__ import annotations

import re

__all__ = ["noise_ranges"]

_FLAGS = re.IGNORECASE | re.MULTILINE
_QUICK = re.compile(
    r"wrote:|original message|^[ \t]*>|^[ \t]*(?:\*\s*)?from:|sent from|get outlook|^--|regards"
    r"|thank|thx|cheers|sincerely|^best|confidential|disclaimer|intended recipient|this e-?mail"
    r"|this message|caution|external|above this line|^ty\b|^tia\b|respectfully|^_{8,}"
    r"|\n\n[ \t]*[A-Z][a-z'’-]+[ \t]+[A-Z]",
    _FLAGS,
)
# Headers after which everything is an older message.
_REPLY_HEADERS = (
    re.compile(r"^[ \t]*-{2,}[ \t]*Original Message[ \t]*-{2,}[ \t]*$", _FLAGS),
    re.compile(r"^[ \t]*On\b[^\n]{0,300}?(?:\n[^\n]{0,200}?)?\bwrote:[ \t]*$", _FLAGS),
    re.compile(
        r"^(?:[ \t]*_{8,}[ \t]*\n)?[ \t]*(?:\*\s*)?From:[^\n]*\n"
        r"(?:[ \t]*(?:\*\s*)?(?:To|Cc|Bcc|Subject|Importance|Reply-To):[^\n]*\n){0,4}"
        r"[ \t]*(?:\*\s*)?(?:Sent|Date):[^\n]*(?:\n[ \t]*(?:\*\s*)?"
        r"(?:To|Cc|Bcc|Subject|Importance|Reply-To):[^\n]*)*",
        _FLAGS,
    ),
    re.compile(r"^[^\n]*(?:reply|respond|type)[^\n]{0,40}above this line[^\n]*$", _FLAGS),
)
# A forward marker is dropped by itself: what was forwarded is usually the problem.
_FORWARD_HEADER = re.compile(
    r"^[ \t]*(?:-{2,}[ \t]*Forwarded message[ \t]*-{2,}|Begin forwarded message:)[ \t]*\n?"
    r"(?:[ \t]*(?:From|Date|Sent|Subject|To|Cc):[^\n]*(?:\n|\Z))*",
    _FLAGS,
)
_QUOTED_LINE = re.compile(r"^[ \t]*>[^\n]*(?:\n|\Z)", re.MULTILINE)
_SENT_FROM = re.compile(
    r"^[ \t]*(?:Sent from (?:my |Mail for |Outlook|Yahoo|Samsung|ProtonMail)[^\n]{0,60}"
    r"|Get Outlook for (?:iOS|Android)[^\n]{0,20})[ \t]*(?:\n|\Z)",
    _FLAGS,
)
_DISCLAIMER = re.compile(
    r"^[ \t]*(?:\*+[ \t]*)?(?:CONFIDENTIALITY|DISCLAIMER|IMPORTANT NOTICE|LEGAL NOTICE|PRIVILEGED"
    r"|This (?:e-?mail|message|communication|transmission)\b[^\n]{0,40}"
    r"\b(?:confidential|intended|privileged|attachments?|contains?)"
    r"|The information (?:contained|in this|transmitted)|If you (?:are not|have received)"
    r"|Please consider the environment|CAUTION:[^\n]{0,20}(?:external|outside)"
    r"|\[?EXTERNAL(?: EMAIL| SENDER)?\]?:?[ \t]*(?:This|Do not|Use caution)"
    r"|This email originated from outside)"
    r"[^\n]*(?:\n[^\n]+)*",
    _FLAGS,
)
_SIGN_OFF = re.compile(
    r"^[ \t]*(?i:(?:many |warm |kind |best |with |all the )?(?:thanks(?: again| so much)?"
    r"|thank you(?: so much| again)?|thx|ty|tia|regards|best|cheers|sincerely|respectfully"
    r"|rgds|br))[ \t]*[,.!]*[ \t]*(?:[A-Z][\w.'-]*(?:[ \t]+[A-Z][\w.'-]*){0,2})?[ \t]*$",
)
_DASH_DASH = re.compile(r"^--[ \t]?$", re.MULTILINE)
_SIGNATURE_MAX_LINES = 8
_SIGNATURE_MAX_WIDTH = 90


def _first_reply_header(text: str) -> tuple[int, int] | None:
    best: tuple[int, int] | None = None
    for pattern in _REPLY_HEADERS:
        match = pattern.search(text)
        if match and (best is None or match.start() < best[0]):
            best = match.span()
    return best


def _blank_between(text: str, start: int, end: int, removed: list[tuple[int, int]]) -> bool:
    """True when text[start:end] holds nothing but whitespace and already-removed ranges."""
    cursor = start
    for a, b in sorted(removed):
        if b <= cursor or a >= end:
            continue
        if text[cursor:a].strip():
            return False
        cursor = max(cursor, b)
    return not text[cursor:end].strip()


def _lines(text: str, stop: int) -> list[tuple[int, int]]:
    """(start, end) of each line before `stop`; end includes the newline."""
    spans: list[tuple[int, int]] = []
    start = 0
    while start < stop:
        newline = text.find("\n", start, stop)
        end = stop if newline < 0 else newline + 1
        spans.append((start, end))
        start = end
    return spans


def _signature_start(text: str, stop: int, removed: list[tuple[int, int]]) -> int | None:
    """Where a sign-off ("Thanks,\\nName\\nTitle\\nPhone") starts, if the message ends with one."""
    dropped = sorted(removed)
    lines = [
        (start, end) for start, end in _lines(text, stop)
        if text[start:end].strip()
        and not any(a <= start and end - text.endswith("\n", start, end) <= b for a, b in dropped)
    ]
    tail = lines[-(_SIGNATURE_MAX_LINES + 1):]
    for offset, (start, end) in enumerate(tail):
        if not _SIGN_OFF.match(text[start:end].rstrip("\n")):
            continue
        after = tail[offset + 1:]
        if all(end_ - start_ <= _SIGNATURE_MAX_WIDTH for start_, end_ in after):
            return start
    return None


_NAME_LINE = re.compile(
    r"^[ \t]*(?:Dr\.?[ \t]+)?[A-Z][a-z'’-]+(?:[ \t]+[A-Z][a-z'’.-]*){1,3}[ \t]*$")
_CONTACT_LINE = re.compile(
    r"\(?\+?\d[\d ().-]{7,}\d|@[\w-]+\.[a-z]{2,}|\bwww\.|https?://|\|", re.IGNORECASE)


def _name_block_start(text: str, stop: int, removed: list[tuple[int, int]]) -> int | None:
    """Where a closing block "Name / Title / Company / Phone" (no sign-off line) starts."""
    paragraph = text.rfind("\n\n", 0, stop)
    if paragraph < 0 or any(a <= paragraph < b for a, b in removed):
        return None
    start = paragraph + 2
    lines = [line for line in text[start:stop].split("\n") if line.strip()]
    if not 2 <= len(lines) <= 6 or not _NAME_LINE.match(lines[0]):
        return None
    if any(len(line) > 60 or line.rstrip().endswith((".", "!", "?", ":")) for line in lines):
        return None
    if len(lines) < 3 and not any(_CONTACT_LINE.search(line) for line in lines):
        return None
    return start


def noise_ranges(text: str) -> list[tuple[int, int]]:
    """Character ranges of `text` that are quoted replies, signatures or disclaimers."""
    if not _QUICK.search(text):
        return []
    ranges = [m.span() for m in _FORWARD_HEADER.finditer(text)]
    stop = len(text)
    consumed = 0
    header = _first_reply_header(text)
    while header is not None:
        if _blank_between(text, consumed, header[0], ranges):
            # A header at the very top (a mail pasted into the ticket): drop the header lines
            # only, the message below it is the content.
            ranges.append(header)
            consumed = header[1]
            rest = _first_reply_header(text[consumed:])
            header = None if rest is None else (rest[0] + consumed, rest[1] + consumed)
        else:
            stop = header[0]
            ranges.append((stop, len(text)))
            break
    dash = _DASH_DASH.search(text, 0, stop)
    if dash is not None:
        ranges.append((dash.start(), stop))
        stop = dash.start()
    for pattern in (_QUOTED_LINE, _SENT_FROM, _DISCLAIMER):
        ranges.extend(m.span() for m in pattern.finditer(text, 0, stop))
    signature = _signature_start(text, stop, ranges)
    if signature is None:
        signature = _name_block_start(text, len(text[:stop].rstrip()), ranges)
    if signature is not None:
        ranges.append((signature, stop))
    return ranges
