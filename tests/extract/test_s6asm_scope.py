"""The scope cues' gate on ASCII text (`_SCOPE_LITERAL_GATES`, one token gate per literal of the
cues) against the form it replaces, kept here: `_scope` and `_scope_cues` gated by a
`_SCOPE_GATE` literal in a token (`_scope_gate_open`) on every text."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from extract.analysis import Analysis, Segment
from extract.assemble import (
    _READ_CONTEXTS,
    _SCOPE,
    _SCOPE_ANY_CASE,
    _SCOPE_LITERAL_GATES,
    _ByRole,
    _cause,
    _evidence,
    _first_unique,
    _hosts,
    _scope,
    _scope_cues,
    _scope_gate_open,
    _text,
    _verification,
)
from extract.clean import CleanText
from extract.roles import Context, Role
from extract.sources import Source
from records import Scope


def _old_cues(text: str) -> list[tuple[int, int, str | None]]:
    """`_scope_cues` as it was: the `_SCOPE_GATE` look on every text."""
    lowered = text.lower()
    if len(lowered) != len(text):
        return [(match.start(), match.end(), match.lastgroup)
                for match in _SCOPE_ANY_CASE.finditer(text)]
    if not _scope_gate_open(lowered):
        return []
    return [(match.start(), match.end(), match.lastgroup) for match in _SCOPE.finditer(lowered)]


def _old_scope(parts: Sequence[tuple[str, Segment]],
               host_places: Sequence[tuple[Source, str, int]]) -> tuple[Scope, list]:
    """`_scope` as it was: the `_SCOPE_GATE` look on all the parts, then on each."""
    if not parts:
        return Scope.UNKNOWN, []
    found: dict[str, list] = {"one_off": [], "environment": []}
    texts = [segment.source.clean.text[segment.start:segment.end] for _, segment in parts]
    joined = "\n".join(texts)
    lowered = joined.lower()
    may_cue = len(lowered) != len(joined) or _scope_gate_open(lowered)
    for (what, segment), text in zip(parts, texts, strict=True):
        for start, end, group in _old_cues(text) if may_cue else ():
            kind = group or "environment"
            cue = text[start:end]
            reason = (f'{what} describes a one-off event ("{cue}")' if kind == "one_off"
                      else f'{what} depends on this client\'s setup ("{cue}")')
            found[kind].append(_text(reason, [_evidence(
                segment.source, segment.start + start, segment.start + end)]))
        for source, name, start in host_places:
            if source is segment.source and segment.start <= start < segment.end:
                found["environment"].append(_text(
                    f"{what} names this client's host {name}",
                    [_evidence(source, start, start + len(name))]))
    if found["one_off"]:
        return Scope.ONE_OFF, _first_unique(found["one_off"])
    if found["environment"]:
        return Scope.ENVIRONMENT, _first_unique(found["environment"])
    return Scope.GENERAL, []


def _parts(by_role: _ByRole) -> list[tuple[str, Segment]]:
    """What `build_resolution` hands `_scope`: the steps, the cause and the verification."""
    steps = by_role(Role.ACTION, contexts=_READ_CONTEXTS)
    cause, verification = _cause(by_role), _verification(by_role, bool(steps))
    parts = [("a step", segment) for segment in steps]
    parts += [(what, segment) for what, segment in (("the cause", cause),
                                                    ("the verification", verification))
              if segment is not None]
    return parts


def _gate_holds(text: str) -> None:
    """Where the cues match a lowered ASCII text, its literal gates are open."""
    lowered = text.lower()
    if lowered.isascii() and _SCOPE.search(lowered) is not None:
        assert _SCOPE_LITERAL_GATES.mask(lowered) != 0


def test_scope_is_the_old_one_on_the_real_corpus(
        corpus_analyses: tuple[Analysis, ...]) -> None:
    kinds = set()
    cued = 0
    for analysis in corpus_analyses:
        hosts = _hosts(analysis)
        parts = _parts(_ByRole(analysis.segments))
        scope = _scope(parts, hosts[1])
        assert scope == _old_scope(parts, hosts[1])
        kinds.add(scope[0])
        for text in [segment.text for segment in analysis.segments] + [
                source.clean.text for source in analysis.sources]:
            cues = _scope_cues(text)
            assert cues == _old_cues(text)
            cued += bool(cues)
            _gate_holds(text)
    assert kinds >= {Scope.GENERAL, Scope.ENVIRONMENT, Scope.ONE_OFF}  # each kind was met
    assert cued > 20


# Words of the cues, pieces of them, near misses, and characters at the edges: whitespace that
# splits tokens, separators inside a literal, characters that lower to two ("İ") or that
# IGNORECASE alone folds to ASCII.
_PIECES = st.sampled_from(
    ["one", "off", "time", "one-off", "one-time", "issue", "glitch", "typo", "mis", "typed",
     "drive", "mapped", "drives", "mapping", "their", "own", "user", "error", "outage",
     "service", "isp", "incident", "vlan", "vlan7", "10.", "10.1.2.3", "192.168", "172.",
     "172.16.0.1", "0.", "\\", "\\\\srv", "plugged", "in", "wasn't", "wasn\u2019t", "was", "not",
     "fat", "finger", "no", "further", "action", "needed", "went", "away", "by", "itself",
     "on", "its", "resolved", "self", "static", "ip", "port", "forwarding", "line", "of",
     "business", "lob", "app", "legacy", "apps", "custom", "in-house", "site", "specific",
     " ", "  ", "\n", "\t", "\u00a0", "-", ".", "'", "\u0130", "\u212a", "\u017f", "A", "Z"])


@settings(max_examples=2000, deadline=None)
@given(st.lists(_PIECES, max_size=16).map("".join))
def test_scope_cues_are_the_old_ones(text: str) -> None:
    assert _scope_cues(text) == _old_cues(text)
    _gate_holds(text)


def _parts_of(texts: list[str]) -> list[tuple[str, Segment]]:
    """Each text a note of its own, cut in two segments, each a step."""
    parts = []
    for index, text in enumerate(texts):
        source = Source("note", f"n{index}", Context.TECHNICIAN, text, CleanText.identity(text))
        middle = len(text) // 2
        parts += [("a step", Segment(source, start, end, None, frozenset()))  # type: ignore[arg-type]
                  for start, end in ((0, middle), (middle, len(text)))]
    return parts


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.lists(_PIECES, max_size=10).map("".join), max_size=4))
def test_scope_of_parts_is_the_old_one(texts: list[str]) -> None:
    parts = _parts_of(texts)
    assert _scope(parts, []) == _old_scope(parts, [])


def test_scope_cues_on_worked_examples() -> None:
    for text in ["Power outage at the site", "a one time glitch", "one time", "service was out",
                 "user\nerror", "wasn't  plugged in", "vlan 20", "\\\\fs01\\share", "Typo."]:
        assert _scope_cues(text) == _old_cues(text)
        _gate_holds(text)
    assert _scope_cues("user\nerror") == [(0, 10, "one_off")]
    # words of a literal spread over a text, not side by side: no cue
    assert _scope_cues("the service had an incident") == []
