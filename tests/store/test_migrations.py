"""The packaged Alembic migrations build exactly the schema the models describe, on both DBs."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from store import (
    current_revision,
    get_ticket,
    head_revision,
    make_engine,
    migrate,
    session_scope,
    upsert_ticket,
)
from tests.factories import make_ticket

EXPECTED_TABLES = {
    "sources", "sync_state", "sync_runs", "tickets", "deals", "notes", "resolutions",
    "evidence", "quarantine",
}


def test_migrate_creates_every_table_and_matches_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        migrate(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            assert set(sa.inspect(connection).get_table_names()) >= EXPECTED_TABLES
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
    finally:
        engine.dispose()


def test_migrating_twice_is_a_no_op_that_keeps_data(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine)
        ticket = make_ticket()
        with session_scope(engine) as session:
            upsert_ticket(session, ticket=ticket)
        migrate(engine)
        assert current_revision(engine) == head_revision()
        with session_scope(engine) as session:
            assert get_ticket(session, source=ticket.source,
                              external_id=ticket.external_id) == ticket
    finally:
        engine.dispose()


def test_the_comparison_notices_a_schema_that_drifted(engine: sa.Engine) -> None:
    """Guards the test above: a missing index must show up as a difference."""
    with engine.begin() as connection:
        connection.execute(sa.text("DROP INDEX ix_resolutions_usable"))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, SQLModel.metadata)
    assert [diff[0] for diff in diffs] == ["add_index"]


def test_replicas_migrating_at_once_do_not_collide(db_url: str) -> None:
    """Daemon replicas started together all migrate the shared database; none fails."""
    if not db_url.startswith("postgres"):
        pytest.skip("replicas share PostgreSQL; a SQLite file has one writer process")
    script = "import sys; from store import make_engine, migrate; migrate(make_engine(sys.argv[1]))"
    replicas = [
        subprocess.Popen([sys.executable, "-c", script, db_url],  # noqa: S603
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outcomes = [(replica.wait(timeout=60), replica.communicate()[1]) for replica in replicas]
    assert outcomes == [(0, "")] * 3
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
