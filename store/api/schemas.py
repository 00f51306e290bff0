"""Request and response bodies of the v1 API (what /docs shows)."""

from __future__ import annotations

import json
import types
import typing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from records import Evidence, EvidencedText, Outcome, Resolution, Ticket

MAX_ID = 2**31 - 1
"""The largest row id: id columns are 32-bit integers on PostgreSQL."""
MAX_TITLE = 1_000
MAX_DESCRIPTION = 50_000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LookupOptions(_In):
    """Which prior resolutions a lookup may return."""

    category: str | None = Field(default=None, max_length=200, description="e.g. `printing`.")
    product: str | None = Field(default=None, max_length=200)
    source: str | None = Field(default=None, max_length=200, description="A source name.")
    company: str | None = Field(
        default=None, max_length=500,
        description="Only this company's records (a company-limited key is always limited).")
    include_all: bool = Field(
        default=False,
        description="Also return escalated, unresolved and thin records (no problem or steps).")


_TEXT = {"type": "string", "pattern": r"\S"}
_ONE_FORM: dict[str, Any] = {
    # What `_one_form` checks, stated in the schema so clients (and fuzzers) can see it.
    "anyOf": [
        {"required": ["title"], "properties": {"title": _TEXT}},
        {"required": ["description"], "properties": {"description": _TEXT}},
        {"required": ["ticket"], "properties": {"ticket": {"type": "object"}}},
    ],
    "not": {"anyOf": [{"required": ["ticket", "title"]},
                      {"required": ["ticket", "description"]}]},
}


class LookupRequest(_In):
    """A new ticket: its title and description, or the whole ticket in the import format.

    Give `title` and/or `description` (at least one not blank), or `ticket`; not both forms.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_ONE_FORM)

    title: str | None = Field(default=None, max_length=MAX_TITLE)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    ticket: Ticket | None = Field(
        default=None, description="A whole ticket in fixedit's import format (see README).")
    limit: int = Field(default=5, ge=1, le=50, description="How many matches at most.")
    filters: LookupOptions = Field(default_factory=LookupOptions)

    @model_validator(mode="after")
    def _one_form(self) -> LookupRequest:
        given = self.model_fields_set
        if "ticket" in given and ({"title", "description"} & given):
            raise ValueError("give either title/description or ticket, not both")
        if self.ticket is None and not ((self.title or "").strip()
                                        or (self.description or "").strip()):
            raise ValueError("give a title or description (non-blank), or a ticket")
        return self


class EvidenceItem(BaseModel):
    """One evidence span behind one field (or list item) of a resolution, flattened."""

    field: str = Field(description="The resolution field, e.g. `steps`.")
    item: int = Field(description="Position in a list field; 0 for single fields.")
    source_field: Literal["title", "description", "note"]
    note_id: str | None
    start: int
    end: int
    text: str


class Links(BaseModel):
    """Where to read more."""

    self: str = Field(description="This resolution in the API.")
    source: str | None = Field(description="The ticket in the PSA, when the source gave a link.")


class ResolutionOut(BaseModel):
    """A stored resolution with its row id, its evidence flattened and its links."""

    id: int
    resolution: Resolution
    evidence: list[EvidenceItem]
    links: Links


class MatchOut(BaseModel):
    """One ranked prior resolution for a lookup."""

    resolution_id: int
    score: float
    confident: bool = Field(description="Whether the ranking is confident this is the same "
                                        "problem, not just a similar one.")
    matched: list[str] = Field(description="The query terms it matched.")
    resolution: Resolution
    evidence: list[EvidenceItem]
    links: Links


class LookupResponse(BaseModel):
    """Ranked matches, best first, and the lookup's id for feedback to cite."""

    lookup_id: int
    matches: list[MatchOut]
    redacted: int = Field(description="Secrets removed from the query before it was used.")


class PageLinks(BaseModel):
    """Relative links to this page and its neighbours."""

    self: str
    next: str | None
    prev: str | None


class ResolutionPage(BaseModel):
    """One page of resolutions."""

    items: list[ResolutionOut]
    total: int = Field(description="How many resolutions match in all.")
    limit: int
    offset: int
    links: PageLinks


class FeedbackRequest(_In):
    """Whether a suggested resolution helped."""

    resolution_id: int = Field(ge=1, le=MAX_ID)
    helpful: bool
    lookup_id: int | None = Field(default=None, ge=1, le=MAX_ID,
                                  description="The lookup that suggested it, if any.")
    comment: str | None = Field(default=None, max_length=2_000)


class FeedbackResponse(BaseModel):
    """The stored verdict's id."""

    feedback_id: int


class Health(BaseModel):
    """Whether the API and its store are up."""

    status: Literal["ok"]
    database: Literal["ok"]


OUTCOMES = tuple(outcome.value for outcome in Outcome)


def evidence_items(resolution: Resolution) -> list[EvidenceItem]:
    """Every evidence span of every evidenced field and list item, flattened."""
    return [_item(name, index, span) for name, index, span in resolution.evidence_spans()]


def _item(name: str, index: int, span: Evidence) -> EvidenceItem:
    return EvidenceItem(field=name, item=index, source_field=span.field, note_id=span.note_id,
                        start=span.start, end=span.end, text=span.text)


def _holds_evidenced_text(annotation: Any) -> bool:
    if annotation is EvidencedText:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        return any(_holds_evidenced_text(arg) for arg in typing.get_args(annotation))
    return False


_EVIDENCED = tuple(name for name, info in Resolution.model_fields.items()
                   if _holds_evidenced_text(info.annotation))
"""The resolution fields that hold `EvidencedText` (alone or in a list), in model order."""
_FIELDS = frozenset(Resolution.model_fields)


def match_json(resolution_id: int, payload: str, *, score: float, confident: bool,
               matched: list[str]) -> tuple[str | None, str]:
    """One lookup match as `MatchOut` JSON, built around the stored payload, and the record's
    company.

    The payload is the resolution's own `model_dump_json()` (`store.resolutions`), so it goes
    into the answer as it is; only its evidence and source link are read out of it, as plain
    JSON. A payload of another shape (a row written by an older model: other top-level fields,
    or evidence without today's keys) is read into the model and written out again, as
    `MatchOut` would.
    """
    data = json.loads(payload)
    try:
        if not isinstance(data, dict) or data.keys() != _FIELDS:
            raise KeyError("fields")
        evidence = [{"field": name, "item": index, "source_field": span["field"],
                     "note_id": span["note_id"], "start": span["start"], "end": span["end"],
                     "text": span["text"]}
                    for name in _EVIDENCED
                    for index, item in enumerate(_as_list(data[name]))
                    for span in item["evidence"]]
        source = data["ticket"]["url"]
    except (KeyError, TypeError):
        resolution = Resolution.model_validate_json(payload)
        out = MatchOut(resolution_id=resolution_id, score=score, confident=confident,
                       matched=matched, resolution=resolution,
                       evidence=evidence_items(resolution),
                       links=Links(self=f"/v1/resolutions/{resolution_id}",
                                   source=resolution.ticket.url))
        return resolution.company, out.model_dump_json()
    head = _dumps({"resolution_id": resolution_id, "score": score, "confident": confident,
                   "matched": matched})
    tail = _dumps({"evidence": evidence,
                   "links": {"self": f"/v1/resolutions/{resolution_id}", "source": source}})
    return data["company"], f'{head[:-1]},"resolution":{payload},{tail[1:]}'


def lookup_json(lookup_id: int, matches: list[str], redacted: int) -> str:
    """The `LookupResponse` JSON around matches already serialised by `match_json`."""
    return f'{{"lookup_id":{lookup_id:d},"matches":[{",".join(matches)}],"redacted":{redacted:d}}}'


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
