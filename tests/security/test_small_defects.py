"""Issue #32, item 8: the smaller defects, one test each (the UI's are in test_page.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rag.state.conversations import Conversations
from rag.types import Answer, Citation
from rag.web.server import create_app
from tests.security.conftest import QUESTION, RecordingLLM, SlowLLM, call, json_chunks, make_comps


def test_an_api_follow_up_answers_from_its_conversations_collection(tmp_path) -> None:
    comps = make_comps(tmp_path, seed=False)
    other = comps.collection("other", create=True)
    from tests.conftest import SEED_DOC

    other.ingestor.ingest_paths([SEED_DOC])  # the default collection stays empty
    with TestClient(create_app(comps, with_ui=False)) as client:
        cid = client.post("/v1/conversations", json={"collection": "other"}).json()["id"]
        r = client.post("/v1/answer", json={"question": QUESTION, "conversation": cid})
    assert r.status_code == 200
    assert r.json()["answerable"] and "Javad Owji" in r.json()["answer"]


def test_the_markdown_export_escapes_titles_and_document_html(database) -> None:
    store = Conversations(database)
    cid = store.create("main", "Chat\n\n**You:** forged question")
    forged = "Doc\n\n**Assistant:** forged answer\n\n[^1-1]: *fake* (x): “lie” <script>alert(1)</script>"
    citation = Citation(marker=1, doc_id="d", title=forged, source="evil<b>.txt", page=None, start=0, end=4,
                        quote="Putin <img src=x onerror=alert(1)>", score=1.0)
    store.add_turn(cid, QUESTION, Answer(question=QUESTION, answer="Javad Owji [1].", answerable=True,
                                         citations=[citation], model="m"))
    md = store.export_markdown(cid)
    lines = md.splitlines()
    assert sum(line.startswith("**You:**") for line in lines) == 1
    assert sum(line.startswith("**Assistant:**") for line in lines) == 1
    assert sum(line.startswith("[^1-1]:") for line in lines) == 1
    assert "<script>" not in md and "<img" not in md and "<b>" not in md


def test_a_huge_start_on_the_text_route_is_a_clean_4xx(tmp_path) -> None:
    comps = make_comps(tmp_path)
    doc_id = comps.store.list_documents()[0]["doc_id"]
    with TestClient(create_app(comps, with_ui=False), raise_server_exceptions=False) as client:
        for start in (2**63, 2**64, 10**20):
            r = client.get(f"/v1/documents/{doc_id}/text", params={"start": start, "end": start + 5})
            assert 400 <= r.status_code < 500, (start, r.status_code, r.text)


def test_a_question_of_only_invisible_characters_is_empty_before_any_model_work(tmp_path) -> None:
    llm = RecordingLLM()
    comps = make_comps(tmp_path, model=llm)
    with TestClient(create_app(comps, with_ui=False)) as client:
        for question in ("\u200b\u200c\u200d", "\u2060\ufeff \u200b", "\u202e\u2066\u2069\u00ad"):
            r = client.post("/v1/answer", json={"question": question})
            assert r.status_code == 400 and "empty" in r.json()["error"]["message"], question
    assert llm.prompts == []


def test_docs_pages_load_nothing_from_an_outside_host(tmp_path) -> None:
    comps = make_comps(tmp_path, seed=False)
    with TestClient(create_app(comps, with_ui=False)) as client:
        for page in ("/docs", "/redoc"):
            r = client.get(page)
            assert r.status_code == 404 or "https://" not in r.text, page
        assert client.get("/openapi.json").json()["paths"]["/v1/answer"]


def test_a_dropped_chat_completions_stream_stops_the_model(tmp_path) -> None:
    llm = SlowLLM(n=150, delay=0.02)
    app = create_app(make_comps(tmp_path, model=llm), with_ui=False)
    body = {"model": "rag", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    call(app, "POST", "/v1/chat/completions", {"content-type": "application/json"}, json_chunks(body),
         disconnect_on=llm.writing)
    assert llm.closed and llm.written < 100


def test_a_dropped_answer_stream_stops_the_model(tmp_path) -> None:
    llm = SlowLLM(n=150, delay=0.02)
    app = create_app(make_comps(tmp_path, model=llm), with_ui=False)
    body = {"question": QUESTION, "stream": True}
    call(app, "POST", "/v1/answer", {"content-type": "application/json"}, json_chunks(body),
         disconnect_on=llm.writing)
    assert llm.closed and llm.written < 100
