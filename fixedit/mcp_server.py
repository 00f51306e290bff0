"""An MCP server (stdio) that lets an AI assistant consult prior resolutions directly.

Two tools: `lookup_prior_resolutions` ranks stored resolutions for a new ticket's title and
description; `get_resolution` returns one in full, with the evidence behind every field and the
link back to the ticket in the PSA. Answers are JSON shaped for agents: ordered steps, what did
not work, how the fix was verified, and where each claim came from.

stdout carries the protocol, so nothing else may write there: logging goes to stderr.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
import typer
from pydantic import Field

from extract import redact_text
from extract.pii import RedactionSettings
from records import EvidencedText, Resolution
from store import catalog, session_scope
from store.lookup import LookupFilters, Match, SearchIndex
from store.usage import record_lookup

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

log = logging.getLogger(__name__)

SERVER_NAME = "fixedit"
MAX_TITLE = 1_000
MAX_DESCRIPTION = 50_000
MAX_LIMIT = 20
INSTRUCTIONS = (
    "fixedit holds resolutions extracted from an MSP's closed PSA tickets. Before "
    "troubleshooting a new ticket, call lookup_prior_resolutions with its title and description; "
    "then get_resolution for the full steps and evidence of a promising match. Quote the source "
    "link when you suggest a prior fix."
)


class _Index:
    """The search index, refreshed before each lookup so new extractions are found at once."""

    def __init__(self, engine: sa.Engine) -> None:
        self._index = SearchIndex(engine)
        self._lock = threading.Lock()
        self._ready = False

    def search(self, query: str, *, filters: LookupFilters, limit: int) -> list[Match]:
        with self._lock:
            if self._ready:
                self._index.refresh()
            else:
                self._index.rebuild()
                self._ready = True
        return self._index.search(query, filters=filters, limit=limit)


def _text(item: EvidencedText | None) -> str | None:
    return None if item is None else item.text


def _texts(items: Sequence[EvidencedText]) -> list[str]:
    return [item.text for item in items]


def _evidenced(item: EvidencedText) -> dict[str, Any]:
    """A claim with the quoted spans behind it (which note, which characters, which words)."""
    return {
        "text": item.text,
        "evidence": [
            {"where": span.field, "note_id": span.note_id, "start": span.start, "end": span.end,
             "quote": span.text}
            for span in item.evidence
        ],
    }


def _source(resolution: Resolution) -> dict[str, Any]:
    return {"source": resolution.ticket.source, "ticket_id": resolution.ticket.external_id,
            "url": resolution.ticket.url}


def match_summary(resolution_id: int, match: Match) -> dict[str, Any]:
    """One lookup result: enough to decide whether to fetch the full resolution."""
    resolution = match.resolution
    return {
        "resolution_id": resolution_id,
        "score": round(match.score, 4),
        "confident": match.confident,
        "matched_terms": list(match.matched),
        "title": resolution.title.text,
        "problem": _text(resolution.problem),
        "cause": _text(resolution.cause),
        "steps": _texts(resolution.steps),
        "outcome": resolution.outcome.value,
        "category": resolution.category,
        "products": _texts(resolution.products),
        "error_codes": _texts(resolution.error_codes),
        "closed_at": resolution.closed_at.isoformat() if resolution.closed_at else None,
        "link": _source(resolution),
    }


def resolution_detail(resolution_id: int, resolution: Resolution) -> dict[str, Any]:
    """One resolution in full, every field with its evidence, steps numbered in order."""
    single = {name: _evidenced(value) if value is not None else None
              for name, value in (("problem", resolution.problem), ("cause", resolution.cause),
                                  ("verification", resolution.verification))}
    return {
        "resolution_id": resolution_id,
        "title": resolution.title.text,
        **single,
        "symptoms": [_evidenced(item) for item in resolution.symptoms],
        "steps": [{"order": index, **_evidenced(step)}
                  for index, step in enumerate(resolution.steps, start=1)],
        "failed_attempts": [_evidenced(item) for item in resolution.failed_attempts],
        "outcome": resolution.outcome.value,
        "category": resolution.category,
        "products": _texts(resolution.products),
        "error_codes": _texts(resolution.error_codes),
        "kb_refs": _texts(resolution.kb_refs),
        "hosts": _texts(resolution.hosts),
        "company": resolution.company,
        "technician": resolution.technician,
        "board": resolution.board,
        "closed_at": resolution.closed_at.isoformat() if resolution.closed_at else None,
        "confidence": resolution.confidence,
        "usable": resolution.usable,
        "quality_flags": [flag.value for flag in resolution.quality_flags],
        "extractor_version": resolution.extractor_version,
        "link": _source(resolution),
    }


def build_server(
    engine: sa.Engine, *, redaction: RedactionSettings | None = None, company: str | None = None
) -> MCPServer:
    """The MCP server over the store behind `engine`; `company` limits every answer to one."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp_types import ToolAnnotations

    server: MCPServer = MCPServer(name=SERVER_NAME, instructions=INSTRUCTIONS, log_level="WARNING")
    index = _Index(engine)
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    @server.tool(annotations=read_only)
    def lookup_prior_resolutions(
        title: Annotated[str, Field(max_length=MAX_TITLE,
                                    description="The new ticket's title or summary.")],
        description: Annotated[str, Field(max_length=MAX_DESCRIPTION,
                                          description="The new ticket's description.")] = "",
        limit: Annotated[int, Field(ge=1, le=MAX_LIMIT,
                                    description="How many matches at most.")] = 5,
    ) -> dict[str, Any]:
        """Find prior resolutions of tickets like this one, best first.

        Each match has its resolution_id (for get_resolution), a relevance score, whether the
        match is confident, the problem, the ordered steps that fixed it and a link to the
        original ticket.
        """
        query = f"{title}\n{description}".strip()
        if not query:
            raise ToolError("give a title or a description (non-blank)")
        clean, _ = redact_text(query, pii=redaction)
        matches = index.search(clean, filters=LookupFilters(company=company), limit=limit)
        with session_scope(engine) as session:
            lookup_id = record_lookup(session, channel="mcp", company=company, matches=matches)
        log.info("mcp lookup %d: %d matches", lookup_id, len(matches))
        return {
            "lookup_id": lookup_id,
            "count": len(matches),
            "matches": [match_summary(match.resolution_id, match) for match in matches],
        }

    @server.tool(annotations=read_only)
    def get_resolution(
        id: Annotated[int, Field(ge=1, description="A resolution_id from a lookup.")],
    ) -> dict[str, Any]:
        """One prior resolution in full: problem, symptoms, cause, numbered steps, what did not
        work, how it was verified, and the quoted evidence and source link behind each claim."""
        with session_scope(engine) as session:
            entry = catalog.get_entry(session, resolution_id=id, company=company)
        if entry is None:
            raise ToolError(f"resolution {id} does not exist")
        return resolution_detail(entry.id, entry.resolution)

    return server


def mcp_command(
    ctx: typer.Context,
    company: Annotated[
        str | None,
        typer.Option("--company", help="Answer only from this company's resolutions."),
    ] = None,
) -> None:
    """Serve lookups to an AI assistant over MCP (stdio): lookup_prior_resolutions and
    get_resolution. Point the assistant's MCP config at `fixedit -c config.toml mcp`."""
    state = ctx.obj
    settings = state.settings()  # configures logging, to stderr
    engine = state.engine(settings)
    try:
        build_server(engine, redaction=settings.redaction, company=company).run("stdio")
    finally:
        engine.dispose()
