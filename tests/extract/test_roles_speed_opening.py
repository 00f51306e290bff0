"""The per-token shortcuts of `extract.roles.classify` agree with what they replace: the action
phrase a segment starts with, read off its first token (`_Opening.phrase`), is the verb
pattern's match at the start of the segment; the ASCII path of `classify` splits the text into
`_normalised_words`."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract import roles
from extract.labelled import load_labelled
from extract.lexicon import verbs
from extract.roles import normalise
from extract.sources import ticket_sources


def _texts() -> list[str]:
    """Normalised texts of the sandbox corpus and the labelled tickets, with every suffix that
    starts at a token (what a segment can start with after a label or a lead-in)."""
    tickets = [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]
    texts = []
    for ticket in tickets:
        for source in ticket_sources(ticket):
            text = normalise(source.clean.text)
            tokens = text.split(" ")
            texts.extend(" ".join(tokens[start:]) for start in range(min(len(tokens), 40)))
    return texts


def _agrees(body: str) -> None:
    """The first token's `_Opening.phrase`, when it decides, is the pattern's match on `body`."""
    openings = roles._lexicon().openings
    # The cache is bounded and cleared when full: look each token up afresh.
    openings.clear()
    phrase = openings[body.split(" ", 1)[0]].phrase
    if phrase is None:
        return
    match = verbs().action_pattern.match(body)
    assert phrase == (match.group() if match is not None else ""), body


def test_the_first_token_decides_the_action_phrase_as_the_pattern_does() -> None:
    for text in _texts():
        if text.isascii():
            _agrees(text)


_WORDS = sorted({form.split()[0] for form in verbs().action_forms}
                | {word for form in verbs().action_forms for word in form.split()}
                | {"pw", "user", "the", "printer", "it", "re", "reset", "ed", "in", "on"})


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4),
       st.sampled_from(["", ",", ".", ":", "'", "-", "/", "s", "ed", "'s"]),
       st.sampled_from(["", " now", " x", ", then"]))
def test_the_first_token_decides_the_action_phrase_on_generated_text(
        words: list[str], stuck: str, tail: str) -> None:
    # `stuck`: characters glued to the first word ("reset," "rebooted/"), which the pattern's
    # closing lookahead reads.
    _agrees(" ".join([words[0] + stuck, *words[1:]]) + tail)


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("aBc `'\u2019\u2018 \t\n\u00a0Kz.,"), max_size=30))
def test_the_ascii_path_splits_as_normalise_does(text: str) -> None:
    lowered = text.lower()
    if lowered.isascii():
        assert lowered.replace("`", "'").split() == roles._normalised_words(text)
