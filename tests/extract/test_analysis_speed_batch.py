"""`analyse_many` against the per-ticket, per-doc form it replaced: the same segments, roles,
links, mentions and word ids, on the real corpus and on generated texts (space tokens, empty
texts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc

from connectors.sandbox.corpus import load_corpus
from extract import Extractor
from extract.analysis import _FIRST_PERSON, Analysis, SourceMention, analyse_many
from extract.entities import mentions
from extract.features import doc_words
from extract.labelled import load_labelled
from extract.roles import Classification, Context, Role, classify, label_length
from extract.segment import segment_spans
from extract.sources import Source, ticket_sources
from records import Ticket

_CUSTOMER_SIDE = (Context.TITLE, Context.DESCRIPTION, Context.CUSTOMER)


@cache
def _tickets() -> tuple[Ticket, ...]:
    return (*load_corpus(), *(item.ticket for item in load_labelled().tickets))


@dataclass
class _Row:
    source: Source
    start: int
    end: int
    classification: Classification
    roles: set[Role]
    words: list[int]
    linked: list[int] = field(default_factory=list)


def _reference(sources: list[Source], docs: list[Doc]) -> list[tuple[object, ...]]:
    """What `analyse` read before `analyse_many` (a searchsorted per doc, a set of roles per
    segment, every rule over every segment), as comparable rows."""
    rows: list[_Row] = []
    for source, doc in zip(sources, docs, strict=True):
        text = source.clean.text
        ids, starts = doc_words(doc)
        for start, end in segment_spans(doc, text):
            piece = text[start:end]
            classification = classify(piece, context=source.context)
            begin = start + label_length(piece)
            low, high = numpy.searchsorted(starts, [begin, end]).tolist()
            rows.append(_Row(source, begin, end, classification, set(classification.roles),
                             ids[low:high].tolist()))
    described = [r for r in rows if r.source.context is Context.DESCRIPTION]
    acting = [r for r in described if Role.ACTION in r.roles]
    if acting and (len(acting) < 2 or any(_FIRST_PERSON.search(r.source.clean.text[r.start:r.end])
                                          for r in described)):
        for row in acting:
            row.roles -= {Role.ACTION, Role.VERIFICATION}
            row.roles = row.roles or {Role.OTHER}
    last: _Row | None = None
    for index, row in enumerate(rows):
        if row.classification.followup:
            if last is not None:
                last.roles = (last.roles - {Role.ACTION, Role.VERIFICATION}) | {Role.FAILED}
                last.linked.append(index)
                row.roles = {Role.OTHER}
            elif row.source.context in _CUSTOMER_SIDE:
                row.roles = {Role.SYMPTOM}
            else:
                row.roles = {Role.OTHER}
            continue
        if Role.ACTION in row.roles and Role.VERIFICATION not in row.roles:
            last = row
        elif Role.VERIFICATION in row.roles or Role.CLOSURE in row.roles:
            last = None
    return [(id(r.source), r.start, r.end, r.classification, r.roles, r.linked, r.words)
            for r in rows]


def _rows(analysis: Analysis) -> list[tuple[object, ...]]:
    index = {id(s): n for n, s in enumerate(analysis.segments)}
    return [(id(s.source), s.start, s.end, s.classification, set(s.roles),
             [index[id(linked)] for linked in s.linked], s.words.tolist())
            for s in analysis.segments]


def _docs(extractor: Extractor, sources: list[Source]) -> list[Doc]:
    return [extractor.nlp(extractor.nlp.make_doc(s.clean.text)) for s in sources]


def _check(analysis: Analysis, sources: list[Source], docs: list[Doc]) -> None:
    assert analysis.sources is sources
    assert _rows(analysis) == _reference(sources, docs)
    assert [w.tolist() for w in analysis.words] == [doc_words(d)[0].tolist() for d in docs]
    assert all(w.dtype == numpy.uint64 for w in analysis.words)
    assert analysis.mentions == [SourceMention(s, m) for s, d in zip(sources, docs, strict=True)
                                 for m in mentions(d)]


def test_batch_reads_what_each_ticket_alone_did(extractor: Extractor) -> None:
    tickets = _tickets()
    sources = [ticket_sources(t) for t in tickets]
    docs = [_docs(extractor, s) for s in sources]
    analyses = analyse_many(sources, docs)
    assert len(analyses) == len(tickets)
    for analysis, s, d in zip(analyses, sources, docs, strict=True):
        _check(analysis, s, d)
        assert any(seg.words.size for seg in analysis.segments)


_PIECES = st.sampled_from(["Rebooted", "the", "printer", ".", "  ", "\n", "\n\n", "\t", "I",
                           "didn't", "help", "still", "failing", "Resolution:", "works",
                           "now", "-", "e.g.", " ", "VPN", "Outlook", "2016", "reset", "pw"])
_TEXT = st.lists(_PIECES, max_size=25).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_TEXT, min_size=1, max_size=4), min_size=1, max_size=4))
def test_batch_positions_on_generated_texts(extractor: Extractor,
                                            texts: list[list[str]]) -> None:
    from extract.clean import clean_text

    sources = [[Source("note", str(k), Context.TECHNICIAN, text, clean_text(text))
                for k, text in enumerate(ticket)] for ticket in texts]
    docs = [_docs(extractor, s) for s in sources]
    for analysis, s, d in zip(analyse_many(sources, docs), sources, docs, strict=True):
        _check(analysis, s, d)
