"""The real server on a loopback port: the official `openai` client, httpx, real models and store."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from openai import OpenAI

from rag.web.server import create_app
from tests.conftest import sse_events
from tests.e2e.conftest import serve


@pytest.fixture(scope="module")
def base_url(comps):
    url, server, thread = serve(create_app(comps))
    yield url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def http(base_url):
    with httpx.Client(base_url=base_url, timeout=300) as client:
        yield client


def test_openai_client_chat_completion(base_url) -> None:
    client = OpenAI(base_url=base_url + "/v1", api_key="unused")
    model, *collections = client.models.list().data  # the model answering, then one per collection
    assert [m.id for m in collections] == ["rag:e2e"]
    resp = client.chat.completions.create(model=collections[0].id, messages=[
        {"role": "user", "content": "Which gas fields does the Gazprom agreement cover?"}])
    content = resp.choices[0].message.content
    assert "North Pars" in content and "[1]" in content
    cites = resp.model_extra["citations"]
    assert any("North Pars" in c["quote"] for c in cites)
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0


def test_openai_client_streaming_with_history(base_url) -> None:
    client = OpenAI(base_url=base_url + "/v1", api_key="unused")
    stream = client.chat.completions.create(model="any", stream=True, messages=[
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Who welcomed Putin at the airport?"},
        {"role": "assistant", "content": "Iran's oil minister, Javad Owji, welcomed him [1]."},
        {"role": "user", "content": "At which airport did Putin's plane land?"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "Mehrabad" in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    cites = chunks[-1].model_extra["citations"]
    assert cites and all(f"[{c['marker']}]" in text for c in cites)
    assert all("citations" not in (c.model_extra or {}) for c in chunks[:-1]), "sources sent once, at the end"


def test_answer_endpoint(http) -> None:
    body = http.post("/v1/answer", json={"question": "Which two countries applied to join NATO in May?"}).json()
    assert {"question", "answer", "answerable", "citations", "model", "timings", "retrieved", "usage"} <= set(body)
    assert "Finland" in body["answer"] and body["answerable"]
    assert body["retrieved"] and all({"chunk_id", "score", "text", "start", "end"} <= set(r) for r in body["retrieved"])
    assert body["usage"]["prompt_tokens"] > 0


def test_answer_endpoint_streams_deltas_then_one_final_event(http) -> None:
    resp = http.post("/v1/answer", json={"question": "Which militia did Erdogan threaten to attack?",
                                         "stream": True})
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = sse_events(resp.text)
    kinds = [k for k, _ in events]
    first_delta = kinds.index("delta")
    assert set(kinds[:first_delta]) == {"sources"} and kinds[-1] == "answer"
    assert set(kinds[first_delta:-1]) == {"delta"}
    final = events[-1][1]
    assert "".join(d["text"] for _, d in events[first_delta:-1]) == final["answer"]
    sources = events[first_delta - 1][1]  # the last sources event holds the passages the model read
    assert [c["text"] for c in sources["context"]] == [c["text"] for c in final["context"]]
    assert "YPG" in final["answer"] and final["citations"]


def test_upload_list_ask_delete(http, tmp_path) -> None:
    before = http.get("/v1/documents").json()["data"]
    files = [("files", ("harbour-notes.md", b"# Harbour notes\n\nThe lighthouse at Bandar Anzali is "
                        b"painted green and was lit in 1894.\n", "text/markdown"))]
    up = http.post("/v1/documents", files=files)
    assert up.status_code == 201, up.text
    [doc] = up.json()["data"]
    assert doc["chunks"] >= 1 and doc["source"] == "upload:harbour-notes.md"
    listed = {d["id"]: d for d in http.get("/v1/documents").json()["data"]}
    assert doc["id"] in listed and listed[doc["id"]]["ingested_at"].endswith("+00:00")
    ans = http.post("/v1/answer", json={"question": "What colour is the lighthouse at Bandar Anzali?",
                                        "filters": {"doc_ids": [doc["id"]]}}).json()
    assert "green" in ans["answer"].lower()
    assert {c["doc_id"] for c in ans["citations"]} == {doc["id"]}
    gone = http.delete(f"/v1/documents/{doc['id']}")
    assert gone.status_code == 200 and gone.json()["chunks_removed"] == doc["chunks"]
    after = http.get("/v1/documents").json()["data"]
    assert {d["id"] for d in after} == {d["id"] for d in before}


def test_bad_input_gets_a_clear_4xx_and_nothing_is_lost(http, comps, monkeypatch) -> None:
    docs_before = http.get("/v1/documents").json()["data"]
    cases = [
        (http.post("/v1/answer", json={"question": "   "}), 400, "empty"),
        (http.post("/v1/answer", json={"question": "why " * 1000}), 400, "limit"),
        (http.post("/v1/answer", json={"question": 42}), 422, "question"),
        (http.post("/v1/answer", content=b"{not json", headers={"content-type": "application/json"}),
         400, "JSON"),
        (http.post("/v1/chat/completions", json={"messages": []}), 422, "messages"),
        (http.post("/v1/chat/completions", json={"messages": [{"role": "assistant", "content": "hi"}]}),
         400, "user"),
        (http.delete("/v1/documents/no-such-doc"), 404, "no-such-doc"),
        (http.post("/v1/documents", files=[("files", ("report.odt", b"PK\x03\x04", "application/zip"))]),
         415, "unsupported"),
        (http.post("/v1/documents", files=[("files", ("report.docx", b"PK\x03\x04", "application/zip"))]),
         400, "unreadable Word"),
        (http.post("/v1/documents", files=[("files", ("image.txt", b"\x89PNG\x00\x00\x01", "text/plain"))]),
         400, "binary"),
        (http.post("/v1/documents", files=[("files", ("../../etc/passwd", b"root:x:0:0", "text/plain"))]),
         415, "passwd"),
    ]
    monkeypatch.setattr(comps.settings.ingest, "max_file_mb", 0.001)
    cases.append((http.post("/v1/documents", files=[("files", ("big.txt", b"word " * 1000, "text/plain"))]),
                  413, "limit"))
    monkeypatch.undo()
    for resp, status, words in cases:
        assert resp.status_code == status, (resp.request.url, resp.text)
        err = resp.json()["error"]
        assert words.lower() in err["message"].lower() and err["code"]
    assert http.get("/health").json()["status"] == "ok"
    assert http.get("/v1/documents").json()["data"] == docs_before


def test_eight_concurrent_questions_all_finish_correctly(http) -> None:
    questions = [("At which airport did Putin's plane land?", "Mehrabad"),
                 ("Who welcomed Putin at the airport?", "Owji"),
                 ("Which gas fields does the Gazprom agreement cover?", "North Pars"),
                 ("Which two countries applied to join NATO in May?", "Finland"),
                 ("Which militia did Erdogan threaten to attack in northern Syria?", "YPG"),
                 ("Where did Raisi host Putin?", "Saadabad"),
                 ("Who is John Kirby?", "spokesman"),
                 ("Which Syrian president do Russia and Iran back?", "Assad")]

    def ask(q: str) -> str:
        r = http.post("/v1/answer", json={"question": q})
        assert r.status_code == 200, r.text
        return r.json()["answer"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, [q for q, _ in questions]))
    for (q, fact), a in zip(questions, answers, strict=True):
        assert fact.lower() in a.lower(), (q, a)


def test_bearer_token_guards_v1_and_ui(comps, e2e_settings) -> None:
    from fastapi.testclient import TestClient

    guarded = comps.with_settings({"server.api_token": "s3cret"})  # the same store and models, other settings
    with TestClient(create_app(guarded)) as client:
        assert client.get("/v1/models").status_code == 401
        assert client.get("/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/v1/models", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert client.get("/health").status_code == 200
        assert client.get("/config").status_code == 401, "the UI needs a login"
        assert client.post("/login", data={"username": "me", "password": "wrong"}).status_code == 400
        assert client.post("/login", data={"username": "me", "password": "s3cret"}).status_code == 200
        assert client.get("/config").status_code == 200


def test_follow_up_question_is_rewritten_and_the_query_returned(http) -> None:
    first = http.post("/v1/answer", json={"question": "Who visited Iran?"}).json()
    assert first["answerable"] and "Putin" in first["answer"], first["answer"]
    body = http.post("/v1/answer", json={
        "question": "How many times had he been there?",
        "history": [{"role": "user", "content": "Who visited Iran?"},
                    {"role": "assistant", "content": first["answer"]}]}).json()
    assert "Putin" in body["query"] and body["query"] != body["question"], body["query"]
    assert body["answerable"], body
    assert any(w in body["answer"].lower() for w in ("fifth", "five", "5")), body["answer"]
    assert body["grounded"] == 1.0 and all(s["supported"] for s in body["sentences"])
    assert body["context"] and all({"text", "start", "end"} <= set(c) for c in body["context"])
