"""The entity tagger's cheaper gates and single product matcher find what the forms they replaced
found: the tagger as it was (a LOWER and an ORTH `PhraseMatcher`, the second run where a scan
for the cased aliases' first words hit; every shape literal looked for in every text; one
`_DOTTED_DIGIT` search) is kept here and compared on the real texts and on generated ones.
"""

from __future__ import annotations

import re
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from connectors.sandbox.corpus import load_corpus
from extract import Extractor, redact_ticket
from extract.entities import (
    _ALL_SHAPES,
    _ANY_DIGIT,
    _BUGCHECK_HINT,
    _DOTTED_DIGIT,
    _KB_NUMBER,
    _LABELS,
    _PATTERNS,
    _SHAPE_HINT,
    PRODUCT,
    EntityTagger,
    TokenPatterns,
    _compiled_shapes,
    _dotted,
    _expand,
    _Found,
    _non_overlapping,
    _normalise,
    _products,
    _shape_matches,
    _shapes,
)
from extract.labelled import load_labelled
from extract.segment import doc_text, token_table
from extract.sources import ticket_sources

SETTINGS = settings(max_examples=400, deadline=None, derandomize=True)


def _old_shapes(text: str, lower: str, digit: bool) -> re.Pattern[str] | None:
    """`_shapes` as it was: every literal looked for in every ASCII text."""
    if not text.isascii():
        return _compiled_shapes(_ALL_SHAPES) if _SHAPE_HINT.search(text) else None
    wanted: list[str] = []
    if "0x" in lower:
        wanted.append("HEX")
    if "aadsts" in lower or "ora-" in lower or "caa" in lower or "ERR_" in text:
        wanted.append("VENDOR")
    if "_" in text and _BUGCHECK_HINT.search(text) is not None:
        wanted.append("BUGCHECK")
    dotted = digit and _DOTTED_DIGIT.search(text) is not None
    if dotted:
        wanted.append("SMTP")
    if digit and "kb" in lower and _KB_NUMBER.search(lower) is not None:
        wanted += ("INTERNAL_KB", "MS_KB")
    if "://" in text:
        wanted.append("KB_URL")
    if dotted:
        wanted.append("VERSION")
    return _compiled_shapes(tuple(wanted)) if wanted else None


class _OldTagger:
    """`EntityTagger` as it was: two product matchers, the cased one behind a regex hint."""

    def __init__(self, extractor: Extractor) -> None:
        nlp = extractor.nlp
        self.patterns = TokenPatterns(nlp.vocab, _PATTERNS)
        self.aliases = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.cased = PhraseMatcher(nlp.vocab, attr="ORTH")
        cased_firsts: set[str] = set()
        for product in _products():
            aliases = [nlp.make_doc(alias) for alias in product.get("aliases", [])]
            cased = [nlp.make_doc(alias) for alias in product.get("cased", [])]
            if aliases:
                self.aliases.add(product["name"], aliases)
            if cased:
                self.cased.add(product["name"], cased)
                cased_firsts.update(alias[0].text for alias in cased if len(alias))
        self.cased_hint = re.compile("|".join(map(re.escape, sorted(cased_firsts))))

    def __call__(self, doc: Doc) -> list[tuple[str, str, int, int]]:
        strings = doc.vocab.strings
        found: list[_Found] = []
        text = doc_text(doc)
        lower = text.lower()
        digit = _ANY_DIGIT.search(text) is not None
        table = token_table(doc)
        item = table.item
        if digit and len(doc):
            for key, start, end in self.patterns.find(text, table):
                first, last = item(start, 0), item(end - 1, 0)
                stop_char = last + item(end - 1, 1)
                value = _normalise(key, text[first:stop_char], text[first:first + item(start, 1)],
                                   text[last:stop_char])
                if value is not None:
                    found.append((start, end, _LABELS[key], value, first, stop_char))
        shapes = _old_shapes(text, lower, digit)
        starts: list[int] | None = None
        for match in _shape_matches(shapes, text) if shapes is not None else ():
            key = match.lastgroup or ""
            shape = match.group().rstrip(".,;:") if key == "KB_URL" else match.group()
            value = _normalise(key, shape, shape, shape)
            if value is None:
                continue
            if starts is None:
                starts = table[:, 0].tolist()
            first, stop = _expand(starts, table, match.start(), match.start() + len(shape))
            if stop > first:
                found.append((first, stop, _LABELS[key], value, starts[first],
                              starts[stop - 1] + item(stop - 1, 1)))
        matchers = (self.aliases, self.cased) if self.cased_hint.search(text) \
            else (self.aliases,)
        for matcher in matchers:
            for match_id, start, end in matcher(doc):
                found.append((start, end, PRODUCT, strings[match_id], item(start, 0),
                              item(end - 1, 0) + item(end - 1, 1)))
        return _non_overlapping(found) if found else []


@pytest.fixture(scope="module")
def taggers(extractor: Extractor) -> tuple[EntityTagger, _OldTagger]:
    tagger = next(c for _, c in extractor.nlp.pipeline if isinstance(c, EntityTagger))
    return tagger, _OldTagger(extractor)


def _entities(extractor: Extractor, tagger: EntityTagger, text: str) -> list[object]:
    doc = extractor.nlp.make_doc(text)
    return tagger(doc).user_data["fixedit_entities"]


@cache
def _real_texts() -> tuple[str, ...]:
    tickets = [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]
    tickets += [redact_ticket(ticket)[0] for ticket in tickets]
    return tuple(source.clean.text for ticket in tickets for source in ticket_sources(ticket))


def test_the_tagger_finds_what_it_found_on_real_text(
        extractor: Extractor, taggers: tuple[EntityTagger, _OldTagger]) -> None:
    tagger, old = taggers
    texts = _real_texts()
    found = [_entities(extractor, tagger, text) for text in texts]
    assert sum(any(e[0] == PRODUCT for e in f) for f in found) > 300
    for text, entities in zip(texts, found, strict=True):
        assert entities == old(extractor.nlp.make_doc(text)), text


def _cased_words() -> list[str]:
    words = [alias for product in _products() for alias in product.get("cased", [])]
    return words + [word.lower() for word in words] + [word.upper() for word in words]


# Product aliases in every case, cased ones among them, the shapes' literals and digits.
_WORDS = [
    *_cased_words(), "outlook", "Outlook", "microsoft outlook", "teams", "new teams", "Exchange",
    "exchange online", "Exchange Online", "MS Word", "word", "edge", "Edge", "AD", "ad", "HP",
    "Surface Pro", "0x80070005", "0X1F", "AADSTS50126", "ora-12154", "CAAF0001", "ERR_TIMED_OUT",
    "CRITICAL_PROCESS_DIED", "include:_spf", "550 5.7.1", "6.2.1", "v1.2", "22H2", "21h1",
    "h1", "H2", "2h1", "KB5034441", "kb-1234", "kb #12", "https://support.microsoft.com/kb/123456",
    "version", "event id 4625", "HTTP 503", "error code 1603", "1", "12", "٣", "é", "x",
]
_SEPARATORS = [" ", " ", "  ", "\n", "", ", ", ".", "-", ":", "_"]
texts = st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from(_SEPARATORS)),
                 max_size=20).map(lambda parts: "".join(w + s for w, s in parts))


@SETTINGS
@given(texts)
def test_the_tagger_finds_what_it_found_on_dense_text(
        extractor: Extractor, taggers: tuple[EntityTagger, _OldTagger], text: str) -> None:
    tagger, old = taggers

    assert _entities(extractor, tagger, text) == old(extractor.nlp.make_doc(text))


def _shape_names(text: str) -> tuple[str, ...] | None:
    digit = _ANY_DIGIT.search(text) is not None
    shapes = _shapes(text, text.lower(), digit)
    return None if shapes is None else tuple(shapes.groupindex)


def _old_shape_names(text: str) -> tuple[str, ...] | None:
    digit = _ANY_DIGIT.search(text) is not None
    shapes = _old_shapes(text, text.lower(), digit)
    return None if shapes is None else tuple(shapes.groupindex)


def test_shapes_are_chosen_as_before_on_real_text() -> None:
    texts = _real_texts()
    assert sum(_shape_names(text) is not None for text in texts) > 100
    assert [_shape_names(text) for text in texts] == [_old_shape_names(text) for text in texts]


@SETTINGS
@given(texts)
def test_shapes_are_chosen_as_before_on_dense_text(text: str) -> None:
    assert _shape_names(text) == _old_shape_names(text)


@SETTINGS
@given(st.text(st.sampled_from("01.hH2 x٣ǰ"), max_size=12))
def test_dotted_is_a_dotted_digit_search(text: str) -> None:
    assert _dotted(text, text.lower()) == (_DOTTED_DIGIT.search(text) is not None)


def test_dotted_is_a_dotted_digit_search_on_real_text() -> None:
    texts = _real_texts()
    assert sum(_dotted(text, text.lower()) for text in texts) > 100
    for text in texts:
        assert _dotted(text, text.lower()) == (_DOTTED_DIGIT.search(text) is not None), text


def _old_non_overlapping(found: list[_Found]) -> list[tuple[str, str, int, int]]:
    """`_non_overlapping` as it was: always the rule's sort, then text order."""
    if len(found) > 1:
        found = sorted(found, key=lambda f: (f[1] - f[0], -f[0]), reverse=True)
        kept: list[_Found] = []
        taken: set[int] = set()
        for entity in found:
            if entity[0] not in taken and entity[1] - 1 not in taken:
                kept.append(entity)
                taken.update(range(entity[0], entity[1]))
        found = sorted(kept, key=lambda f: f[0])
    return [(label, value, start, end) for _, _, label, value, start, end in found]


# Entities on a short doc: token start and size, and a value telling equal spans apart.
_spans = st.lists(st.tuples(st.integers(0, 8), st.integers(1, 4), st.sampled_from("abc")),
                  max_size=6).map(lambda spans: [(start, start + size, "L", value, start, size)
                                                 for start, size, value in spans])


@SETTINGS
@given(_spans)
def test_non_overlapping_keeps_what_the_rule_keeps(found: list[_Found]) -> None:
    assert _non_overlapping(list(found)) == _old_non_overlapping(list(found))
