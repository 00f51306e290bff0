"""Segmentation: sentences, lines and the clauses of terse technician lists.

Technicians write "remoted in, cleared cred mgr, rebuilt ost, tested send/recv ok. fixed" and
bullet lists without periods, so a sentence is not the unit of a step. The registered spaCy
component ``fixedit_boundaries_v1`` marks every segment start:

* a ".", "!" or "?" ends a sentence (the stock sentencizer's rule);
* a new line starts a new segment;
* a comma, semicolon, dash, "and" or "then" followed by a done-verb ("cleared", "rebuilt"), a
  verification ("tested", "confirmed") or a failure ("still", "no luck") starts a new segment.

`segment_spans` turns a processed doc into trimmed character spans.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from itertools import accumulate, islice
from typing import NamedTuple

import numpy
from spacy.attrs import IDX, IS_SPACE, LENGTH, LOWER, SENT_START
from spacy.language import Language
from spacy.strings import hash_string
from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from extract.lexicon import verbs
from extract.patterns import CasePattern

log = logging.getLogger(__name__)

__all__ = [
    "FACTORY", "MAX_SEGMENTS", "TOKEN_COLUMNS", "Boundaries", "TokenBatch", "doc_text",
    "segment_spans", "token_table", "trim", "with_text",
]

_STARTERS_EXTRA = (
    "tried", "still", "no luck", "no change", "no joy", "no difference", "didn't", "didnt",
    "did not", "same error", "same issue", "tested", "test", "confirmed", "verified", "working",
    "works", "now working", "now works", "user confirmed", "user confirms", "user can", "issue",
    "which fixed", "that fixed", "this fixed", "which resolved", "that resolved", "fixed",
    "resolved", "all good", "caused by", "turned out", "root cause", "found",
)
_TRIM_LEFT = re.compile(
    r"^(?:[\s\-*•·>–—,;:.)\]]+|\d{1,2}[.)](?:\s+|$)|(?:and|then|also|&|but|so|plus)\b[\s,]*)+",
    re.IGNORECASE,
)
_TRIM_RIGHT = re.compile(r"(?:[\s,;:.\-–—(\[&+]|\b(?:and|then|also|but|so)\b)+$", re.IGNORECASE)
_HAS_WORD = re.compile(r"[A-Za-z0-9]")
# What `_HAS_WORD` looks for: a segment opening with one of them needs no search.
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_LINE_START = re.compile(r"\n[ \t\r\n]*(?=\S)")


def _trie(words: set[str]) -> str:
    """An alternation matching exactly `words`, as a prefix tree ("fix(?:ed|es)" rather than
    "fixed|fixes"): `re` tries alternatives one by one, so hundreds of whole words cost hundreds
    of tries where the tree costs a few. A space in a word matches any run of whitespace."""
    root: dict[str, dict] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here

    def branch(node: dict[str, dict]) -> str:
        alternatives = [(r"\s+" if char == " " else re.escape(char)) + branch(child)
                        for char, child in sorted(node.items()) if char]
        if "" in node and alternatives:
            alternatives.append("")
        if len(alternatives) == 1:
            return alternatives[0]
        return f"(?:{'|'.join(alternatives)})" if alternatives else ""

    return branch(root)


# What opens a list clause: a comma, semicolon, dash, "&" or "+" (`_SEPARATORS`), or the word
# "and" or "then". Every branch begins with one literal character (the "\b" before "and"/"then"
# and the space a dash, "&" or "+" needs before it are checked just after it): `re` then skips in
# C to the characters that can open a clause, where a class such as "[,;]" or "\s" opening a
# branch makes it try the whole pattern at every character.
_SEPARATORS = r",|;|-(?<=\s-)[-–—]*|–(?<=\s–)[-–—]*|—(?<=\s—)[-–—]*|&(?<=\s&)|\+(?<=\s\+)"
_CONNECTIVE_WORDS = (r"a(?<!\wa)nd\b", r"t(?<!\wt)hen\b")


def _clause_rest() -> str:
    """What follows a clause's opener: spaces, more connectives, and (looked ahead at, not
    taken) a starter. Inside the lookahead, which starter matches does not matter, only whether
    one does (and is not followed by a letter), so the tree's order gives the same matches."""
    lexicon = verbs()
    done = {f for f in lexicon.action_forms if not lexicon.is_base_form(f)}
    return (r"\s+(?:(?:and|then|also|&|so|but)\s+)*"
            rf"(?=(?:{_trie(done | set(_STARTERS_EXTRA))})(?![\w']))")


def _clause_pattern() -> CasePattern:
    """Every clause start, whatever the opener: what `Boundaries` runs on text that is not
    ASCII (where case folds need the IGNORECASE form)."""
    return CasePattern(f"(?:{_SEPARATORS}|{'|'.join(_CONNECTIVE_WORDS)}){_clause_rest()}")


def _ascii_clause_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """`_clause_pattern` for lowercased ASCII text, split by opener: separators, "and", "then".

    Each runs only on a text holding its opener, and the two words as whole literal prefixes
    ("and" rather than "a"), which `re` finds many times faster than it stops at every "a" or
    "t" of a text to try the lookbehind. A match ends where the run of spaces and connectives
    after its opener ends (no starter opens with a connective), so a match of one pattern
    inside another's span ends where that one does: the three give the same set of ends as
    the one pattern (tests/extract/test_components_speed_segment.py checks it)."""
    rest = _clause_rest()
    return (re.compile(f"(?:{_SEPARATORS}){rest}"), re.compile(rf"and(?<!\wand)\b{rest}"),
            re.compile(rf"then(?<!\wthen)\b{rest}"))


FACTORY = "fixedit_boundaries_v1"
_TEXT_KEY = "fixedit_text"
_ENDERS = frozenset({".", "!", "?", "...", "..", "!!", "??", "?!", "!?", "…", "。", "!!!", "???"})
_TRAILING = _ENDERS | {'"', "'", ")", "]", "}", "”", "’", "»"}
# Boundaries' segments, as a list of (start_char, end_char): what `segment_spans` iterates, with
# no generator between (the sentence spans of ``doc.sents``).
_BOUNDS_KEY = "fixedit_bounds"
# What joins the texts of a batch for `Boundaries`: no pattern it runs matches it, nor reads it
# as a space or a word character, so no match crosses from one text into the next.
_GAP = "\x00"


# What `token_table` reads of each token, in this column order.
TOKEN_COLUMNS = (IDX, LENGTH, LOWER, IS_SPACE)
_TOKEN_ATTRS = list(TOKEN_COLUMNS)
_TOKENS_KEY = "fixedit_tokens"
_IDX, _LENGTH, _LOWER, _IS_SPACE = (TOKEN_COLUMNS.index(attr)
                                     for attr in (IDX, LENGTH, LOWER, IS_SPACE))
# The LOWER ids of the ender and closer tokens (`Boundaries.mark`)
_ENDER_IDS = numpy.array(sorted(hash_string(text) for text in _ENDERS), dtype=numpy.uint64)
_TRAILING_IDS = numpy.array(sorted(hash_string(text) for text in _TRAILING), dtype=numpy.uint64)


def token_table(doc: Doc) -> numpy.ndarray:
    """The doc's tokens as the rows of a uint64 array, one column per `TOKEN_COLUMNS` attribute
    (offset, length, LOWER id, whether a space token), read once and kept in the doc's
    user_data. Each `Doc.to_array` call pays about a microsecond before it reads a token
    (argument conversion, a new array), and the Python that slices and converts its result as
    much again: the components and the readers of a doc share this one call rather than each
    making its own."""
    table = doc.user_data.get(_TOKENS_KEY)
    if table is None:
        table = doc.user_data[_TOKENS_KEY] = doc.to_array(_TOKEN_ATTRS)
    return table


def doc_text(doc: Doc) -> str:
    """The doc's text, built once and kept (``Doc.text`` re-joins every token on each call)."""
    text = doc.user_data.get(_TEXT_KEY)
    if text is None:
        text = doc.user_data[_TEXT_KEY] = doc.text
    return text


def with_text(doc: Doc, text: str) -> Doc:
    """Keep `text`, the text `doc` was tokenised from, so `doc_text` need not rebuild it."""
    doc.user_data[_TEXT_KEY] = text
    return doc


class TokenBatch(NamedTuple):
    """What `Boundaries.mark` found in a batch for `extract.analysis`: the docs it read (those
    with tokens, in order), their `token_table`s joined, and the spans `segment_spans` gives
    of each (``spans[owned[k]:owned[k + 1]]`` for ``docs[k]``), all in one list rather than a
    list a doc."""

    docs: list[Doc]
    table: numpy.ndarray
    spans: list[tuple[int, int]]
    owned: list[int]


class Boundaries:
    """Finds every segment start of a batch of docs at once: sentences, lines and list clauses.

    Sentences follow the stock ``sentencizer`` rule (a new sentence after a ".", "!" or "?"
    token and any closing quotes or brackets) but are computed from the token table and the
    text: the sentencizer builds a Python object per token. The segments found are kept in the
    doc's user_data, where `segment_spans` reads them without touching the arrays again.

    `mark` does a whole batch of docs at once (`pipe`, and the extractor, call it; a doc alone
    is a batch of one): per doc, finding the segments in Python cost about as much in call
    overhead (a regex scan per pattern, list conversions, a bisect per mark) as in work, where
    one scan of the joined texts per pattern and a few numpy calls over the joined token tables
    serve every doc of the batch.

    spaCy's view of them (``doc.sents``, ``doc.has_annotation("SENT_START")``) comes from a
    ``user_hooks["sents"]`` that builds the sentence spans when asked: writing SENT_START into
    every token (`Doc.from_array`) cost about 1.7 µs a doc, as much as finding the segments,
    and nothing in fixedit reads it.
    """

    def __init__(self, vocab: Vocab) -> None:
        self.clauses = _clause_pattern()
        self.separators, self.ands, self.thens = _ascii_clause_patterns()

    def __call__(self, doc: Doc) -> Doc:
        """Keep the segments of `doc` and hook them up as its sentences."""
        self.mark([doc])
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 1024) -> Iterator[Doc]:
        """`__call__` over a stream of docs, `batch_size` docs to a `mark`."""
        stream = iter(docs)
        while batch := list(islice(stream, batch_size)):
            self.mark(batch)
            yield from batch

    def mark(self, docs: Sequence[Doc]) -> TokenBatch | None:
        """Keep the segments of every doc of `docs` and hook them up as its sentences (an empty
        doc is left as it is); hand back the docs read, their joined token tables and the spans
        `segment_spans` gives of each (None if every doc is empty)."""
        kept = [doc for doc in docs if len(doc)]
        if not kept:
            return None
        texts = [doc_text(doc) for doc in kept]
        tables = [token_table(doc) for doc in kept]
        # The texts joined by _GAP, which no pattern reads as part of a match (so each finds
        # in the join what it finds in each text) and at which no token starts: a mark found
        # there is dropped, as a mark at the end of a text is.
        joined = _GAP.join(texts)
        bases = [0, *accumulate(len(text) + 1 for text in texts)]
        table = numpy.concatenate(tables) if len(tables) > 1 else tables[0]
        sizes = [len(rows) for rows in tables]
        # Where every doc's tokens begin in the joined table, and each token's offset in the join
        opens = numpy.zeros(len(kept) + 1, dtype=numpy.int64)
        numpy.cumsum(sizes, out=opens[1:])
        idx = table[:, _IDX].astype(numpy.int64)
        positions = idx + numpy.repeat(numpy.array(bases[:-1], dtype=numpy.int64), sizes)
        total = len(idx)

        firsts = numpy.zeros(total, dtype=bool)
        firsts[opens[:-1]] = True
        # Sentences. A token is an ender or a closer when its text is one: as its LOWER (no
        # character lowercases to one of theirs), read from the table rather than the text.
        lowers = table[:, _LOWER]
        enders = _among(lowers, _ENDER_IDS)
        skipped = _among(lowers, _TRAILING_IDS)
        skipped |= table[:, _IS_SPACE] != 0
        # After an ender, the first token that is neither space nor closer opens a sentence:
        # each such token (or a doc's first) is a barrier, and a barrier opens one if an ender
        # lies between it and the barrier before (the doc's first token included, which may be
        # an ender itself; no ender can sit on another barrier).
        barriers = ~skipped
        barriers[opens[:-1]] = True
        at = numpy.flatnonzero(barriers)
        counted = numpy.zeros(total + 1, dtype=numpy.int64)
        numpy.cumsum(enders, out=counted[1:])
        counts = counted[at]
        firsts[at[1:][counts[1:] > counts[:-1]]] = True

        # Lines and list clauses: marks count where a token starts.
        marks = [m.end() for m in _LINE_START.finditer(joined)] if "\n" in joined else []
        if joined.isascii():
            lowered = joined.lower()
        else:
            # Lowercased ASCII keeps every offset and lets the clause patterns run
            # case-sensitively; a text that is not ASCII is blanked out of the join (gaps
            # throughout, so no match reaches into it) and read with the IGNORECASE form.
            parts = []
            for text, base in zip(texts, bases, strict=False):
                if text.isascii():
                    parts.append(text.lower())
                else:
                    parts.append(_GAP * len(text))
                    marks.extend(base + m.end() for m in self.clauses.finditer(text))
            lowered = _GAP.join(parts)
        # Each clause opens with a separator or a word: a join without one skips its scan.
        if "," in lowered or "-" in lowered or ";" in lowered or "&" in lowered \
                or "+" in lowered:
            marks.extend(m.end() for m in self.separators.finditer(lowered))
        if "and" in lowered:
            marks.extend(m.end() for m in self.ands.finditer(lowered))
        if "then" in lowered:
            marks.extend(m.end() for m in self.thens.finditer(lowered))
        if marks:
            wanted = numpy.array(marks, dtype=numpy.int64)
            found = numpy.searchsorted(positions, wanted)
            inside = found < total
            found = found[inside]
            firsts[found[positions[found] == wanted[inside]]] = True

        cuts = numpy.flatnonzero(firsts)
        lasts = numpy.empty_like(cuts)
        lasts[:-1] = cuts[1:] - 1
        lasts[-1] = total - 1
        starts = idx[cuts]
        ends = idx[lasts] + table[lasts, _LENGTH].astype(numpy.int64)
        segments = list(zip(starts.tolist(), ends.tolist(), strict=True))
        # every doc's first token is a cut: the segments of doc k run from the cut of its first
        owned = numpy.searchsorted(cuts, opens)
        # The spans `segment_spans` gives of each doc (trimmed, empty ones dropped), found here
        # for the whole batch at once, for `extract.analysis`
        shift = positions[cuts] - starts  # each segment's base in the join
        first, stop, keep = _trim_all(joined, lowered, starts + shift, ends + shift)
        first -= shift
        stop -= shift
        counted = numpy.zeros(len(keep) + 1, dtype=numpy.int64)
        numpy.cumsum(keep, out=counted[1:])
        spans_owned = counted[owned]
        if (spans_owned[1:] - spans_owned[:-1]).max() >= MAX_SEGMENTS:
            keep, spans_owned = _first_segments(kept, owned, keep, counted)
        spans = list(zip(first[keep].tolist(), stop[keep].tolist(), strict=True))
        owned = owned.tolist()
        for doc, low, high in zip(kept, owned, owned[1:], strict=False):
            bounds = doc.user_data[_BOUNDS_KEY] = segments[low:high]
            doc.user_hooks["sents"] = partial(_sentences, bounds)
        return TokenBatch(kept, table, spans, spans_owned.tolist())


def _first_segments(docs: list[Doc], owned: numpy.ndarray, keep: numpy.ndarray,
                    counted: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
    """`keep` (which segments of the batch `segment_spans` keeps; doc k's are
    ``owned[k]:owned[k + 1]``, `counted` the running count of `keep`) with at most the first
    MAX_SEGMENTS of each doc, as `segment_spans` reads them, and where each doc's kept ones
    start among all kept."""
    keep = keep.copy()
    for doc, low, high in zip(docs, owned.tolist(), owned[1:].tolist(), strict=False):
        if counted[high] - counted[low] >= MAX_SEGMENTS:
            log.info("read the first %d segments of a text of %d characters", MAX_SEGMENTS,
                     len(doc_text(doc)))
            past = low + int(numpy.searchsorted(counted[low + 1:high + 1] - counted[low],
                                                MAX_SEGMENTS)) + 1
            keep[past:high] = False
    counted[1:] = numpy.cumsum(keep)
    return keep, counted[owned]


def _among(values: numpy.ndarray, ids: numpy.ndarray) -> numpy.ndarray:
    """Which of `values` are in `ids` (sorted), as `numpy.isin` tells. `isin` spends about 20 µs
    a call in Python (choosing a method, sorting) and then beats a binary search per value
    (measured: 170 against 570 µs on a batch's 45,000 tokens): the few docs of a ticket or a
    doc alone (1 against 24 µs) take the search."""
    if len(values) > _SEARCHED:
        return numpy.isin(values, ids)
    return ids.take(ids.searchsorted(values), mode="clip") == values


# Up to this many tokens `_among` searches
_SEARCHED = 2048


def _sentences(bounds: Sequence[tuple[int, int]], doc: Doc) -> Iterator[Span]:
    """``doc.sents`` of a doc whose segments span the characters `bounds` (each from a token's
    start to a token's end, together every token of the doc), as spaCy builds them: the hook
    `Boundaries` sets."""
    return (doc.char_span(start, end) for start, end in bounds)


@Language.factory(FACTORY)
def make_boundaries(nlp: Language, name: str) -> Boundaries:
    """spaCy factory for Boundaries."""
    return Boundaries(nlp.vocab)


# What `_TRIM_LEFT` cannot start with (no space, bullet, digit or connective's first letter) and
# what cannot end a match of `_TRIM_RIGHT` (no space, listed punctuation or connective's last
# letter); ASCII only, so case folds stay out of it. `trim` reads these two before any pattern.
_PLAIN_FIRST = frozenset("CDEFGHIJKLMNOQRUVWXYZcdefghijklmnoqruvwxyz(\"'[{<#$%/=?@!_`|~")
_PLAIN_LAST = frozenset("ABCEFGHIJKLMPQRSUVWXYZabcefghijklmpqrsuvwxyz0123456789)]}>!?'\"*/%#$@_|~")
# Characters `_TRIM_RIGHT` strips one by one (its \s, for ASCII, and its class)
_STRIPPED = frozenset(" \t\n\r\x0b\x0c,;:.-([&+")
# `_TRIM_RIGHT`'s connectives, and the letters they end with
_CONNECTIVES = frozenset({"and", "then", "also", "but", "so"})
_CONNECTIVE_LAST = frozenset("dnotDNOT")
# their last two letters, lowercase
_CONNECTIVE_TAILS = frozenset(word[-2:] for word in _CONNECTIVES)


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink [start, end) past bullets, connectives and dangling punctuation."""
    first = start
    if start < end and text[start] not in _PLAIN_FIRST:
        # `_TRIM_LEFT` is anchored, so it fails fast; it is the right end's search, tried at
        # every position of the piece, that costs.
        left = _TRIM_LEFT.match(text[start:end])
        if left is not None:
            first = start + left.end()
    # The common case without the right pattern: at most a run of stripped characters after a
    # character no strip can take, or after a word that is no connective (so the pattern's
    # leftmost match is that run); or nothing but stripped characters past the left trim (the
    # pattern takes them all).
    stop = end
    while stop > first and text[stop - 1] in _STRIPPED:
        stop -= 1
    if stop == first or text[stop - 1] in _PLAIN_LAST \
            or (text[stop - 1] in _CONNECTIVE_LAST and not _ends_in_connective(text, start, stop)):
        return first, stop
    return _trim_by_patterns(text, start, end)


def _class_table(chars: Iterable[str]) -> numpy.ndarray:
    """Which of the 128 ASCII characters are among `chars` (never "\x00", which stands for
    any character past ASCII in what `_trim_all` reads)."""
    table = numpy.zeros(128, dtype=bool)
    table[[ord(char) for char in chars if 0 < ord(char) < 128]] = True
    return table


def _left_plain_pairs() -> numpy.ndarray:
    """For the first two characters (f, g) of a piece, ASCII: whether `_TRIM_LEFT`
    surely does not match the piece. Either f is one of `_PLAIN_FIRST` (`trim`'s own test), or
    f is a letter and no connective `_TRIM_LEFT` reads opens with f and g (case aside, as the
    pattern reads them: `_trim_all` looks up lowercase pairs): a letter can open
    none of its other branches, and every connective has two letters or more. (A piece of one
    character: no connective fits in it, whatever g is. A g of "\x00", past ASCII, may be a
    case fold of a connective's letter: no.)"""
    words = ("and", "then", "also", "but", "so", "plus")
    table = numpy.zeros((128, 128), dtype=bool)
    for f in range(1, 128):
        if chr(f) in _PLAIN_FIRST:
            table[f, :] = True
        elif chr(f).isalpha():
            for g in range(1, 128):
                pair = (chr(f) + chr(g)).lower()
                table[f, g] = not any(word.startswith(pair) for word in words)
    return table


def _connective_tail_pairs() -> numpy.ndarray:
    """For the last two characters (p, q) of a piece, ASCII: whether a connective of
    `_TRIM_RIGHT` may end there (its last two letters, case aside; "\x00", past ASCII, may be
    a case fold of one, so says yes)."""
    table = numpy.ones((128, 128), dtype=bool)
    for p in range(1, 128):
        for q in range(1, 128):
            table[p, q] = (chr(p) + chr(q)).lower() in _CONNECTIVE_TAILS
    return table


_PLAIN_FIRST_ASCII = _class_table(_PLAIN_FIRST)
_PLAIN_LAST_ASCII = _class_table(_PLAIN_LAST)
_STRIPPED_ASCII = _class_table(_STRIPPED)
_CONNECTIVE_LAST_ASCII = _class_table(_CONNECTIVE_LAST)
_WORD_ASCII = _class_table(_WORD_CHARS)
_LEFT_PLAIN = _left_plain_pairs()
_CONNECTIVE_TAIL = _connective_tail_pairs()
# How many characters `_trim_all` strips from a segment's end before it leaves the segment to
# `trim` (a run longer than this is rare: "...", " - " and the like are shorter)
_STRIP_STEPS = 4


def _trim_all(text: str, folded: str, starts: numpy.ndarray, ends: numpy.ndarray
              ) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """`trim` of every segment [starts[i], ends[i]) of `text` (none empty), and whether
    `segment_spans` keeps it (not empty, holds a word character): new arrays of starts and
    ends, and a mask. `folded` is `text` in lowercase ASCII, each character past ASCII as
    "\x00" (`Boundaries.mark`'s lowered join, which blanks so every text holding one).

    Most segments open on a letter that opens no connective and end on a letter, a digit or a
    short run of punctuation: what `trim` tells them by in Python per segment (about half a
    microsecond each, 19 segments a ticket) is told here by a few numpy lookups over the whole
    batch's segments, from each one's first two characters and its last ones (the tables
    above answer alike for either case, so the lowercase join serves). The rest (a bullet, a
    connective, a word ending as a connective does, a character past ASCII: about 3 segments
    a ticket) go to `trim`."""
    codes = numpy.frombuffer(folded.encode("ascii"), dtype=numpy.uint8)
    firsts = codes[starts]
    plain = _LEFT_PLAIN[firsts, codes[numpy.minimum(starts + 1, len(codes) - 1)]]
    plain &= _WORD_ASCII[firsts]
    # `trim`'s strip of the end, a character at a time, over the segments still stripping
    stops = ends - _STRIPPED_ASCII[codes[ends - 1]]
    stripping = numpy.flatnonzero(stops < ends)
    for _ in range(_STRIP_STEPS - 1):
        if not len(stripping):
            break
        at = stops[stripping]
        stripping = stripping[(at > starts[stripping]) & _STRIPPED_ASCII[codes[at - 1]]]
        stops[stripping] -= 1
    # (before a stop at 0 or 1, or at the start of its segment, the characters read are the
    # first of `text` or ones before the segment: a segment stripped empty is told by
    # `stops == starts`, and one of a character by that no connective is that short)
    lasts = codes.take(stops - 1, mode="clip")
    empty = stops == starts
    plain &= empty | (~_STRIPPED_ASCII[lasts] & (_PLAIN_LAST_ASCII[lasts] | (
        _CONNECTIVE_LAST_ASCII[lasts]
        & ~_CONNECTIVE_TAIL[codes.take(stops - 2, mode="clip"), lasts])))
    keep = plain & ~empty
    firsts_out = starts.copy()
    rest = numpy.flatnonzero(~plain)
    if len(rest):
        trimmed = [trim(text, start, end)
                   for start, end in zip(starts[rest].tolist(), ends[rest].tolist(),
                                         strict=True)]
        firsts_out[rest] = [first for first, _ in trimmed]
        stops[rest] = [stop for _, stop in trimmed]
        keep[rest] = [stop > first and (text[first] in _WORD_CHARS
                                        or _HAS_WORD.search(text, first, stop) is not None)
                      for first, stop in trimmed]
    return firsts_out, stops, keep


def _ends_in_connective(text: str, start: int, stop: int) -> bool:
    """Whether the word ending at `stop` (cut at `start`, where the piece `trim` reads begins)
    may be one of `_TRIM_RIGHT`'s connectives. Non-ASCII words say yes: case folds ("ſo")."""
    if text.isascii() and text[stop - 2:stop].lower() not in _CONNECTIVE_TAILS:
        # An ASCII word ends as each connective does (a one-letter word is none of them), so
        # most words are told by their last two letters, without walking back to their start.
        # (`isascii` reads a flag of the string: it costs the same on a text of any length. At
        # `stop` 1 the slice holds at most the one letter, which is no tail.)
        return False
    word = stop
    # a word character as `re` reads "\b": alphanumeric or "_"
    while word > start and (text[word - 1].isalnum() or text[word - 1] == "_"):
        word -= 1
    found = text[word:stop]
    return not found.isascii() or found.lower() in _CONNECTIVES


def _trim_by_patterns(text: str, start: int, end: int) -> tuple[int, int]:
    """`trim` by its two patterns alone (what the fast path in `trim` must agree with)."""
    piece = text[start:end]
    left = _TRIM_LEFT.match(piece)
    offset = left.end() if left else 0
    right = _TRIM_RIGHT.search(piece, offset)
    stop = right.start() if right else len(piece)
    return start + offset, start + max(stop, offset)


def _sentence_bounds(doc: Doc) -> Iterator[tuple[int, int]]:
    """(start_char, end_char) of each of `doc.sents`, read from the doc's arrays: iterating
    `doc.sents` builds a Span and several Token objects per sentence. Lazy, in chunks, so a
    reader that stops early (`segment_spans` at MAX_SEGMENTS) does not pay for the rest."""
    kept = doc.user_data.get(_BOUNDS_KEY)
    if kept is not None:  # Boundaries' segments
        yield from kept
        return
    if "sents" in doc.user_hooks:
        yield from ((sent.start_char, sent.end_char) for sent in doc.sents)
        return
    if not doc.has_annotation("SENT_START"):
        yield from ((sent.start_char, sent.end_char) for sent in doc.sents)
        return
    size = len(doc)
    if size == 0:
        return
    # one array call (each costs more than the arithmetic); SENT_START's -1 reads as 2**64 - 1
    table = doc.to_array([SENT_START, IDX, LENGTH]).astype(numpy.int64)
    firsts = numpy.flatnonzero(table[:, 0] == 1)
    idx = table[:, 1]
    ends = idx + table[:, 2]
    # Like Doc.sents: the first token always opens a sentence, and only an explicit 1 opens one.
    bounds = numpy.concatenate(([0], firsts[firsts > 0], [size]))
    for chunk in range(0, len(bounds) - 1, _CHUNK):
        opens = bounds[chunk:chunk + _CHUNK + 1]
        yield from zip(idx[opens[:-1]].tolist(), ends[opens[1:] - 1].tolist(), strict=True)


_CHUNK = 1024
# A text with more segments than this is a pasted log or listing, not a note a person wrote:
# only its first segments are read, so one note cannot cost unbounded time downstream.
MAX_SEGMENTS = 2_000


def segment_spans(doc: Doc, text: str) -> list[tuple[int, int]]:
    """Character spans of the segments of a processed doc of `text`, trimmed, empty ones
    dropped, at most MAX_SEGMENTS of them. (`text` is the doc's text, passed in because
    ``doc.text`` is rebuilt per call.)"""
    spans: list[tuple[int, int]] = []
    kept = doc.user_data.get(_BOUNDS_KEY)
    for sent_start, sent_end in kept if kept is not None else _sentence_bounds(doc):
        start, end = trim(text, sent_start, sent_end)
        if end > start and (text[start] in _WORD_CHARS or _HAS_WORD.search(text, start, end)):
            spans.append((start, end))
            if len(spans) == MAX_SEGMENTS:
                log.info("read the first %d segments of a text of %d characters", MAX_SEGMENTS,
                         len(text))
                break
    return spans
