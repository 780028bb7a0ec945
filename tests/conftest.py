from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

from rag.backends import fakes
from rag.components import offline_environment
from rag.types import Answer, Delta, Event, Final, Replace

offline_environment()  # the tests are an entry point too
# The suite is one client asking fast, and the soak's askers share one address: the per-client answer rate and
# the answer queue's cap (RAG_SERVER__RATE_PER_MINUTE, RAG_SERVER__MAX_WAITING) would refuse them.
# tests/security sets its own, which win over these.
os.environ.setdefault("RAG_SERVER__RATE_PER_MINUTE", "0")
os.environ.setdefault("RAG_SERVER__MAX_WAITING", "64")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_DOC = SEEDS / "putin-tehran-visit-iran-russia-nato-july-2022.txt"


class HashEmbedder(fakes.HashEmbedder):
    """The `hash` embedding back end (a deterministic bag of words), 64-dimensional by default here: a fast
    stand-in for unit tests of the store and pipeline."""

    def __init__(self, dim: int = 64) -> None:
        super().__init__(dim)


def played(events: Iterable[Event]) -> tuple[str, Answer]:
    """The text a client holds at the end of an answer chain's events, and the final answer, with the order of
    the events checked: one or more `Sources` before any text, `Delta`s, at most one `Replace` and only after
    text was streamed, nothing but the `Final` after it, and one `Final`, last."""
    events = list(events)
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "Sources", kinds
    assert kinds[-1] == "Final" and kinds.count("Final") == 1, kinds
    first_text = next(i for i, k in enumerate(kinds) if k in ("Delta", "Replace"))
    assert "Sources" not in kinds[first_text:], kinds
    if "Replace" in kinds:
        at = kinds.index("Replace")
        assert kinds.count("Replace") == 1 and "Delta" in kinds[:at] and kinds[at + 1:] == ["Final"], kinds
    text = ""
    for e in events:
        if isinstance(e, Delta):
            text += e.text
        elif isinstance(e, Replace):
            text = e.text
    final = events[-1]
    assert isinstance(final, Final)
    return text, final.answer


def sse_events(text: str) -> list[tuple[str, dict]]:
    """(event, data) of each Server-Sent Event in a response body; an unnamed event is a "message"."""
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        out.append((lines.get("event", "message"), json.loads(lines["data"])))
    return out


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def settings(tmp_path):
    from rag.config import Settings

    return Settings(_env_file=None, store={"persist_dir": tmp_path / "store", "collection": "test"})


def stop_process(proc: subprocess.Popen, within: float = 30.0) -> None:
    """SIGTERM, as a user's Ctrl-C or a service manager stops a server; killed only if it outlives `within`."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=within)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


POSTGRES_URL = os.environ.get("RAG_TEST_POSTGRES_URL", "")  # a server database the tests may create others in


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterable[str]:
    """A fresh, empty state database of each kind: SQLite in tmp_path, and a new PostgreSQL database made on
    the server `RAG_TEST_POSTGRES_URL` names (`.ci/run` starts one on loopback) and dropped afterwards.
    Without that server the PostgreSQL half is skipped, except under CI, where it fails."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/state.sqlite3"
        return
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("CI runs the state tests on PostgreSQL too: RAG_TEST_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL server: set RAG_TEST_POSTGRES_URL (postgresql+psycopg://user@host:port/db)")
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"rag_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def database(database_url: str):
    """A migrated `rag.state.db.Database` of each kind (see `database_url`)."""
    from rag.state.db import Database

    db = Database(database_url)
    db.migrate()
    yield db
    db.dispose()
