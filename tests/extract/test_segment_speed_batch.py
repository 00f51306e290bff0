"""`Boundaries.mark`, which finds the segments of a whole batch of docs at once (one scan of the
joined texts per pattern, numpy over the joined token tables), keeps for every doc the segments
the per-doc form it replaced finds (kept here as `_reference_bounds`), and ``doc.sents`` reads
them: on the real corpus in batches of every size, and on generated texts dense in enders,
closers, lines and clause openers, joined in batches with texts that are empty, end in a line
break or are not ASCII."""

from __future__ import annotations

import re
import sys
from bisect import bisect_left
from functools import cache
from itertools import pairwise

import numpy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc

from connectors.sandbox.corpus import load_corpus
from extract import Extractor
from extract.labelled import load_labelled
from extract.segment import (
    _BOUNDS_KEY,
    _ENDER_IDS,
    _ENDERS,
    _LINE_START,
    _SEARCHED,
    _TRAILING,
    _TRAILING_IDS,
    FACTORY,
    Boundaries,
    _among,
    token_table,
    with_text,
)
from extract.sources import ticket_sources

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True)
_ENDER_RUN = re.compile("[.!?…。]+")


def _reference_bounds(boundaries: Boundaries, doc: Doc) -> list[tuple[int, int]]:
    """The segments of one doc as `Boundaries` found them doc by doc (before `mark`)."""
    text = doc.text
    size = len(doc)
    marks = [m.end() for m in _LINE_START.finditer(text)] if "\n" in text else []
    if text.isascii():
        lowered = text.lower()
        for pattern in (boundaries.separators, boundaries.ands, boundaries.thens):
            marks.extend(m.end() for m in pattern.finditer(lowered))
    else:
        marks.extend(m.end() for m in boundaries.clauses.finditer(text))
    starts = [token.idx for token in doc]
    lengths = [len(token) for token in doc]
    firsts = {0}
    after = 0
    for run in _ENDER_RUN.finditer(text):
        index = bisect_left(starts, run.start())
        while index < size and (start := starts[index]) < run.end():
            if index >= after and text[start:start + lengths[index]] in _ENDERS:
                after = index + 1
                while after < size and (text[start := starts[after]].isspace()
                                        or text[start:start + lengths[after]] in _TRAILING):
                    after += 1
                if after < size:
                    firsts.add(after)
            index += 1
    for mark in marks:
        index = bisect_left(starts, mark)
        if index < size and starts[index] == mark:
            firsts.add(index)
    cuts = [*sorted(firsts), size]
    return [(starts[first], starts[stop - 1] + lengths[stop - 1])
            for first, stop in pairwise(cuts)]


@cache
def _real_texts() -> tuple[str, ...]:
    tickets = [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]
    return tuple(source.clean.text for ticket in tickets for source in ticket_sources(ticket))


def _check_batch(extractor: Extractor, texts: list[str]) -> None:
    nlp = extractor.nlp
    boundaries = nlp.get_pipe(FACTORY)
    docs = [with_text(nlp.make_doc(text), text) for text in texts]
    boundaries.mark(docs)
    for doc in docs:
        if not len(doc):
            assert _BOUNDS_KEY not in doc.user_data
            assert "sents" not in doc.user_hooks
            continue
        expected = _reference_bounds(boundaries, doc)
        assert doc.user_data[_BOUNDS_KEY] == expected, doc.text
        assert [(sent.start_char, sent.end_char) for sent in doc.sents] == expected
        assert doc.has_annotation("SENT_START")
        # the spans of whole tokens, which together are every token of the doc
        assert [token.i for sent in doc.sents for token in sent] == list(range(len(doc)))


def test_batches_of_real_text_keep_the_per_doc_segments(extractor: Extractor) -> None:
    texts = list(_real_texts())
    assert any(not text.isascii() for text in texts)
    assert any(not text for text in texts)
    for size in (1, 2, 7, 64, len(texts)):
        for first in range(0, len(texts), size):
            _check_batch(extractor, texts[first:first + size])


def test_no_match_crosses_from_one_text_into_the_next(extractor: Extractor) -> None:
    # openers and lookbehinds at the edges of the texts: each text alone finds no clause here
    _check_batch(extractor, ["ok,", "- cleared it", "ran and", "then fixed", "x -",
                             "& tested", "done \n", "fixed ", "+ rebuilt", "é,", " still bad"])


def test_a_mark_inside_a_token_opens_no_segment(extractor: Extractor) -> None:
    # tokens a tokeniser other than spaCy's may make: a clause start inside one counts for none
    boundaries = extractor.nlp.get_pipe(FACTORY)
    docs = [Doc(extractor.nlp.vocab, words=words, spaces=[True] * len(words))
            for words in (["ok, cleared", "it"], ["x"], ["a\n b", "c", "ok, tested"])]
    boundaries.mark(docs)
    for doc in docs:
        assert doc.user_data[_BOUNDS_KEY] == _reference_bounds(boundaries, doc) \
            == [(0, len(doc.text) - 1)]


def test_one_doc_through_the_pipeline_keeps_the_per_doc_segments(extractor: Extractor) -> None:
    boundaries = extractor.nlp.get_pipe(FACTORY)
    for text in _real_texts()[:300]:
        doc = extractor.nlp(text)
        if len(doc):
            assert doc.user_data[_BOUNDS_KEY] == _reference_bounds(boundaries, doc)


def test_pipe_marks_every_doc(extractor: Extractor) -> None:
    nlp = extractor.nlp
    texts = list(_real_texts()[:50])
    piped = list(nlp.pipe(texts, batch_size=7))
    assert [doc.text for doc in piped] == texts
    for doc in piped:
        if len(doc):
            assert doc.user_data[_BOUNDS_KEY] == _reference_bounds(nlp.get_pipe(FACTORY), doc)


_PARTS = ["rebooted", "Dr.", "e.g.", "it", '"failed."', "works", "now", ",", ";", "and", "then",
          "still", "tested", "...", "?!", "…", "。", "!!!", "-", "&", "+", "(ok)", "1.", "*", "é",
          "so", "Cleared", "AND", "ok.)", "'", "]", "K", "İ", "\t", "fixed"]
_TEXTS = st.lists(st.tuples(st.sampled_from(_PARTS),
                            st.sampled_from([" ", "  ", "\n", "\n\n ", ". ", "", ", ", "\n "])),
                  max_size=20).map(lambda parts: "".join(w + s for w, s in parts))


@SETTINGS
@given(st.lists(_TEXTS, min_size=1, max_size=8))
def test_batches_of_generated_text_keep_the_per_doc_segments(extractor: Extractor,
                                                             texts: list[str]) -> None:
    _check_batch(extractor, texts)


def test_no_character_lowercases_into_an_ender_or_closer() -> None:
    # what lets `mark` tell enders and closers by their LOWER id
    marks = set("".join(_TRAILING))
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        lowered = char.lower()
        assert lowered == char or not set(lowered) <= marks, hex(code)


def test_ender_and_closer_ids_are_the_vocab_ids(extractor: Extractor) -> None:
    strings = extractor.nlp.vocab.strings
    assert sorted(_ENDER_IDS.tolist()) == sorted(strings[text] for text in _ENDERS)
    assert sorted(_TRAILING_IDS.tolist()) == sorted(strings[text] for text in _TRAILING)
    doc = extractor.nlp.make_doc("ok... fine!? (done.)")
    assert {int(row[2]) for row in token_table(doc)} >= {strings["..."], strings["!"]}


@SETTINGS
@given(st.lists(st.integers(0, 2**64 - 1), max_size=30),
       st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=8))
def test_among_is_isin(values: list[int], ids: list[int]) -> None:
    values_array = numpy.array(values + sorted(ids)[:1], dtype=numpy.uint64)
    ids_array = numpy.array(sorted(set(ids)), dtype=numpy.uint64)
    assert _among(values_array, ids_array).tolist() == \
        numpy.isin(values_array, ids_array).tolist()


def test_among_is_isin_on_a_batch() -> None:
    ids = _TRAILING_IDS
    values = numpy.resize(numpy.concatenate((ids, ids + 1, ids - 1)), _SEARCHED * 3)
    for size in (_SEARCHED - 1, _SEARCHED, _SEARCHED + 1, len(values)):
        assert _among(values[:size], ids).tolist() == numpy.isin(values[:size], ids).tolist()
        assert _among(values[:size], ids).any()
