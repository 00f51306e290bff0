"""The trained sentence-role and ticket-category models: features, artefacts, predictions.

`python -m extract.train` fits both models on the train split of the labelled tickets and writes
them to ``extract/models/`` with a manifest (format version, scikit-learn version, sha256 of the
training data and of each artefact). Loading checks the manifest before unpickling anything and
raises ExtractionError when an artefact is missing, altered, or was built for another format or
another scikit-learn; the models are loaded once per process, on first use.

Features (`extract.features`) are shared by training and inference so both see the same units:
a segment is its words (unigrams, bigrams, subwords) plus cheap context keys (who wrote it,
where it sits, what the rules said about it and its neighbours); a ticket is its title and
description, its notes, and the rules' category and product votes. Inference is batched: the
extractor featurises every segment (and every ticket) of a batch of tickets at once and calls
each classifier once per batch.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy
import sklearn
from scipy import sparse
from spacy.strings import StringStore

from extract.features import EMPTY, Block, key, text_words
from extract.roles import Context
from records import ExtractionError

if TYPE_CHECKING:
    from extract.analysis import Analysis, Segment

__all__ = [
    "FORMAT_VERSION", "MODELS", "Bundle", "CategoryRow", "best", "category_columns",
    "category_row", "load_bundle", "predict_categories", "predict_category", "predict_roles",
    "predict_roles_many",
    "primed_categories", "segment_rows",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
MODELS = Path(__file__).resolve().parent / "models"
MANIFEST = "manifest.json"
NAMES = ("roles", "category")

CategoryRow = tuple[str, str, str]
Probabilities = dict[str, float]


@dataclass(frozen=True)
class Bundle:
    """One fitted model: a feature block per input column, and its classifier."""

    blocks: tuple[Block, ...]
    classifier: Any

    def matrix(self, columns: Sequence[Sequence[Any]],
               strings: StringStore | None = None) -> sparse.csr_matrix:
        """The feature matrix of rows given column by column (`strings` spells the word ids,
        for subword features)."""
        memo: dict[int, Any] = {}  # a column given twice is read once
        return sparse.hstack([block.transform(column, strings, memo) for block, column
                              in zip(self.blocks, columns, strict=True)], format="csr")

    @property
    def labels(self) -> list[str]:
        """Class labels, in the column order of `predict`."""
        return [str(label) for label in self.classifier.classes_]

    def predict(self, columns: Sequence[Sequence[Any]],
                strings: StringStore | None = None) -> numpy.ndarray:
        """Class probabilities of each row (a row per input row, a column per label).

        The classifier's own arithmetic (a multinomial logistic regression: softmax of
        ``X @ coef_.T + intercept_``), done block by block: no stacked matrix, and none of
        scikit-learn's per-call validation, which costs more than the product here."""
        classes = len(self.classifier.classes_)
        if not len(columns[0]):
            return numpy.zeros((0, classes))
        scores = numpy.tile(self.classifier.intercept_, (len(columns[0]), 1))
        memo: dict[int, Any] = {}  # a column given twice is read once
        for block, column, weights in zip(self.blocks, columns, self._weights(), strict=True):
            if block.kind == "tokens":
                # context keys repeat (about a thousand distinct tuples in thousands of rows):
                # each distinct tuple's product is computed once per process, then gathered
                scores += block.scores(column, weights)
            else:
                scores += block.transform(column, strings, memo) @ weights
        scores -= scores.max(axis=1, keepdims=True)
        numpy.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def _weights(self) -> list[numpy.ndarray]:
        """Each block's columns of ``coef_``, transposed (a row per feature), as C-contiguous
        copies kept per process: scipy's sparse-by-dense product copies a transposed slice
        into that layout at every call (a megabyte a batch of fresh memory for the category
        model). The same values: the same products."""
        coef = self.classifier.coef_
        kept = _WEIGHTS.get(id(self))
        if kept is None or kept[0]() is not self or kept[1] is not coef:
            for ident in [ident for ident, entry in _WEIGHTS.items() if entry[0]() is None]:
                del _WEIGHTS[ident]  # bundles gone: their ids may come back
            bounds = numpy.cumsum([0, *(len(block.vocabulary) for block in self.blocks)])
            kept = _WEIGHTS[id(self)] = (
                weakref.ref(self), coef,
                [numpy.ascontiguousarray(coef[:, start:stop].T)
                 for start, stop in pairwise(bounds)])
        return kept[2]

    def probabilities(self, columns: Sequence[Sequence[Any]],
                      strings: StringStore | None = None) -> list[Probabilities]:
        """Class probabilities of each row, by label."""
        labels = self.labels
        return [dict(zip(labels, row, strict=True))
                for row in self.predict(columns, strings).tolist()]


# `Bundle._weights` by the bundle's id, with (weakly) the bundle and the coefficients they were
# copied from: a bundle is frozen, and a cache on it would be pickled into the artefact.
_WEIGHTS: dict[int, tuple[weakref.ref[Bundle], numpy.ndarray, list[numpy.ndarray]]] = {}


def _name(value: Any) -> str:
    return str(getattr(value, "value", value))


def _meta(where: tuple[str, str, str], first: bool, last: bool, length: int, followup: bool,
          rules: frozenset[Any], before: frozenset[Any], after: frozenset[Any]
          ) -> tuple[int, ...]:
    """The context keys of one segment."""
    context, kind, position = where
    names = [f"ctx={context}", f"kind={kind}", f"src={position}",
             "seg=first" if first else "seg=later", "seg=last" if last else "seg=notlast",
             f"len={length}", f"followup={followup}"]
    for prefix, roles in (("rule", rules), ("prev", before), ("next", after)):
        names += [f"{prefix}={role}" for role in sorted(_name(r) for r in roles)]
    return tuple(key(name) for name in names)


_NONE = frozenset({"none"})
_METAS: dict[tuple[Any, ...], tuple[int, ...]] = {}  # `_meta` by its arguments: few distinct
_METAS_LIMIT = 1 << 16
_LENGTHS = tuple(min(length // 4, 5) for length in range(20))  # a segment's word count, bucketed


def segment_rows(segments: Sequence[Segment]) -> tuple[list[numpy.ndarray], list[tuple[int, ...]]]:
    """Word and context columns for every segment of one ticket, in reading order."""
    words = [segment.words for segment in segments]
    return words, _segment_metas(segments, list(map(len, words)))


def _segment_metas(segments: Sequence[Segment], lengths: Sequence[int]) -> list[tuple[int, ...]]:
    """The context column of `segment_rows`, given each segment's number of words.

    Called for every segment of a batch (thousands per batch), so each segment is touched by
    one comprehension building its `_meta` arguments, looked up in a plain dict (cheaper than
    an lru_cache call); first / last of its source are flagged from index lists."""
    sources: dict[int, tuple[str, str, str]] = {}
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    idents = [id(segment.source) for segment in segments]
    for index, ident in enumerate(idents):
        if ident not in sources:
            source = segments[index].source
            kind = source.kind.value if source.kind else source.field
            sources[ident] = (source.context.value, kind, "first" if not sources else "mid")
            first[ident] = index
        last[ident] = index
    if len(sources) > 1:
        context, kind, _ = sources[ident]
        sources[ident] = (context, kind, "last")
    count = len(segments)
    is_first = [False] * count
    is_last = [False] * count
    for index in first.values():
        is_first[index] = True
    for index in last.values():
        is_last[index] = True
    names = [_NONE, *(frozenset(segment.roles) for segment in segments), _NONE]
    arguments = [(sources[ident], starts, ends, _LENGTHS[length] if length < 20 else 5,
                  bool(segment.classification.followup), rules, before, after)
                 for ident, starts, ends, length, segment, before, rules, after
                 in zip(idents, is_first, is_last, lengths, segments, names[:-2],
                        names[1:-1], names[2:], strict=True)]
    if len(_METAS) > _METAS_LIMIT:
        _METAS.clear()
    known = _METAS.get
    return [known(found) or _METAS.setdefault(found, _meta(*found)) for found in arguments]


def category_row(title: str, notes: Sequence[str], rule_category: str,
                 product_categories: Sequence[str]) -> CategoryRow:
    """Title-and-description, notes, and rule-vote columns of one ticket."""
    votes = [f"rule={rule_category}"] + [f"product={p}" for p in product_categories]
    return title, " ".join(notes), " ".join(votes)


def _joined_words(text: str, parts: Sequence[tuple[str, numpy.ndarray]]) -> numpy.ndarray:
    """Word ids of `text` when it is a " "-join of some of `parts` (texts whose ids are known),
    else read afresh. spaCy splits on spaces before anything else, so a join's tokens are its
    parts' tokens in turn, whichever parts they are."""
    found: list[numpy.ndarray] = []
    at, end = 0, len(text)
    for part, words in parts:
        if at > end:
            break
        stop = at + len(part)
        if text.startswith(part, at) and (stop == end or text[stop] == " "):
            found.append(words)
            at = stop + 1
    if at - 1 == end or (not text and not found):
        return numpy.concatenate(found) if found else numpy.zeros(0, dtype=numpy.uint64)
    return text_words(text)


def _parts(analysis: Analysis) -> list[tuple[str, numpy.ndarray]]:
    return [(s.clean.text, w) for s, w in zip(analysis.sources, analysis.words, strict=True)]


# `_vote_keys` by the votes' text: a rule category and product categories, a bounded
# vocabulary (about a hundred distinct texts on the bench corpus)
_VOTES: dict[str, tuple[int, ...]] = {}
_VOTES_LIMIT = 1 << 12


def _vote_keys(votes: str) -> tuple[int, ...]:
    """The vote column's keys of a `category_row`'s votes, one shared tuple per distinct votes
    text: the tokens block's `Block.scores` knows its rows by identity, so a fresh tuple per
    ticket would miss its cache every batch (and fill it with tuples never seen again)."""
    found = _VOTES.get(votes)
    if found is None:
        if len(_VOTES) > _VOTES_LIMIT:
            _VOTES.clear()
        found = _VOTES[votes] = tuple(map(key, votes.split()))
    return found


def category_columns(rows: Sequence[CategoryRow], analyses: Sequence[Analysis | None]
                     ) -> tuple[list[numpy.ndarray], list[numpy.ndarray], list[tuple[int, ...]]]:
    """The category model's columns for tickets' `category_row`s, reusing the word ids of each
    ticket's analysis (None: read the text afresh).

    `category_row`'s own joins are tried first: the title and description, and the notes but
    the system's. Two string comparisons settle a ticket (all of the bench corpus's), where
    `_joined_words` tests a prefix per source and text; the same words either way. The words
    of all rows are then one concatenation, each row a slice of it, not a concatenation per
    row (numpy's overhead per call is most of it on a ticket's few short arrays). About 6 ->
    5 us a ticket."""
    pieces: list[numpy.ndarray] = []
    cuts: list[int] = []  # the number of pieces after each column entry: opening, notes, ...
    votes: list[tuple[int, ...]] = []
    for row, analysis in zip(rows, analyses, strict=True):
        votes.append(_vote_keys(row[2]))
        if analysis is None:
            pieces.append(_joined_words(row[0], []))
            cuts.append(len(pieces))
            pieces.append(_joined_words(row[1], []))
            cuts.append(len(pieces))
            continue
        first_texts, first_words, note_texts, note_words = [], [], [], []
        for source, ids in zip(analysis.sources, analysis.words, strict=True):
            if source.field != "note":
                first_texts.append(source.clean.text)
                first_words.append(ids)
            elif source.context is not Context.SYSTEM:
                note_texts.append(source.clean.text)
                note_words.append(ids)
        if row[0] == " ".join(first_texts):
            pieces += first_words
        else:
            pieces.append(_joined_words(row[0], _parts(analysis)))
        cuts.append(len(pieces))
        if row[1] == " ".join(note_texts):
            pieces += note_words
        else:
            pieces.append(_joined_words(row[1], _parts(analysis)))
        cuts.append(len(pieces))
    lengths = numpy.fromiter(map(len, pieces), dtype=numpy.int64, count=len(pieces))
    offsets = numpy.zeros(len(pieces) + 1, dtype=numpy.int64)
    numpy.cumsum(lengths, out=offsets[1:])
    flat = numpy.concatenate(pieces) if pieces else EMPTY
    ends = offsets[cuts].tolist()
    columns = [flat[start:end] for start, end in zip([0, *ends], ends, strict=False)]
    return columns[0::2], columns[1::2], votes


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the artefacts in `folder`, checked against this code and library."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExtractionError(f"model manifest {path.name} is missing or unreadable; "
                              "run `python -m extract.train`") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ExtractionError(f"model artefacts have format {manifest.get('format_version')!r}, "
                              f"this code reads {FORMAT_VERSION}; run `python -m extract.train`")
    if manifest.get("sklearn_version") != sklearn.__version__:
        raise ExtractionError(f"model artefacts were built with scikit-learn "
                              f"{manifest.get('sklearn_version')!r}, this is "
                              f"{sklearn.__version__}; run `python -m extract.train`")
    return manifest


def load_bundle(name: str, folder: Path = MODELS) -> Bundle:
    """One checked artefact from `folder`: ExtractionError if it does not match its manifest."""
    manifest = read_manifest(folder)
    entry = manifest.get("artefacts", {}).get(name)
    path = folder / f"{name}.joblib"
    if not entry or not path.is_file():
        raise ExtractionError(f"model artefact {name!r} is missing; run `python -m extract.train`")
    if sha256_file(path) != entry.get("sha256"):
        # Checked before unpickling: never load bytes the manifest does not vouch for.
        raise ExtractionError(f"model artefact {name!r} does not match its manifest (sha256)")
    bundle = joblib.load(path)
    if not isinstance(bundle, Bundle):
        raise ExtractionError(f"model artefact {name!r} holds {type(bundle).__name__}")
    log.info("loaded %s model (trained on data %s)", name,
             str(manifest.get("training_data_sha256", ""))[:12])
    return bundle


@cache
def _shipped(name: str) -> Bundle:
    return load_bundle(name)


def predict_roles(segments: Sequence[Segment],
                  strings: StringStore | None = None) -> list[Probabilities]:
    """Role probabilities for every segment of one ticket (labels as in `extract.labelled`)."""
    labels, probabilities = predict_roles_many([segments], strings)
    return [dict(zip(labels, row, strict=True)) for row in probabilities.tolist()]


def predict_roles_many(tickets: Sequence[Sequence[Segment]],
                       strings: StringStore | None = None) -> tuple[list[str], numpy.ndarray]:
    """Role labels, and the probabilities of every segment of many tickets (a row per segment,
    tickets one after another): one featurisation and one predict_proba for the whole batch.
    `strings` spells the word ids (the docs' vocab), for the subword features.

    The segments of one `analyse_many` batch (the extractor's) share their word ids: the word
    column is gathered from them in one go (`BatchWords.rows`), the same rows as `segment_rows`
    gives one by one."""
    every = [segment for segments in tickets for segment in segments]
    batch = every[0].batch if every else None
    words: Sequence[numpy.ndarray]
    if batch is not None and all(segment.batch is batch for segment in every):
        words = batch.rows([segment.row for segment in every])
        lengths = words.lengths.tolist()
    else:
        words = [segment.words for segment in every]
        lengths = list(map(len, words))
    metas: list[tuple[int, ...]] = []
    at = 0
    for segments in tickets:
        metas += _segment_metas(segments, lengths[at:at + len(segments)])
        at += len(segments)
    bundle = _shipped("roles")
    return bundle.labels, bundle.predict([words, words, metas], strings)


def predict_categories(rows: Sequence[CategoryRow], analyses: Sequence[Analysis | None],
                       strings: StringStore | None = None) -> list[Probabilities]:
    """Category probabilities of many tickets' `category_row`s, in one call."""
    return _shipped("category").probabilities(list(category_columns(rows, analyses)), strings)


_primed: contextvars.ContextVar[Mapping[CategoryRow, Probabilities] | None] = \
    contextvars.ContextVar("fixedit_primed_categories", default=None)


@contextmanager
def primed_categories(answers: Mapping[CategoryRow, Probabilities]) -> Iterator[None]:
    """Let `predict_category` answer these rows from a batch prediction already made."""
    token = _primed.set(answers)
    try:
        yield
    finally:
        _primed.reset(token)


def predict_category(row: CategoryRow) -> Probabilities:
    """Category probabilities of one ticket's `category_row` (from the batch the extractor
    primed when there is one; else read and predicted alone, the slow path)."""
    primed = _primed.get()
    if primed is not None and row in primed:
        return primed[row]
    return predict_categories([row], [None])[0]


def best(probabilities: Mapping[str, float]) -> tuple[str, float]:
    """The likeliest label and its probability."""
    label = max(sorted(probabilities), key=probabilities.__getitem__)
    return label, probabilities[label]


def as_array(values: Sequence[str]) -> numpy.ndarray:
    """Labels as a numpy array (what scikit-learn fits on)."""
    return numpy.asarray(values, dtype=object)
