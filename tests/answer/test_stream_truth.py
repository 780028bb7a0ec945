"""One stream, one truth: whatever a streaming client was sent, it ends holding the final answer's text, also
when the checks reject a reply the model already wrote. The API is driven over HTTP (ASGI) with the real
store; the LLM is scripted so that its reply is one that grounding rejects, every time."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from rag.components import Components
from rag.config import Settings
from rag.web.server import create_app
from tests.conftest import SEED_DOC, HashEmbedder, sse_events

UNSUPPORTED = "Sunny and warm weather all week in the capital city, with light winds from the north."
SUPPORTED = "Iran's oil minister, Javad Owji [1]."


class OneReplyLLM:
    name = "scripted"
    loaded = True

    def __init__(self, reply: str) -> None:
        self.reply = reply

    def stream_chat(self, messages, max_tokens, temperature, usage=None):
        yield from (self.reply[i:i + 7] for i in range(0, len(self.reply), 7))
        if usage is not None:
            usage.update(prompt_tokens=50, completion_tokens=20)

    def yes_probability(self, messages):
        return 0.9  # the check passes: the rejection must come from grounding, after streaming


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return tmp_path_factory.mktemp("store")


def _client(store, reply: str) -> TestClient:
    comps = Components(
        Settings(_env_file=None, retrieval={"min_coverage": 0.0}, store={"persist_dir": store, "collection": "truth"}),
        embedder=HashEmbedder(),
        llm=OneReplyLLM(reply),
    )
    comps.ingestor.ingest_paths([SEED_DOC])
    return TestClient(create_app(comps, with_ui=False))


@pytest.mark.parametrize("reply", [UNSUPPORTED, SUPPORTED])
def test_answer_sse_text_after_replace_equals_the_final_answer(store, reply: str) -> None:
    with _client(store, reply) as client:
        r = client.post("/v1/answer", json={"question": "What was the weather in Tehran during the visit?",
                                            "stream": True})
    assert r.status_code == 200
    events = sse_events(r.text)
    assert events[0][0] == "sources" and events[0][1]["context"]  # the passages, before any text
    text = ""
    for name, data in events[1:-1]:
        assert name in ("delta", "replace")
        text = data["text"] if name == "replace" else text + data["text"]
    name, final = events[-1]
    assert name == "answer" and text == final["answer"]
    if reply == UNSUPPORTED:
        assert any(n == "replace" for n, _ in events) and not final["answerable"]
        assert final["refusal_reason"] == "unsupported"


@pytest.mark.parametrize("reply", [UNSUPPORTED, SUPPORTED])
def test_chat_completions_stream_concatenates_to_the_final_message(store, reply: str) -> None:
    body = {"model": "rag", "messages": [{"role": "user", "content": "Who welcomed Putin at the airport?"}]}
    with _client(store, reply) as client:
        streamed = client.post("/v1/chat/completions", json=body | {"stream": True})
        whole = client.post("/v1/chat/completions", json=body)
    chunks = [json.loads(line[6:]) for line in streamed.text.splitlines()
              if line.startswith("data: ") and line != "data: [DONE]"]
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    final = whole.json()["choices"][0]["message"]["content"]
    assert content == final
    assert chunks[-1]["answerable"] == whole.json()["answerable"] == (reply == SUPPORTED)
    if reply == UNSUPPORTED:
        assert "don't contain" in content and "Sunny" not in content
