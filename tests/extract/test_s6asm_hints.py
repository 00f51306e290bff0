"""The host hints of ASCII text found in its classes (`_host_chunks`: one literal-led pattern per
kind of hint over `_HINT_CLASSES`) against the form it replaces, kept here: one scan by a
pattern opening with the class of the hints' characters."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from extract.analysis import Analysis
from extract.assemble import _hinted_chunks, _host_chunks

_OLD_ASCII_HINT = re.compile(r"[0-9.\\](?:(?<=[a-zA-Z][0-9])|(?<=[a-zA-Z]-[0-9])"
                             r"|(?<=[a-zA-Z0-9]\.)[a-zA-Z]{2}|(?<=\\)\\)[^ \n\t]*")


def _old_chunks(text: str) -> list[tuple[int, int]]:
    """`_host_chunks` as it was (on ASCII text)."""
    chunks: list[tuple[int, int]] = []
    end = 0
    for hint in _OLD_ASCII_HINT.finditer(text):
        at = hint.start()
        start = max(text.rfind(" ", end, at), text.rfind("\n", end, at),
                    text.rfind("\t", end, at), end - 1) + 1
        end = hint.end()
        chunks.append((start, end))
    return chunks


def _check(text: str) -> None:
    chunks = _host_chunks(text)
    assert chunks == _hinted_chunks(text)
    if text.isascii():
        assert chunks == _old_chunks(text)


def test_chunks_are_the_old_ones_on_the_real_corpus(
        corpus_analyses: tuple[Analysis, ...]) -> None:
    found = 0
    for analysis in corpus_analyses:
        texts = [source.clean.text for source in analysis.sources]
        for text in [*texts, "\n".join(texts)]:
            _check(text)
            found += len(_host_chunks(text))
    assert found > 100


# Characters of every class the hints read (letters of both cases, digits, the dot, the hyphen,
# backslashes, the three breaks and other whitespace, other punctuation, non-ASCII letters and
# digits) and pieces of real hosts and near misses.
_PIECES = st.sampled_from(
    ["a", "Z", "k", "0", "7", ".", "-", "\\", "\\\\", " ", "\n", "\t", "\r", "\x0b", "\u00a0",
     "#", "_", "/", ":", "@", "\u212a", "\u0661", "\u00e9", "SRV-FS01", "dc01", "a.co",
     "x.y.com", "555-0171", "2024-01-15", "KB5022842", "0x800f0922", "..", "a-", "-1"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(_PIECES, max_size=20).map("".join))
def test_chunks_are_the_old_ones(text: str) -> None:
    _check(text)


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_chunks_of_any_ascii_text_are_the_old_ones(text: str) -> None:
    _check(text)


def test_chunks_on_worked_examples() -> None:
    for text in ["rebooted DC01 and SRV-FS01", "call 555-0171 on 2024-01-15", "see x.co",
                 "\\\\\\srv\\share", "a.b. c", "end.", "A-1\tb2\nc.de"]:
        _check(text)
    assert _host_chunks("rebooted DC01 today") == [(9, 13)]
    assert _host_chunks("call 555-0171") == []
    assert _host_chunks("open \\\\\\fs\\x now") == [(5, 12)]
