"""Shared database fixtures: every store test runs on SQLite and, when configured, PostgreSQL.

Set FIXEDIT_TEST_DATABASE_URL (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) to
run the PostgreSQL variants; that database is emptied before each test, so use a throwaway one.
Tests that share it must run serially.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel

import store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from store import make_engine, migrate

PG_URL_ENV = "FIXEDIT_TEST_DATABASE_URL"


def reset_database(url: str) -> None:
    """Drop every fixedit table and Alembic's version table, leaving an empty database."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            preparer = connection.dialect.identifier_preparer
            for name in [*SQLModel.metadata.tables, "alembic_version"]:
                connection.execute(sa.text(f"DROP TABLE IF EXISTS {preparer.quote(name)} CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database: a fresh SQLite file, or the emptied test PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fixedit.db'}"
    url = os.environ.get(PG_URL_ENV, "").strip()
    if not url:
        pytest.skip(f"PostgreSQL variant: set {PG_URL_ENV} to a throwaway database to run it")
    reset_database(url)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    """A migrated engine on `db_url`, disposed after the test."""
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[Session]:
    """A session on the migrated database; the test commits what it wants to keep."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
