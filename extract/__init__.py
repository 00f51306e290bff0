"""Pure text to records: cleaning, redaction, segmentation, roles, entities, outcome, category.

Public API::

    EXTRACTOR_VERSION                  bump when extraction output changes
    Extractor().extract(ticket)        -> records.Resolution
    Extractor().extract_many(tickets)  -> Iterator[records.Resolution]
    redact_ticket(ticket)              -> (records.Ticket, RedactionCounts)
    redact_deal(deal)                  -> (records.Deal, RedactionCounts)
    redact_text(text)                  -> (str, Counter)

Imports only `records` and third-party libraries; spaCy types never leave this package.
"""

from extract.extractor import EXTRACTOR_VERSION, Extractor
from extract.redact import RedactionCounts, redact_deal, redact_text, redact_ticket

__all__ = ["EXTRACTOR_VERSION", "Extractor", "RedactionCounts", "redact_deal", "redact_text",
           "redact_ticket"]
