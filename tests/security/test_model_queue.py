"""Issue #32, item 6: one request cannot hold the model, and the queue is bounded. A request's history is cut to
a token budget, a question that cannot fit the model's context is refused (400), past N answers waiting a
request gets 429 with Retry-After, each client has an answer rate, and /health answers while the queue is full."""

from __future__ import annotations

import threading

import anyio.to_thread
from fastapi.testclient import TestClient

from rag.text.tokens import count_tokens
from rag.web.server import create_app
from tests.security.conftest import QUESTION, GatedLLM, RecordingLLM, make_comps


def test_a_long_history_is_cut_to_its_token_budget(tmp_path) -> None:
    llm = RecordingLLM()
    comps = make_comps(tmp_path, model=llm, answer={"history_tokens": 200})
    history = [{"role": r, "content": f"turn {i} " + "about the airport and the minister " * 200}
               for i in range(10) for r in ("user", "assistant")]
    with TestClient(create_app(comps, with_ui=False)) as client:
        r = client.post("/v1/answer", json={"question": "Who welcomed him there?", "history": history})
    assert r.status_code == 200, r.text
    condense = next(p for p in llm.prompts if "Rewritten question:" in p[-1]["content"])
    assert count_tokens(condense[-1]["content"]) < 200 + 150  # the budget, plus the template and the question


def test_a_question_that_cannot_fit_the_context_is_400_before_the_model(tmp_path) -> None:
    llm = RecordingLLM()
    comps = make_comps(tmp_path, model=llm, llm={"n_ctx": 512})
    with TestClient(create_app(comps, with_ui=False)) as client:
        r = client.post("/v1/answer", json={"question": "Who welcomed " + "Putin and " * 190 + "him?"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "context_too_long"
    assert llm.prompts == []


def _answer(client: TestClient, out: list) -> threading.Thread:
    thread = threading.Thread(target=lambda: out.append(client.post("/v1/answer", json={"question": QUESTION})),
                              daemon=True)
    thread.start()
    return thread


def test_past_max_waiting_an_answer_is_429_with_retry_after(tmp_path) -> None:
    llm = GatedLLM()
    comps = make_comps(tmp_path, model=llm, server={"max_waiting": 1, "rate_per_minute": 0})
    with TestClient(create_app(comps, with_ui=False)) as client:
        first: list = []
        holder = _answer(client, first)
        assert llm.started.acquire(timeout=20)  # the model is busy with it
        second: list = []
        _answer(client, second).join(10)
        llm.gate.set()
        holder.join(20)
    assert second and second[0].status_code == 429, second
    assert second[0].json()["error"]["code"] == "queue_full" and int(second[0].headers["retry-after"]) > 0
    assert first[0].status_code == 200


def test_each_client_has_an_answer_rate(tmp_path) -> None:
    comps = make_comps(tmp_path, server={"rate_per_minute": 1, "rate_burst": 2})
    with TestClient(create_app(comps, with_ui=False)) as client:
        codes = [client.post("/v1/answer", json={"question": QUESTION}).status_code for _ in range(2)]
        limited = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]})
    assert codes == [200, 200]
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert 30 <= int(limited.headers["retry-after"]) <= 60


def test_health_answers_while_every_worker_thread_holds_an_answer(tmp_path) -> None:
    llm = GatedLLM()
    comps = make_comps(tmp_path, model=llm, server={"rate_per_minute": 0})
    with TestClient(create_app(comps, with_ui=False)) as client:
        client.portal.call(lambda: setattr(anyio.to_thread.current_default_thread_limiter(), "total_tokens", 2))
        held: list = []
        threads = [_answer(client, held) for _ in range(2)]
        for _ in threads:
            assert llm.started.acquire(timeout=20)
        health: list = []
        probe = threading.Thread(target=lambda: health.append(client.get("/health")), daemon=True)
        probe.start()
        probe.join(5)
        answered_while_full = list(health)
        llm.gate.set()
        for t in threads:
            t.join(20)
    assert answered_while_full and answered_while_full[0].status_code == 200
    assert answered_while_full[0].json()["store"] is True
