"""Settings: one TOML file plus `FIXEDIT_…` environment overrides. The only place that reads either.

Environment variables win over the file (`FIXEDIT_DATABASE_URL`, `FIXEDIT_LOG_LEVEL`, nested keys
with `__`). Relative paths in the file (source paths, a SQLite database) are resolved against the
file's own folder, so a config works the same from any working directory.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from connectors import FileImportSettings
from connectors.autotask import AutotaskSettings
from connectors.connectwise import ConnectWiseSettings
from connectors.halopsa import HaloPsaSettings
from connectors.settings import secret_env_name
from extract.pii import RedactionSettings
from records import ConfigError

DEFAULT_CONFIG = Path("config.toml")
CONFIG_ENV = "FIXEDIT_CONFIG"

SourceSettings = Annotated[
    FileImportSettings | ConnectWiseSettings | AutotaskSettings | HaloPsaSettings,
    Field(discriminator="kind"),
]
"""Every kind of source a `[[sources]]` table may describe, told apart by its `kind`."""

SOURCE_KINDS: dict[str, type[BaseModel]] = {
    "file": FileImportSettings,
    "connectwise": ConnectWiseSettings,
    "autotask": AutotaskSettings,
    "halopsa": HaloPsaSettings,
}


class ExtractSettings(BaseModel):
    """How tickets are turned into records."""

    model_config = {"extra": "forbid"}

    batch_size: int = Field(default=200, ge=1, le=10_000)


class ApiSettings(BaseModel):
    """How `fixedit serve` listens and what each API key may ask of it."""

    model_config = {"extra": "forbid"}

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8080, ge=1, le=65535)
    rate_limit_per_minute: int = Field(default=120, ge=1, le=1_000_000)
    rate_limit_burst: int = Field(default=30, ge=1, le=1_000_000)
    max_body_bytes: int = Field(default=1_000_000, ge=1_024, le=100_000_000)
    max_page_size: int = Field(default=100, ge=1, le=1_000)
    refresh_seconds: float = Field(default=5.0, ge=0, le=3_600)
    key_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    workers: int = Field(default=1, ge=1, le=64)
    docs: bool = True


class Settings(BaseSettings):
    """Everything fixedit is configured with."""

    model_config = SettingsConfigDict(
        env_prefix="FIXEDIT_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    database_url: str = "sqlite:///fixedit.sqlite"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    extract: ExtractSettings = Field(default_factory=ExtractSettings)
    redaction: RedactionSettings = Field(default_factory=RedactionSettings)
    sources: list[SourceSettings] = Field(default_factory=list)
    api: ApiSettings = Field(default_factory=ApiSettings)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[SourceSettings]) -> list[SourceSettings]:
        names = [source.name for source in sources]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"source names must be unique; repeated: {', '.join(duplicates)}")
        return sources

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init kwargs; the environment must override it.
        return (env_settings, init_settings)

    def source(self, name: str) -> SourceSettings:
        """The source called `name`, or a ConfigError listing the ones that exist."""
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise ConfigError("sources", f"no source named {name!r} (known: {known})")


def _key(error: Any) -> str:
    """`sources[0].csv.external_id` for an error at that place (union tags left out)."""
    parts: list[str] = []
    previous: int | str | None = None
    for item in error["loc"]:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif not (isinstance(previous, int) and item in SOURCE_KINDS):
            parts.append(("." if parts else "") + str(item))
        previous = item
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        parts.append(".kind")
    return "".join(parts) or "(top level)"


def _fill_secrets(data: dict[str, Any]) -> None:
    """Put each source's secrets in from the environment; refuse them in the file."""
    for index, source in enumerate(data.get("sources") or []):
        if not isinstance(source, dict):
            continue
        model = SOURCE_KINDS.get(str(source.get("kind")))
        for field in getattr(model, "secret_fields", ()):
            env = secret_env_name(str(source.get("name", "")), field)
            if field in source:
                raise ConfigError(f"sources[{index}].{field}",
                                  f"secrets may only come from the environment: remove it from "
                                  f"the file and set {env}")
            value = os.environ.get(env)
            if value:
                source[field] = value


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    url = data.get("database_url")
    if isinstance(url, str) and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        relative = url.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            data["database_url"] = f"sqlite:///{(base / relative).resolve()}"
    for source in data.get("sources") or []:
        if isinstance(source, dict) and isinstance(source.get("path"), str):
            path = Path(source["path"]).expanduser()
            source["path"] = str(path if path.is_absolute() else (base / path).resolve())
    return data


def config_path(explicit: Path | None) -> Path | None:
    """Which config file to read: the one named, else $FIXEDIT_CONFIG, else ./config.toml if any."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


def load_settings(path: Path | None = None) -> Settings:
    """Read settings from `path` (or the default places) and the environment.

    A file that was named but does not exist is an error, never a silent default.
    """
    chosen = config_path(path)
    data: dict[str, Any] = {}
    label = "environment"
    if chosen is not None:
        label = str(chosen)
        if not chosen.is_file():
            raise ConfigError(
                "config", f"file not found: {chosen} (create one with `fixedit init`)"
            )
        try:
            data = tomllib.loads(chosen.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("config", f"{chosen} is not valid TOML: {exc}") from exc
        data = _resolve_paths(data, chosen.resolve().parent)
    _fill_secrets(data)
    try:
        return Settings(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(_key(first), f"{first['msg']} [in {label}]{more}") from exc
