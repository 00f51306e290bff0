"""The in-memory BM25F index behind `store.lookup.SearchIndex`: postings as numpy arrays.

Why in memory: a lookup must answer in well under 50 ms with a million stored resolutions, which
no LIKE scan and no per-query SQL aggregate can do. The index holds, per term, the sorted doc
slots that contain it and a precomputed BM25F weight (the saturated, field-weighted and
length-normalised term frequency, still to be multiplied by the term's idf); per doc slot, the
filter columns as small integer codes and a prior (did the fix stick, what did people say).

A query sums ``idf * weight`` over the postings of its terms with one `np.bincount`, adds exact
boosts for shared error codes, KB numbers and products, multiplies by the prior, drops what the
filters exclude and takes the top k with `np.argpartition`.

Changes arrive as a small *delta* segment (rebuilt from its docs on each refresh) over the big
*main* segment; a replaced or removed doc is only marked dead. As in Lucene, document
frequencies still count dead docs until the delta is merged or the index rebuilt, and length
normalisation keeps the field averages of the last full build. Readers work on an immutable
`Snapshot`; `apply` returns a new one, so searches never lock.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from itertools import chain
from typing import NamedTuple

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from store.search import RUN_PATTERN as _RUN
from store.search import tokenize

FIELDS = ("title", "problem", "symptoms", "cause", "steps", "entities", "context")
"""The BM25F fields: `entities` holds the text of products, error codes and KB references;
`context` the ticket's own words (description and notes, cleaned and capped)."""
FIELD_WEIGHTS = np.array([3.0, 2.0, 1.5, 1.0, 0.5, 2.0, 1.0])
"""A title match counts three times a cause match: titles say what the ticket was about. Steps
count half: they are the technician's fix, and a new ticket describes a problem. The context
(the ticket's own wording, which the extracted fields paraphrase or drop) counts like a cause.
Tuned on the dev split of fixtures/lookup (bench/lookup_quality.py), never on test."""
FIELD_B = np.array([0.5, 0.75, 0.75, 0.75, 0.75, 0.3, 0.9])
"""Length normalisation per field: weak for short fields (titles, entity lists), strong for
the long, unsummarised context (a long thread mentions many words in passing)."""
K1 = 1.2
ENTITY_BOOST = 1.0
"""Extra score per shared exact error code / KB number / product, times that key's idf."""
TYPO_WEIGHT = {1: 0.8, 2: 0.6}
"""What a vocabulary term one or two edits away from a query word counts, relative to exact."""
PREFIX_WEIGHT = 0.6
"""What a longer code found by a partial code ("0x8007" → 0x80070005) counts."""
TYPO_MAX_DF = 3
"""Only a query word in fewer docs than this is looked up for typos (a rarer one may be one)."""
MAX_QUERY_TERMS = 32
"""Distinct query words looked up (the first ones: the subject line comes first)."""
MAX_QUERY_CHARS = 20_000
QUERY_TITLE_WEIGHT = 2.0
"""A query's first line is its subject: its words count this much more than the body's."""
QUERY_BOILERPLATE_WEIGHT = 0.3
"""What a word of an "our environment" paragraph counts (it names unrelated products)."""
QUERY_K3 = 2.0
"""Saturation of a word's summed query weight (BM25's k3)."""
COMMON_SHARE = 0.02
"""A term in more than this share of the docs is *common*: see `score`."""
PRUNE_MIN_CANDIDATES = 2_000
MAX_PREFIX_EXPANSIONS = 12
MAX_TYPO_EXPANSIONS = 3
MIN_TYPO_LENGTH = 4
MIN_PREFIX_LENGTH = 4
TYPO_MIN_DF_DOCS = 50_000
"""Store size from which a full build leaves words seen only once out of the typo search."""
RUN_CACHE_SIZE = 2_000_000
"""Distinct word runs whose analysis a build remembers."""
TERM_STATS_CACHE_SIZE = 100_000
"""Terms whose df and idf a snapshot remembers (see `Snapshot.term_stats`)."""
DELTA_MERGE_DOCS = 20_000
"""Merge the delta into the main segment when it holds more docs than this (or 10% of main)."""

OUTCOME_PRIOR = {"resolved": 1.0, "workaround": 0.95, "unknown": 0.92, "escalated": 0.9,
                 "unresolved": 0.88}
"""Mild on purpose: relevance decides, the outcome breaks near-ties. A lookup returns only
worked fixes by default; one asking for every outcome wants the same problem whatever came of
it (what was tried and failed is worth seeing), so a stronger prior buries true matches."""
REOPENED_PRIOR = 0.6
"""Multiplier for a fix that did not stick (the ticket was reopened after it was recorded)."""
FEEDBACK_SPAN = 0.6
"""Feedback moves the prior between 0.7 and 1.3: 0.7 + 0.6 * (helpful + 1) / (votes + 2)."""

_MARK_RUN = "ꙮfieldꙮ"  # one regex run that no ticket text contains: the field separator
_FIELD_MARK = f" {_MARK_RUN} "
_MARK_ID = -1
_CODE_KEY, _PRODUCT_KEY = "c:", "p:"  # tokens never contain ":", so keys cannot clash
_NO_DATE = np.iinfo(np.int64).min


_CONTRACTION_STUBS = frozenset({
    "don", "doesn", "didn", "isn", "wasn", "aren", "weren", "won", "wouldn", "couldn", "shouldn",
    "hasn", "haven", "hadn", "ve", "ll", "re"})
"""What the tokenizer leaves of "don't", "I've", "we're": no evidence of a problem."""
_PARAGRAPH = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)")
_BOILERPLATE = re.compile(
    r"\s*(?:(?:our |my |the )?(?:environment|background|setup|set-up|specs?|system info|"
    r"context|config(?:uration)?)\s*:|(?:some |a bit of )?background\b|for context\b|"
    r"not sure if (?:it'?s )?related\b|in case it matters\b|fwiw\b)",
    re.IGNORECASE)


def stem(token: str) -> str:
    """A light suffix stripper, so "drives", "renamed" and "printing" meet "drive", "rename",
    "print". Codes, numbers and short words are left alone."""
    if len(token) < 5 or not token.isalpha():
        return token
    if token.endswith("ies"):
        return token[:-3] + "y"
    if token.endswith(("ss", "us", "is")):
        return token
    if token.endswith("s"):
        token = token[:-1]
    elif token.endswith("ing") and len(token) >= 6:
        token = _undouble(token[:-3])
    elif token.endswith("ed") and len(token) >= 6:
        token = _undouble(token[:-2])
    if token.endswith("e") and len(token) > 4:
        token = token[:-1]
    return token


def _undouble(token: str) -> str:
    """mapp → map, stopp → stop: the doubled consonant of an inflection."""
    if len(token) > 3 and token[-1] == token[-2] and token[-1] not in "aeiouls":
        return token[:-1]
    return token


def analyze(text: str) -> list[str]:
    """The index terms of a text: `store.search.tokenize` tokens, stemmed."""
    return [stem(token) for token in tokenize(text)]


def is_code(term: str) -> bool:
    """A term that looks like an error code, KB number or version: it has a digit."""
    return any(ch.isdigit() for ch in term)


@cache
def _product_aliases() -> dict[tuple[str, ...], str]:
    """Analyzed alias (and canonical name) → canonical product name, from extract's lexicon."""
    from extract.lexicon import load_json  # spaCy loads with extract; only when first needed

    aliases: dict[tuple[str, ...], str] = {}
    for product in load_json("products.json")["products"]:
        name = product["name"]
        for alias in [name, *product.get("aliases", []), *product.get("cased", [])]:
            terms = tuple(analyze(alias))
            if terms:
                aliases.setdefault(terms, name)
    return aliases


@cache
def _product_spellings() -> dict[str, tuple[str, ...]]:
    """Canonical product name → its lower-cased name and aliases, as written."""
    from extract.lexicon import load_json

    spellings: dict[str, set[str]] = {}
    for product in load_json("products.json")["products"]:
        names = [product["name"], *product.get("aliases", []), *product.get("cased", [])]
        spellings.setdefault(product["name"], set()).update(n.lower() for n in names)
    return {name: tuple(sorted(found)) for name, found in spellings.items()}


@lru_cache(maxsize=10_000)
def _spelled(name: str) -> re.Pattern[str]:
    """A pattern finding one of a product's spellings as whole words."""
    spellings = _product_spellings().get(name, (name.lower(),))
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, spellings)) + r")(?!\w)")


def named_products(text: str) -> list[str]:
    """Canonical products `text` names as written: an alias met only after stemming ("people
    team" → "teams") is an ordinary word, not a product mention."""
    lowered = text.lower()
    return [name for name in find_products(analyze(text)) if _spelled(name).search(lowered)]


def find_products(terms: Sequence[str]) -> list[str]:
    """Canonical product names whose alias occurs in `terms` (longest alias first)."""
    aliases = _product_aliases()
    found: list[str] = []
    i = 0
    while i < len(terms):
        for n in (4, 3, 2, 1):
            name = aliases.get(tuple(terms[i:i + n])) if i + n <= len(terms) else None
            if name is not None:
                if name not in found:
                    found.append(name)
                i += n - 1
                break
        i += 1
    return found


@lru_cache(maxsize=100_000)
def product_key(name: str) -> str:
    """The index key of a canonical product name."""
    return _PRODUCT_KEY + " ".join(analyze(name))


@lru_cache(maxsize=100_000)
def _product_keys(text: str) -> tuple[str, ...]:
    """The keys of a doc's product mention: its canonical products, and the text itself."""
    return (*(product_key(name) for name in find_products(analyze(text))), product_key(text))


@lru_cache(maxsize=200_000)
def _code_keys(text: str) -> tuple[str, ...]:
    """The exact-match keys of an error code or KB reference ("0x80070005", "kb5034441")."""
    return tuple(_CODE_KEY + term for term in analyze(text) if is_code(term))


class DocInput(NamedTuple):
    """One resolution as the index needs it (built by `store.lookup` from a stored row).

    A named tuple rather than a frozen dataclass: a build makes one per stored resolution, and
    tuple construction is several times cheaper.
    """

    resolution_id: int
    title: str
    problem: str
    symptoms: Sequence[str]
    cause: str
    steps: Sequence[str]
    products: Sequence[str]
    codes: Sequence[str]
    """Error codes and KB references."""
    company: str | None
    category: str
    source: str
    outcome: str
    usable: bool
    closed_at: int | None
    """Epoch seconds."""
    reopened: bool
    helpful: int = 0
    votes: int = 0
    updated_at: float = 0.0
    context: str = ""
    """The ticket's own words (`ResolutionRow.context_text`)."""


def prior(outcome: str, reopened: bool, helpful: int, votes: int) -> float:
    """How much to trust a fix before relevance: outcome, whether it stuck, feedback."""
    value = OUTCOME_PRIOR.get(outcome, 0.7)
    if reopened:
        value *= REOPENED_PRIOR
    ratio = (helpful + 1.0) / (votes + 2.0)
    return value * (1.0 - FEEDBACK_SPAN / 2 + FEEDBACK_SPAN * ratio)


class Vocabulary:
    """Term ↔ id, append-only (shared by snapshots: an id never changes meaning).

    Also keeps what tolerant matching searches: alphabetic terms by length (typos) and the
    sorted code-like terms (partial codes).
    """

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.terms: list[str] = []
        self.by_shape: dict[tuple[int, str], list[str]] = {}
        self.codes: list[str] = []
        self._late_codes: list[str] = []

    def __len__(self) -> int:
        return len(self.terms)

    def id(self, term: str) -> int:
        """The id of `term`, adding it if new."""
        found = self.ids.get(term)
        if found is None:
            found = len(self.terms)
            self.ids[term] = found
            self.terms.append(term)
        return found

    def index_for_matching(self, df: np.ndarray | None, start: int = 0, docs: int = 0) -> None:
        """Make terms from id `start` on findable by typo and partial-code matching.

        `df` is given at a full build: in a large store (`TYPO_MIN_DF_DOCS` docs or more) only
        words seen in two docs or more are typo targets, which keeps the typo vocabulary small
        (a word seen once is as likely a typo itself). Terms added later are all taken.
        """
        full = df is not None
        min_df = 2 if docs >= TYPO_MIN_DF_DOCS else 1
        if full:
            self.by_shape, self.codes, self._late_codes = {}, [], []
        for term_id in range(start, len(self.terms)):
            term = self.terms[term_id]
            if ":" in term:
                continue
            if term.isalpha():
                if len(term) >= MIN_TYPO_LENGTH - 1 and (df is None or df[term_id] >= min_df):
                    if full:
                        self.by_shape.setdefault((len(term), term[0]), []).append(term)
                    else:  # a new list: a concurrent search may be reading the old one
                        shape = (len(term), term[0])
                        self.by_shape[shape] = [*self.by_shape.get(shape, []), term]
            elif is_code(term):
                if full:
                    self.codes.append(term)
                else:
                    late = list(self._late_codes)
                    bisect.insort(late, term)
                    self._late_codes = late
        if full:
            self.codes.sort()

    def typo_candidates(self, word: str) -> list[tuple[str, int]]:
        """Vocabulary terms one edit away (two for words of eight letters or more).

        Only terms with the same first letter are compared (typos rarely hit it), which keeps
        each comparison to a small bucket of the vocabulary.
        """
        limit = 1 if len(word) < 8 else 2
        found: list[tuple[str, int]] = []
        for length in range(len(word) - limit, len(word) + limit + 1):
            bucket = self.by_shape.get((length, word[0]))
            if not bucket:
                continue
            for term, distance, _ in process.extract(
                word, bucket, scorer=Levenshtein.distance, score_cutoff=limit,
                limit=MAX_TYPO_EXPANSIONS,
            ):
                if term != word:
                    found.append((term, int(distance)))
        found.sort(key=lambda item: item[1])
        return found[:MAX_TYPO_EXPANSIONS]

    def code_prefixed(self, prefix: str) -> list[str]:
        """Longer code terms starting with `prefix`, at most MAX_PREFIX_EXPANSIONS."""
        found: list[str] = []
        for codes in (self.codes, self._late_codes):
            i = bisect.bisect_left(codes, prefix)
            while i < len(codes) and codes[i].startswith(prefix) and len(found) < 4 * \
                    MAX_PREFIX_EXPANSIONS:
                if codes[i] != prefix:
                    found.append(codes[i])
                i += 1
        return found


@dataclass(frozen=True)
class Segment:
    """Postings in CSR form: term id t owns ``docs[offsets[t]:offsets[t+1]]`` (sorted)."""

    offsets: np.ndarray
    docs: np.ndarray
    weights: np.ndarray

    @classmethod
    def empty(cls) -> Segment:
        return cls(np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))

    @classmethod
    def from_triples(cls, terms: np.ndarray, docs: np.ndarray, weights: np.ndarray,
                     n_terms: int, *, docs_in_order: bool = False) -> Segment:
        """CSR from (term, doc, weight) triples, docs ascending within a term.

        `docs_in_order`: each term's triples already come in ascending doc order (a build's
        chunks), so a stable sort by term alone (a merge of sorted runs) is enough.
        """
        order = np.argsort(terms, kind="stable") if docs_in_order \
            else np.lexsort((docs, terms))
        counts = np.bincount(terms, minlength=n_terms)
        offsets = np.zeros(n_terms + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(offsets, docs[order].astype(np.int32), weights[order].astype(np.float32))

    def span(self, term_id: int) -> tuple[int, int]:
        if term_id + 1 >= len(self.offsets):
            return 0, 0
        return int(self.offsets[term_id]), int(self.offsets[term_id + 1])

    def df(self, term_id: int) -> int:
        start, end = self.span(term_id)
        return end - start

    def contains(self, term_id: int, slots: np.ndarray) -> np.ndarray:
        """Which of `slots` have the term."""
        start, end = self.span(term_id)
        if end == start:
            return np.zeros(len(slots), np.bool_)
        docs = self.docs[start:end]
        at = np.minimum(np.searchsorted(docs, slots), end - start - 1)
        return docs[at] == slots

    def triples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        terms = np.repeat(np.arange(len(self.offsets) - 1, dtype=np.int32),
                          np.diff(self.offsets))
        return terms, self.docs, self.weights


@dataclass(frozen=True)
class Columns:
    """Per doc slot: the resolution id, liveness, filter codes and the prior."""

    resolution_id: np.ndarray
    alive: np.ndarray
    usable: np.ndarray
    outcome: np.ndarray
    company: np.ndarray
    category: np.ndarray
    source: np.ndarray
    closed_at: np.ndarray
    prior: np.ndarray
    reopened: np.ndarray
    updated_at: np.ndarray

    @classmethod
    def empty(cls) -> Columns:
        return cls(*(np.zeros(0, dtype) for dtype in _COLUMN_TYPES))

    def extended(self, rows: list[tuple[object, ...]]) -> Columns:
        """A copy with `rows` (one tuple per new slot, in field order) appended."""
        arrays = [np.concatenate([old, np.array([row[i] for row in rows], dtype)])
                  if rows else old.copy()
                  for i, (old, dtype) in enumerate(zip(self._arrays(), _COLUMN_TYPES,
                                                       strict=True))]
        return Columns(*arrays)

    def _arrays(self) -> list[np.ndarray]:
        return [getattr(self, name) for name in Columns.__dataclass_fields__]


_COLUMN_TYPES = (np.int64, np.bool_, np.bool_, np.int16, np.int32, np.int32, np.int32, np.int64,
                 np.float32, np.bool_, np.float64)


class Codes:
    """Stable small integers for the values of a filter column; 0 stands for None."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def code(self, value: str | None) -> int:
        if value is None:
            return 0
        found = self.ids.get(value)
        if found is None:
            found = self.ids[value] = len(self.ids) + 1
        return found

    def lookup(self, value: str) -> int | None:
        """The code of a value never seen is None: a filter on it matches nothing."""
        return self.ids.get(value)


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of the index that searches read."""

    main: Segment
    delta: Segment
    delta_docs: dict[int, tuple[np.ndarray, np.ndarray]]
    columns: Columns
    avg_length: np.ndarray
    live: int
    masks: dict[tuple[object, ...], np.ndarray] = field(default_factory=dict)
    term_stats: dict[int, tuple[int, float]] = field(default_factory=dict)
    """Term id → (df, idf), filled as queries ask: planning and scoring a query ask for the
    same few terms' df a hundred times, and each look-up in the offsets costs numpy scalar
    reads. The snapshot is immutable, so an entry never goes stale."""

    @property
    def slots(self) -> int:
        return len(self.columns.resolution_id)

    def df(self, term_id: int) -> int:
        return self.stats(term_id)[0]

    def idf(self, term_id: int) -> float:
        return self.stats(term_id)[1]

    def stats(self, term_id: int) -> tuple[int, float]:
        """(df, idf) of a term (cached in `term_stats`)."""
        found = self.term_stats.get(term_id)
        if found is None:
            df = self.main.df(term_id) + self.delta.df(term_id)
            n = max(self.live, 1)
            capped = min(df, n)
            found = (df, math.log(1.0 + (n - capped + 0.5) / (capped + 0.5)))
            if len(self.term_stats) >= TERM_STATS_CACHE_SIZE:
                self.term_stats.clear()
            self.term_stats[term_id] = found
        return found

    def contains(self, term_id: int, slots: np.ndarray) -> np.ndarray:
        """Which of `slots` have the term, in either segment."""
        return self.main.contains(term_id, slots) | self.delta.contains(term_id, slots)


def empty_snapshot() -> Snapshot:
    return Snapshot(Segment.empty(), Segment.empty(), {}, Columns.empty(),
                    np.ones(len(FIELDS)), 0)


class Analyzer:
    """Turns DocInputs into term ids and BM25F weights, with the shared vocabulary and codes."""

    def __init__(self) -> None:
        self.vocab = Vocabulary()
        self.company = Codes()
        self.category = Codes()
        self.source = Codes()
        self.outcome = Codes()
        self._runs: dict[str, tuple[int, ...]] = {_MARK_RUN: (_MARK_ID,)}

    def chunk_terms(self, docs: Sequence[DocInput], first_slot: int) -> _Occurrences:
        """Term occurrences (slot, term id, field) and entity keys of docs given slots from
        `first_slot` on.

        Why this shape: analysing token by token in Python is what a build spends its time on.
        Instead the chunk's texts are joined with a field separator, split into runs by one
        regex call, each *distinct* run is analysed once (words repeat: Zipf) and cached, and
        the runs are mapped to ids and flattened by C-level iteration.
        """
        pieces: list[str] = []
        key_slots: list[int] = []
        key_terms: list[int] = []
        vocab = self.vocab
        for offset, doc in enumerate(docs):
            pieces += (_FIELD_MARK, doc.title, _FIELD_MARK, doc.problem, _FIELD_MARK,
                       " \n ".join(doc.symptoms), _FIELD_MARK, doc.cause, _FIELD_MARK,
                       " \n ".join(doc.steps), _FIELD_MARK, " \n ".join(doc.products),
                       " \n ".join(doc.codes), _FIELD_MARK, doc.context)
            keys: set[str] = set()
            for text in doc.codes:
                keys.update(_code_keys(text))
            for product in doc.products:
                keys.update(_product_keys(product))
            key_slots += [first_slot + offset] * len(keys)
            key_terms += [vocab.id(key) for key in sorted(keys)]
        runs = _RUN.findall(" ".join(pieces).lower())
        cache = self._runs
        # New runs sorted, not in a set's order, which follows the process's hash seed: term
        # ids, and so the order typo and code candidates are tried in, are the same in every
        # process that builds the index from the same rows (tests/store/test_index_hash_seed.py).
        for run in sorted(set(runs).difference(cache)):
            cache[run] = tuple(vocab.id(term) for term in analyze(run))
        flat = np.fromiter(chain.from_iterable(map(cache.__getitem__, runs)), np.int32)
        if len(cache) > RUN_CACHE_SIZE:
            self._runs = {_MARK_RUN: (_MARK_ID,)}
        marks = flat == _MARK_ID
        segment = np.cumsum(marks) - 1  # which (doc, field) each occurrence belongs to
        keep = ~marks
        segment = segment[keep]
        n_fields = len(FIELDS)
        return _Occurrences(
            slots=(first_slot + segment // n_fields).astype(np.int32),
            terms=flat[keep],
            fields=(segment % n_fields).astype(np.int8),
            key_slots=np.array(key_slots, np.int32),
            key_terms=np.array(key_terms, np.int32),
        )

    def column_row(self, doc: DocInput) -> tuple[object, ...]:
        """The doc's `Columns` values, in field order."""
        return (doc.resolution_id, True, doc.usable, self.outcome.code(doc.outcome),
                self.company.code(doc.company), self.category.code(doc.category),
                self.source.code(doc.source),
                _NO_DATE if doc.closed_at is None else doc.closed_at,
                prior(doc.outcome, doc.reopened, doc.helpful, doc.votes), doc.reopened,
                doc.updated_at)


def _weights(slots: np.ndarray, terms: np.ndarray, fields: np.ndarray,
             avg_length: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BM25F (term, slot, saturated weight) triples from one row per token occurrence."""
    if len(terms) == 0:
        empty = np.zeros(0, np.int64)
        return empty.astype(np.int32), empty.astype(np.int32), empty.astype(np.float32)
    base = int(slots.min())
    local = (slots - base).astype(np.int64)
    fields = fields.astype(np.int64)
    n_fields = len(FIELDS)
    lengths = np.bincount(local * n_fields + fields, minlength=(int(local.max()) + 1) * n_fields)
    key = (terms.astype(np.int64) << 32) | (local << 3) | fields
    unique, tf = np.unique(key, return_counts=True)
    field_of = unique & 7
    slot_of = (unique >> 3) & 0xFFFFFFF
    term_of = unique >> 32
    length = lengths[slot_of * n_fields + field_of]
    norm = 1.0 - FIELD_B[field_of] + FIELD_B[field_of] * length / avg_length[field_of]
    weighted = FIELD_WEIGHTS[field_of] * tf / norm
    pair = unique >> 3
    starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    total = np.add.reduceat(weighted, starts)
    saturated = total / (K1 + total)
    return (term_of[starts].astype(np.int32), (slot_of[starts] + base).astype(np.int32),
            saturated.astype(np.float32))


def _field_lengths(fields: list[np.ndarray], docs: int) -> np.ndarray:
    """Average tokens per doc in each field (1 where a field is always empty)."""
    sums = sum((np.bincount(f, minlength=len(FIELDS)) for f in fields),
               np.zeros(len(FIELDS))).astype(np.float64)
    averages = sums / max(docs, 1)
    averages[averages == 0] = 1.0
    return averages


@dataclass(frozen=True)
class _Occurrences:
    """One row per token occurrence (slot, term, field), and one per entity key (slot, key)."""

    slots: np.ndarray
    terms: np.ndarray
    fields: np.ndarray
    key_slots: np.ndarray
    key_terms: np.ndarray


def build(analyzer: Analyzer, docs: Iterable[DocInput], chunk: int = 20_000) -> Snapshot:
    """A fresh snapshot of `docs`: analyze in chunks, weigh once the field averages are known."""
    rows: list[tuple[object, ...]] = []
    chunks: list[_Occurrences] = []
    pending: list[DocInput] = []
    for doc in docs:
        pending.append(doc)
        if len(pending) >= chunk:
            chunks.append(analyzer.chunk_terms(pending, len(rows)))
            rows += [analyzer.column_row(d) for d in pending]
            pending = []
    chunks.append(analyzer.chunk_terms(pending, len(rows)))
    rows += [analyzer.column_row(d) for d in pending]
    avg_length = _field_lengths([c.fields for c in chunks], len(rows))
    parts = [_weights(c.slots, c.terms, c.fields, avg_length) for c in chunks]
    terms = np.concatenate([p[0] for p in parts] + [c.key_terms for c in chunks])
    slots = np.concatenate([p[1] for p in parts] + [c.key_slots for c in chunks])
    weights = np.concatenate([p[2] for p in parts]
                             + [np.ones(len(c.key_terms), np.float32) for c in chunks])
    chunks.clear()
    parts.clear()
    main = Segment.from_triples(terms, slots, weights, len(analyzer.vocab), docs_in_order=True)
    analyzer.vocab.index_for_matching(np.diff(main.offsets), docs=len(rows))
    columns = Columns.empty().extended(rows)
    return Snapshot(main, Segment.empty(), {}, columns, avg_length, len(rows))


def apply(analyzer: Analyzer, snapshot: Snapshot, upserts: Sequence[DocInput],
          removed: Iterable[int], slot_of: dict[int, int],
          priors: dict[int, float] | None = None) -> Snapshot:
    """A new snapshot with `upserts` added (replacing their old versions) and the resolution ids
    in `removed` dropped; `priors` overrides the prior of unchanged docs (new feedback).

    `slot_of` (resolution id → live slot) is updated in place; callers serialise `apply`.
    """
    columns = snapshot.columns
    alive = columns.alive.copy()
    prior_col = columns.prior.copy()
    live = snapshot.live
    delta_docs = dict(snapshot.delta_docs)
    for resolution_id in [*removed, *(doc.resolution_id for doc in upserts)]:
        slot = slot_of.pop(resolution_id, None)
        if slot is not None and alive[slot]:
            alive[slot] = False
            live -= 1
            delta_docs.pop(slot, None)
    for resolution_id, value in (priors or {}).items():
        slot = slot_of.get(resolution_id)
        if slot is not None:
            prior_col[slot] = value
    first_term = len(analyzer.vocab)
    rows: list[tuple[object, ...]] = []
    for doc in upserts:
        slot = snapshot.slots + len(rows)
        found = analyzer.chunk_terms([doc], slot)
        t, _, w = _weights(found.slots, found.terms, found.fields, snapshot.avg_length)
        delta_docs[slot] = (np.concatenate([t, found.key_terms]),
                            np.concatenate([w, np.ones(len(found.key_terms), np.float32)]))
        rows.append(analyzer.column_row(doc))
        slot_of[doc.resolution_id] = slot
        live += 1
    new_columns = replace(columns, alive=alive, prior=prior_col).extended(rows)
    if len(analyzer.vocab) > first_term:
        analyzer.vocab.index_for_matching(None, start=first_term)
    main = snapshot.main
    n_terms = len(analyzer.vocab)
    if len(delta_docs) > max(DELTA_MERGE_DOCS, snapshot.slots // 10):
        main = _merge(main, delta_docs, new_columns.alive, n_terms)
        delta_docs = {}
    delta = _delta_segment(delta_docs, n_terms)
    return Snapshot(main, delta, delta_docs, new_columns, snapshot.avg_length, live)


def _delta_segment(delta_docs: dict[int, tuple[np.ndarray, np.ndarray]], n_terms: int) -> Segment:
    if not delta_docs:
        return Segment.empty()
    slots = np.concatenate([np.full(len(t), slot, np.int32)
                            for slot, (t, _) in delta_docs.items()])
    terms = np.concatenate([t for t, _ in delta_docs.values()])
    weights = np.concatenate([w for _, w in delta_docs.values()])
    return Segment.from_triples(terms, slots, weights, n_terms)


def _merge(main: Segment, delta_docs: dict[int, tuple[np.ndarray, np.ndarray]],
           alive: np.ndarray, n_terms: int) -> Segment:
    """One segment of the live postings of `main` and the delta docs."""
    terms, docs, weights = main.triples()
    delta = _delta_segment(delta_docs, n_terms)
    d_terms, d_docs, d_weights = delta.triples()
    terms = np.concatenate([terms, d_terms])
    docs = np.concatenate([docs, d_docs])
    weights = np.concatenate([weights, d_weights])
    keep = alive[docs]
    return Segment.from_triples(terms[keep], docs[keep], weights[keep], n_terms)


# --- queries -------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueryTerm:
    """One index term a query looks up: which query word it stands for and what it counts."""

    term_id: int
    word: str
    weight: float
    entity: bool = False


@dataclass(frozen=True)
class QueryPlan:
    """The terms of a query, and each query word's share of the query's information."""

    terms: tuple[QueryTerm, ...]
    word_idf: dict[str, float]


def query_parts(query: str) -> list[tuple[str, float]]:
    """The query's text in weighted parts: (text, weight), noise cleaned out.

    Why: a real incoming ticket or forum post is markup, a subject line and a body carrying
    quoted replies, signatures, disclaimers and an "our environment" paragraph naming products
    that have nothing to do with the problem. The extractor's cleaning drops markup, quotes and
    signatures; the subject line (the first line) says what the problem is, so it weighs
    `QUERY_TITLE_WEIGHT`; a paragraph that opens as setup boilerplate ("Environment:", "For
    context, ...") weighs `QUERY_BOILERPLATE_WEIGHT`.
    """
    from extract.clean import clean_text  # the extractor's cleaning, for query text only

    text = clean_text(query[:MAX_QUERY_CHARS]).text
    title, _, body = text.strip().partition("\n")
    parts: list[tuple[str, float]] = [(title, QUERY_TITLE_WEIGHT)] if title.strip() else []
    for paragraph in _PARAGRAPH.split(body):
        if paragraph.strip():
            boiler = _BOILERPLATE.match(paragraph) is not None
            parts.append((paragraph, QUERY_BOILERPLATE_WEIGHT if boiler else 1.0))
    return parts


def query_words(query: str) -> dict[str, tuple[str, float]]:
    """Index term → (the query token it came from, its query weight), best first, capped.

    A word's weight sums its parts' weights and saturates (BM25's k3), so a word repeated in a
    long post counts a little more, not many times more. At most `MAX_QUERY_TERMS` words are
    kept: a rambling text's words beyond that add noise and latency, not evidence.
    """
    return _weigh_words(query_parts(query))


def _weigh_words(parts: Sequence[tuple[str, float]]) -> dict[str, tuple[str, float]]:
    weights: dict[str, float] = {}
    shown: dict[str, str] = {}
    for text, weight in parts:
        for token in tokenize(text):
            if token in _CONTRACTION_STUBS:
                continue
            term = stem(token)
            shown.setdefault(term, token)
            weights[term] = weights.get(term, 0.0) + weight
    saturated = {term: _saturate(w) for term, w in weights.items()}
    kept = sorted(saturated, key=lambda term: -saturated[term])[:MAX_QUERY_TERMS]  # stable
    return {term: (shown[term], saturated[term]) for term in kept}


def _saturate(weight: float) -> float:
    """BM25's k3 saturation: 1.0 for one body mention, approaching k3 + 1 for many."""
    return weight * (QUERY_K3 + 1.0) / (QUERY_K3 + weight)


def _weigh_products(parts: Sequence[tuple[str, float]]) -> dict[str, float]:
    """Canonical products the query names, weighed like words (an environment paragraph's
    products count little)."""
    weights: dict[str, float] = {}
    for text, weight in parts:
        for name in named_products(text):
            weights[name] = weights.get(name, 0.0) + weight
    return {name: _saturate(weight) for name, weight in weights.items()}


def plan_query(analyzer: Analyzer, snapshot: Snapshot, query: str) -> QueryPlan:
    """Exact, typo-tolerant and partial-code terms of a query, plus its entity boosts (each
    scaled by its word's query weight)."""
    vocab = analyzer.vocab
    parts = query_parts(query)
    words = _weigh_words(parts)
    terms: list[QueryTerm] = []
    word_idf: dict[str, float] = {}
    unseen_idf = math.log(1.0 + (max(snapshot.live, 1) + 0.5) / 0.5)
    for word, (shown, qw) in words.items():
        term_id = vocab.ids.get(word)
        df = snapshot.df(term_id) if term_id is not None else 0
        word_idf[shown] = snapshot.idf(term_id) if term_id is not None and df else unseen_idf
        if term_id is not None and df:
            terms.append(QueryTerm(term_id, shown, qw))
        if word.isalpha() and len(word) >= MIN_TYPO_LENGTH and df < TYPO_MAX_DF:
            for other, distance in vocab.typo_candidates(word):
                other_id = vocab.ids[other]
                if snapshot.df(other_id) > df * 10:
                    terms.append(QueryTerm(other_id, shown, qw * TYPO_WEIGHT[distance]))
                    word_idf[shown] = min(word_idf[shown], snapshot.idf(other_id))
        elif is_code(word) and len(word) >= MIN_PREFIX_LENGTH:
            longer = [vocab.ids[t] for t in vocab.code_prefixed(word)]
            longer = sorted((t for t in longer if snapshot.df(t)), key=snapshot.df,
                            reverse=True)[:MAX_PREFIX_EXPANSIONS]
            terms.extend(QueryTerm(t, shown, qw * PREFIX_WEIGHT) for t in longer)
            if longer and not df:
                word_idf[shown] = max(snapshot.idf(t) for t in longer)
        if is_code(word):
            key = vocab.ids.get(_CODE_KEY + word)
            if key is not None and snapshot.df(key):
                terms.append(QueryTerm(key, shown, qw * ENTITY_BOOST, entity=True))
    for name, pw in _weigh_products(parts).items():
        key = vocab.ids.get(product_key(name))
        if key is not None and snapshot.df(key):
            terms.append(QueryTerm(key, name, pw * ENTITY_BOOST, entity=True))
    return QueryPlan(tuple(terms), word_idf)


def score(snapshot: Snapshot, plan: QueryPlan,
          allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(doc slots, relevance) of the allowed docs matching the query, in no particular order.

    Why two paths: a common term's postings cover a large share of the store, and summing them
    for every doc is what makes a query slow at a million docs. When the query's rarer terms
    (df at most `COMMON_SHARE` of the store) already find `PRUNE_MIN_CANDIDATES` allowed docs,
    only those are scored, and the common terms' weights are looked up for them alone (each
    common posting list is read through a slot → candidate map). A doc matching nothing but
    common words is then left out; it would rank below them anyway unless it matched many
    common words.
    Otherwise every posting is summed with one `np.bincount`.
    """
    cut = max(int(snapshot.live * COMMON_SHARE), PRUNE_MIN_CANDIDATES)
    rare = [t for t in plan.terms if snapshot.df(t.term_id) <= cut]
    common = [t for t in plan.terms if snapshot.df(t.term_id) > cut]
    if rare and common:
        slots, values = _sum_postings(snapshot, rare, allowed)
        if len(slots) >= PRUNE_MIN_CANDIDATES:
            position = np.zeros(snapshot.slots, np.int32)  # slot → 1 + its index in `slots`
            position[slots] = np.arange(1, len(slots) + 1, dtype=np.int32)
            for term in common:
                factor = np.float32(snapshot.idf(term.term_id) * term.weight)
                for segment in (snapshot.main, snapshot.delta):
                    start, end = segment.span(term.term_id)
                    if end == start:
                        continue
                    at = position[segment.docs[start:end]]
                    hit = np.flatnonzero(at)
                    values[at[hit] - 1] += segment.weights[start:end][hit] * factor
            return slots, values
    return _sum_postings(snapshot, plan.terms, allowed)


def _sum_postings(snapshot: Snapshot, terms: Sequence[QueryTerm],
                  allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Allowed docs holding any of `terms` (ascending) and their summed idf × weight.

    The postings are copied once into buffers of the types `np.bincount` works in (intp slots,
    float64 weights), so it converts nothing; each weight is still scaled in float32.
    """
    spans: list[tuple[Segment, int, int, np.float32]] = []
    total = 0
    for term in terms:
        factor = np.float32(snapshot.idf(term.term_id) * term.weight)
        for segment in (snapshot.main, snapshot.delta):
            start, end = segment.span(term.term_id)
            if end > start:
                spans.append((segment, start, end, factor))
                total += end - start
    if not spans:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    docs = np.empty(total, np.intp)
    weights = np.empty(total, np.float64)
    at = 0
    for segment, start, end, factor in spans:
        docs[at:at + end - start] = segment.docs[start:end]
        np.multiply(segment.weights[start:end], factor, out=weights[at:at + end - start],
                    dtype=np.float32)
        at += end - start
    if total * 8 < snapshot.slots:  # few postings: avoid a store-sized array
        slots, inverse = np.unique(docs, return_inverse=True)
        values = np.bincount(inverse, weights=weights).astype(np.float32)
        keep = allowed[slots]
        return slots[keep], values[keep]
    sums = np.bincount(docs, weights=weights, minlength=snapshot.slots)
    # Test the bool mask, not the float sums: finding the nonzero entries of a float array
    # costs several times more than of a bool one.
    slots = np.flatnonzero((sums != 0) & allowed)
    return slots, sums[slots].astype(np.float32)
