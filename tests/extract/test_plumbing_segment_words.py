"""The role model's word column gathered from a batch's shared word ids (`BatchWords.rows`) is
the column `segment_rows` builds segment by segment, and the role model reads it to the same
probabilities, bit for bit, on the real corpus and the labelled tickets."""

from __future__ import annotations

from functools import cache

import numpy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc

from connectors.sandbox.corpus import load_corpus
from extract import Extractor
from extract.analysis import Analysis, Segment, analyse_many
from extract.classifiers import load_bundle, predict_roles_many, segment_rows
from extract.features import BatchWords, WordRows, _Words
from extract.labelled import load_labelled
from extract.sources import ticket_sources


@cache
def _analyses() -> tuple[Analysis, ...]:
    tickets = [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]
    extractor = Extractor()
    sources = [ticket_sources(ticket) for ticket in tickets]
    return tuple(analyse_many(sources, extractor._docs_and_tokens(sources)[0]))


def _plain_columns(tickets: list[list[Segment]]
                   ) -> tuple[list[numpy.ndarray], list[tuple[int, ...]]]:
    """The columns as the role model was given them before: `segment_rows` per ticket."""
    words: list[numpy.ndarray] = []
    metas: list[tuple[int, ...]] = []
    for segments in tickets:
        more_words, more_metas = segment_rows(segments)
        words += more_words
        metas += more_metas
    return words, metas


def test_batch_rows_are_each_segments_words() -> None:
    analyses = _analyses()
    every = [segment for analysis in analyses for segment in analysis.segments]
    batch = every[0].batch
    assert batch is not None and all(segment.batch is batch for segment in every)
    gathered = batch.rows([segment.row for segment in every])
    assert len(gathered) == len(every)
    assert gathered.words.dtype == numpy.uint64
    assert [row.tolist() for row in gathered] == [segment.words.tolist() for segment in every]
    assert gathered.lengths.tolist() == [len(segment.words) for segment in every]
    assert any(len(segment.words) for segment in every)


def test_role_model_reads_the_gathered_column_as_the_plain_one() -> None:
    analyses = _analyses()
    strings = analyses[0].strings
    tickets = [list(analysis.segments) for analysis in analyses]
    words, metas = _plain_columns(tickets)
    bundle = load_bundle("roles")
    expected = bundle.predict([words, words, metas], strings)
    labels, found = predict_roles_many(tickets, strings)
    assert labels == bundle.labels
    assert found.tobytes() == expected.tobytes()
    # segments of two batches: the plain path, the same numbers
    other = analyse_many([analyses[0].sources], _docs_of(analyses[0]))
    mixed = [list(other[0].segments), *tickets[1:]]
    plain_words, plain_metas = _plain_columns(mixed)
    assert predict_roles_many(mixed, strings)[1].tobytes() == \
        bundle.predict([plain_words, plain_words, plain_metas], strings).tobytes()


def _docs_of(analysis: Analysis) -> list[list[Doc]]:
    return Extractor()._docs_and_tokens([analysis.sources])[0]


def test_words_read_from_rows_as_from_a_list() -> None:
    every = [segment for analysis in _analyses() for segment in analysis.segments]
    batch = every[0].batch
    numbers = list(range(0, len(every), 3))
    gathered = batch.rows(numbers)
    plain = _Words.read([every[n].words for n in numbers])
    read = _Words.read(gathered)
    for name in ("words", "owner", "ids", "indptr"):
        assert getattr(read, name).tolist() == getattr(plain, name).tolist()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=12).flatmap(
    lambda cuts: st.tuples(st.just(sorted(cuts)),
                           st.lists(st.integers(0, (len(cuts) - 1) // 2), max_size=15))))
def test_rows_gather_any_segments_in_any_order(case: tuple[list[int], list[int]]) -> None:
    cuts, numbers = case
    batch = BatchWords()
    batch.ids = numpy.arange(100, 131, dtype=numpy.uint64)
    pairs = len(cuts) // 2
    batch.bounds = numpy.array(cuts[:2 * pairs], dtype=numpy.int64)
    numbers = [n for n in numbers if n < pairs]
    gathered = batch.rows(numbers)
    expected = [batch.ids[cuts[2 * n]:cuts[2 * n + 1]].tolist() for n in numbers]
    assert [row.tolist() for row in gathered] == expected
    assert [batch.row(n).tolist() for n in numbers] == expected
    assert gathered.words.tolist() == [w for row in expected for w in row]
    assert isinstance(gathered, WordRows) and len(gathered) == len(numbers)
