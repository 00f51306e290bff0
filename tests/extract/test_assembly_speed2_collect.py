"""The collected steps, symptoms and failed attempts (`_collect`) and the word sets that
de-duplicate them (`_word_set`) are those of the plainer forms they replace, kept here."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from extract.analysis import Analysis, Segment
from extract.assemble import _READ_CONTEXTS, _ByRole, _collect, _Collector, _text, _word_set
from extract.clean import CleanText
from extract.roles import Context, Role, normalise
from extract.sources import Source

_WORDS = re.compile(r"[a-z0-9]+")


def _reference_word_set(text: str) -> frozenset[bytes]:
    """The definition: the [a-z0-9] runs of the normalised text, ASCII-encoded."""
    return frozenset(word.encode() for word in _WORDS.findall(normalise(text)))


class _ReferenceCollector:
    """`_Collector` as it was: every pair of word sets compared by their Jaccard similarity."""

    def __init__(self) -> None:
        self._items: list[tuple[frozenset[bytes], str, list]] = []

    def add(self, key_text: str, text: str, evidence: list) -> None:
        words = _reference_word_set(key_text)
        for seen, _, found in self._items:
            union = words | seen
            if words == seen or (len(words) >= 3 and len(seen) >= 3
                                 and len(words & seen) / len(union) >= 0.8):
                for item in evidence:
                    if len(found) >= 5:
                        break
                    if item not in found:
                        found.append(item)
                return
        self._items.append((words, text, list(evidence)))

    def items(self) -> list[dict]:
        return [_text(text, evidence[:5]) for _, text, evidence in self._items]


_KEY = st.lists(st.sampled_from([f"w{index}" for index in range(12)]), max_size=12).map(
    " ".join)


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.tuples(_KEY, st.integers(0, 3)), max_size=12))
def test_near_repeats_merge_as_the_plain_jaccard_test_says(adds: list[tuple[str, int]]) -> None:
    fast, reference = _Collector(), _ReferenceCollector()
    for index, (key, source) in enumerate(adds):
        evidence = [("note", str(source), index, index + 1, key)]
        fast.add(key, f"text {index}", evidence)
        reference.add(key, f"text {index}", evidence)
    assert fast.items() == reference.items()


def _reference_collect(segments: list[Segment], limit: int | None = None) -> list[dict]:
    """`_collect` as it was: each segment's evidence from `Source.evidence`, its text read
    through `Segment.text` each time it is needed."""
    collector = _Collector()
    for segment in segments:
        found = segment.source.evidence(segment.start, segment.end)
        evidence = [(found.field, found.note_id, found.start, found.end, found.text)]
        text = segment.text
        for linked in segment.linked:
            found = linked.source.evidence(linked.start, linked.end)
            evidence.append((found.field, found.note_id, found.start, found.end, found.text))
            text = f"{text} — {linked.text}"
        collector.add(segment.text, text, evidence)
    items = collector.items()
    return items[:limit] if limit else items


@settings(max_examples=1000, deadline=None)
@given(st.text(st.sampled_from([*"aZz09 -.,'\u2019`\n\t_", "\u0130", "\u212a", "\u017f",
                                "\u00e9", "\u00c9", "\u00df", "\uff21"]), max_size=30))
def test_word_sets_are_the_normalised_words(text: str) -> None:
    assert _word_set(text) == _reference_word_set(text)


def test_collected_items_are_the_reference_ones_on_the_real_corpus(
        corpus_analyses: tuple[Analysis, ...]) -> None:
    linked = 0
    for analysis in corpus_analyses:
        by_role = _ByRole(analysis.segments)
        for role, limit in ((Role.SYMPTOM, 8), (Role.ACTION, None), (Role.FAILED, None)):
            segments = by_role(role, contexts=_READ_CONTEXTS)
            linked += sum(len(segment.linked) for segment in segments)
            assert _collect(segments, limit) == _reference_collect(segments, limit)
        for segment in analysis.segments:
            word_set = _word_set(segment.text)
            assert word_set == _reference_word_set(segment.text)
    assert linked  # linked follow-ups were among them


def test_a_repeated_step_keeps_one_item_with_both_spans() -> None:
    collector = _Collector()
    collector.add("Restarted the spooler service", "a", [("note", "1", 0, 5, "x")])
    collector.add("restarted  the Spooler service.", "b", [("note", "2", 3, 9, "y")])
    assert collector.items() == [_text("a", [("note", "1", 0, 5, "x"),
                                             ("note", "2", 3, 9, "y")])]


def test_a_step_with_a_follow_up_is_keyed_by_its_own_words() -> None:
    text = ("Restarted the spooler service. Still failing on all printers. "
            "restarted the Spooler service")
    source = Source("note", "n1", Context.TECHNICIAN, text, CleanText.identity(text))
    at, last = text.index("Still"), text.rindex("restarted")
    follow_up = Segment(source, at, at + 30, None, frozenset())  # type: ignore[arg-type]
    first = Segment(source, 0, 29, None, frozenset(), (follow_up,))  # type: ignore[arg-type]
    again = Segment(source, last, len(text), None, frozenset())  # type: ignore[arg-type]
    found = _collect([first, again])
    assert found == _reference_collect([first, again])
    assert len(found) == 1 and len(found[0]["evidence"]) == 3
