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
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Generic, NamedTuple, TypeVar

from extract import cues
from extract.lexicon import VerbLexicon, verbs
from extract.patterns import (
    MAX_CACHED_TOKEN,
    Alternation,
    CasePattern,
    TokenGates,
    split_phrases,
    top_level_branches,
    trie_alternation,
)

__all__ = [
    "Classification", "Context", "Role", "classify", "is_closure", "label_length", "normalise",
    "read_segment",
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
    return " ".join(_normalised_words(text))


def _normalised_words(text: str) -> list[str]:
    """The words of `normalise`d `text`: `classify` reads its token gates from them, without
    splitting the joined text again."""
    # `replace` returns its string untouched when the quote is absent, far cheaper than a
    # `translate` table; `split()` cuts at the same Unicode whitespace as `\s+` and strips.
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'").lower().split()


def is_closure(text: str) -> bool:
    """True for a note that only says it is done: "fixed it", "resolved", "all good", "ok now"."""
    return _is_closure_words(_WORD.findall(normalise(text)))


# What a closure note's text is, word by word (a word as `_WORD` reads one: a longest run of its
# characters): one to eight words of `_CLOSURE_WORDS`, anything else between them. Fails at the
# first other word, where finding all the words of a long segment first costs far more.
_CLOSURE_SHAPE = re.compile(
    rf"[^a-z/']*(?:(?:{trie_alternation(_CLOSURE_WORDS)})(?![a-z/'])[^a-z/']*){{1,8}}")


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
    short_ok: _T
    cause_strong: _T
    cause_because: _T
    cause_found: _T
    cause_state: _T
    first_person: _T


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
    # The bits of the branches whose gates are exact (`TokenGates.exact`): on, and it matches.
    decided: int
    # The bits of the other branches.
    undecided: int

    def search(self, text: str, gates: int, pos: int = 0) -> re.Match[str] | None:
        """The cue's `search`, given the segment's gate bits (`_ALL_OPEN`: the folded form)."""
        if gates == _ALL_OPEN:
            return self.folded.search(text, pos)
        return self.exact.search(text, (gates & self.bits) >> self.shift, pos)

    def found(self, text: str, gates: int) -> bool:
        """Whether `search` finds a match: cheaper where only that counts, as the first branch
        that matches anywhere decides."""
        if gates == _ALL_OPEN:
            return self.folded.search(text) is not None
        if gates & self.decided:
            return True
        # `Alternation.any`, spelled out: a call less where most of the time goes to calls.
        opened = (gates & self.undecided) >> self.shift
        branches = self.exact.branches
        while opened:
            low = opened & -opened
            if branches[low.bit_length() - 1].search(text) is not None:
                return True
            opened ^= low
        return False


def _split(cue: CasePattern, shift: int, *, found_only: bool = False) -> _Split:
    # One branch per phrase of a leading group ("\\b(?:issues?|problems?|...)\\b"): each gated
    # on its own, most of them one word, decided by the gates alone. `found_only`: a cue only
    # ever asked `found` (its `search` would find shorter matches: see `split_phrases`).
    phrases = CasePattern(split_phrases(cue.pattern, found_only=found_only))
    # Searched in `normalise`d ASCII text only (`_Split.search`): single-spaced.
    exact = Alternation(phrases.pattern, single_spaced=True)
    bits = ((1 << len(exact.branches)) - 1) << shift
    return _Split(phrases.folded, exact, shift, bits, 0, bits)  # none decided until `_GATES` is


def _not_done_phrases() -> CasePattern:
    """The phrases of `cues.NOT_DONE` ("will", "going to", ...) without its "?" at the end:
    whether the text ends with "?" (`\\?\\s*$` on `normalise`d text) is one string test."""
    head, question = top_level_branches(cues.NOT_DONE.pattern)
    if question != r"\?\s*$":
        raise ValueError("cues.NOT_DONE no longer ends with a question: update roles")
    return CasePattern(head)


_FAILURE = _split(cues.FAILURE, len(_PATTERNS))
_SYMPTOM_STRONG = _split(cues.SYMPTOM_STRONG, _FAILURE.shift + len(_FAILURE.exact.branches))
_VERIFY = _split(cues.VERIFY, _SYMPTOM_STRONG.shift + len(_SYMPTOM_STRONG.exact.branches))
_NOT_DONE = _split(_not_done_phrases(), _VERIFY.shift + len(_VERIFY.exact.branches))
_SYMPTOM_WEAK = _split(cues.SYMPTOM_WEAK, _NOT_DONE.shift + len(_NOT_DONE.exact.branches))
_CUSTOMER_ATTEMPT = _split(cues.CUSTOMER_ATTEMPT,
                           _SYMPTOM_WEAK.shift + len(_SYMPTOM_WEAK.exact.branches))
_CAUSE_STRONG = _split(cues.CAUSE_STRONG,
                       _CUSTOMER_ATTEMPT.shift + len(_CUSTOMER_ATTEMPT.exact.branches),
                       found_only=True)
_SPLITS = (_FAILURE, _SYMPTOM_STRONG, _VERIFY, _NOT_DONE, _SYMPTOM_WEAK, _CUSTOMER_ATTEMPT,
           _CAUSE_STRONG)
_GATES = TokenGates([*(p.pattern for p in _PATTERNS),
                     *(branch for split in _SPLITS for branch in split.exact.patterns)],
                    exact=True, boundaries=True)
_FAILURE, _SYMPTOM_STRONG, _VERIFY, _NOT_DONE, _SYMPTOM_WEAK, _CUSTOMER_ATTEMPT, _CAUSE_STRONG \
    = _SPLITS = tuple(
    replace(split, decided=split.bits & _GATES.exact, undecided=split.bits & ~_GATES.exact)
    for split in _SPLITS)
# What `classify` reads `_GATES.mask_words` with (two slots: one shift, as there).
if _GATES.slots != 2:
    raise ValueError("classify reads two slots of gates: update it")
_TOKEN_GATES = _GATES.masks.__getitem__
_ALWAYS_OPEN = _GATES.always
_GATE_WIDTH = _GATES.width
# Exact gates (`TokenGates.exact`) decide these cues alone, for the text they were read from.
if not _GATES.exact & _BIT.confirmed or not _GATES.exact & _BIT.first_person:
    raise ValueError("the gates of CONFIRMED and FIRST_PERSON must be exact: see classify")



class _Opens(dict[str, bool]):
    """Token -> whether `pattern` matches at its start: a bounded cache (like `TokenGates`')
    for a test that depends on one token alone."""

    def __init__(self, pattern: re.Pattern[str], limit: int = 50_000) -> None:
        super().__init__()
        self.pattern = pattern
        self.limit = limit

    def __missing__(self, token: str) -> bool:
        opens = self.pattern.match(token) is not None
        if len(token) <= MAX_CACHED_TOKEN:
            if len(self) >= self.limit:
                self.clear()
            self[token] = opens
        return opens


def _lead_tokens() -> _Opens:
    r"""Token -> whether a segment starting with it can start with a lead-in (`cues.LEAD`, a
    repeat of lead-ins each followed by `[\s,:-]+`: the match is there when the first is).

    A lead-in of words starts with its first word, which ends the token or is followed by one
    of ",:-" in it; the others ("10:30", "-", "2)") start with no letter. Most segments start
    with none of these, and skip the lead-in pattern (fifty branches tried at the start)."""
    prefix, suffix = "^(?:(?:", r")[\s,:-]+)+"
    pattern = cues.LEAD.pattern
    if not (pattern.startswith(prefix) and pattern.endswith(suffix)):
        raise ValueError("cues.LEAD is no longer a repeat of lead-ins: update _lead_tokens")
    firsts = set()  # the first words, as patterns ("afterwards?")
    for lead in top_level_branches(pattern[len(prefix):-len(suffix)]):
        if re.fullmatch(r"[a-z'?]+(?: [a-z' ]+)?", lead):
            firsts.add(lead.split(" ", 1)[0])
        elif re.match(r"[a-z]", lead):  # a letter, but not a plain word: not foreseen here
            raise ValueError(f"lead-in {lead!r} is not a plain word: update _lead_tokens")
    return _Opens(re.compile(rf"(?:{'|'.join(sorted(firsts))})(?:[,:-]|$)|[^a-z]"))


_LEAD_TOKENS = _lead_tokens()


def _action_starters(lexicon: VerbLexicon) -> _Opens:
    """Token -> whether an action phrase can match at its start (ASCII, single-spaced text).

    The phrase's first word must begin the token and end there or before a character that is
    not a word character or an apostrophe (the phrase pattern's closing lookahead; a space
    would end the token). Most segments start with no such token and never run the action
    pattern (hundreds of phrases) at all."""
    firsts = {form.split(" ", 1)[0] for form in lexicon.action_forms}
    return _Opens(re.compile(rf"(?:{trie_alternation(firsts)})(?![\w'])"))


class _Start(NamedTuple):
    """How a segment begins: with an action verb or not, which one, and whether it is bare.

    A named tuple: one is built for nearly every segment, and tuples are the cheapest to build."""

    acted: bool
    verb: str = ""
    base: bool = False


_NO_ACTION = _Start(False)
_RUN = _Start(True, "run")
_ONGOING = frozenset({"started", "stopped", "kept", "keeps", "continued"})


class _Opening(NamedTuple):
    """What a segment's first token alone tells `_action_start` (`phrase` is read only on
    `normalise`d ASCII text, where the verb pattern's case-sensitive form runs)."""

    # How the segment begins when no action phrase is found at its start or after a subject:
    # an unlisted "-ed" word still reads as a step ("reimaged ..."), anything else not.
    generic: _Start
    # The action phrase the segment starts with ("" for none), or None when a phrase of several
    # words starts with the token ("remote" in "remote in"): then the words after it decide.
    phrase: str | None


class _Openings(dict[str, _Opening]):
    """Token -> `_Opening` of a segment that starts with it.

    Most segments start with no action phrase, and then how they begin depends on the first
    token alone: looked up, not worked out again (and no `_Start` built) for each. The phrase
    a one-word form makes is the token's too: the verb pattern's match at a segment's start
    lies inside its first token unless a form of several words matches, and the closing
    lookahead reads the token's end as it reads the space after it. Bounded like `_Opens`."""

    def __init__(self, lexicon: VerbLexicon, limit: int = 50_000) -> None:
        super().__init__()
        self.lexicon = lexicon
        self.limit = limit
        # The first words of the forms of several words: only those tokens can start them.
        self.spanning = frozenset(form.split()[0] for form in lexicon.action_forms
                                  if len(form.split()) > 1)

    def __missing__(self, token: str) -> _Opening:
        word = token.strip(",.;:")
        generic = (len(word) >= 5 and word.endswith(("ed", "'d"))
                   and word.replace("'", "").isalpha() and word not in self.lexicon.not_actions
                   and word not in self.lexicon.symptom_verbs)
        phrase = None
        if token not in self.spanning:
            match = self.lexicon.action_pattern.match(token)
            phrase = "" if match is None else match.group()
        opening = _Opening(_Start(generic, word), phrase)
        if len(token) <= MAX_CACHED_TOKEN:
            if len(self) >= self.limit:
                self.clear()
            self[token] = opening
        return opening


# What a token can be in a passive ("pw reset", "the ost rebuilt"), as bits of `_Kinds`.
_THING, _DETERMINER, _STARTER = 1, 2, 4


class _Kinds(dict[str, int]):
    """Token -> what it can be in a passive: a word of its subject (`_THING`: the whole token
    matches `cues.PASSIVE_THING`), a determiner before them (`_DETERMINER`: "the", "user's")
    and where an action phrase can start (`_STARTER`: see `_action_starters`). Bounded like
    `_Opens`; read on ASCII text only, where the case-sensitive forms run."""

    def __init__(self, starters: _Opens, limit: int = 50_000) -> None:
        super().__init__()
        self.starters = starters
        self.thing = re.compile(cues.PASSIVE_THING)
        self.determiner = re.compile(cues.PASSIVE_DETERMINER)
        self.limit = limit

    def __missing__(self, token: str) -> int:
        kind = (_THING if self.thing.fullmatch(token) else 0) \
            | (_DETERMINER if self.determiner.fullmatch(token) else 0) \
            | (_STARTER if self.starters[token] else 0)
        if len(token) <= MAX_CACHED_TOKEN:
            if len(self) >= self.limit:
                self.clear()
            self[token] = kind
        return kind


class _Started(dict[str, _Start]):
    """Action phrase -> the `_Start` of a segment that starts with it (bare or not): one shared
    tuple per phrase, not a new one per segment. The phrases are the verb lexicon's forms, a
    few thousand; bounded all the same."""

    def __init__(self, lexicon: VerbLexicon, limit: int = 50_000) -> None:
        super().__init__()
        self.lexicon = lexicon
        self.limit = limit

    def __missing__(self, phrase: str) -> _Start:
        start = _Start(True, phrase, self.lexicon.is_base_form(phrase))
        if len(self) >= self.limit:
            self.clear()
        self[phrase] = start
        return start


@dataclass(frozen=True, slots=True)
class _Lexicon:
    """The verb lexicon and what `_action_start` looks up per token from it."""

    verbs: VerbLexicon
    starters: _Opens
    openings: _Openings
    kinds: _Kinds
    started: _Started


# Set by `_lexicon` on first use: read as a global on each segment, cheaper than a cached call.
_known: _Lexicon | None = None


def _lexicon() -> _Lexicon:
    """Built on first use (the verb lexicon loads then, not at import)."""
    global _known
    if _known is None:
        lexicon = verbs()
        starters = _action_starters(lexicon)
        _known = _Lexicon(lexicon, starters, _Openings(lexicon), _Kinds(starters),
                          _Started(lexicon))
    return _known


def _starters() -> _Opens:
    """Token -> whether an action phrase can start there (see `_action_starters`)."""
    return _lexicon().starters


def _title_case(text: str) -> bool:
    """ "Open Harbor Food Bank": a name (a signature line), not an imperative."""
    words = [w for w in text.split() if w[:1].isalpha()]
    return len(words) >= 2 and all(w[0].isupper() for w in words) and not text.isupper()


def _phrase(match: re.Match[str], rx: _Cues[re.Pattern[str]]) -> str:
    """The action phrase `match` found, `normalise`d: on ASCII text it is a piece of `normalise`d
    text without a space at either end, so normalised already."""
    return match.group() if rx is _EXACT else normalise(match.group())


def _subject_tokens(tokens: list[str], kinds: _Kinds) -> int:
    """How many of `tokens` (all the space-separated tokens of single-spaced ASCII text) the
    match of `cues.PASSIVE_SUBJECT` at its start covers; 0 without one.

    The pattern is an optional determiner, a word, an optional second word, each followed by
    whitespace: every part is a whole token (the whitespace after it ends it), and `re` tries
    the longest way first: with the determiner, then with the second word."""
    count = len(tokens)
    if count < 2:  # a subject needs a token after it
        return 0
    first = kinds[tokens[0]]
    if first & _DETERMINER and count > 2 and kinds[tokens[1]] & _THING:
        return 3 if count > 3 and kinds[tokens[2]] & _THING else 2
    if first & _THING:
        return 2 if count > 2 and kinds[tokens[1]] & _THING else 1
    return 0


def _passive(body: str, rx: _Cues[re.Pattern[str]], known: _Lexicon,
             tokens: list[str]) -> _Start | None:
    """ "pw reset", "ost rebuilt": a thing named first, then the done-form of what was done.

    On ASCII text the subject is read token by token (`_subject_tokens`), and the verb lexicon
    is not tried unless an action phrase can start the token after it (`_STARTER`). `tokens`:
    all of `body`'s space-separated tokens (`classify` has split it already)."""
    if rx is _EXACT:
        kinds = known.kinds
        count = _subject_tokens(tokens, kinds)
        if not count or not kinds[tokens[count]] & _STARTER:
            return None
        end = count + sum(map(len, tokens[:count]))  # the subject and the space after each
    else:
        subject = rx.passive_subject.match(body)
        if subject is None:
            return None
        end = subject.end()
    lexicon = known.verbs
    done = lexicon.action_pattern.match(body, end)
    if done is None:
        return None
    phrase = _phrase(done, rx)
    if lexicon.is_base_form(phrase) or phrase in lexicon.symptom_verbs or phrase in _ONGOING:
        return None
    return known.started[phrase]


# The cues `_action_start` tries before the verb lexicon.
_OPENING_CUES = _BIT.instructed | _BIT.command | _BIT.cause_strong | _BIT.cause_found \
    | _BIT.adjectival


def _action_start(body: str, rx: _Cues[re.Pattern[str]], gates: int,
                  tokens: list[str]) -> _Start:
    """Whether `body` (lead-ins removed) starts with something a technician did or told; `rx`
    and `gates` as `classify` chose them. `tokens`: all of `body`'s space-separated tokens
    (`classify` has split it already: no split here again)."""
    known = _known or _lexicon()
    lexicon = known.verbs
    if gates & _OPENING_CUES:  # closed on most segments: none of these can match
        instructed = rx.instructed.match(body) if gates & _BIT.instructed else None
        if instructed:
            told = lexicon.action_pattern.match(body, instructed.end())
            return _Start(True, _phrase(told, rx)) if told else _NO_ACTION
        if gates & _BIT.command and rx.command.match(body):
            return _RUN
        if ((gates & _BIT.cause_strong and rx.cause_strong.match(body))
                or (gates & _BIT.cause_found and rx.cause_found.match(body))
                or (gates & _BIT.adjectival and rx.adjectival.match(body))):
            return _NO_ACTION  # "turned out ...", "looks like ...", "shared mailbox not showing"
    opening = known.openings[tokens[0]]
    if rx is _EXACT and opening.phrase is not None:  # the first token decides the phrase
        phrase = opening.phrase
        end = len(phrase)
    else:
        match = lexicon.action_pattern.match(body)
        phrase, end = (_phrase(match, rx), match.end()) if match is not None else ("", 0)
    if not phrase:
        passive = _passive(body, rx, known, tokens)
        return passive if passive is not None else opening.generic
    if phrase in lexicon.symptom_verbs:
        return _NO_ACTION
    if phrase in _ONGOING and rx.ongoing_next.match(body, end):
        return _NO_ACTION  # "started getting errors"
    base = lexicon.is_base_form(phrase)
    if base and gates & _BIT.base_blockers and rx.base_blockers.match(body, end):
        return _NO_ACTION
    if not base and gates & _BIT.noun_phrase_next and rx.noun_phrase_next.match(body, end + 1):
        return _NO_ACTION
    return known.started[phrase]


# `classify` adds up a segment's roles as bits of an int, and hands back one shared (immutable)
# Classification per outcome: sets of enum members, and the enum lookups, cost more than the
# rules around them.
_ROLE_BITS = {role: 1 << index for index, role in enumerate(Role)}
_SYMPTOM = _ROLE_BITS[Role.SYMPTOM]
_CAUSE = _ROLE_BITS[Role.CAUSE]
_ACTION = _ROLE_BITS[Role.ACTION]
_FAILED = _ROLE_BITS[Role.FAILED]
_VERIFICATION = _ROLE_BITS[Role.VERIFICATION]
_CLOSURE = _ROLE_BITS[Role.CLOSURE]
_OTHER_ROLE = _ROLE_BITS[Role.OTHER]
# Indexed by a set of role bits: its Classification, without and with `followup`.
_OUTCOMES = [Classification(frozenset(role for role, bit in _ROLE_BITS.items() if bits & bit))
             for bits in range(1 << len(Role))]
_FOLLOWUPS = [Classification(outcome.roles, True) for outcome in _OUTCOMES]
_OTHER = _OUTCOMES[_OTHER_ROLE]
_LABEL_HINTS = {label: _ROLE_BITS[Role(role)] for label, role in cues.LABEL_ROLES.items()}
# The cues `classify` reads after the action start: with none open, none of them matches.
_LATE_CUES = _BIT.tried | _FAILURE.bits | _BIT.success | _VERIFY.bits | _BIT.short_ok \
    | _BIT.cause_strong | _BIT.cause_because | _BIT.cause_found | _BIT.cause_state
# The most tokens a `cues.SHORT_OK` match can have: three words, the state, "now".
_SHORT_OK_TOKENS = 5
# The cues the rules after the action start read: with none of them open (and no first person
# word in the text, no "?" at the end), only the action start decides.
_RULED = _SYMPTOM_STRONG.bits | _NOT_DONE.bits | _BIT.negated_start | _LATE_CUES
_CUSTOMER_RULED = _RULED | _SYMPTOM_WEAK.bits
_CUSTOMER_SIDE = frozenset({Context.TITLE, Context.DESCRIPTION, Context.CUSTOMER})
_TITLE = Context.TITLE


def _closure(norm: str) -> Classification:
    state = any(w in _CLOSURE_STATE for w in _WORD.findall(norm))
    return _OUTCOMES[_CLOSURE | _VERIFICATION if state else _CLOSURE]


def classify(text: str, *, context: Context = Context.TECHNICIAN) -> Classification:
    """The roles of one segment written in `context`."""
    return read_segment(text, context)[0]


def read_segment(text: str, context: Context) -> tuple[Classification, int]:
    """`classify` and `label_length` of one segment written in `context`, in one pass.

    `classify` reads a label off the segment's `normalise`d text. Where the lowered text is
    ASCII, `label_length` finds one only where that does: the label it finds is followed by
    more text after a ":", "=", or a "-" and whitespace, all still there once single-spaced.
    So the label's length is looked for only then (or in other text, where lowering can change
    the letters: "İssue" lowers to "i̇ssue"), not with a pattern of two dozen words on every
    segment (`analyse_many` skips the label: its evidence and text start after it)."""
    # `_normalised_words`, cheaper for ASCII text: without the curly quotes to straighten (and
    # the quotes have no case: straightened after lowering, they read the same).
    lowered = text.lower()
    if lowered.isascii():
        words = lowered.replace("`", "'").split()
        norm = " ".join(words)
        fast = True
    else:
        words = _normalised_words(text)
        norm = " ".join(words)
        fast = norm.isascii()
    # Each cue below is searched only when its gate is open: most are closed on most segments.
    # The gates are read off the whole text, and hold for the text after a label or a lead-in
    # (it can only hold fewer of the literals they look for, and it starts after whitespace or
    # one of ",:=-", where a word boundary reads as in the whole text: see `TokenGates`), but
    # are exact (`_Split.found`) only for the whole text: `gates` are read again for that body.
    rx = _EXACT if fast else _FOLDED
    if fast:
        # `_GATES.mask_words(words)`, spelled out: a method call less on every segment, and a
        # plain loop, cheaper than `reduce` calling `or_` for each word.
        found = _ALWAYS_OPEN
        for word in words:
            found |= _TOKEN_GATES(word)
        gates = text_gates = found & (found >> _GATE_WIDTH)
    else:
        gates = text_gates = _ALL_OPEN
    hint = 0
    label = rx.label.match(norm) if gates & _BIT.label else None
    skip = 0
    if label:
        hint = _LABEL_HINTS.get(label.group("label"), 0)
        norm = norm[label.end():]
        skip = label_length(text)
    elif not fast:
        skip = label_length(text)
    if not norm:
        return _OTHER, skip
    if gates & _BIT.closing and context is not _TITLE and _CLOSURE_SHAPE.fullmatch(norm) \
            and _is_closure_words(_WORD.findall(norm)):
        return _closure(norm), skip
    # Lead-ins off: the pattern is anchored and never matches empty, so `sub` would drop one
    # match at the start.
    lead = rx.lead.match(norm) if gates & _BIT.lead and not (
        fast and not _LEAD_TOKENS[norm.split(" ", 1)[0] if label else words[0]]) else None
    body = norm[lead.end():] if lead else norm
    # `body`'s tokens: `norm` is single-spaced and a label or lead-in match ends with the spaces
    # after it, so splitting at " " gives the words `split()` would (cut mid-word by a label as
    # "cause:x" would be, they are not a tail of `words`).
    tokens = body.split(" ") if label or lead else words
    if fast and (label or lead):
        gates = _GATES.mask_words(tokens)
    customer_side = context in _CUSTOMER_SIDE
    if not gates & (_CUSTOMER_RULED if customer_side else _RULED) \
            and not text_gates & _BIT.first_person and not body.endswith("?"):
        # Most segments: no cue but the action start's can match, so none of the rules below
        # can fire; the roles are those of an action or none.
        start = _action_start(body, rx, gates, tokens)
        if start.acted and not (start.base and _title_case(text)):
            return _OUTCOMES[hint | _ACTION], skip
        return _OUTCOMES[hint or _OTHER_ROLE], skip
    # `gates & bit != 0` (a comparison) rather than `bool(...)` (a call): a bool either way.
    symptom = gates & _SYMPTOM_STRONG.bits != 0 and _SYMPTOM_STRONG.found(body, gates)
    # `cues.NOT_DONE`: a phrase, or else a "?" at the end (then its match ends with "?").
    planned = gates & _NOT_DONE.bits != 0 and _NOT_DONE.found(body, gates)
    if (planned or body.endswith("?")) and (
            not planned or not (gates & _BIT.confirmed
                                and (fast or rx.confirmed.search(body)))):
        # A plan, a request or a question ("should be working now, can you confirm?").
        if customer_side and (symptom or (gates & _SYMPTOM_WEAK.bits
                                          and _SYMPTOM_WEAK.found(body, gates))):
            return _OUTCOMES[hint | _SYMPTOM], skip
        return _OUTCOMES[hint or _OTHER_ROLE], skip
    start = _NO_ACTION if gates & _BIT.negated_start and rx.negated_start.match(body) \
        else _action_start(body, rx, gates, tokens)
    tried = failure = success = verified = strong_cause = cause = False
    if gates & _LATE_CUES:  # on about half the segments, none of these cues can match
        tried = gates & _BIT.tried != 0 and rx.tried.search(body) is not None
        failure = gates & _FAILURE.bits != 0 and _FAILURE.found(body, gates)
        # After the leading verb: "fixed the mapping" is a step, not a report that it worked.
        success = not failure and gates & _BIT.success != 0 \
            and rx.success.search(body, len(start.verb)) is not None
        if not failure:  # a failure is never a check
            if gates & _VERIFY.bits:
                if symptom:
                    # "authenticated successfully" inside a quoted error message is not a check.
                    check = _VERIFY.search(body, gates)
                    verified = check is not None and not check.group().startswith("success")
                else:
                    verified = _VERIFY.found(body, gates)
            if not verified:
                # `cues.SHORT_OK` is a whole body of two to five words ("printer working now"):
                # a longer one is decided by its token count, not by a lookahead over all of it.
                verified = gates & _BIT.short_ok != 0 and len(tokens) <= _SHORT_OK_TOKENS \
                    and rx.short_ok.match(body) is not None
        strong_cause = (gates & _BIT.cause_strong != 0 and _CAUSE_STRONG.found(body, gates)
                        ) or (not customer_side and gates & _BIT.cause_because != 0
                              and rx.cause_because.search(body) is not None)
        cause = strong_cause or (not customer_side and (
            (gates & _BIT.cause_found != 0 and rx.cause_found.search(body) is not None)
            or (not symptom and gates & _BIT.cause_state != 0
                and rx.cause_state.search(body) is not None)))
    acted = start.acted and not (start.base and (symptom or strong_cause or _title_case(text)))
    if acted and (verified or success) and cues.CHECK_VERB.match(start.verb):
        acted = False  # "tested send/recv ok" is the check, not a step

    if (tried and not success) or (failure and (acted or tried)):
        return _OUTCOMES[hint | _FAILED], skip
    if failure:
        # "still no luck", "didn't help": about the step before it.
        return _FOLLOWUPS[hint | _FAILED], skip
    if acted and customer_side and not verified and text_gates & _BIT.first_person \
            and ((fast and not label) or rx.first_person.search(norm)):
        if gates & _CUSTOMER_ATTEMPT.bits and _CUSTOMER_ATTEMPT.found(body, gates):
            return _OUTCOMES[hint | _FAILED], skip
        return _OUTCOMES[hint | (_SYMPTOM if symptom else _OTHER_ROLE)], skip
    roles = hint
    if acted:
        roles |= _ACTION
        if verified or (success and not start.base):
            roles |= _VERIFICATION
        if cause:
            roles |= _CAUSE
        return _OUTCOMES[roles], skip
    if cause and not (customer_side and symptom and not strong_cause):
        roles |= _CAUSE
    if verified:
        roles |= _VERIFICATION
    elif symptom or (customer_side and gates & _SYMPTOM_WEAK.bits
                     and _SYMPTOM_WEAK.found(body, gates)):
        roles |= _SYMPTOM
    return _OUTCOMES[roles or _OTHER_ROLE], skip
