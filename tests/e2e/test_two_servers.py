"""Issue #33, part 4: several servers share one state. Two `rag serve` processes with one Chroma server and one
PostgreSQL database (the many-users layout of docs/deploy.md, with the fast stand-in models): both migrate the
fresh database at once, a conversation started on one goes on on the other, and what one changes the other
sees. Needs a PostgreSQL server (RAG_TEST_POSTGRES_URL; `.ci/with-postgres` starts one)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, SEED_DOC, stop_process
from tests.e2e.conftest import free_port, wait_http

QUESTION = "Who welcomed Putin at the airport?"
FOLLOW_UP = "When did his plane land there?"


def _start(cmd: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen:
    with log.open("w") as err:
        return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)


# the PostgreSQL side of tests/conftest.py's database_url alone: a fresh database, dropped afterwards
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@contextmanager
def _two_servers(tmp_path: Path, database_url: str, admin: bool = False) -> Iterator[tuple[list[str], dict[str, str]]]:
    """Base URLs of two `rag serve` processes on one Chroma server and one fresh PostgreSQL database, started
    together (neither is up before the other starts), and the environment they share. `admin`: an admin user
    is added to the database first, so both start in account mode (the page's login is chosen at start)."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    assert chroma, "the chroma CLI comes with the chromadb package"
    chroma_port = free_port()
    procs = [_start([chroma, "run", "--path", str(tmp_path / "chroma"), "--host", "127.0.0.1", "--port",
                     str(chroma_port)], dict(os.environ), tmp_path / "chroma.log", tmp_path)]
    try:
        wait_http(f"http://127.0.0.1:{chroma_port}/api/v2/heartbeat", "chroma run")
        clean = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
        shared = dict(clean, RAG_LLM__BACKEND="scripted", RAG_EMBED__BACKEND="hash", RAG_DATABASE_URL=database_url,
                      RAG_STORE__CHROMA_HOST="127.0.0.1", RAG_STORE__CHROMA_PORT=str(chroma_port),
                      RAG_STORE__COLLECTION="shared", RAG_STORE__SEEDS_DIR=str(tmp_path / "no-seeds"),
                      RAG_RETRIEVAL__MIN_COVERAGE="0", RAG_SERVER__SHUTDOWN_GRACE="1",
                      PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), clean.get("PYTHONPATH")) if p))
        if admin:
            _rag(dict(shared, RAG_STORE__PERSIST_DIR=str(tmp_path / "local-a")), tmp_path, "users", "add", "alice",
                 "--role", "admin", "--password-stdin", stdin="correct horse battery\n")
        bases = []
        for name in ("a", "b"):
            port = free_port()
            env = dict(shared, RAG_STORE__PERSIST_DIR=str(tmp_path / f"local-{name}"), RAG_SERVER__PORT=str(port))
            procs.append(_start([sys.executable, "-m", "rag.cli", "serve"], env, tmp_path / f"serve-{name}.log",
                                tmp_path))
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            wait_http(base + "/health", "rag serve")
        yield bases, shared
    finally:
        for proc in reversed(procs):
            stop_process(proc)


@pytest.fixture
def servers(tmp_path, database_url) -> Iterator[tuple[list[str], dict[str, str]]]:
    with _two_servers(tmp_path, database_url) as running:
        yield running


def test_a_conversation_started_on_one_server_goes_on_on_the_other(servers) -> None:
    (a, b), _ = servers
    # the first use of the state on both at the same moment: both bring the fresh database to the latest
    # migration, one after the other (the advisory lock), and neither fails
    with ThreadPoolExecutor(2) as pool:
        first = list(pool.map(lambda base: httpx.get(base + "/v1/conversations", timeout=60), (a, b)))
    assert [(r.status_code, r.json()["data"]) for r in first] == [(200, []), (200, [])], [r.text for r in first]

    uploaded = httpx.post(a + "/v1/documents", files={"files": (SEED_DOC.name, SEED_DOC.read_bytes())}, timeout=120)
    assert uploaded.status_code == 201, uploaded.text
    cid = httpx.post(a + "/v1/conversations", json={}, timeout=30).json()["id"]
    on_a = httpx.post(a + "/v1/answer", json={"question": QUESTION, "conversation": cid}, timeout=60)
    assert on_a.status_code == 200 and on_a.json()["citations"], on_a.text
    # server b reads the turn server a wrote, answers the follow-up with it and adds its own turn
    assert [m["content"] for m in httpx.get(f"{b}/v1/conversations/{cid}", timeout=30).json()["messages"]] == [
        QUESTION, on_a.json()["answer"]]
    on_b = httpx.post(b + "/v1/answer", json={"question": FOLLOW_UP, "conversation": cid, "stream": True},
                      timeout=60)
    assert on_b.status_code == 200 and "event: error" not in on_b.text, on_b.text
    conv = httpx.get(f"{a}/v1/conversations/{cid}", timeout=30).json()
    assert [(m["role"], m["content"]) for m in conv["messages"][::2]] == [("user", QUESTION), ("user", FOLLOW_UP)]
    assert conv["title"] == QUESTION and all(m.get("answer") for m in conv["messages"][1::2])
    assert "[^2-" in httpx.get(f"{b}/v1/conversations/{cid}/export", timeout=30).text  # both turns, b's too

    assert httpx.patch(f"{b}/v1/conversations/{cid}", json={"title": "Airport"}, timeout=30).status_code == 200
    assert [c["title"] for c in httpx.get(a + "/v1/conversations", timeout=30).json()["data"]] == ["Airport"]
    assert httpx.delete(f"{a}/v1/conversations/{cid}", timeout=30).status_code == 200
    assert httpx.get(f"{b}/v1/conversations/{cid}", timeout=30).status_code == 404
    late = httpx.post(b + "/v1/answer", json={"question": QUESTION, "conversation": cid}, timeout=60)
    assert late.status_code == 404, late.text


def _rag(env: dict[str, str], cwd: Path, *args: str, stdin: str = "") -> str:
    """A `rag` command run like an administrator's on one of the servers' machines: its stdout."""
    done = subprocess.run([sys.executable, "-m", "rag.cli", *args], input=stdin, env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_user_created_on_one_server_logs_in_on_the_other(tmp_path, database_url) -> None:
    """Both servers run in account mode on the shared database. A user added on server a's machine (`rag users
    add`) logs in to server b's page with their password, and their API key works on both; what they start on
    one is theirs on the other and nobody else's."""
    with _two_servers(tmp_path, database_url, admin=True) as ((a, b), env):
        _check_accounts_across(a, b, dict(env, RAG_STORE__PERSIST_DIR=str(tmp_path / "local-a")), tmp_path)


def _check_accounts_across(a: str, b: str, machine_a: dict[str, str], tmp_path: Path) -> None:
    _rag(machine_a, tmp_path, "users", "add", "bob", "--password-stdin", stdin="staple horse battery\n")
    with httpx.Client(base_url=b, timeout=30) as page:  # the chat page's own login form, on the other server
        assert page.post("/login", data={"username": "bob", "password": "wrong horse"}).status_code == 400
        assert page.post("/login", data={"username": "bob", "password": "staple horse battery"}).status_code == 200
    alice = {"Authorization": "Bearer " + _rag(machine_a, tmp_path, "users", "key", "alice").strip()}
    bob = {"Authorization": "Bearer " + _rag(machine_a, tmp_path, "users", "key", "bob").strip()}
    for base in (a, b):  # account mode on both: no key, no answer
        assert httpx.get(base + "/v1/conversations", timeout=30).status_code == 401
    cid = httpx.post(a + "/v1/conversations", json={}, headers=alice, timeout=30).json()["id"]
    assert httpx.get(f"{b}/v1/conversations/{cid}", headers=alice, timeout=30).status_code == 200
    assert [c["id"] for c in httpx.get(b + "/v1/conversations", headers=alice, timeout=30).json()["data"]] == [cid]
    assert httpx.get(f"{b}/v1/conversations/{cid}", headers=bob, timeout=30).status_code == 404
