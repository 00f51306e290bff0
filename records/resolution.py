"""What the extractor produces: evidence-backed Resolutions (tickets) and Discoveries (deals)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from records.base import Record, UtcDatetime
from records.ticket import SourceRef


class Evidence(Record):
    """Where a claim came from: a character span of one note (or of the ticket title/description).

    `start`/`end` index the *original* text of that note as stored (before HTML was stripped);
    `text` is the cleaned text of the span, as a person would read it.
    """

    field: Literal["title", "description", "note"] = "note"
    note_id: str | None = Field(
        default=None, description="The note's external id when field='note'."
    )
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str

    @model_validator(mode="after")
    def _check(self) -> Evidence:
        if self.end < self.start:
            raise ValueError("evidence end is before start")
        if (self.field == "note") != (self.note_id is not None):
            raise ValueError("note_id is required for note evidence and only for it")
        return self


class EvidencedText(Record):
    """A piece of extracted text (a step, a symptom, a product name) with its evidence."""

    text: str
    evidence: list[Evidence] = Field(default_factory=list)


class Outcome(StrEnum):
    """How the ticket ended."""

    RESOLVED = "resolved"
    WORKAROUND = "workaround"
    ESCALATED = "escalated"
    UNRESOLVED = "unresolved"
    UNKNOWN = "unknown"


class QualityFlag(StrEnum):
    """Why a record may not be reusable as it stands."""

    NO_RESOLUTION_DETAIL = "no_resolution_detail"
    NO_PROBLEM_STATEMENT = "no_problem_statement"
    NO_STEPS = "no_steps"
    UNVERIFIED = "unverified"
    TICKET_OPEN = "ticket_open"
    REDACTED = "redacted"


class Resolution(Record):
    """The reusable knowledge in one ticket: what was wrong, what was done, whether it worked."""

    ticket: SourceRef
    title: EvidencedText
    problem: EvidencedText | None = None
    symptoms: list[EvidencedText] = Field(default_factory=list)
    cause: EvidencedText | None = None
    steps: list[EvidencedText] = Field(default_factory=list)
    failed_attempts: list[EvidencedText] = Field(default_factory=list)
    verification: EvidencedText | None = None
    outcome: Outcome = Outcome.UNKNOWN
    category: str = "other"
    products: list[EvidencedText] = Field(default_factory=list)
    error_codes: list[EvidencedText] = Field(default_factory=list)
    kb_refs: list[EvidencedText] = Field(default_factory=list)
    hosts: list[EvidencedText] = Field(
        default_factory=list, description="Hostnames, FQDNs and UNC hosts named in the ticket.")
    company: str | None = None
    technician: str | None = None
    board: str | None = None
    closed_at: UtcDatetime | None = None
    quality_flags: list[QualityFlag] = Field(default_factory=list)
    confidence: float = Field(ge=0.0, le=1.0)
    extractor_version: str

    @property
    def usable(self) -> bool:
        """A colleague could reuse it: it states a problem and at least one step."""
        return self.problem is not None and bool(self.steps)


class StakeholderMention(Record):
    """A person named in deal notes, with the role they play in the decision."""

    name: str
    role: str | None = Field(default=None, description="e.g. decision maker, champion, IT lead")
    evidence: list[Evidence] = Field(default_factory=list)


class Constraint(Record):
    """A limit the delivery team must respect."""

    kind: Literal["budget", "timeline", "compliance", "technical", "other"] = "other"
    text: str
    evidence: list[Evidence] = Field(default_factory=list)


class Discovery(Record):
    """What sales learned about a client, so delivery does not start from scratch."""

    deal: SourceRef
    title: str
    company: str | None = None
    pain_points: list[EvidencedText] = Field(default_factory=list)
    success_criteria: list[EvidencedText] = Field(default_factory=list)
    decision_makers: list[StakeholderMention] = Field(default_factory=list)
    constraints: list[Constraint] = Field(default_factory=list)
    competitors: list[EvidencedText] = Field(default_factory=list)
    promised_scope: list[EvidencedText] = Field(default_factory=list)
    next_steps: list[EvidencedText] = Field(default_factory=list)
    open_questions: list[EvidencedText] = Field(default_factory=list)
    confidence: float = Field(ge=0.0, le=1.0)
    extractor_version: str
