"""Build one Resolution from everything read in a ticket.

Every text in the Resolution is an EvidencedText whose evidence points at the note (or the title
or description) and the character span of the original stored text it came from. Steps keep the
ticket's chronological order; a step repeated in a later note (a resolution note summing up the
work, a time entry copying it) is kept once with the evidence of both.

Speed: the record is assembled as plain dicts and tuples and validated once, as a whole, by
`Resolution.model_validate` (one pass in pydantic-core, every nested Evidence check included);
building each Evidence and EvidencedText as its own pydantic object cost more than all the rules.
Evidence is kept as hashable tuples until then, so de-duplicating it is a set lookup.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from extract.analysis import Analysis, Segment
from extract.categories import categorise
from extract.classifiers import best, category_row, predict_category
from extract.entities import ERROR_CODE, KB_REF, PRODUCT, product_categories
from extract.hosts import host_spans
from extract.outcome import (
    decide_outcome,
    is_closed_status,
    may_read_as_workaround,
    note_outcome_words,
)
from extract.patterns import MAX_CACHED_TOKEN, TokenGates, required_literals, trie_alternation
from extract.redact import MARKER_PATTERN
from extract.roles import Context, Role, normalise
from extract.sources import Source
from records import (
    EvidencedText,
    Outcome,
    QualityFlag,
    Resolution,
    Scope,
    Ticket,
    quality_score,
)

__all__ = ["build_resolution", "category_inputs", "find_ticket_hosts"]

_TITLE_PREFIX = re.compile(
    r"^(?:\s*(?:re|fw|fwd|aw|wg|tr)\s*:\s*|\s*\[[^\]]{1,30}\]\s*"
    r"|\s*(?:ticket|case|incident|sr|req(?:uest)?)\s*#?\s*\d+\s*[:\-–]\s*)+",
    re.IGNORECASE,
)
_GENERIC_TITLE = frozenset({
    "help", "issue", "problem", "urgent", "ticket", "request", "question", "support", "help desk",
    "helpdesk", "it issue", "it help", "computer issue", "computer problem", "new ticket", "",
})
_WORDS = re.compile(r"[a-z0-9]+")
# Each byte to itself when it is [a-z0-9], else to a space: the [a-z0-9] runs of an ASCII text
# are then the words `bytes.split` cuts, without a regex or a str per run.
_WORD_BYTES = bytes(byte if chr(byte) in "abcdefghijklmnopqrstuvwxyz0123456789" else 32
                    for byte in range(256))
# `_WORD_BYTES` after ASCII lowercasing: an uppercase ASCII letter to its lowercase letter.
_LOWER_WORD_BYTES = bytes(_WORD_BYTES[byte + 32] if 65 <= byte <= 90 else _WORD_BYTES[byte]
                          for byte in range(256))
_MAX_EVIDENCE = 5
_MAX_SYMPTOMS = 8
_MAX_CONDITIONS = 5
_READ_CONTEXTS = (Context.DESCRIPTION, Context.CUSTOMER, Context.TECHNICIAN)
_AFTER_REPORT = (Context.CUSTOMER, Context.TECHNICIAN)

# Evidence as a hashable tuple (field, note_id, start, end, text) until the record is validated.
_Evidence = tuple[str, str | None, int, int, str]
_Text = dict[str, Any]  # {"text": ..., "evidence": [...]}: an EvidencedText before validation


def _evidence(source: Source, start: int, end: int) -> _Evidence:
    """Evidence of the cleaned span [start, end) of `source`, offsets into its original text
    (what `Source.evidence` computes, without building a pydantic object per span)."""
    orig_start, orig_end = source.clean.original_span(start, end)
    return source.field, source.note_id, orig_start, orig_end, source.clean.text[start:end]


def _text(text: str, evidence: Iterable[_Evidence]) -> _Text:
    """An EvidencedText, as the dict `Resolution.model_validate` reads."""
    return {"text": text, "evidence": [
        {"field": field, "note_id": note_id, "start": start, "end": end, "text": quote}
        for field, note_id, start, end, quote in evidence]}


def _word_set(text: str) -> frozenset[bytes]:
    """The [a-z0-9] runs of `normalise(text)`, ASCII-encoded: lowercasing is the only part of
    `normalise` that can change which runs a text has, and every run is ASCII. An ASCII text is
    lowered by the byte table itself (`_LOWER_WORD_BYTES`), without a lowered copy first."""
    if text.isascii():
        return frozenset(text.encode().translate(_LOWER_WORD_BYTES).split())
    lowered = text.lower()  # non-ASCII text may lower to ASCII ("\u212a" to "k")
    if lowered.isascii():
        return frozenset(lowered.encode().translate(_WORD_BYTES).split())
    return frozenset(word.encode() for word in _WORDS.findall(lowered))


class _Collector:
    """Ordered, de-duplicated texts: a repeat adds its evidence to the first."""

    def __init__(self) -> None:
        self._items: list[tuple[frozenset[bytes], int, str, list[_Evidence]]] = []

    def add(self, key_text: str, text: str, evidence: Iterable[_Evidence]) -> None:
        """Add an item, or merge its evidence into an earlier item with (nearly) the same words."""
        words = _word_set(key_text)
        size = len(words)
        # Two sets of sizes a <= b share at most a words and span at least b: their Jaccard
        # similarity is at most a / b, below 0.8 when 5a < 4b. Such pairs are skipped before an
        # intersection is built (the quotient below, of small integers, is under 0.8 exactly
        # when the fraction is, so it would have said no).
        low, high = 4 * size, 5 * size
        for seen, seen_size, _, found in self._items:
            # Jaccard similarity |A & B| / |A | B|, with |A | B| = |A| + |B| - |A & B| (the same
            # integers, so the same quotient) and no union built.
            if words == seen or (size >= 3 and seen_size >= 3 and low <= 5 * seen_size
                                 and 4 * seen_size <= high and (
                    (common := len(words & seen)) / (size + seen_size - common) >= 0.8)):
                # Only the first _MAX_EVIDENCE spans are kept: stop comparing once full, so a
                # note repeating one line thousands of times stays linear.
                for item in evidence:
                    if len(found) >= _MAX_EVIDENCE:
                        break
                    if item not in found:
                        found.append(item)
                return
        self._items.append((words, size, text, list(evidence)))

    def items(self) -> list[_Text]:
        """The collected items, first-seen order, evidence capped."""
        return [_text(text, evidence[:_MAX_EVIDENCE]) for _, _, text, evidence in self._items]


def _evidenced(segment: Segment) -> tuple[str, list[_Evidence]]:
    """Text and evidence of a segment, including the follow-ups linked to it. The first
    evidence is the segment's own, quoting `segment.text`."""
    source = segment.source
    start, end = segment.start, segment.end
    text = source.clean.text[start:end]  # `segment.text`, sliced once for text and quote
    orig_start, orig_end = source.clean.original_span(start, end)
    evidence = [(source.field, source.note_id, orig_start, orig_end, text)]
    for linked in segment.linked:
        evidence.append(_evidence(linked.source, linked.start, linked.end))
        text = f"{text} — {linked.text}"
    return text, evidence


def _segment_text(segment: Segment) -> _Text:
    text, evidence = _evidenced(segment)
    return _text(text, evidence)


def _collect(segments: Iterable[Segment], limit: int | None = None) -> list[_Text]:
    collector = _Collector()
    add = collector.add
    for segment in segments:
        text, evidence = _evidenced(segment)
        add(evidence[0][4], text, evidence)  # keyed by the segment's own text (its quote)
    items = collector.items()
    return items[:limit] if limit else items


class _ByRole:
    """`Analysis.by_role` answered from one pass over the segments: assembly asks it about a
    dozen times a ticket, and each question read every segment again."""

    __slots__ = ("_found",)

    def __init__(self, segments: Iterable[Segment]) -> None:
        self._found: dict[Role, list[Segment]] = {}
        for segment in segments:
            for role in segment.roles:
                self._found.setdefault(role, []).append(segment)

    def found(self, role: Role) -> Sequence[Segment]:
        """Segments playing `role`, in reading order (the index's own list: not to be changed)."""
        return self._found.get(role, ())

    def __call__(self, role: Role, *, contexts: Sequence[Context] | None = None) -> list[Segment]:
        """Segments playing `role`, in reading order, optionally only from some contexts."""
        found = self._found.get(role, [])
        if contexts is None:
            return list(found)
        return [s for s in found if s.source.context in contexts]


def _title_statement(analysis: Analysis) -> _Text | None:
    """The ticket title without "RE:"/"[External]"/"Ticket #123 -" prefixes, with evidence."""
    title: Source = analysis.sources[0]
    text = title.clean.text
    prefix = _TITLE_PREFIX.match(text)
    start = prefix.end() if prefix else 0
    end = len(text.rstrip(" .!?:-"))
    if end <= start or normalise(text[start:end]) in _GENERIC_TITLE:
        return None
    return _text(text[start:end], [_evidence(title, start, end)])


def _problem(analysis: Analysis, by_role: _ByRole, title: _Text | None) -> _Text | None:
    """The best problem statement: a telling title, else the first reported symptom."""
    title_tells = title is not None and (len(title["text"].split()) >= 3 or (
        any(Role.SYMPTOM in s.roles for s in analysis.segments
            if s.source.context is Context.TITLE)
        or any(m.source.context is Context.TITLE for m in analysis.mentions)))
    if title is not None and title_tells:
        return title
    for contexts in ((Context.DESCRIPTION, Context.CUSTOMER), (Context.TECHNICIAN,)):
        symptoms = by_role(Role.SYMPTOM, contexts=contexts)
        if symptoms:
            return _segment_text(symptoms[0])
    if title is not None and len(title["text"].split()) >= 2:
        return title
    for segment in analysis.segments:
        if segment.source.context is Context.DESCRIPTION and len(segment.text.split()) >= 3:
            return _segment_text(segment)
    return title


def _cause(by_role: _ByRole) -> Segment | None:
    """The technicians' explanation if they gave one, else a customer's stated cause."""
    for contexts in ((Context.TECHNICIAN,), (Context.DESCRIPTION, Context.CUSTOMER)):
        causes = [s for s in by_role(Role.CAUSE, contexts=contexts)
                  if Role.FAILED not in s.roles]
        if causes:
            pure = [s for s in causes if Role.ACTION not in s.roles]
            return (pure or causes)[0]
    return None


def _verification(by_role: _ByRole, has_steps: bool) -> Segment | None:
    """The last check that the fix worked; a bare "works now" counts only after real steps."""
    checks = by_role(Role.VERIFICATION, contexts=_AFTER_REPORT)
    real = [s for s in checks if Role.CLOSURE not in s.roles]
    chosen = real or (checks if has_steps else [])
    return chosen[-1] if chosen else None


def _entities(analysis: Analysis) -> dict[str, dict[str, list[_Evidence]]]:
    """label -> value -> evidence, in order of first mention, for every entity label."""
    found: dict[str, dict[str, list[_Evidence]]] = {}
    for item in analysis.mentions:
        mention = item.mention
        bucket = found.setdefault(mention.label, {}).setdefault(mention.value, [])
        if len(bucket) < _MAX_EVIDENCE:
            evidence = _evidence(item.source, mention.start, mention.end)
            if evidence not in bucket:
                bucket.append(evidence)
    return found


def _texts(values: dict[str, list[_Evidence]] | None) -> list[_Text]:
    return [_text(value, evidence) for value, evidence in (values or {}).items()]


# A text can name a host only around two backslashes (UNC), a digit right after a letter or
# after a letter and a hyphen (every hostname shape has one: a role or site word, perhaps a
# hyphen, then digits; the Windows default names a letter and a hyphen before their first
# character, a letter or a digit before any later one), or a letter or digit, a dot and two
# letters (an FQDN's ".tld"). `find_hosts`' patterns never cross whitespace, so only the
# whitespace-bounded chunks around those hints are given to it; elsewhere it cannot match. A
# digit after a digit and a hyphen ("555-0171", "2024-01-15") makes no chunk: a fifth of them
# on the bench corpus were phone numbers and dates.
# The pattern opens with the one class of the hints' rare characters (a digit, a dot, a
# backslash), so `re` skips ahead to the next such character in C; each branch then checks,
# looking back, the character before it. The trailing run of non-breaks takes the rest of the
# chunk: the match ends where the chunk does, and the next search starts after it.
_HOST_HINT = re.compile(
    r"[\d.\\](?:(?<=[a-z]\d)|(?<=[a-z]-\d)|(?<=[a-z0-9]\.)[a-z]{2}|(?<=\\)\\)[^ \n\t]*",
    re.IGNORECASE)
# On ASCII text the hints are looked for in a copy of its classes (`_HINT_CLASSES`: a letter
# is "a", a digit "0", a break a space; ".", "-" and "\" stay, anything else is "#"), one kind
# of hint at a time, each pattern opening with a literal: `re` then skips ahead to the next "0",
# ".aa" or "\\" in a tight loop, where the one class of `_HOST_HINT`'s first character costs a
# test per character of the text (about seven nanoseconds a character: most of the hint scan).
_HINT_CLASSES = bytes(
    ord("a") if chr(byte).isascii() and chr(byte).isalpha()
    else ord("0") if chr(byte) in "0123456789"
    else byte if chr(byte) in ".-\\"
    else ord(" ") if chr(byte) in " \n\t"
    else ord("#")
    for byte in range(256))
_DIGIT_HINT = re.compile(rb"0(?:(?<=a0)|(?<=a-0))")  # a digit after a letter, or a letter and "-"
_DOT_HINT = re.compile(rb"\.aa(?<=[a0]\.aa)")  # a letter or digit, a dot and two letters
_UNC_HINT = re.compile(rb"\\\\")  # two backslashes: the hint is the second


def _host_chunks(text: str) -> list[tuple[int, int]]:
    """Spans of `text` that may hold a host, each starting and ending at whitespace (or the
    text's ends), in order, not overlapping."""
    if not text.isascii():
        return _hinted_chunks(text)
    classes = text.encode().translate(_HINT_CLASSES)
    # Every hint, or at least the first of each chunk (a run of backslashes may hide a later
    # one, inside the same chunk), in order.
    hints = [match.start() for match in _DIGIT_HINT.finditer(classes)]
    hints += [match.start() for match in _DOT_HINT.finditer(classes)]
    hints += [match.start() + 1 for match in _UNC_HINT.finditer(classes)]
    hints.sort()
    chunks: list[tuple[int, int]] = []
    end = 0
    for at in hints:
        if at >= end:  # not inside the last chunk
            start = max(classes.rfind(b" ", end, at), end - 1) + 1
            stop = classes.find(b" ", at)
            end = len(classes) if stop < 0 else stop
            chunks.append((start, end))
    return chunks


def _hinted_chunks(text: str) -> list[tuple[int, int]]:
    """`_host_chunks` of any text, from `_HOST_HINT`'s matches."""
    chunks: list[tuple[int, int]] = []
    end = 0
    for hint in _HOST_HINT.finditer(text):
        at = hint.start()
        # The last break before the hint is at or after the previous chunk's end (itself a
        # break): looking back no further keeps a long text with many chunks linear.
        start = max(text.rfind(" ", end, at), text.rfind("\n", end, at),
                    text.rfind("\t", end, at), end - 1) + 1
        end = hint.end()
        chunks.append((start, end))
    return chunks


def _offsets(texts: Sequence[str], separator: str) -> list[int]:
    """Where each of `texts` starts in ``separator.join(texts)``."""
    starts: list[int] = []
    at = 0
    for text in texts:
        starts.append(at)
        at += len(text) + len(separator)
    return starts


# Hosts of each chunk (a whitespace-delimited token holding a hint), as `host_spans` of the
# chunk alone gives them: (name, start, end) offsets into the chunk. Chunks are tokens such as
# "SRV-FS01", "M365", "0x800f0922" or "KB5022842", which recur from ticket to ticket, and a
# chunk's hosts depend on nothing around it (see `find_ticket_hosts`). Bounded like the token
# caches of `extract.patterns`: cleared when full, long chunks not kept.
_CHUNK_HOSTS: dict[str, tuple[tuple[str, int, int], ...]] = {}
_CHUNK_HOSTS_LIMIT = 50_000


def _chunk_hosts(chunk: str) -> tuple[tuple[str, int, int], ...]:
    """The hosts of one chunk, from `_CHUNK_HOSTS` when it has been seen."""
    found = _CHUNK_HOSTS.get(chunk)
    if found is None:
        found = tuple((name, start, end) for start, end, name, _ in host_spans(chunk))
        if len(chunk) <= MAX_CACHED_TOKEN:
            if len(_CHUNK_HOSTS) >= _CHUNK_HOSTS_LIMIT:
                _CHUNK_HOSTS.clear()
            _CHUNK_HOSTS[chunk] = found
    return found


def find_ticket_hosts(texts: Sequence[str]) -> list[list[tuple[str, int, int]]]:
    """`find_hosts` of each text as (name, start, end): the hosts of the chunks of all texts
    that may hold one (see `_HOST_HINT`), each chunk read alone.

    The chunks are found in one scan of the texts joined by newlines: a newline is a break, so
    no chunk spans two texts, and no hint's look-behind or ".tld" reaches across one.
    `find_hosts`' patterns never cross a break and look no further than the break on either
    side of a name (a break reads as the text's start or end does), so a chunk's hosts are the
    same alone as in its text; the checks that skip a pattern (a digit, a dot, two
    backslashes, "@" or "://") ask for what each of its matches holds, so they hold for the
    chunk where they hold for the text."""
    found: list[list[tuple[str, int, int]]] = [[] for _ in texts]
    for index, name, start, end in _ticket_hosts(texts):
        found[index].append((name, start, end))
    return found


def _ticket_hosts(texts: Sequence[str]) -> list[tuple[int, str, int, int]]:
    """`find_ticket_hosts` as one list of (index of the text, name, start, end), in reading
    order: `_hosts` reads them at once, and a ticket names a host or two, so one list beats a
    list per text."""
    joined = "\n".join(texts)
    places: list[tuple[int, str, int, int]] = []
    index = 0
    home = 0  # where text `index` starts in `joined`
    for start, end in _host_chunks(joined):
        hosts = _chunk_hosts(joined[start:end])
        if hosts:
            # the chunks come in order and none spans a newline: move on to the chunk's text
            while start > home + len(texts[index]):
                home += len(texts[index]) + 1
                index += 1
            shift = start - home
            places.extend((index, name, at + shift, stop + shift) for name, at, stop in hosts)
    return places


def _hosts(analysis: Analysis) -> tuple[dict[str, list[_Evidence]], list[tuple[Source, str, int]]]:
    """Hosts named in the ticket (name -> evidence) and every (source, name, start) occurrence."""
    found: dict[str, list[_Evidence]] = {}
    places: list[tuple[Source, str, int]] = []
    sources = analysis.sources
    for index, name, start, end in _ticket_hosts([source.clean.text for source in sources]):
        source = sources[index]
        places.append((source, name, start))
        bucket = found.get(name)
        if bucket is None:
            bucket = found[name] = []
        evidence = _evidence(source, start, end)
        if evidence not in bucket:
            bucket.append(evidence)
    return {name: evidence[:_MAX_EVIDENCE] for name, evidence in found.items()}, places


def _normalised_words(text: str, *, ascii: bool) -> list[str]:
    """The words of `normalise(text)`, which joins exactly these: the note cues read them, and
    join them only when they must search (`note_outcome_words`). `ascii` when `text` is: it
    then holds no curly quote to straighten."""
    if ascii:
        return text.replace("`", "'").lower().split()
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'").lower().split()


def _note_outcomes(analysis: Analysis, by_role: _ByRole | None = None) -> list[Outcome]:
    """What the notes say about how the ticket ended, as far as `decide_outcome` reads it: the
    last one or two notes that say anything, oldest first. The notes are read newest first and
    reading stops as soon as the rest cannot change the decision.

    `decide_outcome` takes the last word, except that a workaround just before a last
    "resolved" makes it a workaround. So a second word is looked for only after a last
    "resolved", and only while an earlier note may still read as a workaround
    (`may_read_as_workaround`): on the bench corpus that leaves about half the notes unread.
    Dropping the earlier word in the other cases changes nothing: with it, the decision is the
    last word all the same."""
    by_role = by_role or _ByRole(analysis.segments)
    # the notes that verify or close: from the role index, not a walk over every segment
    done = {id(segment.source) for role in (Role.VERIFICATION, Role.CLOSURE)
            for segment in by_role.found(role)}
    notes = [source for source in analysis.sources if source.field == "note"]
    said: list[Outcome] = []
    for index in range(len(notes) - 1, -1, -1):
        source = notes[index]
        text = source.clean.text
        ascii = text.isascii()
        outcome = note_outcome_words(_normalised_words(text, ascii=ascii),
                                     says_done=id(source) in done, ascii=ascii)
        if outcome is not None:
            said.append(outcome)
            if len(said) == 2 or outcome is not Outcome.RESOLVED or not may_read_as_workaround(
                    [note.clean.text for note in notes[:index]]):
                break
    return said[::-1]


# --- applicability -------------------------------------------------------------------------

# Operating systems and device platforms of the product lexicon (canonical names); any
# "Windows Server ..." is one too.
_PLATFORMS = frozenset({"Windows 7", "Windows 8.1", "Windows 10", "Windows 11", "Linux", "macOS",
                        "Google Chrome OS", "iPhone", "iPad", "Android", "Windows Server"})
# A limit the text puts on when the problem or the fix holds (lowercase, like _SCOPE_CUES).
_CONDITIONS = (
    r"\bonly\s+(?:when|if|on|in|for|with|after|while|from|over|via|through|under|during|at"
    r"|affects?|happens?|occurs?|fails?|works?|seems|appears|some|certain)\b"
    r"|\b(?:except|unless)\s+(?:when|if|on|in|for|from|over|via|the|they|we|you|it|he|she)?\b"
    r"|\b\d[\w.]*\s+only\b"
    r"|\b(?:when|while|whenever)\s+(?:\w+\s+){0,3}(?:on|over|via|through|to|using)\s+(?:the\s+)?"
    r"(?:vpn|wi-?fi|guest\s+network|hotspot|citrix|rdp|remote\s+desktop|terminal\s+server)\b"
    r"|\b(?:when|while|whenever)\s+(?:working\s+)?(?:remote(?:ly)?|off-?site|from\s+home"
    r"|at\s+home)\b"
)
_CONDITION = re.compile(_CONDITIONS)
_CONDITION_ANY_CASE = re.compile(_CONDITIONS, re.IGNORECASE)
_CONDITION_GATE = ("only", "except", "unless", "when", "while")
# Cues in a step, the cause or the verification that the fix is a one-off (a single event:
# nothing to repeat next time) or depends on this client's own setup. Written in lowercase: they
# run over lowercased text (see `_lowered_matches`), much faster than with re.IGNORECASE.
_SCOPE_CUES = (
    r"(?P<one_off>"
    r"\b(?:typo|mis-?typed|fat[- ]finger\w*|one[- ]off|one[- ]time\s+(?:issue|glitch|event)"
    r"|(?:isp|provider|vendor|microsoft|carrier|power|service|internet|regional|upstream)"
    r"\s+(?:outage|incident)|outage|resolved\s+(?:itself|on\s+its\s+own)|self[- ]resolved"
    r"|went\s+away\s+(?:by\s+itself|on\s+its\s+own)|no\s+(?:further\s+)?action\s+(?:needed"
    r"|required|taken)|(?:was|got|came)\s+unplugged|(?:wasn't|wasn’t|was\s+not)\s+plugged\s+in"
    r"|user\s+error|accidentally|by\s+mistake)\b"
    r")|(?P<environment>"
    r"\b(?:custom|in-house|bespoke|proprietary|homegrown|home-grown|line[- ]of[- ]business"
    r"|lob\s+app|legacy\s+app\w*|site[- ]specific|client[- ]specific|their\s+own"
    r"|logon\s+script|login\s+script|mapped\s+drives?|drive\s+mappings?|static\s+ip"
    r"|dhcp\s+reservation|port\s+forward\w*|vlan\s*\d*)\b"
    r"|\b(?:10\.\d{1,3}|192\.168|172\.(?:1[6-9]|2\d|3[01]))\.\d{1,3}\.\d{1,3}\b"
    r"|\\\\[a-z0-9]"
    r")"
)
_SCOPE = re.compile(_SCOPE_CUES)
_SCOPE_ANY_CASE = re.compile(_SCOPE_CUES, re.IGNORECASE)
# Every cue holds one of the literals `required_literals` reads from `_SCOPE_CUES` (87 of them:
# "typo", "user error", "service outage", "one-time issue", ...), its spaces standing for the
# whitespace there. One token gate per literal (`TokenGates`): on lowercase ASCII text, a text
# whose gates are all shut holds none of them, so no cue. It asks for every word of a literal,
# where the `_SCOPE_GATE` look asks for one ("error", "their", "drive", "action" open it):
# on the bench corpus a ticket's parts open it about a third as often (11% of the tickets
# against 29%), and each open ticket costs a look at every part.
_SCOPE_LITERALS = required_literals(_SCOPE_CUES, single_spaced=True)
assert _SCOPE_LITERALS is not None
_SCOPE_LITERAL_GATES = TokenGates(re.escape(literal).replace(r"\ ", r"\s+")
                                  for literal in sorted(_SCOPE_LITERALS))
# Gates: every match of the pattern contains one of these; a text with none is not scanned
# (`in` tests are many times cheaper than a scan by a large alternation). Checked against the
# patterns by tests/extract/test_assemble_applicability.py.
_SCOPE_GATE = (
    "typo", "typed", "finger", "one-off", "one off", "one-time", "one time", "outage",
    "incident", "resolved", "away", "action", "plugged", "error", "accident", "mistake",
    "custom", "house", "bespoke", "proprietary", "grown", "business", "lob", "legacy",
    "specific", "their", "script", "drive", "static", "reservation", "forward", "vlan", "10.",
    "192.168", "172.", "\\\\",
)
_SCOPE_WORDS = {
    Scope.GENERAL: "General fix: nothing ties it to this client",
    Scope.ENVIRONMENT: "Specific to this client's environment (their hosts or configuration): "
                       "adapt before reuse",
    Scope.ONE_OFF: "One-off event: little to reuse as a procedure",
    Scope.UNKNOWN: "Applicability unknown: no step or cause recorded",
}


def _platform(product: str | None) -> bool:
    return product is not None and (product in _PLATFORMS or product.startswith("Windows Server"))


def _gate(literals: tuple[str, ...]) -> re.Pattern[str]:
    """One alternation of the literals, as a trie (`trie_alternation`): `re` scans it many
    times faster than a pattern, and follows one branch per character where a flat
    alternation tries every literal at each position."""
    return re.compile(trie_alternation(literals))


_SCOPE_GATE_RE = _gate(_SCOPE_GATE)
_CONDITION_GATE_RE = _gate(_CONDITION_GATE)


def _gate_shut(gate: tuple[str, ...], texts: Sequence[str]) -> bool:
    """True when `_lowered_matches` with the gate of these literals finds nothing in any of
    `texts`: one lowering and one look for the literals for all of them instead of one per
    text. The texts are joined by newlines, which no gate literal holds, so no literal spans two
    texts; lowering changes the length only of "İ" (it never shortens a text), so the joined
    text keeps its length exactly when every text does. A few `in` tests over the whole text
    are cheaper here than the alternation."""
    joined = "\n".join(texts)
    lowered = joined.lower()
    return len(lowered) == len(joined) and not any(literal in lowered for literal in gate)


def _lowered_matches(lowercase: re.Pattern[str], any_case: re.Pattern[str],
                     gate: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """Matches of a lowercase pattern in `text`: over ``text.lower()`` when lowering keeps every
    offset (it does unless a character lowers to two, as "İ" does), else with IGNORECASE. None
    when the lowered text holds no literal of the pattern's `gate`."""
    lowered = text.lower()
    if len(lowered) != len(text):
        return any_case.finditer(text)
    if gate.search(lowered) is None:
        return iter(())
    return lowercase.finditer(lowered)


# Joins the texts that are lowered and searched for gate literals at once (`_matches_by_text`):
# no gate literal holds it, so a literal found lies inside one text; and it is a non-word
# character, so a `\b` at either end of a text sees what it sees at the ends of the text alone.
_JOIN = "\x00"

# Up to this many gate literals, one `str.find` per literal (a C scan each) decides the open
# texts faster than the gate's trie; above it (the 37 scope literals) the one trie scan is
# faster (measured on the bench corpus: 5 condition literals ~3.0 us/ticket by `find`, 4.5 by
# the trie; 37 scope literals 6.4 by `find`, 4.1 by the trie).
_FEW_LITERALS = 8

# A match as (start, end, name of the group that matched), offsets into its own text.
_Cue = tuple[int, int, str | None]


def _matches_by_text(lowercase: re.Pattern[str], any_case: re.Pattern[str],
                     gate: re.Pattern[str], literals: tuple[str, ...],
                     texts: Sequence[str]) -> list[list[_Cue]]:
    """`_lowered_matches` of each text (`gate` is the alternation of `literals`), from one
    lowering of them all and one look for each literal across them.

    Lowering keeps every offset of the joined text exactly when it keeps those of each text (it
    never shortens one); the lowered joined text then holds each lowered text, and a literal
    (none holds _JOIN) is found only inside one. The texts where some literal is found are the
    ones `_lowered_matches` scans, and only those are scanned: each bounded by `finditer`'s pos
    and endpos, beside which a word boundary sees _JOIN or an end, as in the text alone. Most
    texts hold no literal: one `str.find` per literal (or, for many literals, one scan by the
    gate) over all of them replaces a lowering and a gate search per text."""
    found: list[list[_Cue]] = [[] for _ in texts]
    joined = _JOIN.join(texts)
    lowered = joined.lower()
    if len(lowered) != len(joined):
        # a character lowers to two ("İ"): text by text, each as `_lowered_matches` reads it
        for index, text in enumerate(texts):
            found[index] = [(match.start(), match.end(), match.lastgroup) for match in
                            _lowered_matches(lowercase, any_case, gate, text)]
        return found
    homes: list[int] = []
    opened: set[int] = set()  # indexes of the texts holding a literal
    if len(literals) > _FEW_LITERALS:
        # many literals: one scan by their trie finds the first literal of each text holding
        # one, then goes on from the next text (this one is open already)
        hit = gate.search(lowered)
        while hit is not None:
            homes = homes or _offsets(texts, _JOIN)
            index = bisect_right(homes, hit.start()) - 1
            opened.add(index)
            hit = gate.search(lowered, homes[index] + len(texts[index]) + 1)
    else:
        for literal in literals:
            at = lowered.find(literal)
            while at >= 0:
                homes = homes or _offsets(texts, _JOIN)
                index = bisect_right(homes, at) - 1
                opened.add(index)
                # on from the next text: this one is open already
                at = lowered.find(literal, homes[index] + len(texts[index]) + 1)
    for index in sorted(opened):
        home = homes[index]
        found[index] = [(match.start() - home, match.end() - home, match.lastgroup)
                        for match in lowercase.finditer(lowered, home, home + len(texts[index]))]
    return found


def _conditions(analysis: Analysis) -> list[_Text]:
    """The sentences that state a limit ("only when connected over VPN"), each once."""
    read = [source for source in analysis.sources if source.context is not Context.SYSTEM]
    cues = _matches_by_text(_CONDITION, _CONDITION_ANY_CASE, _CONDITION_GATE_RE, _CONDITION_GATE,
                            [source.clean.text for source in read])
    if not any(cues):
        return []
    collector = _Collector()
    by_source: dict[int, list[Segment]] = {}
    for segment in analysis.segments:
        by_source.setdefault(id(segment.source), []).append(segment)
    for source, matches in zip(read, cues, strict=True):
        segments = by_source.get(id(source), [])
        text = source.clean.text
        for at, stop, _ in matches:
            home = next((s for s in segments if s.start <= at < s.end), None)
            start, end = (home.start, home.end) if home else (at, stop)
            collector.add(text[start:end], text[start:end], [_evidence(source, start, end)])
    return collector.items()[:_MAX_CONDITIONS]


def _scope(parts: Sequence[tuple[str, Segment]],
           host_places: Sequence[tuple[Source, str, int]]) -> tuple[Scope, list[_Text]]:
    """General, environment-specific or one-off, from the steps, cause and verification
    (`parts`: (what it is, segment)), with the texts that decide it."""
    if not parts:
        return Scope.UNKNOWN, []
    found: dict[str, list[_Text]] = {"one_off": [], "environment": []}
    texts = [segment.source.clean.text[segment.start:segment.end] for _, segment in parts]
    # Most tickets' parts hold no cue: one look at them all, joined by newlines (no token and
    # no spaced literal spans two texts), before a look at each. (An ASCII lowered text is as
    # long as its text: only "\u0130" lowers to two characters, one of them not ASCII.)
    joined = "\n".join(texts)
    lowered = joined.lower()
    may_cue = (_SCOPE_LITERAL_GATES.mask(lowered) != 0 if lowered.isascii()
               else len(lowered) != len(joined) or _scope_gate_open(lowered))
    for (what, segment), text in zip(parts, texts, strict=True):
        for start, end, group in _scope_cues(text) if may_cue else ():
            kind = group or "environment"
            cue = text[start:end]
            reason = (f'{what} describes a one-off event ("{cue}")' if kind == "one_off"
                      else f'{what} depends on this client\'s setup ("{cue}")')
            found[kind].append(_text(reason, [_evidence(
                segment.source, segment.start + start, segment.start + end)]))
        for source, name, start in host_places:
            if source is segment.source and segment.start <= start < segment.end:
                found["environment"].append(_text(
                    f"{what} names this client's host {name}",
                    [_evidence(source, start, start + len(name))]))
    if found["one_off"]:
        return Scope.ONE_OFF, _first_unique(found["one_off"])
    if found["environment"]:
        return Scope.ENVIRONMENT, _first_unique(found["environment"])
    return Scope.GENERAL, []


class _ScopeTokens(dict[str, bool]):
    """Tokens (whitespace-separated, lowercased) and whether each holds a `_SCOPE_GATE` literal
    without a space. A literal without whitespace lies inside one token, so a text holds one
    exactly when one of its tokens does (the spaced literals are looked for in the text
    itself). Tokens recur from ticket to ticket ("restarted", "the", "printer"): a known one is
    a dictionary lookup in C. Bounded like `_CHUNK_HOSTS`: cleared when full, long tokens not
    kept."""

    def __missing__(self, token: str) -> bool:
        holds = any(literal in token for literal in _SCOPE_UNSPACED)
        if len(token) <= MAX_CACHED_TOKEN:
            if len(self) >= _CHUNK_HOSTS_LIMIT:
                self.clear()
            self[token] = holds
        return holds


_SCOPE_SPACED = tuple(literal for literal in _SCOPE_GATE if " " in literal)
_SCOPE_UNSPACED = tuple(literal for literal in _SCOPE_GATE if " " not in literal)
_SCOPE_TOKENS = _ScopeTokens()
_scope_token = _SCOPE_TOKENS.__getitem__


def _scope_gate_open(lowered: str) -> bool:
    """Whether a lowered text holds a `_SCOPE_GATE` literal, read from its tokens."""
    return (any(map(_scope_token, lowered.split()))
            or any(map(lowered.__contains__, _SCOPE_SPACED)))


def _scope_cues(text: str) -> list[_Cue]:
    """`_lowered_matches` of `_SCOPE` in one text, as (start, end, group) tuples. The gate is
    read from the text's tokens (a few dictionary lookups, where a scan of the literals'
    alternation cost a step per character): on ASCII text, `_SCOPE_LITERAL_GATES`, which lets
    fewer texts through to the search; on other text, a `_SCOPE_GATE` literal in a token."""
    lowered = text.lower()
    if len(lowered) != len(text):
        return [(match.start(), match.end(), match.lastgroup)
                for match in _SCOPE_ANY_CASE.finditer(text)]
    if not (_SCOPE_LITERAL_GATES.mask(lowered) if lowered.isascii()
            else _scope_gate_open(lowered)):
        return []
    return [(match.start(), match.end(), match.lastgroup) for match in _SCOPE.finditer(lowered)]


def _first_unique(texts: list[_Text], limit: int = _MAX_EVIDENCE) -> list[_Text]:
    seen: set[str] = set()
    unique = []
    for item in texts:
        if item["text"] not in seen:
            seen.add(item["text"])
            unique.append(item)
    return unique[:limit]


def _summary(scope: Scope, products: Sequence[str], platforms: Sequence[str],
             conditions: Sequence[_Text]) -> str:
    """One sentence saying where the fix applies."""
    parts = [_SCOPE_WORDS[scope]]
    if products:
        parts.append("involves " + ", ".join(products[:4]) + (" and more" * (len(products) > 4)))
    if platforms:
        parts.append("on " + ", ".join(platforms[:3]))
    if conditions:
        first = conditions[0]["text"]
        parts.append("stated condition: " + (first if len(first) <= 80 else first[:77] + "..."))
    return "; ".join(parts) + "."


def _applicability(analysis: Analysis, products: dict[str, list[_Evidence]],
                   parts: Sequence[tuple[str, Segment]],
                   host_places: Sequence[tuple[Source, str, int]]) -> dict[str, Any]:
    """The `records.Applicability` of a ticket, as a dict."""
    platform_values = {m.mention.value for m in analysis.mentions
                       if m.mention.label == PRODUCT and _platform(m.mention.product)}
    scope, reasons = _scope(parts, host_places)
    conditions = _conditions(analysis)
    plain = [value for value in products if value not in platform_values]
    platforms = [value for value in products if value in platform_values]
    return {"scope": scope, "reasons": reasons, "products": plain,
            "platforms": [_text(value, products[value]) for value in platforms],
            "conditions": conditions,
            "summary": _summary(scope, plain, platforms, conditions)}


_CATEGORY_WEIGHTS = {Context.TITLE: 3.0, Context.DESCRIPTION: 2.0, Context.CUSTOMER: 2.0,
                     Context.TECHNICIAN: 1.0, Context.SYSTEM: 0.0}
# Chosen on the dev split (see `extract.train`): the model, which also reads the rules' keyword
# vote as a feature, is right more often than that vote at any confidence (dev accuracy .78 vs
# .76), so it decides; raise this to let the keyword vote stand below a confidence.
CATEGORY_THRESHOLD = 0.0


def category_inputs(analysis: Analysis) -> tuple[str, str, str]:
    """The category model's row for a ticket: its opening texts, its notes, the rule votes."""
    lookup = product_categories()
    votes = [(lookup[m.mention.product], _CATEGORY_WEIGHTS[m.source.context])
             for m in analysis.mentions if m.mention.product in lookup]
    rule = categorise([(s.clean.text, _CATEGORY_WEIGHTS[s.context]) for s in analysis.sources],
                      votes)
    opening = " ".join(s.clean.text for s in analysis.sources if s.field != "note")
    notes = [s.clean.text for s in analysis.sources
             if s.field == "note" and s.context is not Context.SYSTEM]
    return category_row(opening, notes, rule, [category for category, _ in votes])


def _category(analysis: Analysis, row: tuple[str, str, str] | None = None) -> str:
    """The model's category when it is sure enough, else the rules' keyword vote."""
    # the extractor builds the row once for its batch prediction and keeps it on the analysis
    row = row or analysis.category_row or category_inputs(analysis)
    rule = row[2].split(" ", 1)[0].removeprefix("rule=")
    if not (row[0].strip() or row[1].strip()):
        return rule  # nothing to read: the model would only guess the commonest category
    label, confidence = best(predict_category(row))
    return label if confidence >= CATEGORY_THRESHOLD else rule


def _technician(ticket: Ticket, analysis: Analysis, by_role: _ByRole) -> str | None:
    if ticket.assignee:
        return ticket.assignee
    acting = by_role(Role.ACTION, contexts=(Context.TECHNICIAN,))
    authors = [s.source.author for s in acting if s.source.author]
    if authors:
        return authors[-1]
    notes = [s.author for s in analysis.sources if s.context is Context.TECHNICIAN and s.author]
    return notes[-1] if notes else None


def _confidence(*, problem: bool, steps: int, verification: bool, cause: bool,
                outcome: Outcome, categorised: bool, entities: bool, failed: bool,
                flags: set[QualityFlag]) -> float:
    """How sure the extractor is of its reading, 0..1: how much of what it looks for it found
    (problem, steps, check, cause, a known ending, a category, entities, failed attempts). A
    bare "fixed it" or an open ticket caps it. How reusable the record is for someone else is
    the separate `Resolution.quality_score`."""
    score = (0.2 * problem + 0.3 * min(steps, 3) / 3 + 0.15 * verification + 0.1 * cause
             + 0.1 * (outcome in (Outcome.RESOLVED, Outcome.WORKAROUND)) + 0.05 * categorised
             + 0.05 * entities + 0.05 * failed)
    if QualityFlag.NO_RESOLUTION_DETAIL in flags:
        score = min(score, 0.2)
    if QualityFlag.TICKET_OPEN in flags:
        score *= 0.8
    return round(max(0.0, min(score, 1.0)), 2)


# The flags in their declared order (iterating the enum class itself costs a generator per call).
_FLAG_ORDER = tuple(QualityFlag)


def _flags(analysis: Analysis, by_role: _ByRole, *, title: _Text | None, problem: _Text | None,
           steps: Sequence[Segment], kept_steps: int, cause: Segment | None,
           verification: Segment | None, outcome: Outcome, closed: bool) -> set[QualityFlag]:
    """The quality flags of a record (see `records.QualityFlag` for what each means)."""
    flags: set[QualityFlag] = set()
    if problem is None:
        flags.add(QualityFlag.NO_PROBLEM_STATEMENT)
    elif title is None:
        flags.add(QualityFlag.GENERIC_TITLE)
    if not steps:
        flags.add(QualityFlag.NO_STEPS)
        closure_said = bool(by_role(Role.CLOSURE))
        technician_cause = by_role(Role.CAUSE, contexts=(Context.TECHNICIAN,))
        if not technician_cause and (closed or closure_said or outcome is Outcome.RESOLVED):
            flags.add(QualityFlag.NO_RESOLUTION_DETAIL)
    else:
        if verification is None:
            flags.add(QualityFlag.UNVERIFIED)
        if cause is None:
            flags.add(QualityFlag.NO_CAUSE)
        if kept_steps == 1:
            flags.add(QualityFlag.SINGLE_STEP)
        if all(step.source.context is Context.CUSTOMER for step in steps):
            flags.add(QualityFlag.STEPS_FROM_CUSTOMER)
    if not closed:
        flags.add(QualityFlag.TICKET_OPEN)
    if any("[REDACTED:" in source.original and MARKER_PATTERN.search(source.original)
           for source in analysis.sources):
        flags.add(QualityFlag.REDACTED)
    return flags


def build_resolution(ticket: Ticket, analysis: Analysis, *, version: str,
                     category_row: tuple[str, str, str] | None = None) -> Resolution:
    """The Resolution of `ticket` from its analysis. `category_row` is `category_inputs` of the
    same analysis when the caller already computed it (for the batched category model)."""
    by_role = _ByRole(analysis.segments)
    title = _title_statement(analysis)
    problem = _problem(analysis, by_role, title)
    symptoms = _collect(by_role(Role.SYMPTOM, contexts=_READ_CONTEXTS), _MAX_SYMPTOMS)
    step_segments = by_role(Role.ACTION, contexts=_READ_CONTEXTS)
    steps = _collect(step_segments)
    failed = _collect(by_role(Role.FAILED, contexts=_READ_CONTEXTS))
    cause = _cause(by_role)
    verification = _verification(by_role, bool(steps))
    entities = _entities(analysis)
    products = entities.get(PRODUCT, {})
    hosts, host_places = _hosts(analysis)
    closed = ticket.closed_at is not None or is_closed_status(ticket.status)
    outcome = decide_outcome(ticket.status, closed=closed,
                             note_outcomes=_note_outcomes(analysis, by_role), has_steps=bool(steps))
    category = _category(analysis, category_row)
    flags = _flags(analysis, by_role, title=title, problem=problem, steps=step_segments,
                   kept_steps=len(steps), cause=cause, verification=verification,
                   outcome=outcome, closed=closed)
    # A ticket with no title gets a made-up one, honestly without evidence.
    shown_title = title or problem or _text(f"Ticket {ticket.external_id}", [])
    cause_text = _segment_text(cause) if cause else None
    verification_text = _segment_text(verification) if verification else None
    texts = [shown_title, problem, cause_text, verification_text, *symptoms, *steps, *failed]
    present = [text for text in texts if text is not None]
    coverage = sum(1 for text in present if text["evidence"]) / len(present)
    parts = [("a step", segment) for segment in step_segments]
    parts += [(what, segment) for what, segment in (("the cause", cause),
                                                    ("the verification", verification))
              if segment is not None]
    if not step_segments and cause is None:
        parts = []  # nothing done or explained: the scope cannot be judged
    # The problem is most often the title itself (the same dict): validated once, the one
    # EvidencedText (validated by pydantic, not constructed) stands in both fields, which
    # `Resolution.model_validate` takes as it is instead of validating the same tree twice.
    title_field: _Text | EvidencedText = shown_title
    problem_field: _Text | EvidencedText | None = problem
    if problem is shown_title:
        title_field = problem_field = EvidencedText.model_validate(problem)
    return Resolution.model_validate({
        "ticket": ticket.ref,
        "title": title_field,
        "problem": problem_field,
        "symptoms": symptoms,
        "cause": cause_text,
        "steps": steps,
        "failed_attempts": failed,
        "verification": verification_text,
        "outcome": outcome,
        "category": category,
        "products": _texts(products),
        "error_codes": _texts(entities.get(ERROR_CODE)),
        "kb_refs": _texts(entities.get(KB_REF)),
        "hosts": _texts(hosts),
        "company": ticket.company,
        "technician": _technician(ticket, analysis, by_role),
        "board": ticket.board,
        "closed_at": ticket.closed_at,
        "applicability": _applicability(analysis, products, parts, host_places),
        "quality_flags": [flag for flag in _FLAG_ORDER if flag in flags],
        "quality_score": quality_score(
            problem=problem is not None, steps=len(steps), cause=cause is not None,
            verification=verification is not None, outcome=outcome,
            evidence_coverage=coverage, flags=flags),
        "confidence": _confidence(
            problem=problem is not None, steps=len(steps), verification=verification is not None,
            cause=cause is not None, outcome=outcome, categorised=category != "other",
            entities=bool(products or entities.get(ERROR_CODE) or entities.get(KB_REF)),
            failed=bool(failed), flags=flags),
        "extractor_version": version,
    })
