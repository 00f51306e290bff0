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

import numpy
from spacy.strings import StringStore
from spacy.tokens import Doc

from extract.classifiers import predict_roles_many
from extract.entities import Mention, mentions
from extract.features import EMPTY, doc_words
from extract.roles import Classification, Context, Role, classify, label_length
from extract.segment import segment_spans
from extract.sources import Source

__all__ = ["Analysis", "Segment", "SourceMention", "analyse", "apply_role_model"]

_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|me|my|we|we've|our|us)\b", re.IGNORECASE)


@dataclass(slots=True)
class Segment:
    """One sentence or clause of one source, with the roles it plays."""

    source: Source
    start: int
    end: int
    classification: Classification
    roles: set[Role]
    linked: list[Segment] = field(default_factory=list)
    # LOWER ids of the segment's tokens (spaCy's hashes), what the role model reads.
    words: numpy.ndarray = field(default_factory=lambda: EMPTY)

    @property
    def text(self) -> str:
        """The cleaned text of the segment."""
        return self.source.clean.text[self.start:self.end]


@dataclass(frozen=True, slots=True)
class SourceMention:
    """An entity mention and the source it was found in."""

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


def _link_followups(segments: list[Segment]) -> None:
    """Turn the step before a bare "no luck"/"still failing" into a failed attempt."""
    last_action: Segment | None = None
    for segment in segments:
        if segment.classification.followup:
            if last_action is not None:
                last_action.roles.discard(Role.ACTION)
                last_action.roles.discard(Role.VERIFICATION)
                last_action.roles.add(Role.FAILED)
                last_action.linked.append(segment)
                segment.roles = {Role.OTHER}
            elif segment.source.context in (Context.TITLE, Context.DESCRIPTION, Context.CUSTOMER):
                segment.roles = {Role.SYMPTOM}
            else:
                segment.roles = {Role.OTHER}
            continue
        if Role.ACTION in segment.roles and Role.VERIFICATION not in segment.roles:
            last_action = segment
        elif Role.VERIFICATION in segment.roles or Role.CLOSURE in segment.roles:
            last_action = None


def _settle_description(segments: list[Segment]) -> None:
    """Steps in a description count only when a technician wrote it as a log of the work.

    A customer's "I plugged it back in" or "she changed pw on monday" is context, not a step;
    "Called in, remoted in, cleared the queue, printing again" (a technician logging a phone
    fix as the description) is the work itself.
    """
    described = [s for s in segments if s.source.context is Context.DESCRIPTION]
    acting = [s for s in described if Role.ACTION in s.roles]
    if acting and (len(acting) < 2 or any(_FIRST_PERSON.search(s.text) for s in described)):
        for segment in acting:
            segment.roles.discard(Role.ACTION)
            segment.roles.discard(Role.VERIFICATION)
            if not segment.roles:
                segment.roles.add(Role.OTHER)


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
    decided = [_MODEL_ROLES.get(label, Role.OTHER) for label in labels]
    # argmax takes the first of equal maxima; labels are sorted, as `best` breaks ties
    choices = probabilities.argmax(axis=1).tolist()
    sure = (probabilities.max(axis=1) >= MODEL_THRESHOLD).tolist()
    row = 0
    for analysis in analyses:
        for segment in analysis.segments:
            if sure[row] and not segment.linked and Role.CLOSURE not in segment.roles:
                segment.roles = {decided[choices[row]]}
            row += 1


def analyse(sources: list[Source], docs: Sequence[Doc], *, use_model: bool = True) -> Analysis:
    """Segments (with roles) and entity mentions of a ticket's sources and their docs; with
    `use_model` the trained role model places what the rules left as "other" (the extractor
    passes False and calls `apply_role_model` once for a batch of tickets)."""
    segments: list[Segment] = []
    found: list[SourceMention] = []
    words: list[numpy.ndarray] = []
    for source, doc in zip(sources, docs, strict=True):
        text = source.clean.text
        ids, starts = doc_words(doc)
        words.append(ids)
        first = len(segments)
        context = source.context
        for start, end in segment_spans(doc, text):
            piece = text[start:end]
            classification = classify(piece, context=context)
            # Evidence and text start after a "Resolution:" / "Cause -" label.
            segments.append(Segment(source, start + label_length(piece), end, classification,
                                    set(classification.roles)))
        if len(segments) > first:
            mine = segments[first:]
            bounds = numpy.searchsorted(starts, [[s.start for s in mine], [s.end for s in mine]])
            for segment, low, high in zip(mine, bounds[0].tolist(), bounds[1].tolist(),
                                          strict=True):
                segment.words = ids[low:high]
        found.extend(SourceMention(source, mention) for mention in mentions(doc))
    _settle_description(segments)
    _link_followups(segments)
    analysis = Analysis(sources, segments, found, words, docs[0].vocab.strings if docs else None)
    if use_model:
        apply_role_model([analysis])
    return analysis
