"""Feedback over HTTP as clients send it: the answer's id from the `openai` client's chat completion (plain and
streamed) and from /v1/answer (JSON and its SSE `answer` event), then POST /v1/answers/{id}/feedback with httpx;
stored with the answer's record."""

from __future__ import annotations

import httpx
import pytest
from openai import OpenAI

from rag.backends.fakes import ScriptedLLM
from rag.components import Components
from rag.config import Settings
from rag.web.server import create_app
from tests.conftest import SEED_DOC, HashEmbedder, sse_events
from tests.e2e.conftest import serve

QUESTION = "Who welcomed Putin at the airport?"


@pytest.fixture(scope="module")
def comps(tmp_path_factory) -> Components:
    tmp = tmp_path_factory.mktemp("feedback")
    comps = Components(Settings(_env_file=None, store={"persist_dir": tmp / "store", "collection": "feedback",
                                                       "seeds_dir": tmp / "none"}),
                       embedder=HashEmbedder(), llm=ScriptedLLM())
    comps.ingestor.ingest_paths([SEED_DOC])
    return comps


@pytest.fixture(scope="module")
def base_url(comps):
    url, server, thread = serve(create_app(comps, with_ui=False))
    yield url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def http(base_url):
    with httpx.Client(base_url=base_url, timeout=60) as client:
        yield client


def test_a_thumbs_down_with_a_correction_on_a_chat_completion_is_stored_with_its_answer(comps, base_url,
                                                                                        http) -> None:
    client = OpenAI(base_url=base_url + "/v1", api_key="unused")
    resp = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": QUESTION}])
    answer_id = resp.model_extra["answer_id"]
    r = http.post(f"/v1/answers/{answer_id}/feedback",
                  json={"rating": "down", "comment": "not him", "correction": "Ebrahim Raisi"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answer_id"] == answer_id and body["rating"] == "down" and body["correction"] == "Ebrahim Raisi"
    assert body["question"] == QUESTION and body["answer"] == resp.choices[0].message.content
    assert body["citations"] == resp.model_extra["citations"] and body["model"] == resp.model
    [stored] = comps.answers.feedback(answer_id)
    assert (stored["rating"], stored["comment"], stored["correction"]) == (-1, "not him", "Ebrahim Raisi")
    assert stored["question"] == QUESTION and stored["settings_digest"] == body["settings_digest"]


def test_every_answer_route_gives_the_id_feedback_takes(comps, base_url, http) -> None:
    client = OpenAI(base_url=base_url + "/v1", api_key="unused")
    chunks = list(client.chat.completions.create(model="rag", stream=True,
                                                 messages=[{"role": "user", "content": QUESTION}]))
    streamed = chunks[-1].model_extra["answer_id"]
    plain = http.post("/v1/answer", json={"question": QUESTION}).json()["id"]
    events = sse_events(http.post("/v1/answer", json={"question": QUESTION, "stream": True}).text)
    [sse] = [data["id"] for name, data in events if name == "answer"]
    ids = [streamed, plain, sse]
    assert len(set(ids)) == 3 and all(len(i) == 16 for i in ids)
    for answer_id in ids:
        r = http.post(f"/v1/answers/{answer_id}/feedback", json={"rating": "up"})
        assert r.status_code == 200 and r.json()["rating"] == "up", r.text
        assert comps.answers.get(answer_id)["question"] == QUESTION


def test_feedback_on_an_unknown_answer_or_without_a_rating_is_refused(http) -> None:
    r = http.post("/v1/answers/0123456789abcdef/feedback", json={"rating": "up"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "answer_not_found"
    assert http.post("/v1/answers/0123456789abcdef/feedback", json={"rating": "meh"}).status_code == 422
    assert http.post("/v1/answers/0123456789abcdef/feedback", json={}).status_code == 422
