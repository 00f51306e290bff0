"""A block's word table, built for all new words at once (`Block._columns_of`), is the table
the word-by-word form built: the same CSR arrays, bit for bit, on the sandbox corpus's words
and on made-up words (unspelt ids, repeated letters, words the vocabulary has never seen).
A text block's matrix (`Block.transform`, with its shared token-by-word matrix and its idf
gather by `take`) is the one of its former plain form."""

from __future__ import annotations

from typing import Any

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from spacy.strings import StringStore

from connectors.sandbox.corpus import load_corpus
from extract.classifiers import load_bundle
from extract.features import (
    _BIGRAM_SALT,
    _INDEX,
    _MIX,
    EMPTY,
    Block,
    _derive,
    _shape,
    _subword_keys,
    _Words,
    key,
    text_words,
)


def _word_by_word(block: Block, words: numpy.ndarray,
                  strings: StringStore | None) -> sparse.csr_matrix:
    """The former `_columns_of`: a lookup of each word's own key and subword keys in turn."""
    found: list[numpy.ndarray] = []
    for word in words.tolist():
        single = numpy.asarray([word], dtype=numpy.uint64)
        keys = _subword_keys(single, strings)[0] if block.subwords else EMPTY
        columns = block._lookup(numpy.concatenate([single, keys]))
        found.append(columns[columns >= 0])
    lengths = numpy.fromiter((len(c) for c in found), dtype=numpy.int64, count=len(found))
    indptr = numpy.zeros(len(found) + 1, dtype=numpy.int64)
    numpy.cumsum(lengths, out=indptr[1:])
    flat = numpy.concatenate(found) if found else numpy.zeros(0, dtype=numpy.int64)
    return sparse.csr_matrix((numpy.ones(len(flat)), flat, indptr),
                             shape=(len(found), len(block.vocabulary)))


def _same(found: sparse.csr_matrix, expected: sparse.csr_matrix) -> None:
    assert found.shape == expected.shape
    for name in ("indptr", "indices", "data"):
        mine, theirs = getattr(found, name), getattr(expected, name)
        assert mine.dtype == theirs.dtype
        assert mine.tobytes() == theirs.tobytes()


@pytest.fixture(scope="module")
def blocks() -> list[Block]:
    return [block for name in ("roles", "category") for block in load_bundle(name).blocks
            if block.kind == "text"]


@pytest.fixture(scope="module")
def spelt() -> tuple[numpy.ndarray, StringStore]:
    """The distinct word ids of the corpus's titles and descriptions, and their spellings."""
    strings = StringStore()
    words: list[int] = []
    for ticket in load_corpus()[:200]:
        for text in (ticket.title, ticket.description):
            for token in text.lower().split():
                words.append(strings.add(token))
    return numpy.unique(numpy.asarray(words, dtype=numpy.uint64)), strings


def test_corpus_words_give_the_word_by_word_table(
        blocks: list[Block], spelt: tuple[numpy.ndarray, StringStore]) -> None:
    words, strings = spelt
    assert len(words) > 1000
    ids = numpy.unique(numpy.concatenate([words, text_words(load_corpus()[0].description)]))
    for block in blocks:
        for batch in (ids, ids[::-1], ids[:1], ids[:0]):
            for spelling in (strings, None):
                _same(block._columns_of(batch, spelling),
                      _word_by_word(block, batch, spelling))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abcxyz019-_.'", min_size=1, max_size=30), max_size=25),
       st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=4))
def test_made_up_words_give_the_word_by_word_table(
        blocks: list[Block], texts: list[str], unspelt: list[int]) -> None:
    strings = StringStore()
    words = numpy.asarray([strings.add(text) for text in texts] + unspelt, dtype=numpy.uint64)
    for block in blocks:
        _same(block._columns_of(words, strings), _word_by_word(block, words, strings))



def _reference_transform(block: Block, rows: list[numpy.ndarray],
                         strings: StringStore) -> sparse.csr_matrix:
    """`Block.transform` of a text block in its former plain form: a fresh token-by-word
    matrix, the product, the bigrams' sum, a copy, then the weighting."""
    read = _Words.read(rows)
    rows_of_words = block._word_rows(strings)
    matrix = read.occurs(read.ids, rows_of_words.shape[0]) @ rows_of_words
    words, owner = read.words, read.owner
    if block.bigrams and words.size > 1:
        same = owner[:-1] == owner[1:]
        columns = block._lookup((words[:-1][same] * _MIX + words[1:][same]) ^ _BIGRAM_SALT)
        kept = columns >= 0
        pairs = sparse.csr_matrix(
            (numpy.ones(int(kept.sum())), (owner[:-1][same][kept], columns[kept])),
            shape=matrix.shape)
        matrix = matrix + pairs
    matrix = sparse.csr_matrix(matrix)
    data = matrix.data
    numpy.log(data, out=data)
    data += 1.0
    data *= block.idf[matrix.indices]
    squares = sparse.csr_matrix((data * data, matrix.indices, matrix.indptr), shape=matrix.shape)
    norms = numpy.sqrt(squares @ numpy.ones(matrix.shape[1]))
    norms[norms == 0] = 1.0
    data /= numpy.repeat(norms, numpy.diff(matrix.indptr))
    return matrix


def test_blocks_sharing_a_read_column_give_their_own_matrices(
        spelt: tuple[numpy.ndarray, StringStore]) -> None:
    """The roles model's two text blocks read one column: the token-by-word matrix built for
    the first is the second's too (`_Words.by_word`), and the second's matrix is still the
    one of the plain form."""
    words, strings = spelt
    rng = numpy.random.default_rng(7)
    rows = [words[rng.integers(0, len(words), size)] for size in rng.integers(0, 30, 300)]
    first, second = load_bundle("roles").blocks[:2]
    assert not second.bigrams
    shared: dict[int, Any] = {}
    first.transform(rows, strings, shared)
    (read,) = shared.values()
    width = len(_INDEX.words)
    _same(read.by_word(width), read.occurs(read.ids, width))
    _same(second.transform(rows, strings, shared), _reference_transform(second, rows, strings))


def test_text_blocks_give_the_plain_forms_matrices(
        blocks: list[Block], spelt: tuple[numpy.ndarray, StringStore]) -> None:
    words, strings = spelt
    rng = numpy.random.default_rng(11)
    rows = [words[rng.integers(0, len(words) // 4, size)] for size in rng.integers(0, 40, 500)]
    for block in blocks:
        _same(block.transform(rows, strings), _reference_transform(block, rows, strings))


def _derive_by_generators(word: str) -> numpy.ndarray:
    """The former `_derive`, with generator expressions."""
    names = [f"shape={_shape(word)}"]
    if len(word) > 3:
        names += [f"pre={word[:3]}", f"suf={word[-3:]}"]
    if 3 <= len(word) <= 24 and any(char.isalpha() for char in word):
        padded = f"<{word}>"
        names += [f"tri={padded[i:i + 3]}" for i in range(len(padded) - 2)]
    return numpy.fromiter((key(name) for name in names), dtype=numpy.uint64, count=len(names))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30) | st.text(alphabet="aZ9-_.'²½é", max_size=30))
def test_subword_keys_are_the_generator_forms(word: str) -> None:
    assert _derive(word).tobytes() == _derive_by_generators(word).tobytes()


def test_corpus_subword_keys_are_the_generator_forms(
        spelt: tuple[numpy.ndarray, StringStore]) -> None:
    words, strings = spelt
    for word in words.tolist():
        text = strings[word]
        assert _derive(text).tobytes() == _derive_by_generators(text).tobytes()
