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
# `noise_ranges` runs only on a text that `_QUICK` finds something in: a word of
# `_QUICK_WORDS` or `_QUICK_GROUPS`, one of `_QUICK_AT_LINE` at a line start, or a capitalised
# name after a blank line. On the text's folded form (`_fold`) the same test is split in three
# (`_quick_ascii`): the words are looked up with `in`, a C substring search, where one regex
# would try every alternative at every character (several times slower); the rest starts at a
# line start, so one anchored match at the start and one search for "\n" cover it. `_QUICK`
# itself is the test as one regex: what `_quick_ascii` computes, as the tests check.
_QUICK_WORDS = (
    "thank", "regards", "wrote:", "sent from", "notice", "external", "confidential", "cheers",
    "thx", "original message", "get outlook", "sincerely", "disclaimer", "intended recipient",
    "caution", "respectfully", "to add", "automat", "generated", "do not reply", "often get",
    "forwarded",
)
# Words that share a part ("this", "your "), looked for only in a text holding that part: one
# search rules out the whole group in the many texts without it.
_QUICK_GROUPS = (
    ("this", ("this email", "this e-mail", "this message", "this ticket", "this request",
              "this case", "receiving this", "received this", "above this line")),
    ("your ", ("your request", "your ticket", "your case", "your support")),
)
_QUICK_AT_LINE = (r"[ \t]*>|[ \t]*(?:\*\s*)?from:|--|best|ty\b|tia\b|_{8,}"
                  r"|[ \t]*(?:ticket|alert|note|incident)\b")
_QUICK_NAME = r"\n[ \t]*[A-Z][a-z'’-]+[ \t]+[A-Z]"
_QUICK = re.compile(
    "|".join(re.escape(word) for word in
             _QUICK_WORDS + tuple(word for _, words in _QUICK_GROUPS for word in words))
    + rf"|^(?:{_QUICK_AT_LINE})|\n{_QUICK_NAME}",
    _FLAGS,
)
# The case-sensitive twins for lowercased text skip IGNORECASE's per-character folding. Under
# IGNORECASE "[A-Z]" is any ASCII letter, so "[a-z]" here.
_QUICK_START = re.compile(_QUICK_AT_LINE)
_QUICK_LINE = re.compile(rf"\n(?:{_QUICK_AT_LINE}|{_QUICK_NAME.replace('[A-Z]', '[a-z]')})")


def _quick_ascii(lowered: str) -> bool:
    """Whether `_QUICK` finds anything in a text whose folded form (`_fold`; for ASCII text,
    its lowercased form) is `lowered`. The two line tests go first: a text that gets here
    mostly opens a line with what `_QUICK_AT_LINE` looks for (see `_openers`)."""
    if _QUICK_START.match(lowered) is not None or _QUICK_LINE.search(lowered) is not None:
        return True
    for word in _QUICK_WORDS:
        if word in lowered:
            return True
    for part, words in _QUICK_GROUPS:
        if part in lowered:
            for word in words:
                if word in lowered:
                    return True
    return False


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
# A word every match of the reply header above holds, in lower case: a pattern runs only on a
# text whose folded form (`_fold`) holds its word, which skips work and never a match.
_REPLY_WORDS = ("original message", "wrote:", "from:", "above this line")
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
# `_SIGN_OFF` over whole lines of a text: when no line before the cut matches, no tail line
# can, and the tail need not be walked. Nothing it matches crosses a line break. A line
# starts at the text's start (`_SIGN_OFF_FIRST`) or after a "\n" (`_SIGN_OFF_NEXT`, which
# starts with that literal so the engine skips from one line break to the next).
_SIGN_OFF_FIRST = re.compile(_SIGN_OFF.pattern, re.MULTILINE)
_SIGN_OFF_NEXT = re.compile("\n" + _SIGN_OFF.pattern.removeprefix("^"), re.MULTILINE)
_DASH_DASH = re.compile(r"^--[ \t]?$", re.MULTILINE)
# The patterns `noise_ranges` collects every match of, in order, each with the words one of
# which each of its matches holds (as `_REPLY_WORDS`; in the text as it is when the pattern
# does not ignore case). The words are not looked for before a pattern runs, as they once
# were: it runs only at the lines that open as its matches do (`_openers`), and a text with
# such a line nearly always holds one of its words too ("created", "the information"), so
# the search through the whole text for each word cost more than the few runs it spared.
_LINE_PATTERNS: tuple[tuple[re.Pattern[str], tuple[str, ...], bool], ...] = tuple(
    (pattern, words, bool(pattern.flags & re.IGNORECASE)) for pattern, words in (
    (_QUOTED_LINE, (">",)),
    (_SENT_FROM, ("sent ", "get outlook for")),
    (_DISCLAIMER, ("confidentiality", "disclaimer", "notice", "privileged", "this email",
                   "this e-mail", "this message", "this communication", "this transmission",
                   "the information", "the content", "if you ", "please consider the environment")),
    (_BANNER, ("caution:", "external", "this email", "this e-mail", "this message",
               "often get email from")),
    (_TICKET_NOTICE, ("has been", "to add", "receiv", "automated", "do not reply", "created",
                      "generated", "opened", "added")),
    (_SEPARATOR, ("________",)),
))


def _after_line_breaks(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """`pattern` (which starts with "^", in MULTILINE) as a match of a line break followed by
    what it matches there, in a look-ahead's group 1: see `_line_search`."""
    if not pattern.pattern.startswith("^") or pattern.groups:
        raise ValueError(f"not a line pattern without groups: {pattern.pattern!r}")
    return re.compile(r"\n(?=(" + pattern.pattern.removeprefix("^") + "))", pattern.flags)


# What a line opens with, after its spaces and tabs and in folded text (`_FOLD`), wherever one
# of these patterns matches: all are anchored at a line start, so a text none of whose lines
# opens with one of a pattern's openers holds no match of it. One search over the line starts
# (`_openers`) tells which patterns may match; most texts open no line with any opener.
# `_REPLY_HEADERS[3]` matches anywhere in its line and has none: "above this line" stands in.
_OPENS: dict[re.Pattern[str], tuple[str, ...]] = {
    _FORWARD_HEADER: ("--", "begin forwarded message:", "forwarded message:"),
    _REPLY_HEADERS[0]: ("--",),
    _REPLY_HEADERS[1]: ("on",),
    _REPLY_HEADERS[2]: ("________", "*", "from:"),
    _DASH_DASH: ("--",),
    _QUOTED_LINE: (">",),
    _SENT_FROM: ("sent ", "get outlook for"),
    _DISCLAIMER: ("*", "confidentiality", "disclaimer", "important notice", "legal notice",
                  "privileged", "statement of confidentiality", "notice:", "this ", "the ",
                  "if you ", "please "),
    _BANNER: ("*", "caution:", "[", "external", "this ", "you"),
    _TICKET_NOTICE: ("this ", "to add ", "you", "please ", "do not reply", "ticket", "alert",
                     "note", "incident", "auto"),
    _SEPARATOR: ("________",),
    _SIGN_OFF: ("many ", "warm ", "kind ", "best", "with ", "all the ", "thank", "thx", "ty",
                "tia", "regards", "cheers", "sincerely", "respectfully", "rgds", "br"),
}
# Each pattern's bit in the mask `_openers` returns, and the "above this line" bit.
_BIT = {pattern: 1 << index for index, pattern in enumerate((*_OPENS, _REPLY_HEADERS[3]))}
_ABOVE_THIS_LINE = _BIT[_REPLY_HEADERS[3]]
_FORWARD_BIT, _DASH_BIT, _SIGN_OFF_BIT = _BIT[_FORWARD_HEADER], _BIT[_DASH_DASH], _BIT[_SIGN_OFF]
_HEADER_BITS = sum(_BIT[pattern] for pattern in _REPLY_HEADERS)


def _opener_bits() -> dict[str, int]:
    """Each opener with the bits of the patterns it may open. No opener starts another, so at
    most one of them can open a line and the search's alternation finds it whatever the order."""
    bits: dict[str, int] = {}
    for pattern, openers in _OPENS.items():
        for opener in openers:
            bits[opener] = bits.get(opener, 0) | _BIT[pattern]
    for opener in bits:
        for other in bits:
            if opener != other and other.startswith(opener):
                raise ValueError(f"opener {opener!r} starts {other!r}")
    return bits


def _trie(words: list[str]) -> str:
    """An alternation matching exactly `words` (none of which starts another), nested by
    shared first characters ("b(?:est|r)"): the engine tests each character once, where a
    flat alternation tries every word in turn at each line start (some 50 here)."""
    by_first: dict[str, list[str]] = {}
    for word in words:
        by_first.setdefault(word[0], []).append(word[1:])
    branches = []
    for first, rests in by_first.items():
        if len(rests) == 1:
            branches.append(re.escape(first + rests[0]))
        else:
            branches.append(re.escape(first) + "(?:" + _trie(rests) + ")")
    return "|".join(branches)


_OPENER_BITS = _opener_bits()
_OPENER = "[ \t]*+(" + _trie(list(_OPENER_BITS)) + ")"
_OPENER_FIRST = re.compile(_OPENER)
# Starts with the literal "\n" so that the engine skips from one line break to the next in C.
_OPENER_NEXT = re.compile("\n" + _OPENER)


def _openers(folded: str) -> int:
    """The bits (`_BIT`) of the patterns that may match in the text `folded` is the folded
    form of: those of the openers its lines open with, and `_ABOVE_THIS_LINE` when it holds
    "above this line"."""
    match = _OPENER_FIRST.match(folded)
    mask = 0 if match is None else _OPENER_BITS[match.group(1)]
    if "\n" in folded:
        for opener in _OPENER_NEXT.findall(folded):
            mask |= _OPENER_BITS[opener]
    if "above this line" in folded:
        mask |= _ABOVE_THIS_LINE
    return mask


def _opening_lines(folded: str) -> list[tuple[int, int]]:
    """Where each line of the text `folded` is the folded form of that opens with an opener
    starts, with that opener's bits (`_OPENER_BITS`), in order: the lines `_openers` reads."""
    lines: list[tuple[int, int]] = []
    match = _OPENER_FIRST.match(folded)
    if match is not None:
        lines.append((0, _OPENER_BITS[match.group(1)]))
    for match in _OPENER_NEXT.finditer(folded):
        lines.append((match.start() + 1, _OPENER_BITS[match.group(1)]))
    return lines


# `_LINE_PATTERNS` as `noise_ranges` runs them: with each pattern's `_openers` bit. Carried
# along, not looked up: a re.Pattern's hash is not cached and goes over its compiled code
# (3 µs for `_TICKET_NOTICE`), so no pattern is a dict key at run time.
_LINE_RULES = tuple((pattern, words, ignore_case, _BIT[pattern])
                    for pattern, words, ignore_case in _LINE_PATTERNS)
# `_REPLY_HEADERS` likewise, with their `_REPLY_WORDS`.
_REPLY_RULES = tuple(
    (pattern, _after_line_breaks(pattern), word, _BIT[pattern])
    for pattern, word in zip(_REPLY_HEADERS, _REPLY_WORDS, strict=True))


def _line_search(pattern: re.Pattern[str], after: re.Pattern[str], text: str,
                 position: int) -> tuple[int, int] | None:
    """The span of ``pattern.search(text, position)`` for a pattern of `_REPLY_HEADERS` (`after`
    its `_after_line_breaks` form), found as `_line_spans` finds them: at `position` if a line
    starts there, else after the first line break at or past it where the pattern matches."""
    if position == 0 or text[position - 1] == "\n":
        match = pattern.match(text, position)
        if match is not None:
            return match.span()
    found = after.search(text, position)
    return None if found is None else found.span(1)


def _line_spans(pattern: re.Pattern[str], text: str, stop: int,
                starts: list[int]) -> list[tuple[int, int]]:
    """The spans of ``pattern.finditer(text, 0, stop)`` for a pattern of `_LINE_PATTERNS`, where
    `starts` are line starts of `text` in order, among them every start of a line that opens
    with one of the pattern's openers (`_OPENS`).

    Such a pattern starts with "^": a match starts at a line start, and only at one whose line
    opens with one of the pattern's openers. The regex engine would try it at every character
    (and, searching from line break to line break, at every line, where an IGNORECASE
    alternation of a dozen words costs some 0.3 µs a line); it is tried only at `starts`, as
    finditer would go on: past the end of the match before.
    """
    spans: list[tuple[int, int]] = []
    cursor = 0
    for start in starts:
        if start > stop:
            break
        if start >= cursor:
            match = pattern.match(text, start, stop)
            if match is not None:
                spans.append(match.span())
                cursor = match.end()
    return spans


# Under IGNORECASE these four non-ASCII letters match ASCII ones (i, i, s, k), which
# str.lower() alone does not give; folding them first keeps every word test a necessary one.
# The folded text is then the text, character for character, in which case-sensitive ASCII
# patterns match where `_QUICK` matches ignoring case: no other character lowers to more than
# one, none other matches an ASCII character ignoring case, and none changes between word and
# non-word or space and non-space (tests/extract/test_clean_speed2_noise.py checks every one).
_FOLD_LETTERS = ("\u0130", "\u0131", "\u017f", "\u212a")
_FOLD = str.maketrans(dict(zip(_FOLD_LETTERS, "iisk", strict=True)))


def _fold(text: str) -> str:
    """`text` translated by `_FOLD` and lowercased. The translation goes through a dict lookup
    per character (some 30 µs for a note), so it is skipped when no letter of it is there."""
    if any(letter in text for letter in _FOLD_LETTERS):
        text = text.translate(_FOLD)
    return text.lower()


_SIGNATURE_MAX_LINES = 8
_SIGNATURE_MAX_WIDTH = 90


class _HeaderFinder:
    """Finds reply headers left to right; each pattern's next match is cached, so a note with
    thousands of headers is scanned once per pattern, not once per header."""

    __slots__ = ("_next", "_text")

    def __init__(self, text: str, folded: str, openers: int) -> None:
        self._text = text
        # A pattern no line opens for (`_openers`), or whose word is not in the text, has no
        # match to find (see `_REPLY_WORDS`).
        self._next: list[tuple[int, int] | None] = [
            _line_search(pattern, after, text, 0) if openers & bit and word in folded else None
            for pattern, after, word, bit in _REPLY_RULES]

    def first(self, position: int, skip: list[tuple[int, int]]) -> tuple[int, int] | None:
        """The earliest header starting at or after `position` and outside the `skip` ranges."""
        best: tuple[int, int] | None = None
        for index, (pattern, after, _, _) in enumerate(_REPLY_RULES):
            span = self._next[index]
            while span is not None and (span[0] < position or _inside(skip, span[0])):
                resume = max(position, span[0] + 1)
                span = _line_search(pattern, after, self._text, resume)
            self._next[index] = span
            if span is not None and (best is None or span[0] < best[0]):
                best = span
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
    if (_SIGN_OFF_FIRST.match(text, 0, stop) is None
            and _SIGN_OFF_NEXT.search(text, 0, stop) is None):
        return None
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
    """Character ranges of `text` that are quoted replies, signatures or disclaimers.

    A pattern runs only when a line opens as its matches do (`_openers`); a text without any
    such line and without a paragraph break (the only place a name block can start) has no
    noise, and the `_QUICK` test (which rules out some texts the rules would cut: it is part of
    what they find) then runs only on the few texts left."""
    folded = text.lower() if text.isascii() else _fold(text)
    openers = _openers(folded)
    if not openers and "\n\n" not in folded:
        return []
    if not _quick_ascii(folded):
        return []
    forwards = ([m.span() for m in _FORWARD_HEADER.finditer(text) if m.end() > m.start()]
                if openers & _FORWARD_BIT and "forwarded" in folded else [])
    ranges = list(forwards)
    stop = len(text)
    consumed = 0
    if openers & _HEADER_BITS:
        finder = _HeaderFinder(text, folded, openers)
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
    dash = _DASH_DASH.search(text, 0, stop) if openers & _DASH_BIT else None
    if dash is not None:
        ranges.append((dash.start(), stop))
        stop = dash.start()
    lines: list[tuple[int, int]] | None = None  # `_opening_lines`, when a pattern runs
    for pattern, _, _, bit in _LINE_RULES:
        if openers & bit:
            if lines is None:
                # One line (most notes that get here): its start, for every pattern.
                lines = _opening_lines(folded) if "\n" in folded else [(0, -1)]
            starts = [start for start, bits in lines if bits & bit]
            ranges.extend(_line_spans(pattern, text, stop, starts))
    signature = _signature_start(text, stop, ranges) if openers & _SIGN_OFF_BIT else None
    if signature is None and "\n\n" in folded:
        signature = _name_block_start(text, len(text[:stop].rstrip()), ranges)
    if signature is not None:
        ranges.append((signature, stop))
    return ranges


def tag_ranges(text: str) -> list[tuple[int, int]]:
    """Character ranges of subject tags ("[Ticket #12345]", "[EXTERNAL]") in `text`."""
    if "[" not in text:
        return []
    return [m.span() for m in _SUBJECT_TAG.finditer(text)]
