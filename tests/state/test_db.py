"""The state database itself (rag/state/db.py): the schema made by the migrations on either database, and
servers that open one fresh database at the same moment."""

from __future__ import annotations

import threading

from sqlalchemy import inspect

from rag.state.db import Database
from rag.state.tables import metadata


def test_the_migrations_make_the_tables_of_the_model(database) -> None:
    """The Alembic revisions and rag/state/tables.py say the same: a change to one without the other fails."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with database.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) == set(metadata.tables) | {"alembic_version"}
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_servers_opening_a_fresh_database_at_once_take_turns(database_url) -> None:
    """Four processes' worth of engines migrate one empty database together: each waits for the one before
    (PostgreSQL's advisory lock, SQLite's write lock) and finds the schema made, none fails."""
    dbs = [Database(database_url) for _ in range(4)]
    start, errors = threading.Barrier(len(dbs)), []

    def migrate(db: Database) -> None:
        start.wait()
        try:
            db.migrate()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(db,)) for db in dbs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert not errors, errors
        with dbs[0].engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == set(metadata.tables) | {"alembic_version"}
    finally:
        for db in dbs:
            db.dispose()
