"""Database setup: engines for SQLite (WAL) and PostgreSQL, migrations, sessions, error mapping."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from records import ConfigError, StoreError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""The Alembic environment shipped inside the package."""

SQLITE_BUSY_TIMEOUT_MS = 5_000
PG_CONNECT_TIMEOUT_S = 10
# Any constant works; it only has to be the same for every fixedit process sharing a database.
_PG_MIGRATION_LOCK = 0x66697865  # "fixe"
_MIGRATE_LOCK = threading.Lock()

_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg"}
_SQLITE_SCHEMES = {"sqlite", "sqlite+pysqlite"}


def make_engine(url: str) -> sa.Engine:
    """Build an engine for a SQLite file (WAL, foreign keys on) or a PostgreSQL server."""
    parsed = _parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    # libpq waits forever for an unresponsive host unless told otherwise.
    connect_args = {} if "connect_timeout" in parsed.query else {
        "connect_timeout": PG_CONNECT_TIMEOUT_S}
    return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)


def _parse_url(url: str) -> URL:
    text = url.strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in {"postgres", "postgresql"}:
        text = "postgresql+psycopg://" + text.split("://", 1)[1]
        scheme = "postgresql+psycopg"
    if scheme not in _POSTGRES_SCHEMES | _SQLITE_SCHEMES:
        shown = scheme or "(none)"
        raise ConfigError(
            "database_url",
            f"unsupported scheme {shown!r}: use sqlite:///path/to/file.db or "
            "postgresql://user@host/dbname",
        )
    try:
        return make_url(text)
    except (ArgumentError, ValueError) as exc:
        # The URL may hold a password: never echo it back.
        raise ConfigError("database_url", f"cannot parse the {scheme} URL") from exc


def _sqlite_engine(url: URL) -> sa.Engine:
    database = url.database or ""
    in_memory = database in {"", ":memory:"} or database.startswith("file::memory:")
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if in_memory:
        # One shared connection, or every session would see its own empty database.
        kwargs["poolclass"] = StaticPool
    else:
        path = Path(database).expanduser()
        url = url.set(database=str(path))
        folder = path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                "database_url", f"cannot create the directory {folder} for the SQLite file: "
                f"{exc.strerror or exc}"
            ) from exc
    engine = sa.create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS:d}")
    finally:
        cursor.close()


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(engine: sa.Engine) -> None:
    """Upgrade the database behind `engine` to the newest schema; a no-op when it is current."""
    config = alembic_config()
    # Alembic keeps the running migration context in module globals: one at a time per process.
    with _MIGRATE_LOCK, translate_errors(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two replicas starting together must not both create the schema.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": _PG_MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    log.debug("schema is at revision %s", head_revision())


def head_revision() -> str:
    """The newest revision the packaged migrations know."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StoreError("the packaged migrations have no head revision")
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    with translate_errors(engine), engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def check_connection(engine: sa.Engine) -> None:
    """Open a connection and run a trivial query; raise StoreError if the database is away."""
    with translate_errors(engine), engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))


@contextmanager
def session_scope(engine: sa.Engine) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    with translate_errors(engine), Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def translate_errors(engine: sa.Engine) -> Iterator[None]:
    """Turn driver-level operational failures into StoreError without leaking the password."""
    try:
        yield
    except OperationalError as exc:
        raise StoreError(describe_operational_error(exc, engine)) from exc


def describe_operational_error(exc: OperationalError, engine: sa.Engine) -> str:
    """A one-line, password-free description of an operational database failure."""
    original = exc.orig if exc.orig is not None else exc
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    detail = lines[0] if lines else type(original).__name__
    password = engine.url.password
    if password:
        detail = detail.replace(str(password), "***")
    where = engine.url.render_as_string(hide_password=True)
    if engine.url.get_backend_name() != "sqlite":
        # Host and database name help; the user name and query string are not needed.
        where = f"{engine.url.get_backend_name()} at {engine.url.host}:{engine.url.port or ''}"
        where = where.rstrip(":") + f"/{engine.url.database or ''}"
    return f"database error ({where}): {detail}"
