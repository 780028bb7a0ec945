"""Issue #32, item 7: storage that fails under a request answers a JSON 503 with a code (not a plain-text 500),
and an answer whose turn cannot be saved is still returned, with a warning."""

from __future__ import annotations

import sqlite3

from fastapi.testclient import TestClient

from rag.web.server import create_app
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
