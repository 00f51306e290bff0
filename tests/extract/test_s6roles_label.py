"""Speed round 6 of the role rules and `analyse_many`, checked against the forms they replaced.

- `read_segment` hands back a segment's label length with its roles, looking for the label
  only where `classify` found one on the `normalise`d text (or on text that is not ASCII),
  where `analyse_many` called `label_length` on every segment.
- `classify` ORs the token gates in a loop, not through `reduce` (`TokenGates.mask_words`).
- `analyse_many` builds the `SourceMention`s with `tuple.__new__`, not the named tuple's call.
"""

from __future__ import annotations

from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract import Extractor, analysis, roles
from extract.analysis import Analysis, SourceMention
from extract.entities import mentions
from extract.labelled import load_labelled
from extract.roles import Context, classify, label_length, read_segment
from extract.segment import with_text
from extract.sources import ticket_sources


def _old_read(text: str, context: Context) -> tuple[roles.Classification, int]:
    """What `analyse_many` read of a segment before: its roles, and `label_length` of it."""
    return classify(text, context=context), label_length(text)


@cache
def _texts() -> list[str]:
    """Texts of the sandbox corpus and the labelled tickets, whole, line by line and sentence
    by sentence (as written, not normalised), and each line with the labels that start one."""
    tickets = [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]
    texts: set[str] = set()
    for ticket in tickets:
        for source in ticket_sources(ticket):
            text = source.clean.text
            texts.add(text)
            lines = [line for line in text.splitlines() if line.strip()]
            texts.update(lines)
            texts.update(part for line in lines for part in line.split(". ") if part.strip())
            texts.update(f"{label}{line}" for line in lines[:3]
                         for label in ("Resolution: ", "ROOT CAUSE - ", "fix=", "Notes -"))
    return sorted(texts)


def test_read_segment_reads_real_text_as_classify_and_label_length() -> None:
    texts = _texts()
    assert len(texts) > 1000
    assert sum(label_length(text) > 0 for text in texts) > 100
    for text in texts:
        for context in (Context.TECHNICIAN, Context.DESCRIPTION):
            assert read_segment(text, context) == _old_read(text, context), (text, context)


_LABELS = ["Resolution", "resolution", "fix", "FIX", "Root cause", "root  cause", "cause",
           "Actions taken", "step", "steps taken", "work done", "Work performed", "issue",
           "problem", "symptoms", "error", "verification", "result", "notes", "update",
           "summary", "status", "outcome", "diagnosis", "findings", "wor\u212a done", "ſtatus",
           "Fix`", "reason", "\u0130ssue", "D\u0130agnos\u0130s"]
_SEPARATORS = [":", " :", "=", " = ", " - ", "-", "- ", ":\n", "\t:\t", "", " ", ":  ", "\u00a0:",
               "\x1c:", ": ", "-\n"]
_TAILS = ["", " ", "x", "replaced the toner", "  Rebooted it", "\nstill failing", "?", "-",
          "café reset", "`pw` reset", "Working now"]


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(_LABELS), st.sampled_from(_SEPARATORS), st.sampled_from(_TAILS),
       st.sampled_from(["", " ", "\n", "- "]), st.sampled_from(list(Context)))
def test_read_segment_reads_labels_as_label_length(label: str, separator: str, tail: str,
                                                   head: str, context: Context) -> None:
    text = f"{head}{label}{separator}{tail}"
    assert read_segment(text, context) == _old_read(text, context)


@settings(max_examples=400, deadline=None)
@given(st.text(st.sampled_from("reslutiofxcaRSEF:=- \t\n`\u212aſé?\u0130"), max_size=24),
       st.sampled_from(list(Context)))
def test_read_segment_reads_any_text_as_label_length(text: str, context: Context) -> None:
    assert read_segment(text, context) == _old_read(text, context)


def test_source_mentions_are_built_as_the_named_tuple_builds_them(
        corpus_analyses: tuple[Analysis, ...]) -> None:
    seen = 0
    for found in corpus_analyses:
        for mention in found.mentions:
            assert type(mention) is SourceMention
            assert mention == SourceMention(mention.source, mention.mention)
            seen += 1
    assert seen > 100
    source = corpus_analyses[0].sources[0]
    pair = analysis._SOURCE_MENTION((source, "m"))
    assert type(pair) is SourceMention and pair == SourceMention(source, "m")


def test_analyse_many_mentions_are_each_sources_in_order(
        corpus_analyses: tuple[Analysis, ...], extractor: Extractor) -> None:
    nlp = extractor.nlp
    for found in corpus_analyses[:200]:
        expected = []
        for source in found.sources:
            text = source.clean.text
            doc = nlp(with_text(nlp.make_doc(text), text))
            expected += [SourceMention(source, mention) for mention in mentions(doc)]
        assert [(m.source, m.mention) for m in found.mentions] \
            == [(m.source, m.mention) for m in expected]
