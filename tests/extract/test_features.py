"""The feature shortcuts, each checked against the numpy call it replaces, and the text
weighting against sublinear tf-idf written out."""

from __future__ import annotations

from itertools import pairwise

import numpy
from hypothesis import given, settings
from hypothesis import strategies as st

import extract.features as features
from extract.features import Block, _Probe, _unique, _WordIndex

_IDS = st.lists(st.one_of(st.integers(0, 70), st.integers(0, 2**64 - 1)), max_size=200)


def _array(values: list[int]) -> numpy.ndarray:
    return numpy.asarray(values, dtype=numpy.uint64)


@settings(max_examples=300, deadline=None)
@given(_IDS)
def test_unique_is_numpys(values: list[int]) -> None:
    words = _array(values)
    distinct, inverse = _unique(words)
    expected, expected_inverse = numpy.unique(words, return_inverse=True)
    assert distinct.dtype == expected.dtype
    assert distinct.tolist() == expected.tolist()
    assert inverse.tolist() == expected_inverse.tolist()


@settings(max_examples=300, deadline=None)
@given(_IDS, _IDS)
def test_probe_finds_what_the_sorted_lookup_finds(vocabulary: list[int], keys: list[int]) -> None:
    block = Block("text")
    block.vocabulary = numpy.unique(_array(vocabulary))
    # keys from the vocabulary, near it (same low bits: the same home slots) and elsewhere
    wanted = _array([*keys, *vocabulary, *(v ^ (1 << 40) for v in vocabulary)])
    assert _Probe.build(block.vocabulary).find(wanted).tolist() == block._lookup(wanted).tolist()


def test_probe_is_not_pickled() -> None:
    block = Block("text", bigrams=True)
    block.vocabulary = _array([3, 1 << 63])
    block._probe = _Probe.build(block.vocabulary)
    assert "_probe" not in block.__getstate__()


_ROWS = st.lists(st.lists(st.integers(1, 40), max_size=30), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(_ROWS, _ROWS)
def test_text_block_weights_as_tf_idf_written_out(train: list[list[int]],
                                                  rows: list[list[int]]) -> None:
    block = Block("text", bigrams=True).fit([_array(row) for row in train], None)
    matrix = block.transform([_array(row) for row in rows], None)
    # sublinear tf-idf, L2-normalised, written out row by row
    expected = []
    for row in rows:
        keys = [*row, *(((a * 0x9E3779B97F4A7C15 + b) % 2**64) ^ 0x5BD1E9955BD1E995
                        for a, b in pairwise(row))]
        columns = block._lookup(_array(keys))
        tally: dict[int, int] = {}
        for column in columns.tolist():
            if column >= 0:
                tally[column] = tally.get(column, 0) + 1
        weights = {column: (1.0 + numpy.log(numpy.float64(count))) * block.idf[column]
                   for column, count in tally.items()}
        norm = numpy.sqrt(sum(weight * weight for weight in weights.values())) or 1.0
        expected.append({column: weight / norm for column, weight in weights.items()})
    for index, row in enumerate(expected):
        found = matrix.getrow(index)
        got = dict(zip(found.indices.tolist(), found.data.tolist(), strict=True))
        assert got.keys() == row.keys()
        for column, weight in row.items():
            assert abs(got[column] - weight) < 1e-12  # summed in another order: not bitwise


@settings(max_examples=200, deadline=None)
@given(_IDS, _IDS)
def test_probe_extended_in_place_finds_what_a_fresh_build_finds(first: list[int],
                                                                more: list[int]) -> None:
    old = list(dict.fromkeys(first))
    vocabulary = old + [v for v in dict.fromkeys(more) if v not in set(old)]
    grown = _Probe.build(_array(old)).extended(vocabulary, len(old))
    fresh = _Probe.build(_array(vocabulary))
    wanted = _array([*first, *more, *(v ^ (1 << 40) for v in vocabulary)])
    assert grown.find(wanted).tolist() == fresh.find(wanted).tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(_IDS, min_size=1, max_size=6), st.integers(3, 60))
def test_word_index_numbers_each_word_once_and_consistently_across_resets(
        batches: list[list[int]], limit: int) -> None:
    index = _WordIndex()
    saved, features._CACHE_LIMIT = features._CACHE_LIMIT, limit
    biggest = 0  # a batch of more new words than the limit is numbered whole
    try:
        for batch in batches:
            biggest = max(biggest, len(set(batch)))
            words = _array(batch)
            generation = index.generation
            numbers = index.number(words)
            # a number is a word's position in the index, the same for every copy of the word
            assert [index.words[n] for n in numbers.tolist()] == batch
            assert len(set(index.words)) == len(index.words) <= max(limit, biggest)
            if index.generation == generation:  # numbers given before stay valid
                assert index.number(words).tolist() == numbers.tolist()
    finally:
        features._CACHE_LIMIT = saved
