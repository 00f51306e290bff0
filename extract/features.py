"""Hashed features for the trained models, computed in numpy from spaCy's token ids.

Why not scikit-learn's vectorisers: they tokenise again, build Python strings for every n-gram
and validate every call, which cost more than everything else the extractor does. Here a text is
the array of its tokens' LOWER ids (``Doc.to_array``, stable murmurhash ids), and a feature is a
64-bit key:

* words: the token id itself, and bigrams of adjacent ids mixed arithmetically;
* subwords: per distinct word, its 3-letter prefix and suffix, its shape ("Xxxx", "dd") and the
  letter trigrams of ``<word>``; real notes have typos and abbreviations ("reinstaled", "pw",
  "creds") that whole words miss. These are computed once per distinct word and cached;
* tokens: ready-made context keys ("ctx=technician", "rule=action") hashed once each.

`Block.fit` keeps the keys seen in at least `min_df` training rows (a sorted key array is the
vocabulary, so artefacts stay small and unseen keys are dropped, as with a fitted vectoriser) and
their smoothed idf. `Block.transform` turns a whole batch of rows into one CSR matrix with no
per-token Python: a token's word is numbered by a process-wide hash table (`_WordIndex`), and
that number is its row in each block's cached word-by-feature matrix; the only Python loop is
over words never seen before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import chain, repeat
from typing import Any, Literal

import numpy
from scipy import sparse
from spacy.attrs import IDX, IS_SPACE, LOWER
from spacy.strings import StringStore, hash_string
from spacy.tokens import Doc

from extract.segment import TOKEN_COLUMNS, token_table

try:  # scipy's compiled sparse kernels: a private module, so the public operators stand in
    from scipy.sparse import _sparsetools  # (the same sums, slower) if a release moves it
except ImportError:  # pragma: no cover - depends on the installed scipy
    _sparsetools = None

__all__ = ["EMPTY", "BatchWords", "Block", "WordRows", "doc_words", "key", "text_words"]

EMPTY = numpy.zeros(0, dtype=numpy.uint64)
_MIX = numpy.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant: bigram (a, b) -> a * MIX + b
_BIGRAM_SALT = numpy.uint64(0x5BD1E9955BD1E995)
_CACHE_LIMIT = 500_000  # distinct words whose subword keys are kept; cleared when exceeded
_subwords: dict[int, numpy.ndarray] = {}
_SCORES_LIMIT = 1 << 16  # context tuples whose products a tokens block keeps; cleared past it


@cache
def key(text: str) -> int:
    """The stable 64-bit key of a feature name (spaCy's murmurhash, the same in every
    process)."""
    return int(hash_string(text))


# Where `token_table` keeps what `doc_words` reads
_IDX, _LOWER, _IS_SPACE = (TOKEN_COLUMNS.index(attr) for attr in (IDX, LOWER, IS_SPACE))


def doc_words(doc: Doc) -> tuple[numpy.ndarray, numpy.ndarray]:
    """LOWER ids and start offsets of a doc's non-space tokens, from the token table the
    components already read (`token_table`: one `Doc.to_array` per doc, not one per reader)."""
    if not len(doc):
        return EMPTY, numpy.zeros(0, dtype=numpy.int64)
    table = token_table(doc)
    spaces = table[:, _IS_SPACE]
    # most texts have no space token: no selection to make. count_nonzero is a plain C call
    # (ndarray.any goes through numpy's Python-level reduction wrapper, several times slower
    # on a doc's few dozen tokens).
    if numpy.count_nonzero(spaces):
        table = table[spaces == 0]
    return table[:, _LOWER].copy(), table[:, _IDX].astype(numpy.int64)


def text_words(text: str) -> numpy.ndarray:
    """LOWER ids of a plain text's non-space tokens, through the extractor's own tokeniser.

    The slow path, for callers that hold strings and no docs: the extractor itself reads the ids
    from the docs it already has."""
    return doc_words(_tokenizer()(text))[0]


@cache
def _tokenizer() -> Any:
    from extract.nlp import build_nlp  # only the slow path needs a pipeline

    return build_nlp().tokenizer


def _unique(words: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
    """``numpy.unique(words, return_inverse=True)``, about three times faster on a batch's word
    ids: one stable argsort (numpy's own unique sorts and reshapes more than it needs here)."""
    order = numpy.argsort(words, kind="stable")
    ordered = words[order]
    new = numpy.empty(ordered.size, dtype=bool)
    new[:1] = True
    numpy.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    inverse = numpy.empty(words.size, dtype=numpy.intp)
    inverse[order] = numpy.cumsum(new) - 1
    return ordered[new], inverse


def _shape(word: str) -> str:
    """spaCy-style shape: letters as x/X, digits as d, runs capped at four."""
    out: list[str] = []
    last, run = "", 0
    for char in word:
        mark = "X" if char.isupper() else "x" if char.isalpha() else "d" if char.isdigit() else char
        run = run + 1 if mark == last else 1
        last = mark
        if run <= 4:
            out.append(mark)
    return "".join(out)


def _derive(word: str) -> numpy.ndarray:
    """Subword keys of one lowercased word."""
    names = [f"shape={_shape(word)}"]
    if len(word) > 3:
        names += [f"pre={word[:3]}", f"suf={word[-3:]}"]
    if 3 <= len(word) <= 24 and any(map(str.isalpha, word)):
        padded = f"<{word}>"
        names += [f"tri={padded[i:i + 3]}" for i in range(len(padded) - 2)]
    # map, not a generator expression: no Python frame per name (a sixth of the time of
    # a word seen for the first time)
    return numpy.fromiter(map(key, names), dtype=numpy.uint64, count=len(names))


def _subword_keys(words: numpy.ndarray, strings: StringStore | None) -> tuple[numpy.ndarray,
                                                                             numpy.ndarray]:
    """(keys, token positions) of the subword features of every token in `words`."""
    if not words.size:
        return EMPTY, numpy.zeros(0, dtype=numpy.int64)
    distinct, inverse = _unique(words)
    if len(_subwords) > _CACHE_LIMIT:
        _subwords.clear()
    parts: list[numpy.ndarray] = []
    for word in distinct.tolist():
        found = _subwords.get(word)
        if found is None:
            if strings is None or word not in strings:
                found = EMPTY  # not cached: a later call may know the word
            else:
                found = _subwords[word] = _derive(strings[word])
        parts.append(found)
    lengths = numpy.fromiter((len(p) for p in parts), dtype=numpy.int64, count=len(parts))
    flat = numpy.concatenate(parts) if parts else EMPTY
    offsets = numpy.concatenate(([0], numpy.cumsum(lengths)[:-1]))
    counts = lengths[inverse]
    total = int(counts.sum())
    if not total:
        return EMPTY, numpy.zeros(0, dtype=numpy.int64)
    tokens = numpy.repeat(numpy.arange(words.size), counts)
    # position of each output within its token's run: 0, 1, ... counts[t] - 1
    within = numpy.arange(total) - numpy.repeat(numpy.cumsum(counts) - counts, counts)
    return flat[numpy.repeat(offsets[inverse], counts) + within], tokens


def _text_keys(rows: Sequence[numpy.ndarray], *, bigrams: bool, subwords: bool,
               strings: StringStore | None) -> tuple[numpy.ndarray, numpy.ndarray]:
    """(keys, row numbers) of every feature occurrence of a batch of word arrays."""
    lengths = numpy.fromiter((len(r) for r in rows), dtype=numpy.int64, count=len(rows))
    words = numpy.concatenate(rows) if len(rows) else EMPTY
    owner = numpy.repeat(numpy.arange(len(rows)), lengths)
    keys, owners = [words], [owner]
    if bigrams and words.size > 1:
        same = owner[:-1] == owner[1:]
        keys.append((words[:-1][same] * _MIX + words[1:][same]) ^ _BIGRAM_SALT)
        owners.append(owner[:-1][same])
    if subwords:
        found, token = _subword_keys(words, strings)
        keys.append(found)
        owners.append(owner[token])
    return numpy.concatenate(keys), numpy.concatenate(owners)


def _token_keys(rows: Sequence[Sequence[int]]) -> tuple[numpy.ndarray, numpy.ndarray]:
    lengths = numpy.fromiter((len(r) for r in rows), dtype=numpy.int64, count=len(rows))
    flat = numpy.fromiter(chain.from_iterable(rows), dtype=numpy.uint64, count=int(lengths.sum()))
    return flat, numpy.repeat(numpy.arange(len(rows)), lengths)


@dataclass(frozen=True)
class _Probe:
    """A vocabulary as an open-addressing hash table (linear probing), for looking up many keys
    at once: `numpy.searchsorted` on a batch's tens of thousands of bigram keys, random probes
    into a sorted array, cost several times more than a few vectorised rounds of probing.

    The keys are murmurhash-mixed, so their low bits spread them evenly; the table is at least
    four times the vocabulary, so most absent keys meet an empty slot at once. `longest` is the
    farthest any key sits from its home slot: no lookup probes further, whatever the keys."""

    keys: numpy.ndarray  # uint64 per slot
    columns: numpy.ndarray  # the vocabulary column per slot, -1 for an empty slot
    longest: int

    @classmethod
    def build(cls, vocabulary: numpy.ndarray) -> _Probe:
        size = 1 << max(4, (4 * len(vocabulary)).bit_length())
        keys = [0] * size
        columns = [-1] * size
        longest = 0
        for column, word in enumerate(vocabulary.tolist()):
            slot, distance = word & (size - 1), 0
            while columns[slot] >= 0:
                slot, distance = (slot + 1) & (size - 1), distance + 1
            keys[slot], columns[slot] = word, column
            longest = max(longest, distance)
        return cls(numpy.asarray(keys, dtype=numpy.uint64),
                   numpy.asarray(columns, dtype=numpy.int64), longest)

    def find(self, wanted: numpy.ndarray) -> numpy.ndarray:
        """Column of each key, -1 for keys the vocabulary does not hold."""
        mask = len(self.keys) - 1
        # The first probe settles almost every key (found at home, or an empty slot there), so
        # it runs over the whole array with no index bookkeeping; only the few keys that met
        # another key go on probing.
        slots = (wanted & numpy.uint64(mask)).astype(numpy.intp)
        columns = self.columns[slots]
        filled = columns >= 0
        hit = filled & (self.keys[slots] == wanted)
        found = numpy.where(hit, columns, -1)
        further = filled & ~hit  # an empty slot ends the search: the key is absent
        if not self.longest or not further.any():
            return found
        pending = numpy.flatnonzero(further)
        wanted, slots = wanted[pending], slots[pending]
        for _ in range(self.longest):
            slots = (slots + 1) & mask
            columns = self.columns[slots]
            filled = columns >= 0
            hit = filled & (self.keys[slots] == wanted)
            found[pending[hit]] = columns[hit]
            further = filled & ~hit
            if not further.any():
                break
            pending, wanted, slots = pending[further], wanted[further], slots[further]
        return found

    def extended(self, vocabulary: list[int], first: int) -> _Probe:
        """This table for `vocabulary`, whose words before `first` it already holds: the new
        ones are inserted in place while the table stays at most a quarter full, else it is
        rebuilt at least twice as large (amortised O(1) a word)."""
        size = len(self.keys)
        if 4 * len(vocabulary) > size:
            return _Probe.build(numpy.asarray(vocabulary, dtype=numpy.uint64))
        # copies: a table already handed out never changes under its holder
        keys, columns, longest = self.keys.copy(), self.columns.copy(), self.longest
        mask = size - 1
        for column in range(first, len(vocabulary)):
            word = vocabulary[column]
            slot, distance = word & mask, 0
            while columns[slot] >= 0:
                slot, distance = (slot + 1) & mask, distance + 1
            keys[slot], columns[slot] = word, column
            longest = max(longest, distance)
        return _Probe(keys, columns, longest)


class _WordIndex:
    """Process-wide dense numbering of the word ids seen so far (0, 1, 2, ... in order of first
    sight; a batch's new words in sorted order), looked up with a `_Probe` hash table.

    Every text block keeps its per-word feature rows in this numbering (`_Table`), so a batch
    needs neither ``unique`` over its tokens (a sort of tens of thousands of ids) nor a lookup of
    its distinct words in each block's table: a token's dense id is directly its row. Only the
    batch's new words, few once a process is warm, are sorted and numbered. Cleared (a new
    `generation`, which drops every block's rows) past `_CACHE_LIMIT` words.

    Not for use from several threads at once (it grows in place); the extractor featurises one
    batch at a time, and a process that extracts in parallel uses processes."""

    def __init__(self) -> None:
        self.generation = 0
        self._clear()

    def _clear(self) -> None:
        self.words: list[int] = []
        self.probe = _Probe.build(EMPTY)

    def number(self, words: numpy.ndarray) -> numpy.ndarray:
        """The dense id of every word (new words are numbered, in sorted order)."""
        found = self.probe.find(words)
        missing = found < 0
        if not missing.any():
            return found
        new, inverse = _unique(words[missing])
        if len(self.words) + len(new) > _CACHE_LIMIT:
            self.generation += 1
            self._clear()
            new, inverse = _unique(words)
            missing = slice(None)
        first = len(self.words)
        self.words += new.tolist()
        self.probe = self.probe.extended(self.words, first)
        found[missing] = inverse + first
        return found


_INDEX = _WordIndex()


def _flat(rows: Sequence[numpy.ndarray], size: int) -> numpy.ndarray:
    """``numpy.concatenate(rows)`` of `size` word ids (uint64), read back from the bytes.join
    of the rows' buffers: a fifth of numpy's time on a batch's thousands of short rows (0.24
    ms against 1.2 for 4,900 segments), where numpy's per-array overhead dominates. The array
    is read-only. Rows whose bytes do not add up to `size` ids (another dtype), or that lend
    no plain buffer (not contiguous), go through numpy."""
    try:
        joined = b"".join(rows)  # type: ignore[arg-type]  # arrays lend their buffers
    except TypeError:
        joined = b""
    if len(joined) == 8 * size and len(rows):
        return numpy.frombuffer(joined, dtype=numpy.uint64)
    return numpy.concatenate(rows) if len(rows) else EMPTY


def _product(left: sparse.csr_matrix, right: sparse.csr_matrix) -> sparse.csr_matrix:
    """``left @ right`` by scipy's own kernel (`csr_matmat`), the same entries in the same
    order, less scipy's first pass: it runs the whole product once more (`csr_matmat_maxnnz`)
    to count the result's entries before allocating them, a third of a batch's role-model
    time. The entries are at most the sum of the lengths of the right rows that left's entries
    pick (each such row's entries once, duplicates within a result row merged): allocated to
    that bound and trimmed, a gather and a sum."""
    if _sparsetools is None:  # pragma: no cover - depends on the installed scipy
        return left @ right
    rows, width = left.shape[0], right.shape[1]
    bound = int(numpy.diff(right.indptr)[left.indices].sum())
    index = (numpy.int32 if max(bound, rows, width, left.shape[1]) < numpy.iinfo(numpy.int32).max
             else numpy.int64)
    indptr = numpy.empty(rows + 1, dtype=index)
    indices = numpy.empty(bound, dtype=index)
    data = numpy.empty(bound)
    _sparsetools.csr_matmat(rows, width,
                            left.indptr.astype(index, copy=False),
                            left.indices.astype(index, copy=False), left.data,
                            right.indptr.astype(index, copy=False),
                            right.indices.astype(index, copy=False), right.data,
                            indptr, indices, data)
    size = int(indptr[-1])
    return sparse.csr_matrix((data[:size], indices[:size], indptr), shape=(rows, width))


def _counts(rows: numpy.ndarray, columns: numpy.ndarray,
            shape: tuple[int, int]) -> sparse.csr_matrix:
    """How often each (row, column) pair occurs, as a CSR matrix in canonical form (each row's
    columns sorted, once each): what ``csr_matrix((ones, (rows, columns)))`` builds through
    COO, a sort of the pairs' codes and a count of their runs. `rows` must not decrease."""
    width = shape[1]
    codes = rows * width + columns
    codes.sort()
    new = numpy.empty(codes.size, dtype=bool)
    new[:1] = True
    numpy.not_equal(codes[1:], codes[:-1], out=new[1:])
    starts = numpy.flatnonzero(new)
    distinct = codes[starts]
    counts = numpy.diff(starts, append=codes.size).astype(numpy.float64)
    indptr = numpy.zeros(shape[0] + 1, dtype=numpy.int32)
    numpy.cumsum(numpy.bincount(distinct // width, minlength=shape[0]), out=indptr[1:])
    return sparse.csr_matrix((counts, (distinct % width).astype(numpy.int32), indptr),
                             shape=shape)


def _sum(left: sparse.csr_matrix, right: sparse.csr_matrix) -> sparse.csr_matrix:
    """``left + right`` by scipy's own kernel (`csr_plus_csr`, which itself picks its merge of
    canonical matrices or its general form), without the checks and conversions around it."""
    if _sparsetools is None:  # pragma: no cover - depends on the installed scipy
        return left + right
    size = left.nnz + right.nnz
    index = numpy.int32 if size < numpy.iinfo(numpy.int32).max else numpy.int64
    indptr = numpy.empty(left.shape[0] + 1, dtype=index)
    indices = numpy.empty(size, dtype=index)
    data = numpy.empty(size)
    _sparsetools.csr_plus_csr(left.shape[0], left.shape[1],
                              left.indptr.astype(index, copy=False),
                              left.indices.astype(index, copy=False), left.data,
                              right.indptr.astype(index, copy=False),
                              right.indices.astype(index, copy=False), right.data,
                              indptr, indices, data)
    size = int(indptr[-1])
    return sparse.csr_matrix((data[:size], indices[:size], indptr), shape=left.shape)


class WordRows(Sequence[numpy.ndarray]):
    """Rows of word ids held as one flat array and each row's length: a text column that
    `Block.transform` reads as it is, where a list of arrays is joined first. Row `i` is
    ``words[offsets[i]:offsets[i + 1]]``."""

    __slots__ = ("lengths", "offsets", "words")

    def __init__(self, words: numpy.ndarray, lengths: numpy.ndarray) -> None:
        self.words = words
        self.lengths = lengths
        self.offsets = numpy.zeros(len(lengths) + 1, dtype=numpy.int64)
        numpy.cumsum(lengths, out=self.offsets[1:])

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, index: int) -> numpy.ndarray:  # type: ignore[override]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        return self.words[self.offsets[index]:self.offsets[index + 1]]


class BatchWords:
    """The word ids of a batch of texts, one after another, and the run of them each of many
    segments of those texts covers: segment `n` reads ``ids[bounds[2n]:bounds[2n + 1]]``.

    The runs are not cut into an array per segment: for the role model, `rows` gathers the
    segments of a batch from `ids` in one indexing, where a view per segment cost more to make,
    join and free than all of the gathering (a batch has about 20 segments a ticket)."""

    __slots__ = ("bounds", "ids")

    def __init__(self) -> None:
        self.ids = EMPTY
        self.bounds = numpy.zeros(0, dtype=numpy.int64)

    def row(self, number: int) -> numpy.ndarray:
        """The word ids of segment `number`."""
        return self.ids[self.bounds[2 * number]:self.bounds[2 * number + 1]]

    def rows(self, numbers: Sequence[int]) -> WordRows:
        """The word ids of segments `numbers`, in that order: ``[row(n) for n in numbers]``."""
        pairs = self.bounds.reshape(-1, 2)[numpy.asarray(numbers, dtype=numpy.intp)]
        lows = pairs[:, 0]
        lengths = pairs[:, 1] - lows
        gathered = WordRows(EMPTY, lengths)
        # token k of the gathered rows is token k - offsets[row] of its row, at lows[row] + that
        shifts = numpy.repeat(lows - gathered.offsets[:-1], lengths)
        gathered.words = self.ids[shifts + numpy.arange(int(gathered.offsets[-1]))]
        return gathered


@dataclass
class _Words:
    """A batch of word-id rows, read once and shared by every block of the same column."""

    words: numpy.ndarray
    owner: numpy.ndarray
    ids: numpy.ndarray  # each token's dense id in `_INDEX`
    indptr: numpy.ndarray  # where each row's tokens start
    generation: int  # of `_INDEX`, when `ids` were numbered
    # `occurs(ids, width)`, kept for the next block that reads this column
    _by_word: tuple[int, sparse.csr_matrix] | None = None

    @classmethod
    def read(cls, rows: Sequence[numpy.ndarray]) -> _Words:
        if isinstance(rows, WordRows):
            words, lengths, indptr = rows.words, rows.lengths, rows.offsets
        else:
            lengths = numpy.fromiter(map(len, rows), dtype=numpy.int64, count=len(rows))
            words = _flat(rows, int(lengths.sum()))
            indptr = numpy.zeros(len(rows) + 1, dtype=numpy.int64)
            numpy.cumsum(lengths, out=indptr[1:])
        return cls(words, numpy.repeat(numpy.arange(len(rows)), lengths), _INDEX.number(words),
                   indptr, _INDEX.generation)

    def occurs(self, columns: numpy.ndarray, width: int) -> sparse.csr_matrix:
        """rows x `width`: how often each column (one per token, in token order) occurs in each
        row. Duplicates are left for the product to sum, which adds them in token order."""
        return sparse.csr_matrix((numpy.ones(self.words.size), columns, self.indptr),
                                 shape=(len(self.indptr) - 1, width))

    def by_word(self, width: int) -> sparse.csr_matrix:
        """``occurs(ids, width)``, built once for all the blocks that read this column (the
        blocks' word tables all have a row per word of `_INDEX`: the same width). Read-only:
        it is only ever the left operand of a product."""
        if self._by_word is None or self._by_word[0] != width:
            self._by_word = width, self.occurs(self.ids, width)
        return self._by_word[1]


class _Scratch:
    """Work arrays kept from batch to batch (they only grow), for `Block.transform`'s weighting:
    views of the first `size` entries of an intp array and a float array.

    Like `_INDEX`, not for use from several threads at once."""

    def __init__(self) -> None:
        self._positions = numpy.zeros(0, dtype=numpy.intp)
        self._values = numpy.zeros(0)

    def arrays(self, size: int) -> tuple[numpy.ndarray, numpy.ndarray]:
        if size > len(self._values):
            grown = max(size, 2 * len(self._values))
            self._positions = numpy.zeros(grown, dtype=numpy.intp)
            self._values = numpy.zeros(grown)
        return self._positions[:size], self._values[:size]


_SCRATCH = _Scratch()


@dataclass
class _Table:
    """Per-process cache of one block: its columns for every word of `_INDEX`, one CSR row per
    dense id (rows are added as the index grows; a new index generation starts afresh)."""

    generation: int = -1
    rows: sparse.csr_matrix | None = None


@dataclass
class _Scores:
    """Per-process cache of a tokens block's product with one weight matrix: a row per distinct
    context tuple, found by the tuple's identity (`segment_rows` hands out one shared tuple per
    distinct context, so a batch's few thousand rows hold about a thousand tuples, nearly all
    seen in earlier batches)."""

    weights: numpy.ndarray  # a copy of the weights the products were taken with
    slots: dict[int, int] = field(default_factory=dict)  # id(tuple) -> its row of `table`
    held: list[tuple[int, ...]] = field(default_factory=list)  # kept alive: no id is reused
    table: numpy.ndarray = field(default_factory=lambda: numpy.zeros((0, 0)))


@dataclass
class Block:
    """One input column's features: which keys, the fitted vocabulary, and their weights.

    ``kind="text"`` rows are word-id arrays, weighted like a sublinear tf-idf and L2-normalised;
    ``kind="tokens"`` rows are tuples of `key`s, binary and unnormalised."""

    kind: Literal["text", "tokens"]
    bigrams: bool = False
    subwords: bool = False
    min_df: int = 1
    vocabulary: numpy.ndarray = field(default_factory=lambda: EMPTY)
    idf: numpy.ndarray = field(default_factory=lambda: numpy.zeros(0))
    # caches of this vocabulary's columns, per process, never pickled
    _table: _Table = field(default_factory=_Table, repr=False, compare=False)
    _tuples: dict[tuple[int, ...], numpy.ndarray] = field(default_factory=dict, repr=False,
                                                          compare=False)
    _probe: _Probe | None = field(default=None, repr=False, compare=False)
    _scores: _Scores | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_table"], state["_tuples"], state["_probe"], state["_scores"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._table, self._tuples, self._probe, self._scores = _Table(), {}, None, None

    def _keys(self, rows: Sequence[Any], strings: StringStore | None) -> tuple[numpy.ndarray,
                                                                                 numpy.ndarray]:
        if self.kind == "tokens":
            return _token_keys(rows)
        return _text_keys(rows, bigrams=self.bigrams, subwords=self.subwords, strings=strings)

    def fit(self, rows: Sequence[Any], strings: StringStore | None) -> Block:
        """Keep the keys found in at least `min_df` rows; learn their idf."""
        keys, owners = self._keys(rows, strings)
        pairs = numpy.unique(numpy.stack([keys, owners.astype(numpy.uint64)]), axis=1)
        distinct, df = numpy.unique(pairs[0], return_counts=True)
        kept = df >= self.min_df
        self.vocabulary = distinct[kept]
        self.idf = numpy.log((1 + len(rows)) / (1 + df[kept])) + 1.0
        self._table, self._tuples, self._probe, self._scores = _Table(), {}, None, None
        return self

    def _lookup(self, keys: numpy.ndarray) -> numpy.ndarray:
        """Column of each key in the vocabulary, -1 for keys it does not hold."""
        size = len(self.vocabulary)
        if not size or not keys.size:
            return numpy.full(keys.size, -1, dtype=numpy.int64)
        place = numpy.searchsorted(self.vocabulary, keys)
        place[place >= size] = 0
        return numpy.where(self.vocabulary[place] == keys, place, -1)

    def _columns_of(self, words: numpy.ndarray, strings: StringStore | None) -> sparse.csr_matrix:
        """A row per word: its own column, then (when this block reads them) its subwords' in
        `_derive`'s order; keys the vocabulary does not hold are left out.

        All the words at once, in a few numpy calls: the first sight of each word of a long
        tail of new words is otherwise a dozen numpy calls of its own."""
        count = words.size
        owner = numpy.arange(count)
        keys = words
        if self.subwords:
            subkeys, token = _subword_keys(words, strings)
            # each word's own key, then its subwords, which `_subword_keys` gives in token order
            order = numpy.argsort(numpy.concatenate([owner, token]), kind="stable")
            keys = numpy.concatenate([words, subkeys])[order]
            owner = numpy.concatenate([owner, token])[order]
        columns = self._lookup(keys)
        kept = columns >= 0
        columns = columns[kept]
        indptr = numpy.zeros(count + 1, dtype=numpy.int64)
        numpy.cumsum(numpy.bincount(owner[kept], minlength=count), out=indptr[1:])
        return sparse.csr_matrix((numpy.ones(len(columns)), columns, indptr),
                                 shape=(count, len(self.vocabulary)))

    def _word_rows(self, strings: StringStore | None) -> sparse.csr_matrix:
        """`_INDEX`'s words x features, a row per dense id, from this block's per-process table
        (rows for words numbered since the last call are added)."""
        table = self._table
        if table.generation != _INDEX.generation or table.rows is None:
            table = self._table = _Table(_INDEX.generation,
                                         sparse.csr_matrix((0, len(self.vocabulary))))
        assert table.rows is not None
        have, total = table.rows.shape[0], len(_INDEX.words)
        if have < total:
            fresh = self._columns_of(numpy.asarray(_INDEX.words[have:total],
                                                   dtype=numpy.uint64), strings)
            table.rows = sparse.vstack([table.rows, fresh], format="csr")
        return table.rows

    def distinct_rows(self, rows: Sequence[tuple[int, ...]]
                      ) -> tuple[sparse.csr_matrix, numpy.ndarray]:
        """For a tokens block: the feature rows of the distinct tuples among `rows`, and which
        of them each row is (its feature matrix is ``distinct[which]``). Each distinct tuple's
        columns are found once; a product with the distinct rows, gathered by `which`, equals
        the product with the full matrix, row for row, for a fraction of the work."""
        # Rows are told apart by identity, not by value: hashing a tuple of a dozen keys per
        # row costs more, and `segment_rows` hands out one shared tuple per distinct context.
        # Equal tuples that are distinct objects merely get a row each.
        first = {id(row): row for row in rows}
        position = {ident: at for at, ident in enumerate(first)}
        which = numpy.fromiter(map(position.__getitem__, map(id, rows)), dtype=numpy.int64,
                               count=len(rows))
        found: list[numpy.ndarray] = []
        for row in first.values():
            columns = self._tuples.get(row)
            if columns is None:
                if len(self._tuples) > _CACHE_LIMIT:
                    self._tuples.clear()
                columns = self._lookup(numpy.asarray(row, dtype=numpy.uint64))
                columns = self._tuples[row] = numpy.unique(columns[columns >= 0])
            found.append(columns)
        lengths = numpy.fromiter((len(c) for c in found), dtype=numpy.int64, count=len(found))
        indptr = numpy.zeros(len(found) + 1, dtype=numpy.int64)
        numpy.cumsum(lengths, out=indptr[1:])
        flat = numpy.concatenate(found) if found else numpy.zeros(0, dtype=numpy.int64)
        distinct = sparse.csr_matrix((numpy.ones(len(flat)), flat, indptr),
                                     shape=(len(found), len(self.vocabulary)))
        return distinct, which

    def scores(self, rows: Sequence[tuple[int, ...]], weights: numpy.ndarray) -> numpy.ndarray:
        """For a tokens block: ``transform(rows) @ weights`` (a row per input row), each
        distinct tuple's product taken once per process and kept.

        The same numbers as the product of the batch: a sparse-by-dense product computes each
        row from that row's own entries alone, in their order. A dict lookup per row replaces
        the per-batch dedup and product of `distinct_rows` (1.8 ms a batch of 256 tickets,
        for 0.4)."""
        cache = self._scores
        if (cache is None or len(cache.held) > _SCORES_LIMIT
                or not numpy.array_equal(cache.weights, weights)):
            cache = self._scores = _Scores(weights.copy(),
                                           table=numpy.zeros((0, weights.shape[1])))
        slots = numpy.fromiter(map(cache.slots.get, map(id, rows), repeat(-1)),
                               dtype=numpy.intp, count=len(rows))
        missing = numpy.flatnonzero(slots < 0).tolist()
        if missing:
            new = list({id(rows[at]): rows[at] for at in missing}.values())
            distinct, _ = self.distinct_rows(new)
            first = len(cache.held)
            cache.table = numpy.concatenate([cache.table, distinct @ weights])
            cache.held += new
            cache.slots.update(zip(map(id, new), range(first, first + len(new)), strict=True))
            slots[missing] = [cache.slots[id(rows[at])] for at in missing]
        return cache.table[slots]

    def transform(self, rows: Sequence[Any], strings: StringStore | None,
                  memo: dict[int, _Words] | None = None) -> sparse.csr_matrix:
        """The batch's feature matrix, one row per input row. `memo` shares the reading of a
        column between the blocks of one batch."""
        if self.kind == "tokens":
            distinct, which = self.distinct_rows(rows)
            return distinct[which]
        memo = {} if memo is None else memo
        read = memo.get(id(rows))
        if read is None or read.generation != _INDEX.generation:
            read = memo[id(rows)] = _Words.read(rows)
        # rows x words, times words x features: each word's features are found once per
        # process, however often it occurs.
        if self.subwords and strings is None:
            # unspelt words have no subwords yet: nothing worth caching, a batch-local table
            distinct, inverse = _unique(read.words)
            matrix = _product(read.occurs(inverse, len(distinct)),
                              self._columns_of(distinct, strings))
        else:
            rows_of_words = self._word_rows(strings)
            matrix = _product(read.by_word(rows_of_words.shape[0]), rows_of_words)
        words, owner = read.words, read.owner
        if self.bigrams and words.size > 1:
            same = owner[:-1] == owner[1:]
            if self._probe is None:
                self._probe = _Probe.build(self.vocabulary)
            columns = self._probe.find((words[:-1][same] * _MIX + words[1:][same]) ^ _BIGRAM_SALT)
            kept = columns >= 0
            matrix = _sum(matrix, _counts(owner[:-1][same][kept], columns[kept], matrix.shape))
        # a product or a sum holds each (row, column) once: the counts are final. They are
        # weighted in place (the matrix is this call's own): a fresh array of a batch's size
        # costs more in page faults than its arithmetic. The same operations in the same order
        # as (1 + log(count)) * idf / norm.
        data = matrix.data
        numpy.log(data, out=data)
        data += 1.0
        # The gather ``idf[indices]`` and the squares go through `_SCRATCH`'s arrays, not
        # fresh ones: a fresh array of a batch's size is fresh pages from the system, whose
        # faults cost more than the arithmetic (3 of the 5 page faults a ticket of the whole
        # extractor were these). `take` needs intp positions (it would make its own copy of
        # scipy's int32 indices) and mode="clip" to write into `out` directly (the positions
        # are in range: "raise" would buffer).
        positions, values = _SCRATCH.arrays(data.size)
        positions[...] = matrix.indices
        numpy.take(self.idf, positions, out=values, mode="clip")
        data *= values
        # Each row's sum of squares, added in storage order from zero (scipy's sparse
        # matrix-vector kernel, by a vector of ones: faster than a weighted bincount, and the
        # same sums; called directly, with no matrix of the squares built around it).
        numpy.multiply(data, data, out=values)
        if _sparsetools is None:  # pragma: no cover - depends on the installed scipy
            norms = sparse.csr_matrix((values, matrix.indices, matrix.indptr),
                                      shape=matrix.shape) @ numpy.ones(matrix.shape[1])
        else:
            norms = numpy.zeros(matrix.shape[0])
            _sparsetools.csr_matvec(matrix.shape[0], matrix.shape[1], matrix.indptr,
                                    matrix.indices, values, numpy.ones(matrix.shape[1]), norms)
        numpy.sqrt(norms, out=norms)
        norms[norms == 0] = 1.0
        # Each entry divided by its row's norm, the norms laid out entry by entry in the scratch
        # arrays too (``numpy.repeat(norms, row lengths)``, which makes a fresh array): each
        # entry's row number is the count of row starts at or before it.
        starts = matrix.indptr[1:-1]
        positions.fill(0)
        numpy.add.at(positions, starts[starts < data.size], 1)
        numpy.cumsum(positions, out=positions)
        numpy.take(norms, positions, out=values, mode="clip")
        data /= values
        return matrix
