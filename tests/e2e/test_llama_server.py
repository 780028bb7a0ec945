"""The OpenAI-compatible backend against a real server: llama-cpp-python's own (`python -m llama_cpp.server`)
on loopback with the default packaged model (the one the check and prompts were tuned for), called through
our `openai`-client backend."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rag.answer.prompting import check_messages
from rag.backends.weights import ensure_model
from rag.components import Components
from rag.config import overridden
from rag.types import Delta, Final
from tests.e2e.conftest import free_port, wait_http

QUESTIONS = [("Which gas fields does the Gazprom agreement cover?", "North Pars"),
             ("Which two countries applied to join NATO in May?", "Finland")]


@pytest.fixture(scope="module")
def llama_server(e2e_settings):
    model = ensure_model("qwen2.5-coder-1.5b", e2e_settings.llm.cache_dir)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host",
                             "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--model_alias", "qwen-small"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        wait_http(base + "/models", "llama_cpp.server")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _remote(comps: Components, base_url: str, stream: bool) -> Components:
    return Components(overridden(comps.settings, {
        "llm.backend": "openai", "llm.openai_base_url": base_url, "llm.model": "qwen-small",
        "llm.openai_api_key": "unused", "llm.openai_stream": stream}), store=comps.store, embedder=comps.embedder,
        prompts=comps.prompts, keyword_index=comps.keyword_index)


@pytest.mark.parametrize("stream", [True, False], ids=["streaming", "one-reply"])
def test_seed_questions_through_a_llama_cpp_server(llama_server, comps, stream: bool) -> None:
    remote = _remote(comps, llama_server, stream)
    assert remote.llm.name == "qwen-small"
    for question, fact in QUESTIONS:
        items = list(remote.chain.stream(question))
        assert isinstance(items[-1], Final)
        ans = items[-1].answer
        assert ans.answerable and fact in ans.answer, (question, ans.answer, ans.refusal_reason, ans.check,
                                                        ans.rejected)
        assert "".join(i.text for i in items[:-1] if isinstance(i, Delta)) == ans.answer
        # the check (asked only for a step that reads it, none by default) is read from logprobs, not a word
        p_yes = remote.llm.yes_probability(check_messages(remote.prompts, question, ans.context, ans.shape))
        assert p_yes is not None and 0.0 < p_yes < 1.0
        assert any(fact in c.quote for c in ans.citations)
        assert ans.usage.prompt_tokens > 0 and ans.usage.completion_tokens > 0


def test_unreachable_llm_server_is_a_clear_error_and_the_api_keeps_serving(comps) -> None:
    from fastapi.testclient import TestClient

    from rag.web.server import create_app

    dead = free_port()  # nothing listens here once the probe socket is closed
    remote = _remote(comps, f"http://127.0.0.1:{dead}/v1", True)
    remote.settings.llm.openai_timeout = 5.0
    with TestClient(create_app(remote, with_ui=False)) as http:
        resp = http.post("/v1/answer", json={"question": "At which airport did Putin's plane land?"})
        assert resp.status_code == 503, resp.text
        err = resp.json()["error"]
        assert err["code"] == "llm_unavailable" and f"127.0.0.1:{dead}" in err["message"]
        assert http.get("/health").status_code == 200
        assert http.get("/v1/documents").json()["data"], "the collection is untouched"
