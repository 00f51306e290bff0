"""The MCP server over stdio: a real `fixedit mcp` subprocess, a real MCP client, a real store
holding tickets the extractor processed."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from sqlmodel import select

import store
from connectors import FileImport, FileImportSettings
from extract import Extractor
from fixedit.pipeline import sync_source
from store.tables import LookupRow

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config whose SQLite store holds the bundled sample tickets, extracted."""
    workdir = tmp_path_factory.mktemp("mcp")
    url = f"sqlite:///{workdir / 'fixedit.db'}"
    engine = store.make_engine(url)
    store.migrate(engine)
    importer = FileImport(FileImportSettings(name="export", path=FIXTURES / "tickets.jsonl"))
    report = sync_source(engine, source="export", connector=importer, extractor=Extractor())
    assert report.counts["extracted"] > 10
    engine.dispose()
    path = workdir / "config.toml"
    path.write_text(f'database_url = "{url}"\nlog_level = "INFO"\n', encoding="utf-8")
    return path


def _call(config: Path, steps: Any) -> Any:
    """Start `fixedit mcp` and run `steps(client)` against it; return what it returns."""
    params = StdioServerParameters(
        command=str(Path(sys.executable).parent / "fixedit"),
        args=["-c", str(config), "mcp"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=str(REPO),
    )

    async def run() -> Any:
        async with Client(params, read_timeout_seconds=120) as client:
            return await steps(client)

    return anyio.run(run)


def _json(result: Any) -> Any:
    assert not result.is_error, result.content
    [content] = result.content
    return json.loads(content.text)


def test_mcp_round_trip_over_stdio(config: Path) -> None:
    async def steps(client: Client) -> tuple[Any, Any, Any, Any, Any]:
        tools = await client.list_tools()
        found = await client.call_tool("lookup_prior_resolutions", {
            "title": "Outlook keeps prompting for my password",
            "description": "Password prompt comes back every few minutes in Outlook.",
            "limit": 3,
        })
        first = _json(found)["matches"][0]["resolution_id"]
        detail = await client.call_tool("get_resolution", {"id": first})
        missing = await client.call_tool("get_resolution", {"id": 987654})
        blank = await client.call_tool("lookup_prior_resolutions", {"title": "  "})
        return tools, found, detail, missing, blank

    tools, found, detail, missing, blank = _call(config, steps)

    by_name = {tool.name: tool for tool in tools.tools}
    assert set(by_name) == {"lookup_prior_resolutions", "get_resolution"}
    assert set(by_name["lookup_prior_resolutions"].input_schema["properties"]) == {
        "title", "description", "limit"}
    assert by_name["get_resolution"].input_schema["required"] == ["id"]

    lookup = _json(found)
    assert 1 <= lookup["count"] <= 3 and lookup["lookup_id"] >= 1
    top = lookup["matches"][0]
    assert "outlook" in top["title"].lower()
    assert top["resolution_id"] > 0 and top["steps"]
    assert top["link"]["source"] == "export" and top["link"]["ticket_id"]

    full = _json(detail)
    assert full["resolution_id"] == top["resolution_id"]
    assert full["title"] == top["title"]
    assert [step["order"] for step in full["steps"]] == list(range(1, len(full["steps"]) + 1))
    assert [step["text"] for step in full["steps"]] == top["steps"]
    spans = [span for step in full["steps"] for span in step["evidence"]]
    assert spans and all(span["quote"] and span["where"] in {"title", "description", "note"}
                         for span in spans)
    assert full["link"] == top["link"]

    assert missing.is_error and "987654 does not exist" in missing.content[0].text
    assert blank.is_error and "non-blank" in blank.content[0].text

    engine = store.make_engine(_url(config))
    try:
        with store.session_scope(engine) as session:
            rows = session.exec(select(LookupRow)).all()
    finally:
        engine.dispose()
    assert [(row.channel, row.matches, row.top_resolution_id) for row in rows] == [
        ("mcp", lookup["count"], top["resolution_id"])]


def test_mcp_rejects_bad_arguments_without_crashing(config: Path) -> None:
    async def steps(client: Client) -> tuple[Any, Any]:
        too_many = await client.call_tool("lookup_prior_resolutions",
                                          {"title": "printer", "limit": 500})
        wrong_type = await client.call_tool("get_resolution", {"id": "abc"})
        return too_many, wrong_type

    too_many, wrong_type = _call(config, steps)
    assert too_many.is_error and wrong_type.is_error


def _url(config: Path) -> str:
    line = next(line for line in config.read_text().splitlines()
                if line.startswith("database_url"))
    return line.split("=", 1)[1].strip().strip('"')

