"""Find the parts of an e-mail that are not the message: quoted replies, signatures, disclaimers.

`noise_ranges` only finds character ranges; `extract.clean` removes them while keeping the map to
the original text. The rules are deliberately conservative about what they cut *inside* a message
(single quoted lines, one disclaimer paragraph, "Sent from my iPhone") and bold about what follows
a reply header, which is always an older message.
"""

from __future__ import annotations

import re
from bisect import bisect_right

__all__ = ["noise_ranges", "tag_ranges"]

_FLAGS = re.IGNORECASE | re.MULTILINE
_QUICK = re.compile(
    r"wrote:|original message|^[ \t]*>|^[ \t]*(?:\*\s*)?from:|sent from|get outlook|^--|regards"
    r"|thank|thx|cheers|sincerely|^best|confidential|disclaimer|intended recipient|this e-?mail"
    r"|this message|caution|external|above this line|^ty\b|^tia\b|respectfully|^_{8,}"
    r"|this (?:ticket|request|case)|your (?:request|ticket|case|support)|to add|automat"
    r"|generated|do not reply|(?:receiving|received) this|notice|often get|forwarded"
    r"|^[ \t]*(?:ticket|alert|note|incident)\b"
    r"|\n\n[ \t]*[A-Z][a-z'’-]+[ \t]+[A-Z]",
    _FLAGS,
)
# `_QUICK` for lowercased ASCII text: the case-sensitive twin skips IGNORECASE's per-character
# folding (three times faster). Under IGNORECASE "[A-Z]" is any ASCII letter, so "[a-z]" here.
_QUICK_LOWER = re.compile(_QUICK.pattern.replace("[A-Z]", "[a-z]"), re.MULTILINE)
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
_HEADER_FIELD = r"(?:From|Date|Sent|Subject|To|Cc|Bcc|Reply-To|Importance|Attachments?)"
_FORWARD_HEADER = re.compile(
    r"^[ \t]*(?:-{2,}[ \t]*(?:Forwarded message|Forwarded e-?mail)[ \t]*-{2,}"
    r"|Begin forwarded message:|Forwarded message:)[ \t]*\n?"
    rf"(?:[ \t]*(?:\*\s*)?{_HEADER_FIELD}:[^\n]*(?:\n|\Z))*",
    _FLAGS,
)
_QUOTED_LINE = re.compile(r"^[ \t]*>[^\n]*(?:\n|\Z)", re.MULTILINE)
_SENT_FROM = re.compile(
    r"^[ \t]*(?:Sent (?:from|via|with) (?:my |the |Mail for |Outlook|Yahoo|Samsung|ProtonMail"
    r"|BlackBerry|Android|iPhone|iPad|Galaxy|mobile)[^\n]{0,60}"
    r"|Get Outlook for (?:iOS|Android)[^\n]{0,80})[ \t]*(?:\n|\Z)",
    _FLAGS,
)
_DISCLAIMER = re.compile(
    r"^[ \t]*(?:\*+[ \t]*)?(?:CONFIDENTIALITY|DISCLAIMER|IMPORTANT NOTICE|LEGAL NOTICE|PRIVILEGED"
    r"|STATEMENT OF CONFIDENTIALITY|NOTICE:[^\n]{0,40}\b(?:confidential|privileged|intended)"
    r"|This (?:e-?mail|message|communication|transmission)\b[^\n]{0,40}"
    r"\b(?:confidential|intended|privileged|attachments?|contains?)"
    r"|The (?:information|contents?) (?:contained|in this|transmitted|of this)"
    r"|If you (?:are not|have received|received)"
    r"|Please consider the environment)"
    r"[^\n]*(?:\n[^\n]+)*",
    _FLAGS,
)
# An "external sender" banner is one line (two when wrapped): cut it, not the paragraph after.
_BANNER = re.compile(
    r"^[ \t]*(?:\*+[ \t]*)?(?:CAUTION:[^\n]{0,60}\b(?:external|outside)"
    r"|\[?EXTERNAL(?: EMAIL| SENDER)?\]?:?[ \t]*(?:This|Do not|Use caution)"
    r"|This (?:e-?mail|message) (?:originated|was sent|came|is) from (?:outside|an? external)"
    r"|You don't often get email from)"
    r"[^\n]*(?:\n[^\n]*\b(?:recogni[sz]e the sender|content is safe|links or (?:open )?attach"
    r"|why this is important)[^\n]*)?(?:\n|\Z)",
    _FLAGS,
)
# Ticket-system and RMM boilerplate, one line each; the lines around them are the content.
_TICKET_NOTICE = re.compile(
    r"^[ \t]*(?:This (?:ticket|request|case) has been (?:updated|created|assigned)\b"
    r"|To add (?:additional )?comments?,? (?:simply )?reply to this e-?mail"
    r"|Your (?:request|ticket|case|support request)\b[^\n]{0,40}\bhas been "
    r"(?:received|created|logged|opened|submitted)"
    r"|You (?:are receiving|received) this (?:e-?mail|message|notification) because"
    r"|This is an automated (?:message|notification|e-?mail|response)"
    r"|(?:Please )?do not reply (?:to|directly to) this (?:e-?mail|message)"
    r"|(?:This )?(?:ticket|alert|note|incident) (?:was |has been )?(?:automatically )?"
    r"(?:created|generated|opened|added) (?:automatically )?(?:by|from|via)\b"
    r"|Auto-?generated (?:by|from|note)\b"
    r"|Ticket (?:was )?(?:created|generated|opened) automatically\b)"
    r"[^\n]*(?:\n|\Z)",
    _FLAGS,
)
_SEPARATOR = re.compile(r"^[ \t]*_{8,}[ \t]*(?:\n|\Z)", re.MULTILINE)
# "[Ticket #12345]", "[#12345]", "[Case 00123]", "[T20240101.0001]", "[EXTERNAL]": tags a PSA or
# mail gateway puts in subjects; cut the tag, keep the subject.
_SUBJECT_TAG = re.compile(
    r"\[[ \t]*(?:(?:Ticket|Case|Request|Incident|Req|SR|INC|RITM|CHG)[ \t]*(?:#|No\.?|ID:?)?"
    r"[ \t]*|#[ \t]*|[A-Z]{1,4}-?)\d{3,}[\w.-]*[ \t]*\][ \t]*"
    r"|\[(?:EXTERNAL|EXT|External Sender|EXTERNAL EMAIL)\][ \t]*:?[ \t]*",
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


class _HeaderFinder:
    """Finds reply headers left to right; each pattern's next match is cached, so a note with
    thousands of headers is scanned once per pattern, not once per header."""

    __slots__ = ("_next", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._next: list[re.Match[str] | None] = [p.search(text) for p in _REPLY_HEADERS]

    def first(self, position: int, skip: list[tuple[int, int]]) -> tuple[int, int] | None:
        """The earliest header starting at or after `position` and outside the `skip` ranges."""
        best: tuple[int, int] | None = None
        for index, pattern in enumerate(_REPLY_HEADERS):
            match = self._next[index]
            while match is not None and (match.start() < position
                                         or _inside(skip, match.start())):
                resume = max(position, match.start() + 1)
                match = pattern.search(self._text, resume)
            self._next[index] = match
            if match is not None and (best is None or match.start() < best[0]):
                best = match.span()
        return best


def _inside(ranges: list[tuple[int, int]], point: int) -> bool:
    """True when `point` lies inside one of the sorted, non-overlapping `ranges`."""
    index = bisect_right(ranges, (point, 1 << 62)) - 1
    return index >= 0 and ranges[index][0] <= point < ranges[index][1]


def _blank_between(text: str, start: int, end: int, removed: list[tuple[int, int]]) -> bool:
    """True when text[start:end] holds nothing but whitespace and the sorted `removed` ranges."""
    cursor = start
    index = max(0, bisect_right(removed, (start, 1 << 62)) - 1)
    for a, b in removed[index:]:
        if a >= end:
            break
        if b <= cursor:
            continue
        if text[cursor:a].strip():
            return False
        cursor = max(cursor, b)
    return not text[cursor:end].strip()


def _last_lines(text: str, stop: int, removed: list[tuple[int, int]],
                count: int) -> list[tuple[int, int]]:
    """The last `count` non-blank lines before `stop` not wholly inside a removed range, in
    order; (start, end) with end including the newline. Walks backwards: cost ~ the tail."""
    merged = _merge(removed)
    lines: list[tuple[int, int]] = []
    end = stop
    while end > 0 and len(lines) < count:
        start = text.rfind("\n", 0, end - 1 if text[end - 1] == "\n" else end) + 1
        body_end = end - (text[end - 1] == "\n")
        if text[start:end].strip() and not _covered(merged, start, body_end):
            lines.append((start, end))
        end = start
    return lines[::-1]


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`ranges` sorted with overlapping or touching ones joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _covered(merged: list[tuple[int, int]], start: int, end: int) -> bool:
    """True when [start, end) lies inside one of the `merged` ranges."""
    index = bisect_right(merged, (start, 1 << 62)) - 1
    return index >= 0 and merged[index][0] <= start and end <= merged[index][1]


def _signature_start(text: str, stop: int, removed: list[tuple[int, int]]) -> int | None:
    """Where a sign-off ("Thanks,\\nName\\nTitle\\nPhone") starts, if the message ends with one."""
    tail = _last_lines(text, stop, removed, _SIGNATURE_MAX_LINES + 1)
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
    if not (_QUICK_LOWER.search(text.lower()) if text.isascii() else _QUICK.search(text)):
        return []
    forwards = [m.span() for m in _FORWARD_HEADER.finditer(text) if m.end() > m.start()]
    ranges = list(forwards)
    stop = len(text)
    consumed = 0
    finder = _HeaderFinder(text)
    # A From:/Sent: block inside a forward marker introduces what was forwarded: not a cut.
    header = finder.first(0, forwards)
    while header is not None:
        if _blank_between(text, consumed, header[0], forwards):
            # A header at the very top (a mail pasted into the ticket): drop the header lines
            # only, the message below it is the content.
            ranges.append(header)
            consumed = max(header[1], header[0] + 1)
            header = finder.first(consumed, forwards)
        else:
            stop = header[0]
            ranges.append((stop, len(text)))
            break
    dash = _DASH_DASH.search(text, 0, stop)
    if dash is not None:
        ranges.append((dash.start(), stop))
        stop = dash.start()
    for pattern in (_QUOTED_LINE, _SENT_FROM, _DISCLAIMER, _BANNER, _TICKET_NOTICE, _SEPARATOR):
        ranges.extend(m.span() for m in pattern.finditer(text, 0, stop))
    signature = _signature_start(text, stop, ranges)
    if signature is None:
        signature = _name_block_start(text, len(text[:stop].rstrip()), ranges)
    if signature is not None:
        ranges.append((signature, stop))
    return ranges


def tag_ranges(text: str) -> list[tuple[int, int]]:
    """Character ranges of subject tags ("[Ticket #12345]", "[EXTERNAL]") in `text`."""
    if "[" not in text:
        return []
    return [m.span() for m in _SUBJECT_TAG.finditer(text)]
