"""What the extractor produces: evidence-backed Resolutions (tickets) and Discoveries (deals)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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
    """Why a record may not be reusable as it stands. Each is a fact about the record, computed
    from what the extractor found; `Resolution.quality_score` weighs them.

    - ``no_resolution_detail``: the ticket was closed with a bare "fixed it" / "done": no step
      and no cause, so there is nothing to reuse.
    - ``no_problem_statement``: neither the title nor the text says what was wrong.
    - ``no_steps``: no step of the fix was found (see also ``no_resolution_detail``).
    - ``unverified``: steps were found but nothing says the fix was checked ("test page printed").
    - ``no_cause``: steps were found but no root cause was stated.
    - ``single_step``: the fix is one step only ("rebooted"): it may be all there was, or a
      summary that left the real work out.
    - ``steps_from_customer``: every step comes from the customer's own words ("I restarted and
      it works now"), none from a technician.
    - ``generic_title``: the ticket's title says nothing ("Help", "Issue"); the record's title is
      its problem statement instead.
    - ``ticket_open``: the ticket was not closed when read; the record may still change.
    - ``redacted``: a secret or personal value was redacted from the text; a step may need it.
    """

    NO_RESOLUTION_DETAIL = "no_resolution_detail"
    NO_PROBLEM_STATEMENT = "no_problem_statement"
    NO_STEPS = "no_steps"
    UNVERIFIED = "unverified"
    NO_CAUSE = "no_cause"
    SINGLE_STEP = "single_step"
    STEPS_FROM_CUSTOMER = "steps_from_customer"
    GENERIC_TITLE = "generic_title"
    TICKET_OPEN = "ticket_open"
    REDACTED = "redacted"


class Scope(StrEnum):
    """How far a fix travels beyond the ticket it came from."""

    GENERAL = "general"
    """Nothing ties it to this client: reusable wherever the same products show the same
    problem."""
    ENVIRONMENT = "environment"
    """It works on this client's own setup (their servers, shares, addresses, custom
    configuration): reuse the approach, adapt the names."""
    ONE_OFF = "one_off"
    """A single event (a provider outage, a typo, an unplugged cable, a problem that went away by
    itself): little to reuse as a procedure."""
    UNKNOWN = "unknown"
    """No step or cause to judge from (or a record stored before applicability existed)."""


class Applicability(Record):
    """To which environments and situations a fix applies, as far as the ticket says.

    Products and platforms are what the ticket names, not a guarantee that the fix is limited to
    them; `conditions` are the limits the text states ("only when connected over VPN").
    """

    scope: Scope = Field(default=Scope.UNKNOWN, description=(
        "general: reusable for any client with the same products and problem; environment: "
        "depends on this client's own hosts, shares, addresses or custom configuration; "
        "one_off: a single event with little to reuse; unknown: nothing to judge from."))
    reasons: list[EvidencedText] = Field(default_factory=list, description=(
        "Why the scope is not general, each with the text that shows it, e.g. "
        "\"a step names this client's host SRV-FS01\". Empty for general and unknown."))
    products: list[str] = Field(default_factory=list, description=(
        "Products involved, with the version or model when the ticket gives one "
        "(\"Microsoft Outlook\", \"GlobalProtect 6.2.1\"); their evidence is in "
        "Resolution.products. Operating systems are in `platforms`."))
    platforms: list[EvidencedText] = Field(default_factory=list, description=(
        "Operating systems and device platforms named in the ticket (\"Windows 11\", "
        "\"macOS\", \"iPhone\"), with evidence."))
    conditions: list[EvidencedText] = Field(default_factory=list, description=(
        "Limits the text states, as the sentence that states them: \"only happens when "
        "connected over VPN\", \"Outlook 2016 only\"."))
    summary: str = Field(default="", description=(
        "One plain sentence saying all of the above, for people and for agents that read no "
        "further, e.g. \"General fix; Microsoft Outlook on Windows 11; only when connected over "
        "VPN.\""))


# The quality formula (see `quality_score`). Weights sum to 1.
QUALITY_WEIGHTS: dict[str, float] = {
    "problem": 0.20, "steps": 0.25, "cause": 0.15, "verification": 0.15, "outcome": 0.10,
    "evidence": 0.15,
}
OUTCOME_VALUE: dict[Outcome, float] = {
    Outcome.RESOLVED: 1.0, Outcome.WORKAROUND: 0.6, Outcome.ESCALATED: 0.3,
    Outcome.UNRESOLVED: 0.0, Outcome.UNKNOWN: 0.0,
}
QUALITY_CAPS: dict[QualityFlag, float] = {
    QualityFlag.NO_RESOLUTION_DETAIL: 0.2, QualityFlag.NO_PROBLEM_STATEMENT: 0.3,
}
QUALITY_FACTORS: dict[QualityFlag, float] = {
    QualityFlag.TICKET_OPEN: 0.8, QualityFlag.STEPS_FROM_CUSTOMER: 0.8,
    QualityFlag.SINGLE_STEP: 0.9,
}
STEPS_FOR_FULL_CREDIT = 3


def quality_score(*, problem: bool, steps: int, cause: bool, verification: bool,
                  outcome: Outcome, evidence_coverage: float,
                  flags: Iterable[QualityFlag]) -> float:
    """How reusable a record is, 0..1, rounded to 2 places. The formula:

        base = 0.20 * problem stated
             + 0.25 * min(steps, 3) / 3
             + 0.15 * cause stated
             + 0.15 * verification stated
             + 0.10 * outcome value (resolved 1, workaround 0.6, escalated 0.3, else 0)
             + 0.15 * evidence coverage (share of the record's texts backed by a span)
        score = base, capped at 0.2 for no_resolution_detail and at 0.3 for
                no_problem_statement, then times 0.8 for ticket_open, 0.8 for
                steps_from_customer and 0.9 for single_step.

    Flags that only restate a missing part (no_steps, no_cause, unverified) cost nothing more:
    the part's weight is already lost. generic_title and redacted cost nothing.
    """
    flags = set(flags)
    score = (QUALITY_WEIGHTS["problem"] * problem
             + QUALITY_WEIGHTS["steps"] * min(steps, STEPS_FOR_FULL_CREDIT) / STEPS_FOR_FULL_CREDIT
             + QUALITY_WEIGHTS["cause"] * cause
             + QUALITY_WEIGHTS["verification"] * verification
             + QUALITY_WEIGHTS["outcome"] * OUTCOME_VALUE[outcome]
             + QUALITY_WEIGHTS["evidence"] * evidence_coverage)
    for flag, cap in QUALITY_CAPS.items():
        if flag in flags:
            score = min(score, cap)
    for flag, factor in QUALITY_FACTORS.items():
        if flag in flags:
            score *= factor
    return round(max(0.0, min(score, 1.0)), 2)


class Resolution(Record):
    """The reusable knowledge in one ticket: what was wrong, what was done, whether it worked.

    Two numbers rate it, and they answer different questions:

    - `confidence`: how sure the extractor is of its own reading of the ticket (how much of what
      it looks for it found, and whether it knows how the ticket ended). Use it to decide whether
      to trust the fields as extracted.
    - `quality_score`: how reusable the record is for someone else (a technician or an agent
      facing the same problem): a stated problem, concrete steps, a cause, a check that it worked,
      a known good outcome, evidence behind every text; lowered by `quality_flags`. See
      `quality_score()` for the formula. Use it to rank and to filter what to show.

    `applicability` says where the fix applies (products, platforms, stated conditions, and
    whether it is general, specific to this client's environment, or a one-off).
    """

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
    applicability: Applicability = Field(
        default_factory=Applicability,
        description="Where the fix applies: scope (general / environment / one_off / unknown), "
                    "products, platforms and stated conditions, with evidence.")
    quality_flags: list[QualityFlag] = Field(
        default_factory=list, description="Why the record may not be reusable as it stands.")
    quality_score: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="How reusable the record is, 0..1 (problem, steps, cause, verification, "
                    "outcome, evidence coverage, lowered by quality flags; see "
                    "records.resolution.quality_score). Computed from the record when absent.")
    confidence: float = Field(
        ge=0.0, le=1.0,
        description="How sure the extractor is of its reading, 0..1; not how reusable the "
                    "record is (that is quality_score).")
    extractor_version: str

    @model_validator(mode="after")
    def _fill_quality_score(self) -> Resolution:
        # A record stored before the score existed, or built by hand, gets it from its fields.
        if self.quality_score is None:
            self.__dict__["quality_score"] = self.computed_quality_score()
        return self

    @property
    def usable(self) -> bool:
        """A colleague could reuse it: it states a problem and at least one step."""
        return self.problem is not None and bool(self.steps)

    def texts(self) -> list[EvidencedText]:
        """Every text of the record that should carry evidence (title, problem, symptoms,
        cause, steps, failed attempts, verification)."""
        single = [self.title, self.problem, self.cause, self.verification]
        return [*(t for t in single if t is not None), *self.symptoms, *self.steps,
                *self.failed_attempts]

    def evidence_spans(self) -> Iterator[tuple[str, int, Evidence]]:
        """(field name, item index, span) for every evidence span of every evidenced field and
        list item, in field order (a single field is item 0)."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            for index, item in enumerate(value if isinstance(value, list) else [value]):
                if isinstance(item, EvidencedText):
                    for span in item.evidence:
                        yield name, index, span

    def evidence_coverage(self) -> float:
        """The share of `texts()` backed by at least one evidence span."""
        texts = self.texts()
        return sum(1 for t in texts if t.evidence) / len(texts) if texts else 0.0

    def computed_quality_score(self) -> float:
        """`quality_score()` of this record's own fields and flags."""
        return quality_score(problem=self.problem is not None, steps=len(self.steps),
                             cause=self.cause is not None,
                             verification=self.verification is not None, outcome=self.outcome,
                             evidence_coverage=self.evidence_coverage(),
                             flags=self.quality_flags)


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
