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
from collections.abc import Iterator

import numpy
from spacy.attrs import IDX, IS_SPACE, LENGTH, ORTH, SENT_START
from spacy.language import Language
from spacy.tokens import Doc
from spacy.vocab import Vocab

from extract.lexicon import verbs
from extract.patterns import CasePattern

log = logging.getLogger(__name__)

__all__ = [
    "FACTORY", "MAX_SEGMENTS", "Boundaries", "doc_text", "segment_spans", "trim", "with_text",
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


def _clause_pattern() -> CasePattern:
    lexicon = verbs()
    done = {f for f in lexicon.action_forms if not lexicon.is_base_form(f)}
    # Inside the lookahead, which starter matches does not matter, only whether one does (and
    # is not followed by a letter), so the tree's order gives the same matches. Every branch of
    # the opening alternation begins with a character (the "\b" before "and"/"then" checked
    # just after it), which lets `re` skip ahead to candidate characters.
    return CasePattern(
        r"(?:[,;]|\s(?:[-–—]+|&|\+)|a(?<!\wa)nd\b|t(?<!\wt)hen\b)\s+"
        rf"(?:(?:and|then|also|&|so|but)\s+)*(?=(?:{_trie(done | set(_STARTERS_EXTRA))})(?![\w']))",
    )


FACTORY = "fixedit_boundaries_v1"
_TEXT_KEY = "fixedit_text"
_ENDERS = (".", "!", "?", "...", "..", "!!", "??", "?!", "!?", "…", "。", "!!!", "???")
_CLOSERS = ('"', "'", ")", "]", "}", "”", "’", "»")


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


class Boundaries:
    """Sets every segment start of a doc in one pass: sentences, lines and list clauses.

    Sentences follow the stock ``sentencizer`` rule (a new sentence after a ".", "!" or "?"
    token and any closing quotes or brackets) but are computed on the doc's arrays, and all
    marks are written at once through SENT_START: setting `Token.is_sent_start` token by token
    is quadratic, and the sentencizer builds a Python object per token.
    """

    def __init__(self, vocab: Vocab) -> None:
        self.clauses = _clause_pattern()
        self.enders = frozenset(vocab.strings.add(p) for p in _ENDERS)
        self.trailing = self.enders | frozenset(vocab.strings.add(p) for p in _CLOSERS)

    def __call__(self, doc: Doc) -> Doc:
        """Set SENT_START on the first token of every sentence, line and list clause."""
        text = doc_text(doc)
        size = len(doc)
        if size == 0:
            return doc
        table = doc.to_array([IDX, ORTH])
        starts = table[:, 0]
        orths = table[:, 1].tolist()
        values = numpy.full(size, -1, dtype=numpy.int64)
        values[0] = 1
        spaces: list[int] | None = None  # IS_SPACE per token, read when an ender is found
        for index, orth in enumerate(orths):
            if orth not in self.enders:
                continue
            if spaces is None:
                spaces = doc.to_array(IS_SPACE).tolist()
            after = index + 1
            while after < size and (orths[after] in self.trailing or spaces[after]):
                after += 1
            if after < size:
                values[after] = 1
        marks = [m.end() for m in _LINE_START.finditer(text)]
        # Lowercased ASCII keeps every offset and lets the clause pattern run case-sensitively.
        lowered = text.lower() if text.isascii() else text
        marks.extend(m.end() for m in self.clauses.finditer(lowered))
        if marks:
            wanted = numpy.asarray(marks, dtype=starts.dtype)
            positions = numpy.searchsorted(starts, wanted)
            inside = positions < size
            positions, wanted = positions[inside], wanted[inside]
            values[positions[starts[positions] == wanted]] = 1
        doc.from_array([SENT_START], values.astype(numpy.uint64))
        return doc


@Language.factory(FACTORY)
def make_boundaries(nlp: Language, name: str) -> Boundaries:
    """spaCy factory for Boundaries."""
    return Boundaries(nlp.vocab)


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink [start, end) past bullets, connectives and dangling punctuation."""
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
    if "sents" in doc.user_hooks or not doc.has_annotation("SENT_START"):
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
    for sent_start, sent_end in _sentence_bounds(doc):
        start, end = trim(text, sent_start, sent_end)
        if end > start and _HAS_WORD.search(text, start, end):
            spans.append((start, end))
            if len(spans) == MAX_SEGMENTS:
                log.info("read the first %d segments of a text of %d characters", MAX_SEGMENTS,
                         len(text))
                break
    return spans
