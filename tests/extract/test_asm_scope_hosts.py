"""The scope cues read through a token gate (`_scope_cues`, `_scope_gate_open`) and the ticket's
hosts read as one list (`_hosts`) are those of the forms they replace, kept here: the scope
cues of each text by `_matches_by_text` over all the parts (the literals' trie as the gate),
and the hosts text by text from `find_ticket_hosts`."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from extract.analysis import Analysis, Segment
from extract.assemble import (
    _MAX_EVIDENCE,
    _READ_CONTEXTS,
    _SCOPE,
    _SCOPE_ANY_CASE,
    _SCOPE_GATE,
    _SCOPE_GATE_RE,
    _ByRole,
    _cause,
    _evidence,
    _first_unique,
    _hosts,
    _lowered_matches,
    _matches_by_text,
    _scope,
    _scope_cues,
    _scope_gate_open,
    _text,
    _verification,
    find_ticket_hosts,
)
from extract.clean import CleanText
from extract.roles import Context, Role
from extract.sources import Source
from records import Scope


def _reference_cues(text: str) -> list[tuple[int, int, str | None]]:
    """The definition: `_lowered_matches` of the scope cues, the literals' trie as the gate."""
    return [(match.start(), match.end(), match.lastgroup)
            for match in _lowered_matches(_SCOPE, _SCOPE_ANY_CASE, _SCOPE_GATE_RE, text)]


def _reference_scope(parts: Sequence[tuple[str, Segment]],
                     host_places: Sequence[tuple[Source, str, int]]) -> tuple[Scope, list]:
    """`_scope` as it was: the cues of all parts from one `_matches_by_text`."""
    if not parts:
        return Scope.UNKNOWN, []
    found: dict[str, list] = {"one_off": [], "environment": []}
    texts = [segment.text for _, segment in parts]
    cues = _matches_by_text(_SCOPE, _SCOPE_ANY_CASE, _SCOPE_GATE_RE, _SCOPE_GATE, texts)
    for (what, segment), text, matches in zip(parts, texts, cues, strict=True):
        for start, end, group in matches:
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


def _reference_hosts(analysis: Analysis) -> tuple[dict, list]:
    """`_hosts` as it was: `find_ticket_hosts`' list per text, read text by text."""
    found: dict[str, list] = {}
    places: list = []
    per_source = find_ticket_hosts([source.clean.text for source in analysis.sources])
    for source, hosts in zip(analysis.sources, per_source, strict=True):
        for name, start, end in hosts:
            places.append((source, name, start))
            bucket = found.setdefault(name, [])
            evidence = _evidence(source, start, end)
            if evidence not in bucket:
                bucket.append(evidence)
    return {name: evidence[:_MAX_EVIDENCE] for name, evidence in found.items()}, places


def _parts(by_role: _ByRole) -> list[tuple[str, Segment]]:
    """What `build_resolution` hands `_scope`: the steps, the cause and the verification."""
    steps = by_role(Role.ACTION, contexts=_READ_CONTEXTS)
    cause, verification = _cause(by_role), _verification(by_role, bool(steps))
    parts = [("a step", segment) for segment in steps]
    parts += [(what, segment) for what, segment in (("the cause", cause),
                                                    ("the verification", verification))
              if segment is not None]
    return parts


def test_scope_and_hosts_are_the_reference_ones_on_the_real_corpus(
        corpus_analyses: tuple[Analysis, ...]) -> None:
    kinds = set()
    for analysis in corpus_analyses:
        hosts = _hosts(analysis)
        assert hosts == _reference_hosts(analysis)
        parts = _parts(_ByRole(analysis.segments))
        scope = _scope(parts, hosts[1])
        assert scope == _reference_scope(parts, hosts[1])
        kinds.add(scope[0])
        for segment in analysis.segments:
            assert _scope_cues(segment.text) == _reference_cues(segment.text)
        for source in analysis.sources:
            text = source.clean.text
            assert _scope_cues(text) == _reference_cues(text)
    assert kinds >= {Scope.GENERAL, Scope.ENVIRONMENT, Scope.ONE_OFF}  # each kind was met


# Words of the cues and their gate literals, pieces of them, and characters at the edges: the
# whitespace that splits tokens (newlines, tabs, a no-break space), separators inside a
# literal, and characters that lower to two ("İ") or that IGNORECASE alone folds to ASCII.
_PIECES = st.sampled_from(
    ["one", "off", "time", "one-off", "typo", "typ", "o", "drive", "mapped", "drives",
     "their", "own", "user", "error", "outage", "vlan", "10.", "10.1.2.3", "192.168", "172.",
     "172.16.0.1", "\\", "\\\\srv", "plugged", "in", "wasn't", "wasn\u2019t", "fat", "finger",
     " ", "  ", "\n", "\t", "\u00a0", "-", ".", "\u0130", "\u212a", "\u017f", "A", "Z"])


@settings(max_examples=1000, deadline=None)
@given(st.lists(_PIECES, max_size=16).map("".join))
def test_scope_cues_are_the_lowered_matches(text: str) -> None:
    assert _scope_cues(text) == _reference_cues(text)
    lowered = text.lower()
    if len(lowered) == len(text):
        assert _scope_gate_open(lowered) == (_SCOPE_GATE_RE.search(lowered) is not None)


def _parts_of(texts: list[str], *, cut: bool = True) -> list[tuple[str, Segment]]:
    """Each text a note of its own, cut in two segments (or kept whole), each a step."""
    parts = []
    for index, text in enumerate(texts):
        source = Source("note", f"n{index}", Context.TECHNICIAN, text, CleanText.identity(text))
        middle = len(text) // 2 if cut else 0
        parts += [("a step", Segment(source, start, end, None, frozenset()))  # type: ignore[arg-type]
                  for start, end in ((0, middle), (middle, len(text)))]
    return parts


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.lists(_PIECES, max_size=10).map("".join), max_size=4))
def test_scope_of_parts_is_the_reference_one(texts: list[str]) -> None:
    parts = _parts_of(texts)
    assert _scope(parts, []) == _reference_scope(parts, [])


def test_scope_cues_on_worked_examples() -> None:
    for text in ["A one off glitch", "one time issue", "One-Time event", "a ONE\tOFF",
                 "someone off", "\u0130 cu\u017ftom app", "Mapped drives", "no cue at all"]:
        assert _scope_cues(text) == _reference_cues(text)
        parts = _parts_of([text, "restarted"])
        assert _scope(parts, []) == _reference_scope(parts, [])
    assert _scope_cues("A one off glitch") == [(2, 9, "one_off")]
    # "İ" lowers to two characters, and the long s matches "s" only when case is ignored:
    # no literal is in the lowered text, yet the cue is there
    assert _scope_cues("\u0130 cu\u017ftom app") == [(2, 8, "environment")]
    parts = _parts_of(["\u0130 cu\u017ftom app", "restarted"], cut=False)
    assert _scope(parts, []) == _reference_scope(parts, [])
    assert _scope(parts, [])[0] is Scope.ENVIRONMENT
