"""The SQL database behind the shared state (`state.database_url`): SQLite in the persist folder by default,
PostgreSQL for several servers. The schema is brought to the latest Alembic revision when it is opened; two
servers starting at once take turns (an advisory lock on PostgreSQL, SQLite's own write lock)."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from rag.state.errors import StateError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
CONNECT_TIMEOUT = 5  # seconds to reach a PostgreSQL server, handshake included
SQLITE_BUSY_S = 10  # seconds a SQLite statement waits for another connection's lock
MIGRATE_WAIT = 60  # seconds a SQLite migration waits for the others' before it fails
_MIGRATE_LOCK_KEY = 7_300_034  # pg_advisory_lock key: any constant the deployment does not use elsewhere


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DB-API objects
    dbapi_connection.isolation_level = None  # the driver's own BEGIN is off: _sqlite_begin says which
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_S * 1000}")
    cursor.execute("PRAGMA foreign_keys = ON")  # the cascades in rag/state/tables.py
    # readers do not wait for the writer. Switching a fresh file to WAL can fail at once with "database is
    # locked" while another connection switches it (SQLite skips the busy handler there, so the timeout above
    # does not help): servers opening one new file together try again until the busy timeout has passed.
    deadline = time.monotonic() + SQLITE_BUSY_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Every transaction takes SQLite's write lock at its start (the recipe in SQLAlchemy's SQLite notes): a
    transaction that read first and wrote later could otherwise fail when another wrote in between, where
    PostgreSQL's row locks (`with_for_update`) make it wait."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _clean(value: object) -> object:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_clean(v) for v in value)
    return value


def _no_nul(_conn, _cursor, statement: str, parameters, _context, _executemany):  # noqa: ANN001, ANN202
    """PostgreSQL's text cannot hold U+0000 (a DataError: a title or question holding one would be a 503) where
    SQLite's can: on both, the character is stored as U+FFFD, so that the two keep the same text."""
    return statement, _clean(parameters)


_REVISION = re.compile(r"^(down_revision|revision)(?:\s*:[^=\n]+)?\s*=\s*(.+)$", re.M)


@lru_cache(maxsize=1)
def head_revisions() -> set[str]:
    """The migrations' heads (revisions no other revises), read from their files' `revision = ...` and
    `down_revision = ...` lines: what Alembic's ScriptDirectory finds (a test holds them equal) without it."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for key, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            names = set(re.findall(r"['\"]([^'\"]+)['\"]", value))
            (revisions if key == "revision" else revised).update(names)
    return revisions - revised


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = url.split(":", 1)[0].split("+", 1)[0]
        if self.dialect == "sqlite":
            path = url.removeprefix("sqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(
                url, connect_args={"timeout": SQLITE_BUSY_S, "check_same_thread": False})
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            # a server that is down or unreachable must be a quick 503, not a request that hangs on the
            # connect: libpq's connect_timeout (unless the URL sets its own)
            connect_args = {} if "connect_timeout" in make_url(url).query else {"connect_timeout": CONNECT_TIMEOUT}
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10,
                                        connect_args=connect_args)
        event.listen(self.engine, "before_cursor_execute", _no_nul, retval=True)
        self._migrated = False
        self._lock = threading.Lock()

    def migrate(self) -> None:
        """Bring the schema to the latest revision (once per process; a no-op when it is there). A database
        already at the head is recognised without Alembic, whose import alone is 0.09 s of a cold `rag ask`."""
        with self._lock:
            if self._migrated:
                return
            try:
                if self._at_head():
                    self._migrated = True
                    return
                from alembic import command
                from alembic.config import Config

                deadline = time.monotonic() + MIGRATE_WAIT
                while True:
                    try:
                        with self.engine.begin() as conn:
                            if self.dialect == "postgresql":
                                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATE_LOCK_KEY})
                            cfg = Config()
                            cfg.set_main_option("script_location", str(MIGRATIONS))
                            cfg.attributes["connection"] = conn
                            command.upgrade(cfg, "head")
                        break
                    except OperationalError as exc:
                        # SQLite: servers opening a fresh file at once queue for its write lock, and on a loaded
                        # machine the last can wait past the busy timeout; a migration may wait longer than an
                        # answer's write (PostgreSQL's advisory lock has no timeout to pass)
                        if self.dialect != "sqlite" or "locked" not in str(exc) or time.monotonic() > deadline:
                            raise
            except SQLAlchemyError as exc:
                raise StateError(f"the state database ({self.safe_url}) cannot be opened: {exc}") from exc
            self._migrated = True

    def _at_head(self) -> bool:
        with self.engine.connect() as conn:  # a server that cannot be reached fails here, once (StateError)
            try:
                current = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
            except SQLAlchemyError:  # no table yet: a new database
                return False
        return current == head_revisions()

    @property
    def exists(self) -> bool:
        """False for a SQLite file not made yet: asking whether it holds users need not make it (a read-only
        store still answers questions). A server database is taken to exist."""
        if self.dialect != "sqlite":
            return True
        path = self.url.removeprefix("sqlite:///")
        return path == ":memory:" or not path or Path(path).exists()

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages and logs."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction; a database error becomes `StateError`."""
        self.migrate()
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StateError(f"the state database failed: {type(exc).__name__}") from exc

    def dispose(self) -> None:
        self.engine.dispose()
