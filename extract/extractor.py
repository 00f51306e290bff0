"""The Extractor: one spaCy pipeline per process, tickets in, Resolutions out.

Tickets are read in batches (`batch_size` tickets): every text of the batch tokenised, then each
spaCy component over all of them, the rules ticket by ticket, then each trained model once for
the whole batch (featurising and predicting per ticket cost more in call overhead than in
arithmetic), then each Resolution.

Each text (title, description, note) is its own doc. Joining a ticket's texts into one doc would
save per-doc overhead in the components, but costs more in the tokeniser than it saves: spaCy
stops caching a doc's chunks after the first special case in it ("don't", "e.g."), so in one long
doc most words are split afresh on every call (measured: tokenising 0.18 -> 0.35 ms a ticket).

A ticket that breaks something (a spaCy or scikit-learn error, a Resolution that does not
validate) must not take its neighbours down, nor leak its text into logs: when a batch fails, its
tickets are extracted again one by one, and the one that fails raises ExtractionError naming the
ticket and the error type only, so the pipeline can set it aside.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice

from spacy.tokens import Doc

from extract.analysis import analyse_many, apply_role_model
from extract.assemble import build_resolution, category_inputs
from extract.classifiers import predict_categories, primed_categories
from extract.entities import EntityTagger
from extract.nlp import build_nlp
from extract.segment import Boundaries, TokenBatch, with_text
from extract.sources import Source, ticket_sources
from records import ExtractionError, Resolution, Ticket

__all__ = ["EXTRACTOR_VERSION", "Extractor"]

log = logging.getLogger(__name__)

EXTRACTOR_VERSION = "0.3.2"


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one batch, and restore it after.

    A batch allocates hundreds of thousands of short-lived objects (tokens, matches, segments,
    dicts for pydantic), which trigger collection after collection, each traversing objects
    that reference counting frees anyway: about a fifth of the extractor's CPU time (bench
    `bench.extract`). Reference counting still frees what is not in a cycle, and a batch leaves
    no cycle (tests/extract/test_extractor_errors.py checks). The collector is re-enabled only if
    it was enabled on entry (nested or concurrent batches leave it as they found it).

    What a batch that succeeds leaves alive (its Resolutions, tens of thousands of pydantic
    objects and their field sets) is moved to the oldest generation at once (``gc.freeze`` then
    ``gc.unfreeze``, two list splices): otherwise the young-generation collection due as soon as
    the collector is back traverses every one of them, and the middle generation's again, for
    objects the caller usually drops a moment later. Cycles among them (a caller's, later) are
    found by the next full collection, as for any long-lived object. Skipped while the process
    keeps objects frozen on purpose (`gc.unfreeze` would release them): `fixedit serve` freezes
    its index."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        if enabled and not gc.get_freeze_count():
            gc.freeze()
            gc.unfreeze()
    finally:
        if enabled:
            gc.enable()


class Extractor:
    """Turns tickets into evidence-backed Resolutions. Build once, reuse: construction compiles
    the spaCy pipeline and every pattern."""

    version = EXTRACTOR_VERSION

    def __init__(self, *, batch_size: int = 256) -> None:
        self.nlp = build_nlp()
        self.batch_size = max(1, batch_size)
        # Seconds spent per stage (sources, spacy, rules, models, assembly) since construction
        # or the last `timings.clear()`: what `bench.extract` breaks the time down by.
        self.timings: dict[str, float] = {}
        # The same in CPU seconds of this process (unaffected by other work on the machine).
        self.cpu_timings: dict[str, float] = {}

    def extract(self, ticket: Ticket) -> Resolution:
        """The Resolution of one ticket (built from its title, description and every note)."""
        return next(self.extract_many([ticket]))

    def extract_many(self, tickets: Iterable[Ticket]) -> Iterator[Resolution]:
        """Resolutions of many tickets, in order, batching spaCy and the models across tickets.

        Raises ExtractionError naming the first ticket that cannot be extracted (the ones
        before it have been yielded)."""
        stream = iter(tickets)
        while batch := list(islice(stream, self.batch_size)):
            try:
                resolutions = self._resolve_batch(batch)
            except MemoryError:
                raise  # the process is in trouble, not a ticket
            except Exception:  # noqa: BLE001 - isolated below, ticket by ticket
                log.info("a batch of %d tickets failed; extracting them one by one", len(batch))
                for ticket in batch:
                    yield self._one(ticket)
            else:
                yield from resolutions

    def _docs_and_tokens(self, sources: list[list[Source]]
                         ) -> tuple[list[list[Doc]], TokenBatch | None]:
        """The processed docs of every source of every ticket, component by component over the
        whole batch: a component with a `pipe` method (the segment boundaries) takes all the
        docs in one batch, the others one doc at a time. (`nlp.pipe` does the same through
        several layers of generators per doc, which cost more than a short note's
        components.) And the docs' token tables as the boundaries joined them, which the
        entity tagger and `analyse_many` read rather than join them again."""
        make_doc = self.nlp.make_doc
        docs = [[with_text(make_doc(source.clean.text), source.clean.text)
                 for source in ticket_sources_] for ticket_sources_ in sources]
        every = [doc for ticket_docs in docs for doc in ticket_docs]
        tokens = None
        for _, component in self.nlp.pipeline:
            pipe = getattr(component, "pipe", None)
            if isinstance(component, Boundaries):
                tokens = component.mark(every)
            elif isinstance(component, EntityTagger):
                component.mark(every, tokens)  # reads the token table the boundaries joined
            elif pipe is not None:
                deque(pipe(every, batch_size=max(1, len(every))), maxlen=0)  # run it through
            else:
                for doc in every:
                    component(doc)
        return docs, tokens

    def _resolve_batch(self, batch: Sequence[Ticket]) -> list[Resolution]:
        """Resolutions of a batch of tickets; any error escapes (the caller isolates it)."""
        with _cycle_collection_paused():
            return self._resolve(batch)

    def _resolve(self, batch: Sequence[Ticket]) -> list[Resolution]:
        clock = self._clock()
        sources = [ticket_sources(ticket) for ticket in batch]
        clock("sources")
        docs, tokens = self._docs_and_tokens(sources)
        clock("spacy")
        analyses = analyse_many(sources, docs, tokens)
        # the batch's joined token tables and spans: not needed past here
        del tokens
        clock("rules")
        apply_role_model(analyses)
        rows = [category_inputs(analysis) for analysis in analyses]
        for analysis, row in zip(analyses, rows, strict=True):
            analysis.category_row = row
        answers = dict(zip(rows, predict_categories(rows, analyses, self.nlp.vocab.strings),
                           strict=True))
        clock("models")
        with primed_categories(answers):
            resolutions = [build_resolution(ticket, analysis, version=self.version)
                           for ticket, analysis in zip(batch, analyses, strict=True)]
        clock("assembly")
        return resolutions

    def _clock(self) -> Callable[[str], None]:
        """A stopwatch adding the time since its last reading to `timings[stage]` (and the CPU
        time to `cpu_timings[stage]`)."""
        last, last_cpu = time.perf_counter(), time.process_time()

        def read(stage: str) -> None:
            nonlocal last, last_cpu
            now, now_cpu = time.perf_counter(), time.process_time()
            self.timings[stage] = self.timings.get(stage, 0.0) + now - last
            self.cpu_timings[stage] = self.cpu_timings.get(stage, 0.0) + now_cpu - last_cpu
            last, last_cpu = now, now_cpu

        return read

    def _one(self, ticket: Ticket) -> Resolution:
        """One ticket alone; any error but ExtractionError becomes an ExtractionError naming
        the ticket."""
        try:
            return self._resolve_batch([ticket])[0]
        except (ExtractionError, MemoryError):
            raise
        except Exception as exc:
            # Name the ticket and the error type, never the message: a validation or library
            # message may quote the text it rejected.
            log.warning("extraction failed for ticket %s/%s: %s", ticket.source,
                        ticket.external_id, type(exc).__name__)
            raise ExtractionError(f"could not extract ticket {ticket.source}/"
                                  f"{ticket.external_id}: {type(exc).__name__}") from exc
