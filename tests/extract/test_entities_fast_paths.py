"""The entity and segment fast paths find exactly what the general tools they replace find.

`TokenPatterns` stands in for spaCy's `Matcher`, the word-start scan for `finditer` of the
numeric shapes, `trim`'s character tests for its patterns, and the segments Boundaries keeps for
the doc's sentences: each is checked here against the general tool on texts dense in what they
look for.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.matcher import Matcher

from extract import Extractor
from extract.entities import (
    _PATTERNS,
    _SHAPE_PARTS,
    TokenPatterns,
    _compiled_shapes,
    _shape_matches,
)
from extract.segment import _sentence_bounds, _trim_by_patterns, segment_spans, trim

SETTINGS = settings(max_examples=400, deadline=None, derandomize=True)

# Pattern words, numbers of every length the patterns test, separators, noise and spacing.
_WORDS = [
    "event", "Event", "EVT", "evt", "eventid", "eid", "id", "ids", "#", ":", "=", "-", ".",
    "http", "HTTPS", "http/1.1", "http/2", "error", "err", "code", "status", "kb", "KB",
    "article", "version", "ver", "v", "V", "build", "release", "400", "404", "503", "502",
    "not", "found", "bad", "gateway", "service", "unavailable", "12", "4625", "-1603",
    "1234567", "19045", "19045.1234", "1.2", "v1.2.3", "10.0.19045.1", "2.0a", "x", "the",
    "0x80070005", "550", "5.7.1", "22H2", "21h1", "1.2.3.4", "12.05.2024", "vv1.2",
]
_SEPARATORS = [" ", " ", " ", "  ", "\n", "", ", ", ".", "-", ":"]
texts = st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from(_SEPARATORS)),
                 max_size=30).map(lambda parts: "".join(w + s for w, s in parts))


@SETTINGS
@given(texts)
def test_token_patterns_match_what_the_matcher_matches(extractor: Extractor, text: str) -> None:
    nlp = extractor.nlp
    matcher = Matcher(nlp.vocab)
    for key, patterns in _PATTERNS.items():
        matcher.add(key, patterns)
    doc = nlp.make_doc(text)
    expected = {(nlp.vocab.strings[key], start, end) for key, start, end in matcher(doc)}

    assert TokenPatterns(nlp.vocab, _PATTERNS)(doc) == expected


@SETTINGS
@given(texts, st.sets(st.sampled_from(["HEX", "SMTP", "VERSION"]), min_size=1))
def test_numeric_shapes_are_found_as_finditer_finds_them(text: str, names: set[str]) -> None:
    shapes = _compiled_shapes(tuple(name for name, _ in _SHAPE_PARTS if name in names))

    found = [(m.span(), m.lastgroup) for m in _shape_matches(shapes, text)]

    assert found == [(m.span(), m.lastgroup) for m in shapes.finditer(text)]


@SETTINGS
@given(st.lists(st.sampled_from([*"aAbdnotTsSpPxK1 \n\t.,;:-+&()[]?!'\"*•_\x1cſ",
                                 "and", "then", "so", "but", "also", "plus", "1."]),
                max_size=40).map("".join),
       st.integers(0, 40), st.integers(0, 40))
def test_trim_matches_its_patterns(text: str, start: int, end: int) -> None:
    start, end = min(start, len(text)), min(max(start, end), len(text))

    assert trim(text, start, end) == _trim_by_patterns(text, start, end)
    assert trim(text, 0, len(text)) == _trim_by_patterns(text, 0, len(text))


_SENTENCE_PARTS = ["rebooted", "Dr.", "it", "says", '"failed."', "works", "now", ",", ";", "and",
                   "then", "still", "tested", "...", "?!", "-", "&", "(ok)", "1.", "*", "é", "so"]


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(_SENTENCE_PARTS),
                          st.sampled_from([" ", " ", "  ", "\n", "\n\n ", ". ", ""])),
                max_size=30).map(lambda parts: "".join(w + s for w, s in parts)))
def test_kept_segments_are_the_doc_sentences(extractor: Extractor, text: str) -> None:
    doc = extractor.nlp(text)
    kept, kept_spans = list(_sentence_bounds(doc)), segment_spans(doc, text)
    doc.user_data.pop("fixedit_bounds", None)  # read SENT_START from the arrays instead

    assert kept == list(_sentence_bounds(doc))
    assert kept == ([(sent.start_char, sent.end_char) for sent in doc.sents] if len(doc) else [])
    assert kept_spans == segment_spans(doc, text)
