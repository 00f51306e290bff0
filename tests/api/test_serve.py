"""`fixedit keys …` and `fixedit serve` as an operator runs them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from fixedit.cli import app

runner = CliRunner()


def _config(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "sqlite:///fixedit.sqlite"\n{extra}', encoding="utf-8")
    return config


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    config = str(_config(tmp_path))
    made = runner.invoke(app, ["--config", config, "keys", "create", "--scope", "write",
                               "--company", "Acme Dental", "--name", "psa bot"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("fxk_")
    prefix = secret.split("_")[1]

    listed = runner.invoke(app, ["--config", config, "keys", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    [key] = json.loads(listed.stdout)
    assert (key["prefix"], key["scope"], key["company"], key["name"]) == (
        prefix, "write", "Acme Dental", "psa bot")
    assert secret not in listed.stdout
    table = runner.invoke(app, ["--config", config, "keys", "list"])
    assert prefix in table.stdout and secret not in table.stdout

    revoked = runner.invoke(app, ["--config", config, "keys", "revoke", prefix])
    assert revoked.exit_code == 0, revoked.output
    active = runner.invoke(app, ["--config", config, "keys", "list", "--json"])
    assert json.loads(active.stdout) == []
    everything = runner.invoke(app, ["--config", config, "keys", "list", "--all", "--json"])
    assert json.loads(everything.stdout)[0]["revoked_at"] is not None


@pytest.mark.parametrize(("args", "needle"), [
    (["keys", "create", "--scope", "owner"], "--scope"),
    (["keys", "create", "--scope", "read", "--company", " "], "--company"),
    (["keys", "revoke", "fxk_000000000000"], "no API key"),
])
def test_keys_errors_are_one_clear_line(tmp_path: Path, args: list[str], needle: str) -> None:
    result = runner.invoke(app, ["--config", str(_config(tmp_path)), *args])
    assert result.exit_code == 2
    assert needle in result.output
    assert "Traceback" not in result.output


def test_bad_api_settings_name_the_key(tmp_path: Path) -> None:
    config = _config(tmp_path, "[api]\nport = 70000\n")
    result = runner.invoke(app, ["--config", str(config), "keys", "list"])
    assert result.exit_code == 2
    assert "api.port" in result.output
    unknown = _config(tmp_path, "[api]\nrate_limit = 5\n")
    result = runner.invoke(app, ["--config", str(unknown), "keys", "list"])
    assert result.exit_code == 2
    assert "api.rate_limit" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_over_http(tmp_path: Path, workers: int) -> None:
    config = str(_config(tmp_path))
    made = runner.invoke(app, ["--config", config, "keys", "create", "--scope", "read"])
    secret = made.stdout.strip().splitlines()[-1]
    port = _free_port()
    env = {**os.environ, "FIXEDIT_CONFIG": config}
    with subprocess.Popen(  # noqa: S603  (our own CLI, fixed arguments)
        [str(Path(sys.executable).parent / "fixedit"), "serve", "--port", str(port),
         "--workers", str(workers)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
    ) as process:
        try:
            base = f"http://127.0.0.1:{port}"
            health = None
            for _ in range(300):  # up to 30 s for imports and the migration
                try:
                    health = httpx.get(f"{base}/health", timeout=1)
                    break
                except httpx.TransportError:
                    if process.poll() is not None:
                        break
                    time.sleep(0.1)
            assert health is not None, "the server did not come up"
            assert health.json() == {"status": "ok", "database": "ok"}
            assert httpx.get(f"{base}/v1/resolutions").status_code == 401
            listed = httpx.get(f"{base}/v1/resolutions",
                               headers={"Authorization": f"Bearer {secret}"})
            assert listed.status_code == 200
            assert listed.json()["total"] == 0
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}) \
                    as http:  # one connection, then fresh ones: each may reach another worker
                found = [http.post("/v1/lookup", json={"title": "printer offline"})
                         for _ in range(3)]
                found += [httpx.post(f"{base}/v1/lookup", json={"title": "printer offline"},
                                     headers={"Authorization": f"Bearer {secret}"})
                          for _ in range(3)]
            assert all(answer.status_code == 200 for answer in found)
            assert len({answer.json()["lookup_id"] for answer in found}) == len(found)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                out, err = process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate()
    assert process.returncode == 0, err.decode()
    assert secret not in (out + err).decode()
    assert f"127.0.0.1:{port}" in err.decode()


def test_api_settings_come_from_the_file_and_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fixedit.settings import load_settings

    config = _config(tmp_path, '[api]\nhost = "10.0.0.5"\nport = 9000\nrate_limit_burst = 5\n')
    monkeypatch.setenv("FIXEDIT_API__PORT", "9100")
    api = load_settings(config).api
    assert (api.host, api.port, api.rate_limit_burst, api.rate_limit_per_minute) == (
        "10.0.0.5", 9100, 5, 120)
