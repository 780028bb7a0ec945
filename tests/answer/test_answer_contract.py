"""The answer contract: the chain's typed events and their order, the one helper that gives the final answer,
the `sources` event over HTTP before any text, and an OpenAPI schema that declares the response bodies and
what the server enforces."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from rag.answer.chain import QuestionError
from rag.backends.fakes import ScriptedLLM as ServerLLM
from rag.components import Components
from rag.config import Settings
from rag.services.asking import visible
from rag.types import Delta, Final, Replace, Sources, final_answer
from rag.web.server import create_app
from tests.answer.test_chain import FixedRetriever, ScriptedLLM, TwoPassageRetriever, chain
from tests.conftest import SEED_DOC, HashEmbedder, played, sse_events

# ---- the chain's events


def test_an_answer_is_sources_then_deltas_then_final() -> None:
    llm = ScriptedLLM("Javad Owji welcomed Putin [1].", p_yes=0.9)
    events = list(chain(llm).stream("Who welcomed Putin?"))
    text, ans = played(events)
    assert text == ans.answer and ans.answerable
    [sources] = [e for e in events if isinstance(e, Sources)]
    assert sources.retrieved == ans.retrieved and sources.context == ans.context and sources.query == ans.query
    assert all(isinstance(e, Delta) for e in events[1:-1])


def test_sources_come_before_the_check_and_generation() -> None:
    llm = ScriptedLLM("Javad Owji [1]", p_yes=0.9)
    events = chain(llm).stream("Who welcomed Putin?")
    first = next(events)
    assert isinstance(first, Sources) and first.context and llm.checks == [] and llm.calls == []
    assert isinstance(next(events), Delta) and len(llm.checks) == 1


@pytest.mark.parametrize(("name", "make", "reason"), [
    ("weak retrieval", lambda: chain(ScriptedLLM(), FixedRetriever(score=0.01)), "weak_retrieval"),
    ("check", lambda: chain(ScriptedLLM(p_yes=0.05), second_hop=False), "check"),
    ("model declines", lambda: chain(ScriptedLLM("I don't know.")), "model"),
])
def test_a_refusal_is_sources_one_delta_and_final(name, make, reason) -> None:
    events = list(make().stream("Who welcomed Putin at the hotel?"))
    text, ans = played(events)
    assert [type(e) for e in events] == [Sources, Delta, Final], name
    assert text == ans.answer and not ans.answerable and ans.refusal_reason == reason
    if reason == "weak_retrieval":
        assert events[0].retrieved and events[0].context == []  # nothing read


def test_a_rejected_reply_is_replaced_after_its_deltas() -> None:
    llm = ScriptedLLM("Sunny and warm weather all week in the capital city.", p_yes=0.9)
    events = list(chain(llm).stream("What was the weather in Tehran?"))
    text, ans = played(events)
    kinds = [type(e) for e in events]
    assert kinds[0] is Sources and kinds[-2:] == [Replace, Final] and Delta in kinds
    assert text == ans.answer and ans.refusal_reason == "unsupported" and ans.rejected.startswith("Sunny")


def test_a_yes_no_answer_built_without_generating_is_one_delta() -> None:
    llm = ScriptedLLM(p_yes=0.9)
    events = list(chain(llm).stream("Was Putin welcomed at Mehrabad airport by Ebrahim Raisi?"))
    text, ans = played(events)
    assert llm.calls == [] and text == ans.answer and ans.answer.startswith("No. ") and ans.verdict


def test_a_second_hop_that_changes_the_passages_sends_new_sources_before_any_text() -> None:
    llm = ScriptedLLM("Javad Owji [1]", p_yes=[0.5, 0.8])
    events = list(chain(llm, TwoPassageRetriever(), missing_name_hop_shapes=["factoid"]).stream(
        "Who welcomed Putin, whom Erdogan followed to Tehran?"))
    _, ans = played(events)
    sources = [e for e in events if isinstance(e, Sources)]
    assert len(sources) == 2 and len(sources[1].retrieved) > len(sources[0].retrieved)
    assert sources[-1].retrieved == ans.retrieved and sources[-1].context == ans.context


def test_the_question_is_checked_when_the_stream_is_asked_for() -> None:
    retriever = FixedRetriever()
    with pytest.raises(QuestionError, match="empty"):
        chain(ScriptedLLM(), retriever).stream("   ")  # not iterated
    events = chain(ScriptedLLM("Javad Owji [1]"), retriever).stream("Who welcomed Putin?")
    assert retriever.queries == []  # nothing runs until the first event is read
    assert final_answer(events).answerable and retriever.queries == ["Who welcomed Putin?"]


def test_final_answer_needs_a_final_event() -> None:
    with pytest.raises(RuntimeError, match="without an answer"):
        final_answer([Delta(text="Hi")])


# ---- over HTTP


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    comps = Components(
        Settings(
            _env_file=None,
            store={"persist_dir": tmp_path_factory.mktemp("store"), "collection": "contract"},
            answer={"max_question_chars": 300},
        ),
        embedder=HashEmbedder(),
        llm=ServerLLM(),
    )
    comps.ingestor.ingest_paths([SEED_DOC])
    with TestClient(create_app(comps, with_ui=False)) as c:
        yield c


def test_answer_stream_sends_the_sources_before_any_text(client) -> None:
    r = client.post("/v1/answer", json={"question": "Who welcomed Putin at the airport?", "stream": True})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    kinds = [k for k, _ in events]
    assert kinds[0] == "sources" and kinds[-1] == "answer" and "delta" in kinds
    assert kinds.index("delta") > max(i for i, k in enumerate(kinds) if k == "sources")
    sources, final = events[0][1], events[-1][1]
    assert set(sources) == {"query", "shape", "retrieved", "context"}
    assert sources["retrieved"] == final["retrieved"] and sources["context"] == final["context"]
    assert any("Javad Owji" in c["text"] for c in sources["context"])
    assert "".join(d["text"] for k, d in events if k == "delta") == final["answer"]


def test_answer_json_is_the_declared_response_model(client) -> None:
    from rag.web.api.models import AnswerResponse

    body = client.post("/v1/answer", json={"question": "Who welcomed Putin at the airport?"}).json()
    assert AnswerResponse.model_validate(body).answerable and "Javad Owji" in body["answer"]


def test_chat_completion_bodies_are_openai_types(client) -> None:
    req = {"model": "rag", "messages": [{"role": "user", "content": "Who welcomed Putin at the airport?"}]}
    whole = ChatCompletion.model_validate(client.post("/v1/chat/completions", json=req).json())
    assert "Javad Owji" in whole.choices[0].message.content and whole.model_extra["citations"]
    streamed = client.post("/v1/chat/completions", json=req | {"stream": True}).text
    chunks = [ChatCompletionChunk.model_validate(json.loads(line[6:])) for line in streamed.splitlines()
              if line.startswith("data: {")]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole.choices[0].message.content


@pytest.mark.parametrize("method", ["TRACE", "PUT", "PATCH"])
def test_an_unsupported_method_on_an_api_path_is_405_with_allow(client, method) -> None:
    r = client.request(method, "/v1/answer")
    assert r.status_code == 405 and r.headers["allow"] == "POST" and r.json()["error"]["code"]


# ---- the OpenAPI schema


@pytest.fixture(scope="module")
def spec(client) -> dict:
    return client.get("/openapi.json").json()


def _body_schema(op: dict, status: str = "200", media: str = "application/json") -> dict:
    return op["responses"][status]["content"][media]["schema"]


def test_openapi_declares_the_answer_and_chat_response_bodies(spec) -> None:
    schemas = spec["components"]["schemas"]
    answer = spec["paths"]["/v1/answer"]["post"]
    assert _body_schema(answer) == {"$ref": "#/components/schemas/AnswerResponse"}
    assert {"answer", "answerable", "citations", "retrieved", "context", "usage"} <= set(
        schemas["AnswerResponse"]["required"])
    events = _body_schema(answer, media="text/event-stream")
    assert set(events["properties"]["event"]["enum"]) == {"sources", "delta", "replace", "answer", "error"}
    assert "SourcesEvent" in schemas and "TextEvent" in schemas
    chat = spec["paths"]["/v1/chat/completions"]["post"]
    assert _body_schema(chat) == {"$ref": "#/components/schemas/RagChatCompletion"}
    completion = schemas["RagChatCompletion"]
    assert {"id", "choices", "created", "model", "object", "citations"} <= set(completion["required"])
    assert "RagChatCompletionChunk" in schemas and _body_schema(chat, media="text/event-stream")
    assert not any(p.startswith("/_schema") for p in spec["paths"])


def test_openapi_declares_every_error_status_with_its_body(spec) -> None:
    chat = spec["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert {"200", "400", "404", "422", "503"} <= set(chat)
    assert _body_schema(spec["paths"]["/v1/answer"]["post"], "422") == {"$ref": "#/components/schemas/ErrorResponse"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # errors are {"error": ...}, not FastAPI's
    for path, item in spec["paths"].items():
        for method, op in item.items():
            ok = [s for s in op["responses"] if s.startswith("2")]
            assert ok and all(op["responses"][s].get("content") for s in ok), (method, path)


def test_openapi_declares_what_the_server_enforces(spec) -> None:
    top_k = spec["components"]["schemas"]["AnswerRequest"]["properties"]["top_k"]["anyOf"][0]
    assert top_k == {"type": "integer", "minimum": 1, "maximum": 50}
    question = spec["components"]["schemas"]["AnswerRequest"]["properties"]["question"]
    assert question["minLength"] == 1 and question["maxLength"] == 300
    blank = re.compile(question["pattern"])
    # as str.split() sees it, and what shows nothing (zero-width, bidi controls) is blank too
    assert all(bool(blank.search(c)) != (c.isspace() or not visible(c)) for c in map(chr, range(0x3100)))
    upload = spec["paths"]["/v1/documents"]["post"]["requestBody"]
    body = upload["content"]["multipart/form-data"]["schema"]
    body = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]] if "$ref" in body else body
    assert upload["required"] and "files" in body["required"] and body["properties"]["files"]["minItems"] == 1


@pytest.mark.parametrize(("question", "status"), [("", 400), ("   ", 400), ("why " * 76, 400), ("x" * 300, 200)])
def test_the_question_limits_are_the_declared_ones(client, question, status) -> None:
    assert client.post("/v1/answer", json={"question": question}).status_code == status


@pytest.mark.parametrize(("body", "status"), [({"stream": 0}, 422), ({"stream": "true"}, 422), ({"top_k": "3"}, 422),
                                              ({"top_k": True}, 422), ({"top_k": 2.5}, 422), ({"top_k": 3.0}, 200)])
def test_values_are_taken_in_the_types_the_schema_declares(client, body, status) -> None:
    """JSON Schema's types, not pydantic's lax ones: no number or boolean from a string, but 3.0 is an integer."""
    r = client.post("/v1/answer", json={"question": "Who welcomed Putin?"} | body)
    assert r.status_code == status, r.text
    chat = {"messages": [{"role": "user", "content": "Who welcomed Putin?"}]} | body
    assert client.post("/v1/chat/completions", json=chat).status_code == status
