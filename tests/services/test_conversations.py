"""Saved conversations: SQLite store, the /v1/conversations API, Markdown export with citation footnotes, and
a follow-up in a reopened conversation answered with its stored history."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rag.components import Components
from rag.config import Settings
from rag.state.conversations import Conversations
from rag.state.db import Database
from rag.state.errors import ConversationNotFound
from rag.types import Answer, Citation
from rag.web.server import create_app
from tests.answer.test_stream_truth import OneReplyLLM
from tests.conftest import SEED_DOC, HashEmbedder


class RecordingLLM(OneReplyLLM):
    """Records every prompt, so a test can see which history the chain used."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.prompts: list[str] = []

    def stream_chat(self, messages, max_tokens, temperature, usage=None):
        self.prompts.append(messages[-1]["content"])
        yield from super().stream_chat(messages, max_tokens, temperature, usage)


def _answer(q: str) -> Answer:
    cite = Citation(marker=1, doc_id="d", title="Tehran visit", source="/srv/docs/report.pdf", page=3, start=5,
                    end=20, quote="welcomed by   Javad Owji", score=1.0)
    return Answer(question=q, answer="Javad Owji [1].", answerable=True, citations=[cite], model="m")


def test_store_round_trip_and_export(database_url) -> None:
    store = Conversations(Database(database_url))
    cid = store.create("documents")
    store.add_turn(cid, "Who welcomed Putin at the airport?", _answer("Who welcomed Putin at the airport?"))
    store.add_turn(cid, "And who met him later?", _answer("And who met him later?"))
    store.db.dispose()
    again = Conversations(Database(database_url))  # a restart
    conv = again.get(cid)
    assert conv["title"] == "Who welcomed Putin at the airport?" and len(conv["messages"]) == 4
    assert conv["messages"][1]["answer"]["citations"][0]["page"] == 3
    assert again.history(cid)[0] == {"role": "user", "content": "Who welcomed Putin at the airport?"}
    md = again.export_markdown(cid)
    assert "**Assistant:** Javad Owji [^1-1]." in md and "**Assistant:** Javad Owji [^2-1]." in md
    assert "[^1-1]: *Tehran visit* (report.pdf, page 3): “welcomed by Javad Owji”" in md
    assert "/srv" not in md
    again.rename(cid, "Airport")
    assert again.list()[0]["title"] == "Airport" and again.list()[0]["messages"] == 4
    again.delete(cid)
    assert again.list() == []
    with pytest.raises(ConversationNotFound):
        again.get(cid)


@pytest.fixture
def client(tmp_path, database_url):
    """The API on conversations kept in each kind of state database (SQLite, PostgreSQL)."""
    comps = Components(
        Settings(
            _env_file=None,
            retrieval={"min_coverage": 0.0},
            store={"persist_dir": tmp_path / "store", "collection": "conv", "seeds_dir": tmp_path / "none"},
            state={"database_url": database_url},
        ),
        embedder=HashEmbedder(),
        llm=RecordingLLM("Putin's plane landed at Tehran's Mehrabad airport [1]."),
    )
    comps.ingestor.ingest_paths([SEED_DOC])
    with TestClient(create_app(comps, with_ui=False)) as c:
        c.llm = comps.llm  # type: ignore[attr-defined]
        yield c


def test_api_conversation_keeps_history_across_requests(client) -> None:
    cid = client.post("/v1/conversations", json={}).json()["id"]
    first = client.post("/v1/answer", json={"question": "Where did Putin's plane land?", "conversation": cid})
    assert first.status_code == 200
    client.llm.prompts.clear()
    client.post("/v1/answer", json={"question": "When did it land there?", "conversation": cid})
    # the follow-up was rewritten with the stored turn: the condense prompt holds the first question
    assert any("Where did Putin's plane land?" in p for p in client.llm.prompts)
    conv = client.get(f"/v1/conversations/{cid}").json()
    assert [m["role"] for m in conv["messages"]] == ["user", "assistant", "user", "assistant"]
    assert conv["messages"][1]["answer"]["citations"]
    md = client.get(f"/v1/conversations/{cid}/export")
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert "[^1-1]: *" in md.text and "putin-tehran-visit" in md.text
    assert client.patch(f"/v1/conversations/{cid}", json={"title": "Plane"}).json()["title"] == "Plane"
    assert [c["title"] for c in client.get("/v1/conversations").json()["data"]] == ["Plane"]
    assert client.delete(f"/v1/conversations/{cid}").status_code == 200
    for r in (client.get(f"/v1/conversations/{cid}"), client.delete(f"/v1/conversations/{cid}"),
              client.get(f"/v1/conversations/{cid}/export"),
              client.patch(f"/v1/conversations/{cid}", json={"title": "x"}),
              client.post("/v1/answer", json={"question": "Who?", "conversation": cid}),
              client.post("/v1/answer", json={"question": "Who?", "conversation": cid,
                                              "history": [{"role": "user", "content": "Hi"}]})):
        assert r.status_code == 404
    assert client.patch("/v1/conversations/x", json={"title": ""}).status_code == 422
    assert client.post("/v1/conversations", json={"collection": "nope"}).status_code == 404


def test_the_conversation_file_is_made_on_first_use(tmp_path) -> None:
    comps = Components(Settings(_env_file=None, store={"persist_dir": tmp_path / "store", "collection": "conv"}),
                       embedder=HashEmbedder(), llm=RecordingLLM("x"))
    db = tmp_path / "store" / "state.sqlite3"
    with TestClient(create_app(comps, with_ui=False)) as client:
        assert not db.exists()  # building the app writes nothing: a read-only store still answers
        assert client.get("/v1/conversations").json()["data"] == []
    assert db.is_file()


def test_conversations_belong_to_their_owner_on_either_database(database) -> None:
    from rag.state.tables import users

    with database.begin() as db:
        db.execute(users.insert(), [{"id": u, "name": u, "role": "member", "created": 0.0} for u in ("u1", "u2")])
    store = Conversations(database)
    mine = store.create("documents", owner="u1")
    theirs = store.create("documents", owner="u2")
    single = store.create("documents")  # single-user mode: no owner
    store.add_turn(mine, "Who welcomed Putin at the airport?", _answer("Who welcomed Putin at the airport?"),
                   owner="u1")
    assert [c["id"] for c in store.list(owner="u1")] == [mine] and store.list(owner="u1")[0]["messages"] == 2
    assert [c["id"] for c in store.list()] == [single]
    for cid, owner in ((theirs, "u1"), (mine, "u2"), (mine, None), (single, "u1")):
        with pytest.raises(ConversationNotFound):
            store.get(cid, owner=owner)
        with pytest.raises(ConversationNotFound):
            store.add_turn(cid, "q", _answer("q"), owner=owner)
        with pytest.raises(ConversationNotFound):
            store.rename(cid, "x", owner=owner)
        with pytest.raises(ConversationNotFound):
            store.delete(cid, owner=owner)
    assert len(store.get(mine, owner="u1")["messages"]) == 2 and store.get(theirs, owner="u2")["title"] == ""


def test_a_nul_character_is_kept_as_a_replacement_character_on_either_database(database) -> None:
    """PostgreSQL refuses U+0000 in text (SQLite keeps it): a title or question holding one is stored, the
    same on both, instead of failing as a 503."""
    store = Conversations(database)
    cid = store.create("documents", title="a\x00b")
    store.add_turn(cid, "Who\x00 welcomed Putin?", _answer("Who\x00 welcomed Putin?"))
    store.rename(cid, "c\x00d")
    conv = store.get(cid)
    assert conv["title"] == "c\ufffdd" and conv["messages"][0]["content"] == "Who\ufffd welcomed Putin?"
    assert conv["messages"][1]["answer"]["question"] == "Who\x00 welcomed Putin?"  # JSON escapes it: \\u0000


def test_turns_added_at_once_to_one_conversation_all_keep_their_place(database_url) -> None:
    """Servers answering in one conversation at the same moment (separate engines, as separate processes have):
    every turn is kept, question before answer, none in another's place (the row lock on PostgreSQL, the write
    lock taken at BEGIN on SQLite)."""
    import threading

    dbs = [Database(database_url) for _ in range(4)]
    cid = Conversations(dbs[0]).create("documents")
    start, errors = threading.Barrier(len(dbs)), []

    def answer(n: int) -> None:
        start.wait()
        try:
            for k in range(3):
                q = f"question {n}.{k}"
                Conversations(dbs[n]).add_turn(cid, q, _answer(q))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=answer, args=(n,)) for n in range(len(dbs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert not errors, errors
        messages = Conversations(dbs[0]).get(cid)["messages"]
        questions = [m["content"] for m in messages[::2]]
        assert sorted(questions) == sorted(f"question {n}.{k}" for n in range(len(dbs)) for k in range(3))
        assert all(m["role"] == "assistant" and m["answer"]["question"] == q["content"]
                   for q, m in zip(messages[::2], messages[1::2], strict=True))
    finally:
        for db in dbs:
            db.dispose()
