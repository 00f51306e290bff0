"""The contract between fixedit's stages. Imports nothing else of fixedit's."""

from records.base import Record, UtcDatetime
from records.deal import Contact, Deal
from records.errors import (
    AuthError,
    BudgetExhausted,
    ConfigError,
    ConnectorError,
    ExtractionError,
    FixeditError,
    PaginationLoop,
    PayloadError,
    RetriableError,
    StoreError,
)
from records.resolution import (
    Applicability,
    Constraint,
    Discovery,
    Evidence,
    EvidencedText,
    Outcome,
    QualityFlag,
    Resolution,
    Scope,
    StakeholderMention,
    quality_score,
)
from records.sync import Batch, Cursor, Reject
from records.ticket import AuthorRole, CustomField, Note, NoteKind, SourceRef, Ticket

__all__ = [
    "Applicability",
    "AuthError",
    "AuthorRole",
    "Batch",
    "BudgetExhausted",
    "ConfigError",
    "ConnectorError",
    "Constraint",
    "Contact",
    "Cursor",
    "CustomField",
    "Deal",
    "Discovery",
    "Evidence",
    "EvidencedText",
    "ExtractionError",
    "FixeditError",
    "Note",
    "NoteKind",
    "Outcome",
    "PaginationLoop",
    "PayloadError",
    "QualityFlag",
    "Record",
    "Reject",
    "Resolution",
    "RetriableError",
    "Scope",
    "SourceRef",
    "StakeholderMention",
    "StoreError",
    "Ticket",
    "UtcDatetime",
    "quality_score",
]
