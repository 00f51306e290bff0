"""Read the processed docs of one ticket: segments with roles, and entity mentions.

This is where spaCy types end: `analyse` takes the docs and hands back plain dataclasses that
`extract.assemble` builds the Resolution from. It also links a bare "didn't help" to the step it
is about, across notes: "Rebuilt profile." followed by the user's "still getting the error" makes
the rebuild a failed attempt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from typing import NamedTuple

import numpy
from spacy.attrs import IDX, IS_SPACE, LOWER
from spacy.strings import StringStore
from spacy.tokens import Doc

from extract.classifiers import predict_roles_many
from extract.entities import Mention, mentions
from extract.features import EMPTY, BatchWords
from extract.roles import Classification, Context, Role, read_segment
from extract.segment import TOKEN_COLUMNS, TokenBatch, segment_spans, token_table
from extract.sources import Source

__all__ = ["Analysis", "Segment", "SourceMention", "analyse", "analyse_many", "apply_role_model"]

_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|me|my|we|we've|our|us)\b", re.IGNORECASE)


@dataclass(slots=True)
class Segment:
    """One sentence or clause of one source, with the roles it plays."""

    source: Source
    start: int
    end: int
    classification: Classification
    # Shared and immutable: `classify` hands back one frozenset per outcome, and a segment's
    # roles change (rarely) by replacing them, not by copying a set for every segment.
    roles: frozenset[Role]
    # The later "didn't help" segments this step is linked to (`_link_followups`).
    linked: tuple[Segment, ...] = ()
    # Where the LOWER ids of the segment's tokens (spaCy's hashes, what the role model reads)
    # are: segment `row` of its batch's word ids (None: no tokens known).
    batch: BatchWords | None = None
    row: int = 0

    @property
    def words(self) -> numpy.ndarray:
        """LOWER ids of the segment's tokens."""
        return EMPTY if self.batch is None else self.batch.row(self.row)

    @property
    def text(self) -> str:
        """The cleaned text of the segment."""
        return self.source.clean.text[self.start:self.end]


class SourceMention(NamedTuple):
    """An entity mention and the source it was found in. (A named tuple: see `Source`.)"""

    source: Source
    mention: Mention


@dataclass(slots=True)
class Analysis:
    """Everything read from one ticket, in reading order."""

    sources: list[Source]
    segments: list[Segment]
    mentions: list[SourceMention]
    # LOWER ids of each source's tokens, and the string store that spells them (for the models).
    words: list[numpy.ndarray] = field(default_factory=list)
    strings: StringStore | None = None
    # The category model's row (`extract.assemble.category_inputs`), once someone has built it.
    category_row: tuple[str, str, str] | None = None

    def by_role(self, role: Role, *, contexts: Sequence[Context] | None = None) -> list[Segment]:
        """Segments playing `role`, optionally only from some contexts."""
        return [s for s in self.segments if role in s.roles
                and (contexts is None or s.source.context in contexts)]


# `SourceMention(source, mention)` from a (source, mention) pair, all in C: what the named
# tuple's own `__new__` does, without a Python call per mention.
_SOURCE_MENTION = partial(tuple.__new__, SourceMention)
_DESCRIPTION = Context.DESCRIPTION
_ACTION, _VERIFICATION, _CLOSURE = Role.ACTION, Role.VERIFICATION, Role.CLOSURE
# A step's roles, which a failed or described step loses.
_STEP = frozenset({Role.ACTION, Role.VERIFICATION})
_FAILED = frozenset({Role.FAILED})
# The one-role sets a segment's roles are replaced with.
_ONLY = {role: frozenset({role}) for role in Role}


def _link_followups(segments: list[Segment]) -> None:
    """Turn the step before a bare "no luck"/"still failing" into a failed attempt."""
    last_action: Segment | None = None
    for segment in segments:
        roles = segment.roles
        if segment.classification.followup:
            if last_action is not None:
                last_action.roles = last_action.roles - _STEP | _FAILED
                last_action.linked = (*last_action.linked, segment)
                segment.roles = _ONLY[Role.OTHER]
            elif segment.source.context in (Context.TITLE, Context.DESCRIPTION, Context.CUSTOMER):
                segment.roles = _ONLY[Role.SYMPTOM]
            else:
                segment.roles = _ONLY[Role.OTHER]
            continue
        if _ACTION in roles and _VERIFICATION not in roles:
            last_action = segment
        elif _VERIFICATION in roles or _CLOSURE in roles:
            last_action = None


def _settle_description(described: list[Segment]) -> None:
    """Steps in a description count only when a technician wrote it as a log of the work.

    A customer's "I plugged it back in" or "she changed pw on monday" is context, not a step;
    "Called in, remoted in, cleared the queue, printing again" (a technician logging a phone
    fix as the description) is the work itself. (`described`: the ticket's segments written
    in the description context.)
    """
    acting = [s for s in described if _ACTION in s.roles]
    if acting and (len(acting) < 2 or any(_FIRST_PERSON.search(s.text) for s in described)):
        for segment in acting:
            segment.roles = segment.roles - _STEP or _ONLY[Role.OTHER]


_MODEL_ROLES = {"symptom": Role.SYMPTOM, "cause": Role.CAUSE, "action": Role.ACTION,
                "failed_attempt": Role.FAILED, "verification": Role.VERIFICATION}
# The model decides a segment when it is at least this sure; below it the rules stand. Closure
# notes ("fixed it") and steps the rules linked to a later "didn't help" keep their rule roles:
# those rules read across segments, which the model does not. Chosen on the dev split for the
# hashed-feature model of extractor 0.3.0 (`fixedit eval`, role F1 on dev at 0.5 / 0.6 / 0.7 /
# 0.8: symptom .88/.88/.85/.84, cause .68/.69/.65/.57, action .85/.83/.83/.82, failed
# .65/.65/.65/.63, verification .75/.74/.75/.71). 0.7 stays: lower thresholds gain on dev but
# let the model overrule the rules on worked examples the tests pin (a "remoted in" step, a
# description's symptom).
MODEL_THRESHOLD = 0.7


def apply_role_model(analyses: Sequence[Analysis]) -> None:
    """Let the trained role model decide the segments it is sure about, in every analysis.

    One featurisation and one prediction for the whole batch: per-call overhead in
    scikit-learn costs more than the arithmetic for a single ticket's segments."""
    strings = next((a.strings for a in analyses if a.strings is not None), None)
    labels, probabilities = predict_roles_many([a.segments for a in analyses], strings)
    if not len(probabilities):
        return
    decided = [_ONLY[_MODEL_ROLES.get(label, Role.OTHER)] for label in labels]
    # argmax takes the first of equal maxima; labels are sorted, as `best` breaks ties
    choices = probabilities.argmax(axis=1).tolist()
    sure = (probabilities.max(axis=1) >= MODEL_THRESHOLD).tolist()
    row = 0
    for analysis in analyses:
        for segment in analysis.segments:
            if sure[row] and not segment.linked and _CLOSURE not in segment.roles:
                segment.roles = decided[choices[row]]
            row += 1


def analyse(sources: list[Source], docs: Sequence[Doc], *, use_model: bool = True) -> Analysis:
    """Segments (with roles) and entity mentions of a ticket's sources and their docs; with
    `use_model` the trained role model places what the rules left as "other" (the extractor
    calls `analyse_many` and `apply_role_model` once for a batch of tickets instead)."""
    analysis = analyse_many([sources], [docs])[0]
    if use_model:
        apply_role_model([analysis])
    return analysis


def analyse_many(sources: Sequence[list[Source]], docs: Sequence[Sequence[Doc]],
                 tokens: TokenBatch | None = None) -> list[Analysis]:
    """`analyse` without the role model for many tickets (their sources and docs), reading the
    word ids of every doc of them with one set of numpy calls.

    Per doc, reading the ids and finding each segment's tokens cost about 5 microseconds of
    numpy call overhead (a few dozen tokens a doc): more than the arithmetic of a whole batch.
    So the token tables of all the docs are joined, each token placed at its offset in the
    join of all their texts (its doc's base, the lengths of the texts before it, plus its
    offset in its doc), and one `searchsorted` finds the first token of every doc and of every
    segment's start and end: a position in doc k is at most its length, where doc k + 1's first
    token is, so the tokens before it are doc k's own ones before it and the earlier docs'.
    (`tokens`: the docs' tables as `Boundaries.mark` joined them, if it read these docs.)"""
    analyses: list[Analysis] = []
    # every segment of the batch is numbered (its `row`) as it is made: its words are found
    # once all are, and read from here by number
    batch = BatchWords()
    count = 0
    # Positions in the join of all the texts to look up: the base of every doc (and the end of
    # the last), then the start and end of every segment.
    bases: list[int] = []
    bounds: list[int] = []
    base = 0
    every = [doc for ticket_docs in docs for doc in ticket_docs]
    sizes = [len(doc) for doc in every]
    # The spans of every doc as `Boundaries.mark` found them for the batch, if it read these
    # docs: the one list of them all, and where each doc's begin (`read`: docs read so far)
    marked = tokens is not None and _same_docs(tokens.docs, every, sizes)
    all_spans, owned = (tokens.spans, tokens.owned) if marked else ([], [])
    read = 0
    for ticket_sources, ticket_docs in zip(sources, docs, strict=True):
        segments: list[Segment] = []
        found: list[SourceMention] = []
        described: list[Segment] = []
        followup = False
        for source, doc in zip(ticket_sources, ticket_docs, strict=True):
            text = source.clean.text
            context = source.context
            first = len(segments)
            bases.append(base)
            if not marked:
                spans = segment_spans(doc, text)
            elif len(doc):
                spans = all_spans[owned[read]:owned[read + 1]]
                read += 1
            else:
                spans = []
            for start, end in spans:
                piece = text[start:end]
                # Evidence and text start after a "Resolution:" / "Cause -" label (`skip`).
                classification, skip = read_segment(piece, context)
                if classification.followup:
                    followup = True
                start += skip
                segments.append(Segment(source, start, end, classification,
                                        classification.roles, (), batch, count))
                count += 1
                bounds.append(base + start)
                bounds.append(base + end)
            if context is _DESCRIPTION:
                described += segments[first:]
            mentioned = mentions(doc)
            if mentioned:  # 41% of the bench corpus docs: no iterators for the others
                found += map(_SOURCE_MENTION, zip(repeat(source), mentioned))
            base += len(text)
        if described:
            _settle_description(described)
        if followup:
            _link_followups(segments)
        analyses.append(Analysis(ticket_sources, segments, found, [],
                                 ticket_docs[0].vocab.strings if ticket_docs else None))
    bases.append(base)
    ids, located = _token_bounds(every, sizes, bases, bounds,
                                 tokens.table if marked else None)
    batch.ids = ids
    batch.bounds = located[len(bases):]
    firsts = located[:len(bases)].tolist()
    at = 0
    for analysis in analyses:
        stop = at + len(analysis.sources)
        analysis.words = [ids[low:high] for low, high in zip(firsts[at:stop],
                                                             firsts[at + 1:stop + 1], strict=True)]
        at = stop
    return analyses


_IDX, _LOWER, _IS_SPACE = (TOKEN_COLUMNS.index(attr) for attr in (IDX, LOWER, IS_SPACE))
_NO_TOKENS = numpy.zeros((0, len(TOKEN_COLUMNS)), dtype=numpy.uint64)


def _token_bounds(docs: list[Doc], sizes: list[int], bases: list[int], bounds: list[int],
                  table: numpy.ndarray | None = None) -> tuple[numpy.ndarray, numpy.ndarray]:
    """LOWER ids of the non-space tokens of `docs` (one after another), and for each position
    of `bases` then `bounds` the index of the first of those tokens at or after it, a token of
    doc k sitting at ``bases[k]`` plus its offset (what `features.doc_words` and a
    `searchsorted` per doc give, for all the docs at once). (`sizes`: the docs' lengths;
    `table`: their token tables joined, if `Boundaries.mark` has.)"""
    if table is None:
        tables = [token_table(doc) for doc in docs]
        table = numpy.concatenate(tables) if tables else _NO_TOKENS
    # uint64 throughout, as the table is: a mix with int64 would compare as float64
    positions = table[:, _IDX] + numpy.repeat(numpy.array(bases[:-1], dtype=numpy.uint64),
                                              sizes)
    ids = table[:, _LOWER]
    spaces = table[:, _IS_SPACE]
    # a text without a space token (most single tickets) needs no selection (`doc_words`)
    if numpy.count_nonzero(spaces):
        kept = spaces == 0
        ids = ids[kept]
        positions = positions[kept]
    else:
        ids = ids.copy()
    return ids, numpy.searchsorted(positions, numpy.array(bases + bounds, dtype=numpy.uint64))


def _same_docs(read: list[Doc], docs: list[Doc], sizes: list[int]) -> bool:
    """Whether `read` is the docs of `docs` that have tokens (`sizes`: their lengths), in order,
    the very same objects."""
    with_tokens = [doc for doc, size in zip(docs, sizes, strict=True) if size]
    return len(with_tokens) == len(read) and all(
        mine is theirs for mine, theirs in zip(with_tokens, read, strict=True))
