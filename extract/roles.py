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
from dataclasses import dataclass, fields
from enum import StrEnum
from functools import cache
from typing import Generic, NamedTuple, TypeVar

from extract import cues
from extract.lexicon import verbs
from extract.patterns import (
    MAX_CACHED_TOKEN,
    Alternation,
    CasePattern,
    TokenGates,
    trie_alternation,
)

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
    # `replace` returns its string untouched when the quote is absent, far cheaper than a
    # `translate` table; `split()` cuts at the same Unicode whitespace as `\s+` and strips.
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'").lower()
    return " ".join(text.split())


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


_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class _Cues(Generic[_T]):
    """One thing per cue `classify` reads a segment with: a compiled form of it, or its gate bit.

    `classify` picks the forms once a segment (`CasePattern` would decide it on every call): the
    case-sensitive ones and the token gates on ASCII text (lowercased by `normalise`, so it has
    no uppercase letter), the ``IGNORECASE`` ones with every gate open elsewhere."""

    label: _T
    lead: _T
    closing: _T
    not_done: _T
    confirmed: _T
    negated_start: _T
    instructed: _T
    command: _T
    adjectival: _T
    passive_subject: _T
    ongoing_next: _T
    base_blockers: _T
    noun_phrase_next: _T
    tried: _T
    success: _T
    symptom_weak: _T
    short_ok: _T
    cause_strong: _T
    cause_because: _T
    cause_found: _T
    cause_state: _T
    first_person: _T
    customer_attempt: _T


# `closing` gates the closure-note check: such a note holds one of the heads.
_CLOSING = CasePattern("|".join(map(re.escape, sorted(_CLOSURE_HEADS))))
_PATTERNS = [_CLOSING if f.name == "closing" else getattr(cues, f.name.upper())
             for f in fields(_Cues)]
_EXACT = _Cues(*(p.exact for p in _PATTERNS))
_FOLDED = _Cues(*(p.folded for p in _PATTERNS))
_BIT = _Cues(*(1 << index for index in range(len(_PATTERNS))))
# What the gates say for text they do not cover (not ASCII): everything may match.
_ALL_OPEN = -1


@dataclass(frozen=True, slots=True)
class _Split:
    """A big cue searched branch by branch: each of its top-level branches has its own gate bit
    (from `shift` on), so a segment runs only the branches whose literals it holds."""

    folded: re.Pattern[str]
    exact: Alternation
    shift: int
    # The gate bits of all the branches: any on, and the cue may match.
    bits: int

    def search(self, text: str, gates: int, pos: int = 0) -> re.Match[str] | None:
        """The cue's `search`, given the segment's gate bits (`_ALL_OPEN`: the folded form)."""
        if gates == _ALL_OPEN:
            return self.folded.search(text, pos)
        return self.exact.search(text, (gates & self.bits) >> self.shift, pos)


def _split(cue: CasePattern, shift: int) -> _Split:
    exact = Alternation(cue.pattern)
    return _Split(cue.folded, exact, shift, ((1 << len(exact.branches)) - 1) << shift)


_FAILURE = _split(cues.FAILURE, len(_PATTERNS))
_SYMPTOM_STRONG = _split(cues.SYMPTOM_STRONG, _FAILURE.shift + len(_FAILURE.exact.branches))
_VERIFY = _split(cues.VERIFY, _SYMPTOM_STRONG.shift + len(_SYMPTOM_STRONG.exact.branches))
_GATES = TokenGates([*(p.pattern for p in _PATTERNS),
                     *(branch.pattern for split in (_FAILURE, _SYMPTOM_STRONG, _VERIFY)
                       for branch in split.exact.branches)])


class _Starters(dict[str, bool]):
    """Token -> whether an action phrase can match at its start (ASCII, single-spaced text).

    The phrase's first word must begin the token and end there or before a character that is
    not a word character or an apostrophe (the phrase pattern's closing lookahead; a space
    would end the token). Most segments start with no such token and never run the action
    pattern (hundreds of phrases) at all. Bounded like `TokenGates`' cache."""

    def __init__(self, limit: int = 50_000) -> None:
        super().__init__()
        self.limit = limit
        firsts = {form.split(" ", 1)[0] for form in verbs().action_forms}
        self.first_word = re.compile(rf"(?:{trie_alternation(firsts)})(?![\w'])")

    def __missing__(self, token: str) -> bool:
        starts = self.first_word.match(token) is not None
        if len(token) <= MAX_CACHED_TOKEN:
            if len(self) >= self.limit:
                self.clear()
            self[token] = starts
        return starts


@cache
def _starters() -> _Starters:
    """The starters, built on first use (the verb lexicon loads then, not at import)."""
    return _Starters()


class _Start(NamedTuple):
    """How a segment begins: with an action verb or not, which one, and whether it is bare.

    A named tuple: one is built for nearly every segment, and tuples are the cheapest to build."""

    acted: bool
    verb: str = ""
    base: bool = False


_NO_ACTION = _Start(False)
_ONGOING = frozenset({"started", "stopped", "kept", "keeps", "continued"})


def _title_case(text: str) -> bool:
    """ "Open Harbor Food Bank": a name (a signature line), not an imperative."""
    words = [w for w in text.split() if w[:1].isalpha()]
    return len(words) >= 2 and all(w[0].isupper() for w in words) and not text.isupper()


def _passive(body: str, rx: _Cues[re.Pattern[str]], tokens: list[str]) -> _Start | None:
    """ "pw reset", "ost rebuilt": a thing named first, then the done-form of what was done.

    `tokens`: the first five tokens of `body` (the last one holding the rest)."""
    lexicon = verbs()
    # The subject is one to three tokens: the done-form starts the second, third or fourth.
    if rx is _EXACT and not any(map(_starters().__getitem__, tokens[1:4])):
        return None
    subject = rx.passive_subject.match(body)
    if subject is None:
        return None
    done = lexicon.action_pattern.match(body, subject.end())
    if done is None:
        return None
    phrase = normalise(done.group())
    if lexicon.is_base_form(phrase) or phrase in lexicon.symptom_verbs or phrase in _ONGOING:
        return None
    return _Start(True, phrase)


def _action_start(body: str, rx: _Cues[re.Pattern[str]], gates: int) -> _Start:
    """Whether `body` (lead-ins removed) starts with something a technician did or told; `rx`
    and `gates` as `classify` chose them."""
    lexicon = verbs()
    instructed = rx.instructed.match(body) if gates & _BIT.instructed else None
    if instructed:
        told = lexicon.action_pattern.match(body, instructed.end())
        return _Start(True, normalise(told.group())) if told else _NO_ACTION
    if gates & _BIT.command and rx.command.match(body):
        return _Start(True, "run")
    if ((gates & _BIT.cause_strong and rx.cause_strong.match(body))
            or (gates & _BIT.cause_found and rx.cause_found.match(body))
            or (gates & _BIT.adjectival and rx.adjectival.match(body))):
        return _NO_ACTION  # "turned out ...", "looks like ...", "shared mailbox not showing"
    tokens = body.split(" ", 4)
    match = lexicon.action_pattern.match(body) \
        if rx is not _EXACT or _starters()[tokens[0]] else None
    if match is None:
        passive = _passive(body, rx, tokens)
        if passive is not None:
            return passive
        word = tokens[0].strip(",.;:")
        generic = (len(word) >= 5 and word.endswith(("ed", "'d"))
                   and word.replace("'", "").isalpha() and word not in lexicon.not_actions
                   and word not in lexicon.symptom_verbs)
        return _Start(generic, word)
    phrase = normalise(match.group())
    if phrase in lexicon.symptom_verbs:
        return _NO_ACTION
    if phrase in _ONGOING and rx.ongoing_next.match(body, match.end()):
        return _NO_ACTION  # "started getting errors"
    base = lexicon.is_base_form(phrase)
    if base and gates & _BIT.base_blockers and rx.base_blockers.match(body, match.end()):
        return _NO_ACTION
    if not base and gates & _BIT.noun_phrase_next and rx.noun_phrase_next.match(body,
                                                                                match.end() + 1):
        return _NO_ACTION
    return _Start(True, phrase, base)


@cache
def _result(roles: frozenset[Role], followup: bool = False) -> Classification:
    """One shared (immutable) Classification per outcome: a segment's result is one of a few."""
    return Classification(roles, followup)


_OTHER = _result(frozenset({Role.OTHER}))


def _closure(norm: str) -> Classification:
    state = any(w in _CLOSURE_STATE for w in _WORD.findall(norm))
    return _result(frozenset({Role.CLOSURE, Role.VERIFICATION} if state else {Role.CLOSURE}))


def classify(text: str, *, context: Context = Context.TECHNICIAN) -> Classification:
    """The roles of one segment written in `context`."""
    norm = normalise(text)
    # Each cue below is searched only when its gate is open: most are closed on most segments.
    fast = norm.isascii()
    rx = _EXACT if fast else _FOLDED
    hint: Role | None = None
    label = rx.label.match(norm)
    if label:
        hint = Role(cues.LABEL_ROLES[label.group("label")]) \
            if label.group("label") in cues.LABEL_ROLES else None
        norm = norm[label.end():]
    if not norm:
        return _OTHER
    gates = _GATES.mask(norm) if fast else _ALL_OPEN
    # `norm` is normalised already (normalise is idempotent).
    if gates & _BIT.closing and _is_closure_words(_WORD.findall(norm)) \
            and context is not Context.TITLE:
        return _closure(norm)
    # Lead-ins off: the pattern is anchored and never matches empty, so `sub` would drop one
    # match at the start. A suffix of `norm`, so `gates` hold for it too.
    lead = rx.lead.match(norm)
    body = norm[lead.end():] if lead else norm
    customer_side = context in (Context.TITLE, Context.DESCRIPTION, Context.CUSTOMER)
    roles: set[Role] = {hint} if hint is not None else set()
    symptom = bool(gates & _SYMPTOM_STRONG.bits) and _SYMPTOM_STRONG.search(body, gates) is not None
    not_done = rx.not_done.search(body) if gates & _BIT.not_done else None
    if not_done and (not_done.group().endswith("?")
                     or not (gates & _BIT.confirmed and rx.confirmed.search(body))):
        # A plan, a request or a question ("should be working now, can you confirm?").
        if customer_side and (symptom or (gates & _BIT.symptom_weak
                                          and rx.symptom_weak.search(body))):
            roles.add(Role.SYMPTOM)
        return _result(frozenset(roles or {Role.OTHER}))
    start = _NO_ACTION if gates & _BIT.negated_start and rx.negated_start.match(body) \
        else _action_start(body, rx, gates)
    tried = bool(gates & _BIT.tried) and rx.tried.search(body) is not None
    failure = bool(gates & _FAILURE.bits) and _FAILURE.search(body, gates) is not None
    # After the leading verb: "fixed the mapping" is a step, not a report that it worked.
    success = not failure and bool(gates & _BIT.success) \
        and rx.success.search(body, len(start.verb)) is not None
    check = _VERIFY.search(body, gates) if gates & _VERIFY.bits else None
    # "authenticated successfully" inside a quoted error message is not a check.
    verified = not failure and (
        (check is not None and not (symptom and check.group().startswith("success")))
        or (bool(gates & _BIT.short_ok) and rx.short_ok.match(body) is not None))
    strong_cause = (bool(gates & _BIT.cause_strong) and rx.cause_strong.search(body) is not None
                    ) or (not customer_side and bool(gates & _BIT.cause_because)
                          and rx.cause_because.search(body) is not None)
    cause = strong_cause or (not customer_side and (
        (bool(gates & _BIT.cause_found) and rx.cause_found.search(body) is not None)
        or (not symptom and bool(gates & _BIT.cause_state)
            and rx.cause_state.search(body) is not None)))
    acted = start.acted and not (start.base and (symptom or strong_cause or _title_case(text)))
    if acted and (verified or success) and cues.CHECK_VERB.match(start.verb):
        acted = False  # "tested send/recv ok" is the check, not a step

    if (tried and not success) or (failure and (acted or tried)):
        return _result(frozenset(roles | {Role.FAILED}))
    if failure:
        # "still no luck", "didn't help": about the step before it.
        return _result(frozenset(roles | {Role.FAILED}), True)
    if acted and customer_side and not verified and gates & _BIT.first_person \
            and rx.first_person.search(norm):
        if gates & _BIT.customer_attempt and rx.customer_attempt.search(body):
            return _result(frozenset(roles | {Role.FAILED}))
        return _result(frozenset(roles | {Role.SYMPTOM if symptom else Role.OTHER}))
    if acted:
        roles.add(Role.ACTION)
        if verified or (success and not start.base):
            roles.add(Role.VERIFICATION)
        if cause:
            roles.add(Role.CAUSE)
        return _result(frozenset(roles))
    if cause and not (customer_side and symptom and not strong_cause):
        roles.add(Role.CAUSE)
    if verified:
        roles.add(Role.VERIFICATION)
    elif symptom or (customer_side and gates & _BIT.symptom_weak
                     and rx.symptom_weak.search(body)):
        roles.add(Role.SYMPTOM)
    return _result(frozenset(roles or {Role.OTHER}))
