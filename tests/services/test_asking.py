"""The "ask" use case (rag.services.asking) and the one answer contract: every front end asks through the
service and gets the same object, the API's `Answer`, in the same JSON; and the chat page saves a turn as the
API does."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rag import cli
from rag.backends.fakes import ScriptedLLM
from rag.components import Components
from rag.config import Settings
from rag.services import asking, conversations
from rag.state.conversations import ConversationNotFound
from rag.types import API_ONLY, Answer, Citation, Final, Timings, final_answer
from rag.web.api.models import AnswerResponse
from rag.web.server import create_app
from rag.web.ui.chat import respond
from tests.conftest import SEED_DOC, HashEmbedder

QUESTION = "Who welcomed Putin at the airport?"


def _comps(tmp_path, database_url: str = "") -> Components:
    comps = Components(Settings(_env_file=None, store={"persist_dir": tmp_path / "store", "collection": "asking",
                                                       "seeds_dir": tmp_path / "none"},
                                state={"database_url": database_url}),
                       embedder=HashEmbedder(), llm=ScriptedLLM())
    comps.ingestor.ingest_paths([SEED_DOC])
    return comps


@pytest.fixture
def comps(tmp_path) -> Components:
    return _comps(tmp_path)


@pytest.fixture
def db_comps(tmp_path, database_url) -> Components:
    """`comps` with its conversations on each kind of state database (SQLite, PostgreSQL)."""
    return _comps(tmp_path, database_url)


@pytest.fixture
def client(comps):
    with TestClient(create_app(comps, with_ui=False)) as c:
        yield c


def _steady(body: dict) -> dict:
    """An answer object without what differs between two runs of the same question: its id and timings."""
    return {k: v for k, v in body.items() if k not in ("id", "timings")}


# ---- the contract


def test_the_api_object_reads_back_and_rag_ask_json_is_it_without_the_api_only_fields(comps) -> None:
    a = comps.chain.answer(QUESTION)
    body = a.model_dump()
    assert list(body) == list(Answer.model_fields)
    assert AnswerResponse.model_validate(body).model_dump() == body | {"warnings": []}  # the API adds warnings
    assert a.public() == {k: v for k, v in body.items() if k not in API_ONLY}
    assert set(body["retrieved"][0]) == {"chunk_id", "doc_id", "title", "source", "page", "start", "end", "text",
                                         "score"}
    assert set(body["context"][0]) == {"doc_id", "source", "start", "end", "text"}
    assert body["usage"]["total_tokens"] == a.usage.prompt_tokens + a.usage.completion_tokens


def test_internal_fields_never_leave_the_process() -> None:
    c = Citation(marker=1, doc_id="d", title="t", source="s", page=None, start=0, end=3, quote="abc", score=1.0,
                 passage="xabcx", passage_start=0)
    assert "passage" not in c.model_dump() and "passage_start" not in c.model_dump() and c.passage == "xabcx"
    a = Answer(question="q", answer="a", answerable=False, model="m", timings=Timings(total_ms=1.0))
    assert "first_token_ms" not in a.model_dump()["timings"] and "first_token_ms" in a.timings.model_dump()
    streamed = a.model_copy(update={"timings": Timings(first_token_ms=2.0)})
    assert streamed.model_dump()["timings"]["first_token_ms"] == 2.0


def test_rag_ask_json_and_the_api_answer_are_one_object(comps, client, monkeypatch) -> None:
    monkeypatch.setattr(cli, "_components", lambda: comps)
    run = CliRunner().invoke(cli.app, ["ask", "--json", QUESTION])
    assert run.exit_code == 0, run.output
    asked = json.loads(run.stdout.strip().splitlines()[-1])
    api = client.post("/v1/answer", json={"question": QUESTION}).json()
    assert list(asked) == [k for k in api if k not in API_ONLY]
    assert _steady(asked) == _steady({k: v for k, v in api.items() if k not in API_ONLY})
    assert set(asked["timings"]) <= set(api["timings"])


# ---- the service


def test_an_unknown_conversation_is_refused_before_anything_runs(db_comps) -> None:
    with pytest.raises(ConversationNotFound):
        asking.ask(db_comps, "   ", conversation="nope")  # before the question is checked (QuestionError)


def test_the_stored_history_is_used_unless_the_caller_brings_one(db_comps, monkeypatch) -> None:
    cid = conversations.start(db_comps)
    final_answer(asking.ask(db_comps, QUESTION, conversation=cid))
    seen: list[list[dict]] = []
    real = db_comps.chain.stream
    monkeypatch.setattr(db_comps.chain, "stream", lambda q, history=None, **kw: seen.append(history) or real(q, **kw))
    asking.ask(db_comps, "When?", conversation=cid)
    asking.ask(db_comps, "When?", conversation=cid, history=[{"role": "user", "content": "Hi"}])
    assert [m["content"] for m in seen[0]] == [QUESTION, db_comps.conversations.get(cid)["messages"][1]["content"]]
    assert seen[1] == [{"role": "user", "content": "Hi"}]


def test_a_turn_is_saved_before_the_final_event_and_only_in_a_named_conversation(db_comps) -> None:
    cid = conversations.start(db_comps)
    for event in asking.ask(db_comps, QUESTION, conversation=cid):
        if isinstance(event, Final):
            assert len(db_comps.conversations.get(cid)["messages"]) == 2
    final_answer(asking.ask(db_comps, QUESTION))
    assert [c["messages"] for c in db_comps.conversations.list()] == [2]


def test_a_conversation_deleted_while_its_answer_is_written_stays_deleted(db_comps) -> None:
    cid = conversations.start(db_comps)
    events = asking.ask(db_comps, QUESTION, conversation=cid)
    next(events)  # the sources
    db_comps.conversations.delete(cid)
    assert final_answer(events).answerable
    assert db_comps.conversations.list() == []


# ---- one rule for the API and the chat page


def test_the_chat_page_and_the_api_save_the_same_turn(db_comps) -> None:
    with TestClient(create_app(db_comps, with_ui=False)) as client:
        cid = client.post("/v1/conversations", json={}).json()["id"]
        client.post("/v1/answer", json={"question": QUESTION, "conversation": cid})
        *_, (chat, history, _, ui_cid, _) = respond(db_comps, f"  {QUESTION} ", [], [], db_comps.name, "")
        assert ui_cid and ui_cid != cid and "Javad Owji" in chat[-1]["content"]
        api_turn, ui_turn = (client.get(f"/v1/conversations/{c}").json() for c in (cid, ui_cid))
    assert ui_turn["title"] == api_turn["title"] == QUESTION and ui_turn["collection"] == api_turn["collection"]
    steady = [[m | ({"answer": _steady(m["answer"])} if m.get("answer") else {}) for m in t["messages"]]
              for t in (api_turn, ui_turn)]
    assert steady[0] == steady[1] and len(steady[0]) == 2
    assert history == [{"role": m["role"], "content": m["content"]} for m in ui_turn["messages"]]


def test_the_chat_page_goes_on_in_its_conversation_and_starts_one_when_it_was_deleted(db_comps) -> None:
    *_, (chat, history, _, cid, _) = respond(db_comps, QUESTION, [], [], db_comps.name, "")
    *_, (chat, history, _, same, _) = respond(db_comps, "When did it land?", chat, history, db_comps.name, cid)
    assert same == cid and len(db_comps.conversations.get(cid)["messages"]) == 4
    db_comps.conversations.delete(cid)
    *_, (_, _, _, new, _) = respond(db_comps, "And then?", chat, history, db_comps.name, cid)
    assert new != cid and len(db_comps.conversations.get(new)["messages"]) == 2
