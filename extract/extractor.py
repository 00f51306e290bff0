"""The Extractor: one spaCy pipeline per process, tickets in, Resolutions out."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from itertools import groupby

from spacy.tokens import Doc

from extract.analysis import analyse
from extract.assemble import build_resolution
from extract.nlp import build_nlp
from extract.segment import with_text
from extract.sources import Source, ticket_sources
from records import ExtractionError, Resolution, Ticket

__all__ = ["EXTRACTOR_VERSION", "Extractor"]

log = logging.getLogger(__name__)

EXTRACTOR_VERSION = "0.2.0"


class Extractor:
    """Turns tickets into evidence-backed Resolutions. Build once, reuse: construction compiles
    the spaCy pipeline and every pattern."""

    version = EXTRACTOR_VERSION

    def __init__(self, *, batch_size: int = 256) -> None:
        self.nlp = build_nlp()
        self.batch_size = batch_size

    def extract(self, ticket: Ticket) -> Resolution:
        """The Resolution of one ticket (built from its title, description and every note)."""
        return next(self.extract_many([ticket]))

    def extract_many(self, tickets: Iterable[Ticket]) -> Iterator[Resolution]:
        """Resolutions of many tickets, in order, sharing `nlp.pipe` batches across tickets."""
        prepared = ((ticket, ticket_sources(ticket)) for ticket in tickets)
        pending: dict[int, tuple[Ticket, list[Source]]] = {}

        def tokenised() -> Iterator[tuple[Doc, int]]:
            """A tokenised doc of every cleaned text of every ticket, tagged with its ticket's
            position. The doc keeps its text: ``Doc.text`` rebuilds it token by token."""
            for index, (ticket, sources) in enumerate(prepared):
                pending[index] = (ticket, sources)
                for source in sources:
                    yield with_text(self.nlp.make_doc(source.clean.text), source.clean.text), index

        stream = self.nlp.pipe(tokenised(), as_tuples=True, batch_size=self.batch_size)
        for index, group in groupby(stream, key=lambda pair: pair[1]):
            docs = [doc for doc, _ in group]
            ticket, sources = pending.pop(index)
            yield self._resolve(ticket, sources, docs)

    def _resolve(self, ticket: Ticket, sources: list[Source], docs: list[Doc]) -> Resolution:
        try:
            return build_resolution(ticket, analyse(sources, docs), version=self.version)
        except ValueError as exc:
            # A contract violation (e.g. an evidence span that does not validate) is a bug in
            # the rules, not in the ticket. Name the ticket and the error type, never the text:
            # a validation message quotes the values it rejected.
            log.warning("extraction failed for ticket %s/%s: %s", ticket.source,
                        ticket.external_id, type(exc).__name__)
            raise ExtractionError(f"could not extract ticket {ticket.source}/"
                                  f"{ticket.external_id}: {type(exc).__name__}") from exc
