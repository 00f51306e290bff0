"""`Boundaries.mark` trims the segments of a whole batch at once (`_trim_all`: numpy lookups
on each segment's first and last characters, `trim` for the rest), and `segment_spans` hands
back what it kept: the same spans the per-doc loop it replaced finds (kept here as
`_reference_spans`), on the real corpus in batches of several sizes, on generated texts dense
in bullets, connectives, their tails, punctuation runs and case folds, and on arbitrary pieces
of such texts; the lookup tables agree with the patterns they stand for."""

from __future__ import annotations

from functools import cache

import numpy
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract import Extractor
from extract.analysis import Analysis, analyse_many
from extract.labelled import load_labelled
from extract.segment import (
    _BOUNDS_KEY,
    _CONNECTIVE_TAIL,
    _HAS_WORD,
    _LEFT_PLAIN,
    _TRIM_LEFT,
    _TRIM_RIGHT,
    _WORD_CHARS,
    FACTORY,
    MAX_SEGMENTS,
    _trim_all,
    _trim_by_patterns,
    segment_spans,
    trim,
    with_text,
)
from extract.sources import ticket_sources

SETTINGS = settings(max_examples=400, deadline=None, derandomize=True)


def _reference_spans(doc, text: str) -> list[tuple[int, int]]:
    """`segment_spans` as it was: `trim` and the word test per segment of the doc's bounds."""
    spans: list[tuple[int, int]] = []
    for sent_start, sent_end in doc.user_data.get(_BOUNDS_KEY, ()):
        start, end = trim(text, sent_start, sent_end)
        if end > start and (text[start] in _WORD_CHARS or _HAS_WORD.search(text, start, end)):
            spans.append((start, end))
            if len(spans) == MAX_SEGMENTS:
                break
    return spans


@cache
def _real_texts() -> tuple[str, ...]:
    tickets = [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]
    return tuple(source.clean.text for ticket in tickets for source in ticket_sources(ticket))


def _check_batch(extractor: Extractor, texts: list[str]) -> None:
    nlp = extractor.nlp
    docs = [with_text(nlp.make_doc(text), text) for text in texts]
    tokens = nlp.get_pipe(FACTORY).mark(docs)
    read = [(doc, text) for doc, text in zip(docs, texts, strict=True) if len(doc)]
    if tokens is None:
        assert not read
        return
    assert len(tokens.docs) == len(read)
    assert all(mine is doc for mine, (doc, _) in zip(tokens.docs, read, strict=True))
    assert len(tokens.owned) == len(read) + 1 and tokens.owned[-1] == len(tokens.spans)
    for k, (doc, text) in enumerate(read):
        spans = tokens.spans[tokens.owned[k]:tokens.owned[k + 1]]
        assert spans == _reference_spans(doc, text) == segment_spans(doc, text), text


def test_batches_of_real_text_keep_the_per_segment_trims(extractor: Extractor) -> None:
    texts = list(_real_texts())
    for size in (1, 5, 64, len(texts)):
        for first in range(0, len(texts), size):
            _check_batch(extractor, texts[first:first + size])


_PARTS = ["rebooted", "and", "AND", "then", "tHen", "also", "but", "so", "So", "plus", "&", "+",
          "nd", "en", "ut", "hand", "_so", "ſo", "é", "Kand", "İ", "- ", "* ", "• ", "1. ", "12)",
          "...", ",", ";", ":", "-", "–", "(", "[", ")", "]", "?", "!", "x", "7", "ok.", "e.g.",
          "fixed", "tested", "still", "Cleared", "(ok)", '"', "'", "\t", "\n", "  ", " "]
_TEXTS = st.lists(st.sampled_from(_PARTS), max_size=25).map(" ".join)


@SETTINGS
@given(st.lists(_TEXTS, min_size=1, max_size=6))
def test_generated_batches_keep_the_per_segment_trims(extractor: Extractor,
                                                      texts: list[str]) -> None:
    _check_batch(extractor, texts)


def test_a_batch_reads_at_most_max_segments_of_each_doc(extractor: Extractor) -> None:
    many = "rebooted\n" * (MAX_SEGMENTS + 50)
    exactly = "- fixed\n" * MAX_SEGMENTS
    _check_batch(extractor, ["ok, tested", many, "", "still bad", exactly, many, "x"])


def test_analyse_many_reads_the_batch_as_doc_by_doc(extractor: Extractor) -> None:
    tickets = [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]
    for first in range(0, len(tickets), 97):
        sources = [ticket_sources(ticket) for ticket in tickets[first:first + 97]]
        docs, tokens = extractor._docs_and_tokens(sources)
        assert tokens is not None
        batch = analyse_many(sources, docs, tokens)
        alone = analyse_many(sources, docs)
        assert [_summary(analysis) for analysis in batch] == \
            [_summary(analysis) for analysis in alone]


def _summary(analysis: Analysis) -> tuple:
    return ([(s.start, s.end, sorted(s.roles), s.words.tolist()) for s in analysis.segments],
            [w.tolist() for w in analysis.words])


@SETTINGS
@given(st.lists(_TEXTS, min_size=1, max_size=4).map("\x00".join), st.data())
def test_trim_all_trims_as_trim_does(text: str, data: st.DataObject) -> None:
    if not text:
        return
    pieces = data.draw(st.lists(st.tuples(st.integers(0, len(text) - 1),
                                          st.integers(1, len(text))), min_size=1, max_size=20))
    pieces = [(start, max(end, start + 1)) for start, end in pieces
              if max(end, start + 1) <= len(text)]
    if not pieces:
        return
    starts = numpy.array([start for start, _ in pieces], dtype=numpy.int64)
    ends = numpy.array([end for _, end in pieces], dtype=numpy.int64)
    # each character past ASCII blanked alone (`mark` blanks whole texts holding one)
    folded = "".join(char.lower() if char.isascii() else "\x00" for char in text)
    firsts, stops, keep = _trim_all(text, folded, starts, ends)
    for (start, end), first, stop, kept in zip(pieces, firsts.tolist(), stops.tolist(),
                                                keep.tolist(), strict=True):
        expected = _trim_by_patterns(text, start, end)
        assert trim(text, start, end) == expected
        wanted = expected[1] > expected[0] and _HAS_WORD.search(text, *expected) is not None
        assert kept == wanted, (text[start:end], expected)
        if kept:
            assert (first, stop) == expected, text[start:end]


def test_left_pairs_say_plain_only_where_the_left_pattern_cannot_match() -> None:
    said = set()
    for f in range(128):
        for g in range(128):
            if not _LEFT_PLAIN[f, g]:
                continue
            said.add(f)
            # a piece of the one character f (either case), or opening with f and g
            firsts = [chr(f), chr(f).upper()]
            assert all(_TRIM_LEFT.match(first) is None for first in firsts)
            seconds = [chr(g), chr(g).upper()] if g else ["é", "ſ", "K", "İ"]
            for second in (first + second for first in firsts for second in seconds):
                for rest in ("", " ", "d", "so", "o ", "nd", "lso", "en", "ut", "lus", ".", ")"):
                    assert _TRIM_LEFT.match(second + rest) is None, repr(second + rest)
    assert ord("r") in said and ord("s") in said


def test_connective_tails_say_no_only_where_no_connective_ends() -> None:
    for p in range(128):
        for q in range(128):
            if _CONNECTIVE_TAIL[p, q]:
                continue
            for before, tail in ((before, tail) for before in ("", " ", "a", "th", "al", "b", "x ")
                                 for tail in (chr(p) + chr(q), (chr(p) + chr(q)).upper())):
                piece = before + tail
                match = _TRIM_RIGHT.search(piece)
                # a match, if any, is a run of stripped characters: no connective at the end
                assert match is None or not any(
                    piece[match.start():].lower().endswith(word)
                    for word in ("and", "then", "also", "but", "so")), repr(piece)
