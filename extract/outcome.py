"""Outcome: how a ticket ended (resolved, workaround, escalated, unresolved, unknown).

The status field says whether it is closed and sometimes why ("Closed - No Response",
"Cancelled", "Escalated to Vendor"); the notes say how. The latest note that says anything about
the ending wins; inside one note "could not resolve" beats "workaround" beats "escalated" beats
"working now".
"""

from __future__ import annotations

from collections.abc import Sequence

from extract.patterns import Alternation, CasePattern, TokenGates
from records import Outcome

__all__ = ["decide_outcome", "is_closed_status", "may_read_as_workaround", "note_outcome",
           "note_outcome_words"]


def _rx(pattern: str, *gate: str) -> CasePattern:
    """A cue; `gate` lists literals one of which every match contains (see `CasePattern`)."""
    return CasePattern(pattern, gate=gate)


_CLOSED_STATUS = _rx(r"\b(?:closed?|resolved|complete[d]?|done|fixed|finished|cancel+ed"
                     r"|no response|duplicate)\b")
_UNRESOLVED_STATUS = _rx(r"cancel|no[ -]?resp|duplicate|dupe|abandon|unresolved|not resolved"
                         r"|won'?t fix|declined|rejected|spam|no longer needed")
_ESCALATED_STATUS = _rx(r"escalat|vendor|tier ?[23]|level ?[23]|\b[lt][23]\b|third[- ]party")
_WORKAROUND = _rx(
    r"\bwork ?-?arounds?\b|\btemporary (?:fix|solution)\b|\btemp fix\b|\bin the meantime\b"
    r"|\bband-?aid\b|\bstop-?gap\b|\binterim (?:fix|solution)\b|\buntil (?:a |the )?(?:fix|patch"
    r"|vendor|replacement|new (?:one|part|device|laptop|printer) arrives)",
    "work", "temp", "meantime", "band", "stop", "interim", "until",
)
_ESCALATED = _rx(
    r"\bescalat(?:ed|ing|e)\b|\b(?:opened|raised|logged|created|submitted|filed) (?:a )?(?:case"
    r"|ticket|sr|support (?:request|case)) (?:with|to)\b|\bvendor (?:case|ticket|support)\b"
    r"|\b(?:passed|handed)(?: (?:off|over|it|this))? (?:on )?to\b|\b(?:tier|level) ?[23]\b"
    r"|\bsent (?:it )?to (?:vendor|microsoft|the isp|isp|manufacturer)\b|\brma\b",
    "escalat", "opened", "raised", "logged", "created", "submitted", "filed", "vendor", "passed",
    "handed", "tier", "level", "sent", "rma",
)
_UNRESOLVED = _rx(
    r"\bcould ?(?:n[o']?t|not) (?:resolve|fix|be (?:resolved|fixed)|find a (?:fix|solution))\b"
    r"|\bunable to (?:resolve|fix|reproduce)\b|\bno (?:fix|solution|resolution) (?:found"
    r"|available)\b|\bnot resolved\b|\bunresolved\b|\bno (?:response|reply) from\b"
    r"|\bclosing\W{0,5}(?:due to |as |because of |- |— )?(?:no (?:response|reply)|unresponsive"
    r"|abandoned|duplicate|stale)\b|\b(?:user|client|customer|contact) (?:did not|didn'?t|never"
    r"|has not|hasn'?t) (?:respond|repl|get back|answer)\w*|\bduplicate (?:of|ticket)\b"
    r"|\bcancel+ed (?:by|per|at)\b|\bno longer (?:needed|required)\b"
    r"|\b(?:haven'?t|have not|hasn'?t|has not|never|not) heard (?:back|from)\b|\bno word from\b"
    r"|\bunresponsive\b|\bwithout (?:a )?(?:response|reply)\b",
    "could", "unable", "no ", "not ", "unresolved", "closing", "did not", "didn", "never",
    "has not", "hasn", "duplicate", "cancel", "no longer", "haven", "have not", "heard",
    "unresponsive", "without",
)

# Every match of `_WORKAROUND` holds one of these, and holds it inside one word (none has a
# space): "around" (work-around, workaround, "work around"), "temp" (temporary, temp),
# "meantime", the two spellings of band-aid and of stop-gap, "interim", "until". Stronger than
# the cue's own gate ("work" is in every "working now"), for `may_read_as_workaround`.
_WORKAROUND_WORDS = ("around", "temp", "meantime", "band-aid", "bandaid", "stop-gap", "stopgap",
                     "interim", "until")


# The three note cues, in the order `note_outcome` asks them, each searched branch by branch
# (on lowercase ASCII text): a note runs only the few branches whose literals it holds, and each
# on its own, where the whole cue tried all its branches at every position of the note.
_NOTE_CUES = (_UNRESOLVED, _WORKAROUND, _ESCALATED)
_NOTE_BRANCHES = tuple(Alternation(cue.pattern) for cue in _NOTE_CUES)
# One look at a note's words decides which cues (bits 0, 1, 2) and which of their branches (the
# bits from 3 on, cue after cue, `_BRANCH_SHIFTS`) can match at all: most notes hold none.
# Exact gates (`TokenGates.exact`) for the one-word branches ("unresolved", "escalated", "rma"):
# such a branch's bit is on exactly when it matches, so an open one answers without a search.
_NOTE_GATES = TokenGates([*(cue.pattern for cue in _NOTE_CUES),
                          *(branch for cue in _NOTE_BRANCHES for branch in cue.patterns)],
                         exact=True)
_BRANCH_SHIFTS = tuple(len(_NOTE_CUES) + sum(len(cue.branches) for cue in _NOTE_BRANCHES[:index])
                       for index in range(len(_NOTE_CUES)))
# Per cue, its branches' bits (from bit 0): all of them, and those of the exact branches.
_BRANCH_BITS = tuple((1 << len(cue.branches)) - 1 for cue in _NOTE_BRANCHES)
_DECIDED_BITS = tuple(_NOTE_GATES.exact >> shift & bits
                      for shift, bits in zip(_BRANCH_SHIFTS, _BRANCH_BITS, strict=True))


def is_closed_status(status: str | None) -> bool:
    """True when a PSA status reads as closed ("Closed", ">Resolved", "Completed - No Response")."""
    return bool(status) and _CLOSED_STATUS.search(status or "") is not None


def may_read_as_workaround(texts: Sequence[str]) -> bool:
    """False only when no text of `texts` (notes, as stored) can read as a workaround: then none
    of their `note_outcome`s is WORKAROUND, whatever it says otherwise.

    A note is read in its `normalise`d form, whose words are its lowercased whitespace-separated
    words with curly quotes straightened; a `_WORKAROUND_WORDS` word (no space, no quote) inside
    one of them is then inside the lowercased note. That holds for ASCII notes, read by the
    exact, case-sensitive cue; a non-ASCII note is read with IGNORECASE, under which a few
    non-ASCII letters ("\u017f", "\u212a") stand for ASCII ones, so it always counts."""
    lowered = "\n".join(texts).lower()
    return not lowered.isascii() or any(word in lowered for word in _WORKAROUND_WORDS)


def note_outcome(text: str, *, says_done: bool) -> Outcome | None:
    """What one note says about the ending, if anything; `says_done` when it verifies or closes."""
    # The gates hold for the case-sensitive forms, which match exactly on such text.
    gates = _NOTE_GATES.mask(text) if text.isascii() and text.islower() else None
    return _decide(text, gates, says_done)


def note_outcome_words(words: list[str], *, says_done: bool, ascii: bool) -> Outcome | None:
    """`note_outcome` of ``" ".join(words)``, for the words of a normalised note
    (`extract.roles.normalise` splits them before it joins them); `ascii` when the note's text
    is ASCII (its words are then ASCII, as lowercase as `normalise` makes them).

    Then the gates come from the words themselves, and the joined text is built only when an
    open branch needs a search (about one note in five on the bench corpus): a note opening no
    branch says nothing but what `says_done` says, whichever cue is asked. Joining the words
    and splitting them again for every note cost more than the rest of the reading."""
    if not ascii:
        return note_outcome(" ".join(words), says_done=says_done)
    # lowercased ASCII holds no uppercase letter: the gates are sound (see `note_outcome`)
    gates = _NOTE_GATES.mask_words(words)
    if gates >> len(_NOTE_CUES) == 0:
        return Outcome.RESOLVED if says_done else None
    return _decide(" ".join(words), gates, says_done)


def _decide(text: str, gates: int | None, says_done: bool) -> Outcome | None:
    """`note_outcome`'s decision, given `_NOTE_GATES`' bits of `text` (None: not gated)."""
    if _says(0, text, gates):
        return Outcome.UNRESOLVED
    if _says(1, text, gates):
        return Outcome.WORKAROUND
    if not says_done and _says(2, text, gates):
        return Outcome.ESCALATED
    return Outcome.RESOLVED if says_done else None


def _says(cue: int, text: str, gates: int | None) -> bool:
    """Whether `_NOTE_CUES[cue]` is in `text`, given `_NOTE_GATES`' bits (None: not gated).
    The cue matches exactly when one of its branches does, and a branch can only where its
    gate bit is on."""
    if gates is None:
        return _NOTE_CUES[cue].search(text) is not None
    opened = gates >> _BRANCH_SHIFTS[cue] & _BRANCH_BITS[cue]
    if opened & _DECIDED_BITS[cue]:
        return True  # an exact branch's gate is on: that branch matches
    branches = _NOTE_BRANCHES[cue].branches
    while opened:
        low = opened & -opened
        if branches[low.bit_length() - 1].search(text) is not None:
            return True
        opened ^= low
    return False


def decide_outcome(status: str | None, *, closed: bool, note_outcomes: Sequence[Outcome | None],
                   has_steps: bool) -> Outcome:
    """The ticket's outcome from its status and what its notes (oldest first) say."""
    if status and _UNRESOLVED_STATUS.search(status):
        return Outcome.UNRESOLVED
    said = [outcome for outcome in note_outcomes if outcome is not None]
    if Outcome.WORKAROUND in said[-2:] and said[-1] in (Outcome.WORKAROUND, Outcome.RESOLVED):
        return Outcome.WORKAROUND
    if said:
        return said[-1]
    if status and _ESCALATED_STATUS.search(status):
        return Outcome.ESCALATED
    if closed and has_steps:
        return Outcome.RESOLVED
    return Outcome.UNKNOWN
