"""The CLI as a user meets it: help that teaches, one-line errors, real commands on real data."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from fixedit.cli import app
from records import Resolution

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
runner = CliRunner()


def _config(tmp_path: Path, *sources: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text('database_url = "sqlite:///fixedit.sqlite"\n' + "".join(sources),
                      encoding="utf-8")
    return config


def _jsonl_source(path: Path, name: str = "export") -> str:
    return f'[[sources]]\nname = "{name}"\nkind = "file"\npath = "{path}"\n'


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "sync", "check", "extract", "lookup", "status", "export", "demo"):
        assert command in result.output
    for command in (["sync"], ["extract"], ["lookup"], ["status"], ["export", "records"]):
        sub = runner.invoke(app, [*command, "--help"])
        assert sub.exit_code == 0, sub.output
        assert "Usage" in sub.output


def test_init_writes_the_example_config_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "config.toml"
    first = runner.invoke(app, ["init", "--path", str(target)])
    assert first.exit_code == 0
    repo_example = Path(__file__).resolve().parents[2] / "config.example.toml"
    assert target.read_text() == repo_example.read_text()
    second = runner.invoke(app, ["init", "--path", str(target)])
    assert second.exit_code == 2
    assert "already exists" in second.output
    assert "Traceback" not in second.output


def test_missing_config_file_is_one_clear_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--config", str(tmp_path / "nope.toml"), "status"])
    assert result.exit_code == 2
    assert "file not found" in result.output
    assert "Traceback" not in result.output


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    config = _config(tmp_path, '[[sources]]\nname = "csv"\nkind = "file"\n')
    result = runner.invoke(app, ["--config", str(config), "sync"])
    assert result.exit_code == 2
    assert "sources[0].path" in result.output
    wrong_kind = _config(tmp_path, '[[sources]]\nname = "cw"\nkind = "connectwize"\npath = "x"\n')
    result = runner.invoke(app, ["--config", str(wrong_kind), "sync"])
    assert result.exit_code == 2
    assert "sources[0].kind" in result.output


def test_sync_status_lookup_export(tmp_path: Path) -> None:
    config = _config(tmp_path, _jsonl_source(FIXTURES / "tickets.jsonl"))
    total = sum(1 for line in (FIXTURES / "tickets.jsonl").read_text().splitlines() if line)

    synced = runner.invoke(app, ["--config", str(config), "sync"])
    assert synced.exit_code == 0, synced.output
    assert "export" in synced.output

    status = runner.invoke(app, ["--config", str(config), "status", "--json"])
    assert status.exit_code == 0, status.output
    report = json.loads(status.output)
    assert report["counts"]["tickets"] == total
    assert report["last_runs"][0]["status"] == "succeeded"

    lookup = runner.invoke(app, ["--config", str(config), "lookup", "--json",
                                 "outlook keeps prompting for password"])
    assert lookup.exit_code == 0, lookup.output
    hits = json.loads(lookup.output)
    assert hits, "the fixtures hold several Outlook password-prompt fixes"
    top = Resolution.model_validate(hits[0]["resolution"])
    assert "outlook" in (top.title.text + " ".join(p.text for p in top.products)).lower()

    exported = runner.invoke(app, ["--config", str(config), "export", "records",
                                   "--format", "jsonl"])
    assert exported.exit_code == 0
    lines = [line for line in exported.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == total
    assert all(Resolution.model_validate_json(line) for line in lines)


def test_sync_unknown_source_names_the_known_ones(tmp_path: Path) -> None:
    config = _config(tmp_path, _jsonl_source(FIXTURES / "tickets.jsonl"))
    result = runner.invoke(app, ["--config", str(config), "sync", "--source", "nope"])
    assert result.exit_code == 2
    assert "export" in result.output and "nope" in result.output


def test_extract_offline_file_to_file(tmp_path: Path) -> None:
    output = tmp_path / "resolutions.jsonl"
    result = runner.invoke(app, ["extract", "--input", str(FIXTURES / "tickets.jsonl"),
                                 "--output", str(output)])
    assert result.exit_code == 0, result.output
    resolutions = [Resolution.model_validate_json(line)
                   for line in output.read_text().splitlines()]
    total = sum(1 for line in (FIXTURES / "tickets.jsonl").read_text().splitlines() if line)
    assert len(resolutions) == total
    assert not (tmp_path / "resolutions.jsonl.partial").exists()


def test_extract_stdin_to_stdout_reports_bad_lines(tmp_path: Path) -> None:
    good = (FIXTURES / "tickets.jsonl").read_text().splitlines()[0]
    result = runner.invoke(app, ["extract", "--input", "-", "--output", "-"],
                           input=good + "\n{not json\n")
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1
    assert Resolution.model_validate_json(lines[0]).ticket.external_id == json.loads(good)[
        "external_id"]
    assert "line 2" in result.output


def test_extract_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["extract", "--input", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 2
    assert "--input" in result.output and "Traceback" not in result.output


def test_demo_runs_end_to_end_and_exits(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--workdir", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "prior resolutions for" in result.output
    assert "quarantined" in result.output
    assert (tmp_path / "demo" / "demo.sqlite").exists()
