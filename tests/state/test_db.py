"""The state database itself (rag/state/db.py): the schema made by the migrations on either database, servers
that open one fresh database at the same moment, connections PostgreSQL dropped, and writing the next
migration."""

from __future__ import annotations

import threading

import pytest
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
        assert not any(t.is_alive() for t in threads), "a migration waited for ever"
        assert not errors, errors
        with dbs[0].engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == set(metadata.tables) | {"alembic_version"}
    finally:
        for db in dbs:
            db.dispose()


def test_a_new_migration_is_written_only_for_a_change_to_the_tables(tmp_path, monkeypatch, capsys) -> None:
    from sqlalchemy import Column, Integer, MetaData, Table

    from rag.state import new_migration, tables

    assert new_migration.main(["nothing changed"]) == 1  # writes no empty revision
    assert "agree" in capsys.readouterr().err
    changed = MetaData()
    for table in tables.metadata.tables.values():
        table.to_metadata(changed)
    Table("extra", changed, Column("id", Integer, primary_key=True))
    monkeypatch.setattr(tables, "metadata", changed)
    diff = new_migration.pending_changes(f"sqlite:///{tmp_path}/scratch.sqlite3")
    assert [(d[0], d[1].name) for d in diff] == [("add_table", "extra")]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_connections_the_server_dropped_are_replaced_not_failed(database_url) -> None:
    """A PostgreSQL restart, a failover or an idle-connection reaper closes the pooled connections under a
    running server: the next request gets a fresh one (pool_pre_ping), not a 503."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from rag.state.conversations import Conversations

    db = Database(database_url)
    store = Conversations(db)
    cid = store.create("documents")
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            dropped = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                        "WHERE datname = :db AND pid <> pg_backend_pid()"),
                                   {"db": make_url(database_url).database}).scalar_one()
        assert dropped >= 1  # the pooled connection was there to drop
        assert store.get(cid)["id"] == cid
    finally:
        admin.dispose()
        db.dispose()


def test_a_database_at_the_head_is_opened_without_alembic(database_url, monkeypatch) -> None:
    """The heads read from the migration files are Alembic's own; a database there is recognised without
    running Alembic (a cold `rag ask` opens it for every answer), a fresh or older one is migrated."""
    from alembic.script import ScriptDirectory

    from rag.state.db import MIGRATIONS, head_revisions

    assert head_revisions() == set(ScriptDirectory(str(MIGRATIONS)).get_heads())
    fresh = Database(database_url)
    assert not fresh._at_head()
    fresh.migrate()
    assert fresh._at_head()
    fresh.dispose()

    import alembic.command

    def refuse(*_a, **_k) -> None:
        raise AssertionError("Alembic ran on a database at the head")

    monkeypatch.setattr(alembic.command, "upgrade", refuse)
    again = Database(database_url)
    again.migrate()  # at the head: no upgrade
    with again.begin() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM users").scalar() == 0
    again.dispose()


def test_a_sqlite_migration_waits_past_the_busy_timeout_for_a_writer_that_holds_the_file(tmp_path) -> None:
    """On a loaded machine the last of several servers opening a fresh file can queue past SQLite's 10 s busy
    timeout; its migration waits on (up to MIGRATE_WAIT) instead of failing the server's start."""
    import sqlite3
    import time

    path = tmp_path / "state.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("BEGIN IMMEDIATE")  # another server's migration, holding the write lock
    release = threading.Timer(21, holder.commit)  # past the at-head read's wait and the first try's
    release.start()
    db = Database(f"sqlite:///{path}")
    try:
        started = time.monotonic()
        db.migrate()
        assert time.monotonic() - started >= 20
        with db.engine.connect() as conn:
            assert "alembic_version" in inspect(conn).get_table_names()
    finally:
        release.cancel()
        db.dispose()
        holder.close()
