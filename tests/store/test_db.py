"""Engines, sessions and error mapping: what a user sees when the database URL or server is bad."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from records import ConfigError, Cursor, StoreError
from store import (
    check_connection,
    get_cursor,
    make_engine,
    migrate,
    session_scope,
    set_cursor,
)


def test_sqlite_file_gets_wal_foreign_keys_and_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "fixedit.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
        assert path.exists()
    finally:
        engine.dispose()


def test_sqlite_path_may_start_with_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    engine = make_engine("sqlite:///~/data/fixedit.db")
    try:
        check_connection(engine)
    finally:
        engine.dispose()
    assert (tmp_path / "data" / "fixedit.db").exists()


def test_in_memory_sqlite_is_one_database_across_sessions() -> None:
    engine = make_engine("sqlite://")
    try:
        migrate(engine)
        with session_scope(engine) as session:
            set_cursor(session, source="s", kind="ticket", cursor=Cursor(value="42"))
        with session_scope(engine) as session:
            assert get_cursor(session, source="s", kind="ticket") == Cursor(value="42")
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["postgres://u:pw@db.example.com/fx",
                                 "postgresql://u:pw@db.example.com/fx",
                                 "postgresql+psycopg://u:pw@db.example.com/fx"])
def test_postgres_urls_all_use_psycopg_3(url: str) -> None:
    engine = make_engine(url)
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        assert engine.url.host == "db.example.com"
        assert engine.url.database == "fx"
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["mysql://root:s3cret-pw@localhost/fx", "s3cret-pw",
                                 "postgresql+psycopg2://u:s3cret-pw@localhost/fx",
                                 "postgresql://u:s3cret-pw@localhost:notaport/fx"])
def test_bad_database_url_is_a_config_error_without_the_password(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_engine(url)
    assert caught.value.key == "database_url"
    assert "s3cret-pw" not in str(caught.value)


def test_unreachable_server_is_a_store_error_without_the_password() -> None:
    # Port 1 on localhost refuses at once: no waiting for a timeout.
    engine = make_engine("postgresql://fixedit:s3cret-pw@127.0.0.1:1/fixedit?connect_timeout=2")
    try:
        with pytest.raises(StoreError) as caught:
            check_connection(engine)
        with pytest.raises(StoreError), session_scope(engine) as session:
            get_cursor(session, source="s", kind="ticket")
    finally:
        engine.dispose()
    message = str(caught.value)
    assert "s3cret-pw" not in message
    assert "127.0.0.1" in message


def test_unopenable_sqlite_file_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "fixedit.db").mkdir()  # a directory where the database file should be
    engine = make_engine(f"sqlite:///{tmp_path / 'fixedit.db'}")
    try:
        with pytest.raises(StoreError, match="unable to open database file"):
            migrate(engine)
    finally:
        engine.dispose()


def test_sqlite_directory_that_cannot_be_created_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a directory")
    with pytest.raises(ConfigError) as caught:
        make_engine(f"sqlite:///{tmp_path / 'afile' / 'fixedit.db'}")
    assert caught.value.key == "database_url"


def test_session_scope_commits_on_success_and_rolls_back_on_error(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        set_cursor(session, source="s", kind="ticket", cursor=Cursor(value="1"))
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        set_cursor(session, source="s", kind="ticket", cursor=Cursor(value="2"))
        raise RuntimeError("boom")
    with Session(engine) as session:
        assert get_cursor(session, source="s", kind="ticket") == Cursor(value="1")
