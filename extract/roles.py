"""Roles of a sentence in a ticket, by cue rules: symptom, cause, action, failed attempt,
verification, closure, or other.

The rules read one segment (a sentence or a clause of a terse list) and who wrote it. They are
written for how notes really look: lowercase, no periods, abbreviations ("pw", "b/c", "w/"),
typos in past-tense verbs, one-word closing notes. The trained role model
(`extract.classifiers`) reads these rules' roles as features and decides the segments it is
sure about; below its threshold the rules stand (see `extract.analysis`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from extract import cues
from extract.lexicon import verbs

__all__ = [
    "Classification", "Context", "Role", "classify", "is_closure", "label_length", "normalise",
]


class Role(StrEnum):
    """What a segment says about the ticket."""

    SYMPTOM = "symptom"
    CAUSE = "cause"
    ACTION = "action"
    FAILED = "failed"
    VERIFICATION = "verification"
    CLOSURE = "closure"
    OTHER = "other"


class Context(StrEnum):
    """Where the segment was written, which changes how its words read."""

    TITLE = "title"
    DESCRIPTION = "description"
    CUSTOMER = "customer"
    TECHNICIAN = "technician"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Classification:
    """The roles of one segment; `followup` marks a bare "didn't help" about an earlier step."""

    roles: frozenset[Role]
    followup: bool = False

    @property
    def primary(self) -> Role:
        """The single most telling role (failed > action > cause > verification > ...)."""
        for role in (Role.FAILED, Role.ACTION, Role.CAUSE, Role.VERIFICATION, Role.SYMPTOM,
                     Role.CLOSURE):
            if role in self.roles:
                return role
        return Role.OTHER


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
_SPACES = re.compile(r"\s+")
_CLOSURE_HEADS = frozenset({
    "fixed", "done", "resolved", "sorted", "solved", "complete", "completed", "closing", "closed",
    "close", "handled", "finished", "nfa", "set", "working", "works", "good", "ok", "okay", "fine",
    "cleared", "corrected", "restored",
})
_CLOSURE_STATE = frozenset({"working", "works", "good", "ok", "okay", "fine"})
_CLOSURE_WORDS = _CLOSURE_HEADS | frozenset({
    "all", "now", "it", "issue", "ticket", "the", "is", "has", "been", "this", "per", "user",
    "usr", "thanks", "thx", "ty", "as", "requested", "see", "above", "to", "go", "taken", "care",
    "of", "no", "further", "action", "needed", "required", "out", "up", "again", "should", "be",
    "everything", "problem", "job", "task", "request", "its", "it's", "and", "by", "tech", "for",
    "n/a", "na", "resolution", "status", "confirmed", "client", "with", "call", "phone",
    "remote", "remotely", "onsite", "seems", "looks", "appears", "was", "are", "we", "i", "me",
})
_WORD = re.compile(r"[a-z/']+")


def normalise(text: str) -> str:
    """Lowercase, straight apostrophes, single spaces: the form every cue is written against."""
    return _SPACES.sub(" ", text.translate(_APOSTROPHES).lower()).strip()


def is_closure(text: str) -> bool:
    """True for a note that only says it is done: "fixed it", "resolved", "all good", "ok now"."""
    return _is_closure_words(_WORD.findall(normalise(text)))


def _is_closure_words(words: list[str]) -> bool:
    return bool(words) and len(words) <= 8 and all(w in _CLOSURE_WORDS for w in words) \
        and any(w in _CLOSURE_HEADS for w in words)


def label_length(text: str) -> int:
    """Length of a leading "Resolution:"/"Cause -" label in `text` (0 when there is none)."""
    if ":" not in text and "=" not in text and "-" not in text:
        return 0  # without a separator a label can only be the whole text, which counts as none
    match = cues.LABEL.match(text)
    return match.end() if match and match.end() < len(text) else 0


@dataclass(frozen=True, slots=True)
class _Start:
    """How a segment begins: with an action verb or not, which one, and whether it is bare."""

    acted: bool
    verb: str = ""
    base: bool = False


_NO_ACTION = _Start(False)
_ONGOING = frozenset({"started", "stopped", "kept", "keeps", "continued"})


def _title_case(text: str) -> bool:
    """ "Open Harbor Food Bank": a name (a signature line), not an imperative."""
    words = [w for w in text.split() if w[:1].isalpha()]
    return len(words) >= 2 and all(w[0].isupper() for w in words) and not text.isupper()


def _passive(body: str) -> _Start | None:
    """ "pw reset", "ost rebuilt": a thing named first, then the done-form of what was done."""
    lexicon = verbs()
    subject = cues.PASSIVE_SUBJECT.match(body)
    if subject is None:
        return None
    done = lexicon.action_pattern.match(body, subject.end())
    if done is None:
        return None
    phrase = normalise(done.group())
    if lexicon.is_base_form(phrase) or phrase in lexicon.symptom_verbs or phrase in _ONGOING:
        return None
    return _Start(True, phrase)


def _action_start(body: str) -> _Start:
    """Whether `body` (lead-ins removed) starts with something a technician did or told."""
    lexicon = verbs()
    instructed = cues.INSTRUCTED.match(body)
    if instructed:
        told = lexicon.action_pattern.match(body, instructed.end())
        return _Start(True, normalise(told.group())) if told else _NO_ACTION
    if cues.COMMAND.match(body):
        return _Start(True, "run")
    if cues.CAUSE_STRONG.match(body) or cues.CAUSE_FOUND.match(body) or cues.ADJECTIVAL.match(body):
        return _NO_ACTION  # "turned out ...", "looks like ...", "shared mailbox not showing"
    match = lexicon.action_pattern.match(body)
    if match is None:
        passive = _passive(body)
        if passive is not None:
            return passive
        word = body.split(" ", 1)[0].strip(",.;:")
        generic = (len(word) >= 5 and word.endswith(("ed", "'d"))
                   and word.replace("'", "").isalpha() and word not in lexicon.not_actions
                   and word not in lexicon.symptom_verbs)
        return _Start(generic, word)
    phrase = normalise(match.group())
    if phrase in lexicon.symptom_verbs:
        return _NO_ACTION
    if phrase in _ONGOING and cues.ONGOING_NEXT.match(body, match.end()):
        return _NO_ACTION  # "started getting errors"
    base = lexicon.is_base_form(phrase)
    if base and cues.BASE_BLOCKERS.match(body, match.end()):
        return _NO_ACTION
    if not base and cues.NOUN_PHRASE_NEXT.match(body, match.end() + 1):
        return _NO_ACTION
    return _Start(True, phrase, base)


def _closure(norm: str) -> Classification:
    state = any(w in _CLOSURE_STATE for w in _WORD.findall(norm))
    return Classification(frozenset({Role.CLOSURE, Role.VERIFICATION} if state
                                    else {Role.CLOSURE}))


def classify(text: str, *, context: Context = Context.TECHNICIAN) -> Classification:
    """The roles of one segment written in `context`."""
    norm = normalise(text)
    hint: Role | None = None
    label = cues.LABEL.match(norm)
    if label:
        hint = Role(cues.LABEL_ROLES[label.group("label")]) \
            if label.group("label") in cues.LABEL_ROLES else None
        norm = norm[label.end():]
    if not norm:
        return Classification(frozenset({Role.OTHER}))
    # `norm` is normalised already (normalise is idempotent).
    if _is_closure_words(_WORD.findall(norm)) and context is not Context.TITLE:
        return _closure(norm)
    body = cues.LEAD.sub("", norm)
    customer_side = context in (Context.TITLE, Context.DESCRIPTION, Context.CUSTOMER)
    roles: set[Role] = {hint} if hint is not None else set()
    not_done = cues.NOT_DONE.search(body)
    if not_done and (not_done.group().endswith("?") or not cues.CONFIRMED.search(body)):
        # A plan, a request or a question ("should be working now, can you confirm?").
        if customer_side and (cues.SYMPTOM_STRONG.search(body) or cues.SYMPTOM_WEAK.search(body)):
            roles.add(Role.SYMPTOM)
        return Classification(frozenset(roles or {Role.OTHER}))
    start = _NO_ACTION if cues.NEGATED_START.match(body) else _action_start(body)
    tried = cues.TRIED.search(body) is not None
    failure = cues.FAILURE.search(body) is not None
    # After the leading verb: "fixed the mapping" is a step, not a report that it worked.
    success = cues.SUCCESS.search(body, len(start.verb)) is not None and not failure
    symptom = cues.SYMPTOM_STRONG.search(body) is not None
    check = cues.VERIFY.search(body)
    # "authenticated successfully" inside a quoted error message is not a check.
    verified = not failure and (
        (check is not None and not (symptom and check.group().startswith("success")))
        or cues.SHORT_OK.match(body) is not None)
    strong_cause = cues.CAUSE_STRONG.search(body) is not None or (
        not customer_side and cues.CAUSE_BECAUSE.search(body) is not None)
    cause = strong_cause or (not customer_side and (
        cues.CAUSE_FOUND.search(body) is not None
        or (cues.CAUSE_STATE.search(body) is not None and not symptom)))
    acted = start.acted and not (start.base and (symptom or strong_cause or _title_case(text)))
    if acted and (verified or success) and cues.CHECK_VERB.match(start.verb):
        acted = False  # "tested send/recv ok" is the check, not a step

    if (tried and not success) or (failure and (acted or tried)):
        return Classification(frozenset(roles | {Role.FAILED}))
    if failure:
        # "still no luck", "didn't help": about the step before it.
        return Classification(frozenset(roles | {Role.FAILED}), followup=True)
    if acted and customer_side and cues.FIRST_PERSON.search(norm) and not verified:
        if cues.CUSTOMER_ATTEMPT.search(body):
            return Classification(frozenset(roles | {Role.FAILED}))
        return Classification(frozenset(roles | {Role.SYMPTOM if symptom else Role.OTHER}))
    if acted:
        roles.add(Role.ACTION)
        if verified or (success and not start.base):
            roles.add(Role.VERIFICATION)
        if cause:
            roles.add(Role.CAUSE)
        return Classification(frozenset(roles))
    if cause and not (customer_side and symptom and not strong_cause):
        roles.add(Role.CAUSE)
    if verified:
        roles.add(Role.VERIFICATION)
    elif symptom or (customer_side and cues.SYMPTOM_WEAK.search(body)):
        roles.add(Role.SYMPTOM)
    return Classification(frozenset(roles or {Role.OTHER}))
