"""The entity tagger marks a batch of docs at once (`EntityTagger.mark`): its batch gates, its
product alias trie, its token patterns from known places and its fast `Mention` builder find
what the per-doc tagger they replaced found. That tagger, and `mentions` as it built its
records, are kept here as the reference, and compared on the real texts (in the extractor's
batches and alone) and on generated ones dense in what the gates look for.
"""

from __future__ import annotations

import re
from functools import cache

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc

from connectors.sandbox.corpus import load_corpus
from extract import Extractor, redact_ticket
from extract.entities import (
    _ANY_DIGIT,
    _ASCII_DIGIT,
    _ASCII_NUMERIC_START,
    _LABELS,
    _MODEL_CATEGORIES,
    _NUMERIC_START,
    _VERSION_GAP,
    PRODUCT,
    VERSION,
    EntityTagger,
    Mention,
    TokenPatterns,
    _expand,
    _Found,
    _non_overlapping,
    _normalise,
    _products,
    _shape_matches,
    _shaped_docs,
    _shapes,
    mentions,
    product_categories,
)
from extract.entities import _MODEL as MODEL
from extract.labelled import load_labelled
from extract.segment import doc_text, token_table, with_text
from extract.sources import ticket_sources

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True)


def _old_find(patterns: TokenPatterns, text: str,
              table: numpy.ndarray) -> set[tuple[str, int, int]]:
    """`TokenPatterns.find` as it was: the doc's LOWER ids read as Python ints, the patterns
    stepped through from every token that opens one."""
    found: set[tuple[str, int, int]] = set()
    lowers: list[int] = table[:, 2].tolist()
    if patterns.first.keys().isdisjoint(lowers):
        return found
    size = len(lowers)
    starts: list[int] = table[:, 0].tolist()
    lengths: list[int] = table[:, 1].tolist()
    for start, lower in enumerate(lowers):
        for key, steps in patterns.first.get(lower, ()):
            ends = {start}
            for test, reads_lower, op in steps:
                reached: set[int] = set()
                for end in ends:
                    if op != "1":
                        reached.add(end)
                    while end < size:
                        value = text[starts[end]:starts[end] + lengths[end]]
                        if not test(value.lower() if reads_lower else value):
                            break
                        end += 1
                        reached.add(end)
                        if op != "*":
                            break
                ends = reached
                if not ends:
                    break
            found.update((key, start, end) for end in ends)
    return found


def _old_tag(tagger: EntityTagger, doc: Doc) -> list[tuple[str, str, int, int]]:
    """`EntityTagger.__call__` as it was: every finder on every doc, the products by the
    `PhraseMatcher`."""
    found: list[_Found] = []
    text = doc_text(doc)
    lower = text.lower()
    digit = (_ASCII_DIGIT if text.isascii() else _ANY_DIGIT).search(text) is not None
    table = token_table(doc)
    item = table.item
    if digit and len(doc):
        for key, start, end in _old_find(tagger.patterns, text, table):
            first, last = item(start, 0), item(end - 1, 0)
            stop_char = last + item(end - 1, 1)
            value = _normalise(key, text[first:stop_char], text[first:first + item(start, 1)],
                               text[last:stop_char])
            if value is not None:
                found.append((start, end, _LABELS[key], value, first, stop_char))
    shapes = _shapes(text, lower, digit)
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
    cased: list[_Found] = []
    for match_id, start, end in tagger.products(doc):
        stop_char = item(end - 1, 0) + item(end - 1, 1)
        name = tagger.names.get(match_id)
        if name is not None:
            found.append((start, end, PRODUCT, name, item(start, 0), stop_char))
            continue
        name, forms = tagger.cased[match_id]
        if tuple(text[item(i, 0):item(i, 0) + item(i, 1)] for i in range(start, end)) in forms:
            cased.append((start, end, PRODUCT, name, item(start, 0), stop_char))
    found += cased
    return _non_overlapping(found) if found else []


def _old_mentions(doc: Doc) -> list[Mention]:
    """`mentions` as it was: each record built by `Mention(...)`."""
    spans = doc.user_data.get("fixedit_entities")
    if not spans:
        return []
    text = doc_text(doc)
    found: list[Mention] = []
    consumed = 0
    for index, (label, value, start, end) in enumerate(spans):
        if start < consumed or label == VERSION:
            continue
        if label == PRODUCT and index + 1 < len(spans):
            next_label, next_value, next_start, next_end = spans[index + 1]
            if next_label == VERSION and _VERSION_GAP.fullmatch(text, end, next_start):
                found.append(Mention(PRODUCT, f"{value} {next_value}", start, next_end, value))
                consumed = next_end
                continue
        model = None
        if label == PRODUCT and product_categories().get(value) in _MODEL_CATEGORIES:
            match = MODEL.match(text, end)
            model = match.group("model") if match else None
        if model is not None:
            consumed = text.index(model, end) + len(model)
            found.append(Mention(PRODUCT, f"{value} {model}", start, consumed, value))
            continue
        found.append(Mention(label, value, start, end, value if label == PRODUCT else None))
    return found


@pytest.fixture(scope="module")
def tagger(extractor: Extractor) -> EntityTagger:
    return next(c for _, c in extractor.nlp.pipeline if isinstance(c, EntityTagger))


@cache
def _real_tickets() -> tuple[tuple[str, ...], ...]:
    tickets = [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]
    tickets += [redact_ticket(ticket)[0] for ticket in tickets]
    return tuple(tuple(source.clean.text for source in ticket_sources(ticket))
                 for ticket in tickets)


def _docs(extractor: Extractor, texts: list[str]) -> list[Doc]:
    """Docs of `texts` with their segments marked, as the extractor has them."""
    docs = [with_text(extractor.nlp.make_doc(text), text) for text in texts]
    extractor.nlp.pipeline[0][1].mark(docs)
    return docs


def _check(extractor: Extractor, tagger: EntityTagger, texts: list[str]) -> int:
    """Mark `texts` as one batch and compare each doc with the old tagger and old mentions;
    the number of entities found."""
    docs = _docs(extractor, texts)
    tagger.mark(docs)
    count = 0
    for doc, text in zip(docs, texts, strict=True):
        entities = doc.user_data["fixedit_entities"]
        assert entities == _old_tag(tagger, doc), text
        found = mentions(doc)
        assert found == _old_mentions(doc), text
        assert [repr(m) for m in found] == [repr(m) for m in _old_mentions(doc)]
        count += len(entities)
    return count


def test_a_batch_of_real_texts_is_tagged_as_each_text_was(
        extractor: Extractor, tagger: EntityTagger) -> None:
    tickets = _real_tickets()
    count = 0
    for at in range(0, len(tickets), 64):  # batches of 64 tickets, as the extractor reads them
        count += _check(extractor, tagger, [text for ticket in tickets[at:at + 64]
                                            for text in ticket])
    assert count > 1000


def test_a_real_text_alone_is_tagged_as_it_was(
        extractor: Extractor, tagger: EntityTagger) -> None:
    for ticket in _real_tickets()[:200]:
        for text in ticket:
            _check(extractor, tagger, [text])


def test_the_alias_trie_finds_what_the_phrase_matcher_finds(
        extractor: Extractor, tagger: EntityTagger) -> None:
    texts = [text for ticket in _real_tickets() for text in ticket]
    docs = [doc for doc in _docs(extractor, texts) if len(doc)]
    tables = [token_table(doc) for doc in docs]
    opens = numpy.zeros(len(docs) + 1, dtype=numpy.int64)
    numpy.cumsum([len(table) for table in tables], out=opens[1:])
    found = tagger.aliases.find(numpy.concatenate(tables)[:, 2], opens)
    assert sum(map(len, found.values())) > 1000
    for index, doc in enumerate(docs):
        assert found.get(index, []) == tagger.products(doc), doc.text


def test_token_patterns_from_known_places_find_what_they_found(
        extractor: Extractor, tagger: EntityTagger) -> None:
    texts = [text for ticket in _real_tickets() for text in ticket]
    count = 0
    for doc in _docs(extractor, texts):
        text, table = doc_text(doc), token_table(doc)
        found = tagger.patterns.find(text, table)
        assert found == _old_find(tagger.patterns, text, table), text
        count += len(found)
    assert count > 100


def test_every_text_with_a_shape_is_let_through_by_the_shape_gate() -> None:
    texts = [text for ticket in _real_tickets() for text in ticket]
    shaped = _shaped_docs(texts)
    wanted = {index for index, text in enumerate(texts)
              if _shapes(text, text.lower(), _ANY_DIGIT.search(text) is not None) is not None}
    assert len(wanted) > 100
    assert wanted <= shaped
    assert len(shaped) < 2 * len(wanted)  # a gate, not a pass for all


def _alias_words() -> list[str]:
    words = [alias for product in _products()[:60]
             for alias in [*product.get("aliases", []), *product.get("cased", [])]]
    return words + [word.upper() for word in words[:40]]


# Product aliases and their parts, pattern openers, shape literals (and their bigrams alone),
# digits, text that is not ASCII.
_WORDS = [
    *_alias_words(), "on", "it", "new", "office", "microsoft", "outlook", "Outlook", "teams",
    "Edge", "edge", "AD", "Surface Pro", "event id 4625", "HTTP 503", "error code 1603", "kb",
    "version", "build 19045", "v", "0x80070005", "0X1F", "0x", "AADSTS50126", "aa", "a-",
    "ora-12154", "CAAF0001", "ERR_TIMED_OUT", "CRITICAL_PROCESS_DIED", "include:_spf",
    "550 5.7.1", "6.2.1", "22H2", "h1", "KB5034441", "kb-1234", "https://support.microsoft.com/kb/123456",
    ":/", "1", "12", "٣", "é", "ſ", "\u212a", "x", "the",
]
_SEPARATORS = [" ", " ", "  ", "\n", "", ", ", ".", "-", ":", "_"]
_texts = st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from(_SEPARATORS)),
                  max_size=16).map(lambda parts: "".join(w + s for w, s in parts))


@SETTINGS
@given(st.lists(_texts, min_size=1, max_size=6))
def test_a_batch_of_dense_texts_is_tagged_as_each_text_was(
        extractor: Extractor, tagger: EntityTagger, texts: list[str]) -> None:
    _check(extractor, tagger, texts)


@SETTINGS
@given(st.lists(_texts, min_size=1, max_size=6))
def test_the_shape_gate_lets_every_shape_through(texts: list[str]) -> None:
    shaped = _shaped_docs(texts)
    for index, text in enumerate(texts):
        if _shapes(text, text.lower(), _ANY_DIGIT.search(text) is not None) is not None:
            assert index in shaped, text


def _starts(pattern: re.Pattern[str], text: str) -> list[int]:
    return [match.start() for match in pattern.finditer(text)]


def test_ascii_numeric_starts_are_the_numeric_starts_on_real_text() -> None:
    texts = [text for ticket in _real_tickets() for text in ticket if text.isascii()]
    assert sum(len(_starts(_NUMERIC_START, text)) for text in texts) > 1000
    for text in texts:
        assert _starts(_ASCII_NUMERIC_START, text) == _starts(_NUMERIC_START, text), text


@SETTINGS
@given(st.text(st.sampled_from("0123456789vVxXhH. _-aZ\n"), max_size=24))
def test_ascii_numeric_starts_are_the_numeric_starts(text: str) -> None:
    assert _starts(_ASCII_NUMERIC_START, text) == _starts(_NUMERIC_START, text)
