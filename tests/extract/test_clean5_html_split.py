"""`_HTML_SPLIT` tries tags first and takes names, attributes and comment bodies possessively;
it splits every text as the pattern it replaced (kept here) did: the real texts, generated
HTML and texts full of comment and tag edges."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from extract import clean
from tests.extract.test_cleaning_speed_html import _HTML_TEXTS, _real_texts

OLD_SPLIT = re.compile(
    r"(<(?:!--.*?(?:-->|\Z)|![^<>]*>|\?[^<>]*>|/?([a-zA-Z][a-zA-Z0-9:-]*)(?=[\s/>])[^<>]*>))",
    re.DOTALL,
)
_EDGES = ["<", ">", "!", "-", "--", "-->", "<!--", "?", "/", "p", "o:p", "a-1", " ", "\n", "x",
          "é", "\t", "=", '"']


def test_the_real_texts_split_as_before() -> None:
    texts = _real_texts()
    assert sum("<!--" in text for text in texts) > 0
    for text in texts:
        assert clean._HTML_SPLIT.split(text) == OLD_SPLIT.split(text)


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(st.one_of(_HTML_TEXTS, st.lists(st.sampled_from(_EDGES), max_size=40).map("".join)))
def test_generated_texts_split_as_before(text: str) -> None:
    assert clean._HTML_SPLIT.split(text) == OLD_SPLIT.split(text)
