"""The keyword categoriser and its documented MSP taxonomy."""

from __future__ import annotations

import pytest

from extract.categories import OTHER, categorise, taxonomy


def test_taxonomy_is_documented_and_large_enough() -> None:
    categories = taxonomy()
    ids = [category.id for category in categories]

    assert len(ids) >= 12
    assert len(ids) == len(set(ids))
    assert OTHER in ids
    assert {"email", "network", "printing", "accounts_access", "hardware", "software",
            "security", "backup", "server", "phone_voip", "mobile_device",
            "performance"} <= set(ids)
    assert all(category.label and category.description for category in categories)
    assert all(set(category.strong) <= set(category.keywords) for category in categories)


@pytest.mark.parametrize(("title", "category"), [
    ("printer on 2nd floor not printing, jobs stuck in queue", "printing"),
    ("VPN disconnects every few minutes from home", "remote_access"),
    ("locked out of my account again", "accounts_access"),
    ("emails to clients bouncing with NDR", "email"),
    ("computer very slow, fan loud", "performance"),
    ("Veeam backup job failed last night", "backup"),
    ("phishing email - clicked the link", "security"),
    ("desk phones no dial tone", "phone_voip"),
])
def test_tickets_land_in_their_category(title: str, category: str) -> None:
    assert categorise([(title, 3.0)]) == category


def test_products_vote_for_their_category() -> None:
    assert categorise([("it is broken", 3.0)], [("remote_access", 3.0)]) == "remote_access"


def test_nothing_telling_is_other() -> None:
    assert categorise([("question about the thing", 3.0)]) == OTHER
    assert categorise([]) == OTHER


def test_redaction_markers_do_not_vote() -> None:
    assert categorise([("gave her [REDACTED:password] today", 3.0)]) == OTHER
    assert categorise([("[REDACTED:password] " * 5, 3.0)]) == OTHER


def test_a_keyword_counts_once_wherever_it_sits() -> None:
    assert categorise([("printer vpn", 1.0)]) == categorise([("vpn printer", 1.0)])


def test_words_are_the_word_regex_matches() -> None:
    """`_words` (translate, blank the lone marks, split) gives exactly the `_WORD` matches."""
    import random

    from extract.categories import _WORD, _words

    texts = ["e-mail -- it's/ok 50% a--b 'x' wi-fi/vpn%% x-/y a%b-c %-'/",
             "İstanbul \u212a O'Brien"]
    chooser = random.Random(7)
    texts += ["".join(chooser.choice("ab1 '-/%xA.\n") for _ in range(chooser.randint(0, 14)))
              for _ in range(20_000)]
    for text in texts:
        assert _words(text) == [word.encode() for word in _WORD.findall(text.lower())], text
