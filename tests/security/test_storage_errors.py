"""Issue #32, item 7: storage that fails under a request answers a JSON 503 with a code (not a plain-text 500),
and an answer whose turn cannot be saved is still returned, with a warning."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time

from fastapi.testclient import TestClient

from rag.state.db import CONNECT_TIMEOUT
from rag.web.server import create_app
from tests.e2e.conftest import free_port
from tests.security.conftest import QUESTION, make_comps


def test_an_unusable_conversation_store_is_a_json_503(tmp_path) -> None:
    comps = make_comps(tmp_path, seed=False)
    (tmp_path / "store" / "state.sqlite3").mkdir(parents=True)  # not a database: cannot be opened
    with TestClient(create_app(comps, with_ui=False), raise_server_exceptions=False) as client:
        r = client.post("/v1/conversations", json={})
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "storage_unavailable"


def test_an_answer_whose_turn_cannot_be_saved_is_returned_with_a_warning(tmp_path) -> None:
    comps = make_comps(tmp_path)
    cid = comps.conversations.create("main")
    with sqlite3.connect(comps.database.engine.url.database) as db:  # the disk fills up after the conversation was made
        db.execute("CREATE TRIGGER full BEFORE INSERT ON messages BEGIN "
                   "SELECT RAISE(ABORT, 'database or disk is full'); END")
    with TestClient(create_app(comps, with_ui=False), raise_server_exceptions=False) as client:
        r = client.post("/v1/answer", json={"question": QUESTION, "conversation": cid})
        streamed = client.post("/v1/answer", json={"question": QUESTION, "conversation": cid, "stream": True})
    assert r.status_code == 200, r.text
    assert "Javad Owji" in r.json()["answer"]
    assert r.json()["warnings"] and "not saved" in r.json()["warnings"][0]
    assert streamed.status_code == 200 and '"warnings": ["this turn was not saved' in streamed.text


CONVERSATION_CALLS = [("GET", "/v1/conversations", None), ("POST", "/v1/conversations", {}),
                      ("GET", "/v1/conversations/abc", None), ("PATCH", "/v1/conversations/abc", {"title": "x"}),
                      ("DELETE", "/v1/conversations/abc", None), ("GET", "/v1/conversations/abc/export", None),
                      ("POST", "/v1/answer", {"question": QUESTION, "conversation": "abc"}),
                      ("POST", "/v1/answer", {"question": QUESTION, "conversation": "abc", "stream": True})]


def _requests_on_an_unusable_database(url: str, tmp_path, calls: list = CONVERSATION_CALLS,
                                      ) -> list[tuple[str, int, str, float]]:
    """(route, status, error code, seconds) of each call on an app whose state database is `url`."""
    comps = make_comps(tmp_path, seed=False, state={"database_url": url})
    out = []
    with TestClient(create_app(comps, with_ui=False), raise_server_exceptions=False) as client:
        for method, path, body in calls:
            t0 = time.monotonic()
            r = client.request(method, path, json=body)
            code = r.json().get("error", {}).get("code", "") if r.headers["content-type"] == "application/json" else ""
            out.append((f"{method} {path}", r.status_code, code, time.monotonic() - t0))
    return out


def test_a_postgresql_server_that_is_down_is_a_json_503_on_every_conversation_route(tmp_path) -> None:
    port = free_port()  # nothing listens there: the connection is refused
    for route, status, code, _ in _requests_on_an_unusable_database(
            f"postgresql+psycopg://rag@127.0.0.1:{port}/rag", tmp_path):
        assert (status, code) == (503, "storage_unavailable"), route


def test_a_postgresql_server_that_never_answers_is_a_503_within_the_connect_timeout(tmp_path) -> None:
    """A listener that takes the connection and says nothing (a hung server, a black-holing firewall): without
    a connect timeout the request would wait for ever; with it, a 503 after CONNECT_TIMEOUT."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # the kernel completes the handshake; nobody reads or writes
        url = f"postgresql+psycopg://rag@127.0.0.1:{silent.getsockname()[1]}/rag"
        done: list = []
        worker = threading.Thread(target=lambda: done.append(
            _requests_on_an_unusable_database(url, tmp_path, [("POST", "/v1/conversations", {})])),
                                  daemon=True)
        worker.start()
        worker.join(CONNECT_TIMEOUT * 4)
        assert done, "the request hung on a silent PostgreSQL server"
    (route, status, code, seconds), = done[0]
    assert (status, code) == (503, "storage_unavailable"), route
    assert CONNECT_TIMEOUT - 1 < seconds < CONNECT_TIMEOUT * 3, seconds
