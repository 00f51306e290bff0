"""The Extractor in batches: the same Resolutions as one by one, and a failing ticket set aside
by name (never by its text) without taking its batch down."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable

import pytest
from spacy.language import Language
from spacy.tokens import Doc

import extract.extractor
from extract import Extractor
from extract.segment import doc_text
from records import ExtractionError, Note, Ticket

TicketMaker = Callable[..., Ticket]
NoteMaker = Callable[..., Note]
SECRET = "kaboom-7731"


@Language.component("fixedit_test_breaks_on_marker")
def _breaks_on_marker(doc: Doc) -> Doc:
    """Fails like a library bug would, on one ticket's text only."""
    if SECRET in doc_text(doc):
        raise IndexError(f"bad token in {doc_text(doc)!r}")
    return doc


def _tickets(ticket: TicketMaker, note: NoteMaker) -> list[Ticket]:
    return [ticket(external_id=f"T-{n}", notes=[note(1, text)]) for n, text in enumerate([
        "rebooted spooler, cleared queue, works now",
        "fixed it",
        "Rebuilt the outlook profile. user confirmed",
        "reset pw in AD, user logged in ok",
        "replaced toner, test page printed",
    ])]


def test_batches_give_what_single_tickets_give(extractor: Extractor, ticket: TicketMaker,
                                               note: NoteMaker) -> None:
    tickets = _tickets(ticket, note)

    small_batches = list(Extractor(batch_size=2).extract_many(tickets))

    assert [r.ticket.external_id for r in small_batches] == [t.external_id for t in tickets]
    assert small_batches == list(extractor.extract_many(tickets))
    assert small_batches == [extractor.extract(t) for t in tickets]


def test_a_spacy_failure_names_the_ticket_not_its_text(
        ticket: TicketMaker, note: NoteMaker, caplog: pytest.LogCaptureFixture) -> None:
    breaking = Extractor(batch_size=3)
    breaking.nlp.add_pipe("fixedit_test_breaks_on_marker")
    tickets = _tickets(ticket, note)
    tickets[1] = ticket(external_id="T-bad", notes=[note(1, f"user pw is {SECRET}")])
    caplog.set_level(logging.DEBUG)

    stream = breaking.extract_many(tickets)
    first = next(stream)
    with pytest.raises(ExtractionError, match=r"acme-psa/T-bad: IndexError") as failure:
        next(stream)

    assert first.ticket.external_id == "T-0"
    assert SECRET not in str(failure.value)
    assert SECRET not in caplog.text
    # the pipeline then goes one by one: the others still extract
    assert breaking.extract(tickets[2]).ticket.external_id == "T-2"
    assert [r.ticket.external_id for r in breaking.extract_many(tickets[2:])] == [
        "T-2", "T-3", "T-4"]


def test_a_model_failure_names_the_ticket(
        ticket: TicketMaker, note: NoteMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    real = extract.extractor.predict_categories

    def fails_on_marker(rows, analyses, strings=None):  # type: ignore[no-untyped-def]
        if any(SECRET in row[1] for row in rows):
            raise ValueError(f"Input contains NaN: {rows}")
        return real(rows, analyses, strings)

    monkeypatch.setattr(extract.extractor, "predict_categories", fails_on_marker)
    tickets = _tickets(ticket, note)
    tickets[3] = ticket(external_id="T-nan", notes=[note(1, f"see {SECRET}")])

    done: list[str] = []
    with pytest.raises(ExtractionError, match=r"acme-psa/T-nan: ValueError") as failure:
        done.extend(r.ticket.external_id for r in Extractor().extract_many(tickets))

    assert done == ["T-0", "T-1", "T-2"]  # its batch was redone one by one up to it
    assert SECRET not in str(failure.value)


def test_running_out_of_memory_is_not_blamed_on_a_ticket(
        ticket: TicketMaker, note: NoteMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    def exhausted(rows, analyses, strings=None):  # type: ignore[no-untyped-def]
        raise MemoryError

    monkeypatch.setattr(extract.extractor, "predict_categories", exhausted)

    with pytest.raises(MemoryError):
        list(Extractor().extract_many(_tickets(ticket, note)))


@pytest.mark.parametrize("text", ["<p></p>", "<div><br></div>", "&nbsp;"])
def test_a_fresh_extractor_reads_a_ticket_whose_only_note_cleans_to_nothing(
        ticket: TicketMaker, note: NoteMaker, text: str) -> None:
    # A fresh Extractor's feature caches are empty: a batch with no words to look up must
    # give an empty feature matrix, not fail on the empty cache.
    lone = ticket(title="Printer", description="", notes=[note(1, text)])

    resolution = Extractor().extract(lone)

    assert resolution.ticket.external_id == lone.external_id
    assert resolution.title.text == "Printer"


def test_the_garbage_collector_is_left_as_it_was_found(extractor: Extractor,
                                                       ticket: TicketMaker,
                                                       note: NoteMaker) -> None:
    # Batches pause the cyclic collector; it must come back on after a batch, after a failing
    # ticket, and stay off for a caller that had turned it off.
    assert gc.isenabled()
    list(extractor.extract_many(_tickets(ticket, note)))
    assert gc.isenabled()

    broken = Extractor()
    broken.nlp.add_pipe("fixedit_test_breaks_on_marker")
    with pytest.raises(ExtractionError):
        broken.extract(ticket(notes=[note(1, f"rebooted {SECRET}")]))
    assert gc.isenabled()

    gc.disable()
    try:
        extractor.extract(ticket())
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_batch_leaves_no_reference_cycle(extractor: Extractor, ticket: TicketMaker,
                                           note: NoteMaker) -> None:
    # What a batch leaves alive goes straight to the oldest generation (see
    # extract.extractor._cycle_collection_paused): sound because a batch makes no cycle that
    # only a collection would free.
    tickets = _tickets(ticket, note)
    list(extractor.extract_many(tickets))  # warm: first-use loading may make cycles
    gc.collect()
    resolutions = list(extractor.extract_many(tickets))
    assert gc.collect() == 0
    assert len(resolutions) == len(tickets)


def test_objects_frozen_by_the_caller_stay_frozen(extractor: Extractor, ticket: TicketMaker,
                                                  note: NoteMaker) -> None:
    list(extractor.extract_many(_tickets(ticket, note)))
    assert gc.get_freeze_count() == 0  # the batch's own move leaves nothing frozen
    marker: list[object] = [[]]
    gc.freeze()
    try:
        list(extractor.extract_many(_tickets(ticket, note)))
        # frozen objects are in no generation: the collector does not list them
        assert gc.get_freeze_count() > 0
        assert all(item is not marker for item in gc.get_objects())
    finally:
        gc.unfreeze()
    assert any(item is marker for item in gc.get_objects())
