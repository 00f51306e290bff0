"""Segmentation: sentences, lines and the clauses of terse technician lists."""

from __future__ import annotations

import spacy
from spacy.language import Language

from extract import Extractor
from extract.nlp import build_nlp
from extract.segment import segment_spans


def segments(extractor: Extractor, text: str) -> list[str]:
    doc = extractor.nlp(text)
    return [text[start:end] for start, end in segment_spans(doc, text)]


def test_terse_comma_list_splits_into_steps(extractor: Extractor) -> None:
    text = "remoted in, cleared cred mgr, rebuilt ost, tested send/recv ok. fixed"

    assert segments(extractor, text) == [
        "remoted in", "cleared cred mgr", "rebuilt ost", "tested send/recv ok", "fixed",
    ]


def test_lines_and_bullets_without_periods_are_segments(extractor: Extractor) -> None:
    text = "Steps:\n- rebooted spooler\n- cleared queue\n* test page ok\n1. closed ticket"

    assert segments(extractor, text) == [
        "Steps", "rebooted spooler", "cleared queue", "test page ok", "closed ticket",
    ]


def test_and_then_between_done_steps_splits(extractor: Extractor) -> None:
    assert segments(extractor, "cleared cache and rebooted, then re-added the printer") == [
        "cleared cache", "rebooted", "re-added the printer",
    ]


def test_commas_inside_a_description_do_not_split(extractor: Extractor) -> None:
    text = "Outlook, Teams and OneDrive keep asking for my password, since Monday"

    assert segments(extractor, text) == [text]


def test_a_failure_after_a_comma_is_its_own_segment(extractor: Extractor) -> None:
    assert segments(extractor, "Rebooted, still not working.") == ["Rebooted", "still not working"]


def test_abbreviations_do_not_end_sentences(extractor: Extractor) -> None:
    text = "Dr. Whitfield called about the laptop. Remoted in."

    assert segments(extractor, text) == ["Dr. Whitfield called about the laptop", "Remoted in"]


def test_sentences_end_after_closing_quotes(extractor: Extractor) -> None:
    text = 'It says "transmission failed." Scan to folder works.'

    assert segments(extractor, text) == ['It says "transmission failed."', "Scan to folder works"]


def test_empty_and_punctuation_only_text_has_no_segments(extractor: Extractor) -> None:
    assert segments(extractor, "") == []
    assert segments(extractor, " -- \n ... ") == []


def test_pipeline_is_blank_english_with_versioned_components() -> None:
    nlp = build_nlp()

    assert isinstance(nlp, Language)
    assert nlp.lang == "en"
    assert nlp.pipe_names == ["fixedit_boundaries_v1", "fixedit_entities_v1"]
    assert nlp.vocab.vectors.shape[0] == 0  # nothing downloaded, no vectors
    assert Language.has_factory("fixedit_boundaries_v1")
    assert Language.has_factory("fixedit_entities_v1")


def test_components_can_be_added_to_any_blank_pipeline() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("fixedit_boundaries_v1")
    text = "rebooted\nworks now"

    assert [s.text for s in nlp(text).sents] == ["rebooted\n", "works now"]


def test_a_text_of_endless_lines_is_read_up_to_the_segment_cap(extractor: Extractor) -> None:
    from extract.segment import MAX_SEGMENTS

    text = "rebooted\n" * (MAX_SEGMENTS + 500)

    spans = segment_spans(extractor.nlp(text), text)

    assert len(spans) == MAX_SEGMENTS
    assert all(text[start:end] == "rebooted" for start, end in spans)
