"""The components' fast forms find what the forms they replace find: the clause patterns split
by opener against the one clause pattern, the segments kept against the sentences spaCy reads
from the hook, and the numeric and KB shapes tried at the positions that can open one against
`finditer`, on the real corpus and on texts dense in what they look for."""

from __future__ import annotations

import re
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract import Extractor
from extract.entities import _DOTTED_DIGIT, _compiled_shapes, _expand, _shape_matches
from extract.labelled import load_labelled
from extract.lexicon import verbs
from extract.segment import (
    _STARTERS_EXTRA,
    _ascii_clause_patterns,
    _clause_pattern,
    _sentence_bounds,
    segment_spans,
    token_table,
)
from extract.sources import ticket_sources

SETTINGS = settings(max_examples=400, deadline=None, derandomize=True)
_ONE = _clause_pattern()
_SEPARATORS, _ANDS, _THENS = _ascii_clause_patterns()


@cache
def _real_texts() -> tuple[str, ...]:
    tickets = [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]
    return tuple(source.clean.text for ticket in tickets for source in ticket_sources(ticket))


def _split_ends(lowered: str) -> set[int]:
    return {m.end() for pattern in (_SEPARATORS, _ANDS, _THENS)
            for m in pattern.finditer(lowered)}


def _one_ends(lowered: str) -> set[int]:
    return {m.end() for m in _ONE.finditer(lowered)}


def test_no_starter_opens_with_a_connective() -> None:
    # what makes a match found inside another's span end where that one ends
    lexicon = verbs()
    starters = {f for f in lexicon.action_forms if not lexicon.is_base_form(f)}
    connectives = {"and", "then", "also", "&", "so", "but"}
    assert not any(s.split()[0] in connectives for s in starters | set(_STARTERS_EXTRA))


def test_split_clause_patterns_find_the_clause_starts_of_real_text() -> None:
    texts = [text.lower() for text in _real_texts() if text.isascii()]
    assert sum(bool(_one_ends(text)) for text in texts) > 100
    for text in texts:
        assert _split_ends(text) == _one_ends(text), text


_PARTS = ["cleared", "rebuilt", "tested", "still", "no luck", "and", "then", "also", "so", "but",
          "&", "+", ",", ";", "-", "--", "andthen", "hand", "then-", "x", "ok", "user confirmed",
          "stand", "a", "t", "re-set", "didn't"]


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(_PARTS), st.sampled_from([" ", "  ", "\n", "", ", "])),
                max_size=30).map(lambda parts: "".join(w + s for w, s in parts)))
def test_split_clause_patterns_find_what_the_one_pattern_finds(text: str) -> None:
    assert _split_ends(text) == _one_ends(text)


def test_kept_segments_are_the_sentences_of_real_text(extractor: Extractor) -> None:
    for text in _real_texts()[:400]:
        doc = extractor.nlp(text)
        kept = list(_sentence_bounds(doc))
        assert kept == [(sent.start_char, sent.end_char) for sent in doc.sents]
        spans = segment_spans(doc, text)
        doc.user_data.pop("fixedit_bounds", None)  # read through the hook instead
        assert spans == segment_spans(doc, text)


_SHAPE_SETS = [("HEX",), ("SMTP",), ("VERSION",), ("HEX", "SMTP", "VERSION"), ("MS_KB",),
               ("INTERNAL_KB",), ("INTERNAL_KB", "MS_KB"),
               ("SMTP", "INTERNAL_KB", "MS_KB", "VERSION"),
               ("HEX", "SMTP", "INTERNAL_KB", "MS_KB", "VERSION")]


def _found(shapes: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], str | None]]:
    return [(m.span(), m.lastgroup) for m in _shape_matches(shapes, text)]


def test_candidate_starts_find_the_numeric_and_kb_shapes_of_real_text() -> None:
    for names in _SHAPE_SETS:
        shapes = _compiled_shapes(names)
        for text in _real_texts():
            assert _found(shapes, text) == [(m.span(), m.lastgroup)
                                            for m in shapes.finditer(text)], text


_KB_WORDS = ["kb", "KB", "Kb", "kB", "KB-", "kb#", "-kb", "ab-kb", "abcdef-KB", "abcdefg-kb",
             "x1-kb", "_ab-kb", "5034441", "123456", "12", "1234", "-", "#", " ", "v1.2", "0x1f",
             "550", "5.7.1", "kbkb", "ab", "é", "K", "ok"]


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(_KB_WORDS), st.sampled_from([" ", "", "-", "#", "\n"])),
                max_size=20).map(lambda parts: "".join(w + s for w, s in parts)),
       st.sampled_from(_SHAPE_SETS))
def test_candidate_starts_find_what_finditer_finds(text: str, names: tuple[str, ...]) -> None:
    shapes = _compiled_shapes(names)
    assert _found(shapes, text) == [(m.span(), m.lastgroup) for m in shapes.finditer(text)]


@SETTINGS
@given(st.text(st.sampled_from("01.hH2 x٣"), max_size=12))
def test_dotted_digit_finds_a_digit_then_a_dot_and_digit_or_a_release_half(text: str) -> None:
    plain = re.compile(r"\d(?:\.\d|[hH][12])")
    assert (_DOTTED_DIGIT.search(text) is None) == (plain.search(text) is None)


@SETTINGS
@given(st.lists(st.sampled_from(["ab", "0x1f", "kb", "1.2", "  ", " ", "\n", "-", "é", "x."]),
                min_size=1, max_size=12).map("".join),
       st.integers(0, 40), st.integers(1, 40))
def test_expand_is_char_span_expand(extractor: Extractor, text: str, begin: int,
                                    size: int) -> None:
    begin = min(begin, len(text) - 1)
    end = min(begin + size, len(text))
    doc = extractor.nlp.make_doc(text)
    span = doc.char_span(begin, end, alignment_mode="expand")
    table = token_table(doc)
    first, stop = _expand(table[:, 0].tolist(), table, begin, end)
    assert (span.start, span.end) == (first, stop)
