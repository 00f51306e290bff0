"""Settings: TOML plus environment, secrets from the environment only, errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.autotask import AutotaskSettings
from connectors.connectwise import ConnectWiseSettings
from connectors.halopsa import HaloPsaSettings
from fixedit.settings import load_settings
from fixedit.sources import open_connector
from records import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def _uncommented_example(tmp_path: Path) -> Path:
    """config.example.toml with every commented [[sources]] example switched on."""
    lines = []
    for line in EXAMPLE.read_text().splitlines():
        body = line[2:] if line.startswith("# ") else None
        if body is not None and (body.startswith(("[[sources]]", "[sources.", "name =", "kind =",
                                                  "path =", "site =", "company_id =",
                                                  "client_id =", "conditions =", "username =",
                                                  "requests_per_hour =", "instance =",
                                                  "tenant =", "external_id =", "title =",
                                                  "company =", "contact =", "board =",
                                                  "status =", "priority =", "created_at =",
                                                  "updated_at =", "closed_at =",
                                                  "date_format =", "timezone =", "notes =",
                                                  "  {", "]"))):
            lines.append(body)
        else:
            lines.append(line)
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_every_example_source_in_the_config_example_is_valid(tmp_path: Path) -> None:
    settings = load_settings(_uncommented_example(tmp_path))
    kinds = {source.kind for source in settings.sources}
    assert kinds == {"file", "connectwise", "autotask", "halopsa"}
    by_name = {source.name: source for source in settings.sources}
    assert isinstance(by_name["cw-main"], ConnectWiseSettings)
    assert isinstance(by_name["autotask"], AutotaskSettings)
    assert isinstance(by_name["halo"], HaloPsaSettings)


def test_secrets_come_from_the_environment(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIXEDIT_CW_MAIN_PRIVATE_KEY", "priv-from-env")
    monkeypatch.setenv("FIXEDIT_HALO_CLIENT_SECRET", "halo-from-env")
    settings = load_settings(_uncommented_example(tmp_path))
    cw = settings.source("cw-main")
    assert isinstance(cw, ConnectWiseSettings)
    assert cw.private_key is not None and cw.private_key.get_secret_value() == "priv-from-env"
    assert "priv-from-env" not in repr(cw)
    halo = settings.source("halo")
    assert isinstance(halo, HaloPsaSettings)
    assert halo.client_secret is not None


def test_a_secret_written_in_the_file_is_refused_naming_the_variable(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[sources]]\nname = "cw-main"\nkind = "connectwise"\n'
                      'site = "na.myconnectwise.net"\ncompany_id = "acme"\n'
                      'client_id = "00000000-0000-0000-0000-000000000000"\n'
                      'private_key = "oops"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert caught.value.key == "sources[0].private_key"
    assert "FIXEDIT_CW_MAIN_PRIVATE_KEY" in str(caught.value)
    assert "oops" not in str(caught.value)


def test_a_missing_secret_names_its_variable_before_any_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("FIXEDIT_HALO_CLIENT_SECRET",):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(_uncommented_example(tmp_path))
    with open_connector(settings.source("halo")) as connector, \
            pytest.raises(ConfigError, match="FIXEDIT_HALO_CLIENT_SECRET"):
        connector.check()


def test_a_wrong_field_in_a_vendor_source_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[sources]]\nname = "at"\nkind = "autotask"\nusername = "api@x.example"\n'
                      'lookback = "ten minutes"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert caught.value.key == "sources[0].lookback"


def test_environment_overrides_the_file(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text('database_url = "sqlite:///from-file.sqlite"\nlog_level = "INFO"\n')
    monkeypatch.setenv("FIXEDIT_LOG_LEVEL", "debug")
    assert load_settings(config).log_level == "DEBUG"
