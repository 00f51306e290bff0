"""The feature shortcuts, each checked against the numpy call it replaces."""

from __future__ import annotations

import numpy
from hypothesis import given, settings
from hypothesis import strategies as st

from extract.features import Block, _Probe, _unique

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
