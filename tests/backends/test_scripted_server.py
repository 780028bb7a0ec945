"""The test back ends, chosen by settings (`RAG_LLM__BACKEND=scripted`, `RAG_EMBED__BACKEND=hash`): the real
`rag serve` starts without a model and answers a question with a cited answer, in seconds."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from rag.backends.embedder import build_embedder
from rag.backends.fakes import HashEmbedder, ScriptedLLM
from rag.backends.llm import build_llm
from rag.config import overridden
from rag.ingest.loaders import load_file
from tests.conftest import ROOT, SEED_DOC, stop_process


def test_settings_choose_the_test_back_ends(settings) -> None:
    fast = overridden(settings, {"llm.backend": "scripted", "embed.backend": "hash"})
    assert isinstance(build_llm(fast), ScriptedLLM) and isinstance(build_embedder(fast), HashEmbedder)


def test_the_hash_embedder_is_deterministic_and_normalised() -> None:
    a, b = HashEmbedder(), HashEmbedder()
    v = a.embed_query("The Zorblat reactor in Vellmar")
    assert v == b.embed_documents(["The Zorblat reactor in Vellmar"])[0] and len(v) == 256
    assert abs(sum(x * x for x in v) - 1.0) < 1e-9
    near = sum(x * y for x, y in zip(v, a.embed_query("Where is the Zorblat reactor?"), strict=True))
    far = sum(x * y for x, y in zip(v, a.embed_query("Quinces ripen late in autumn"), strict=True))
    assert near > far


def test_the_scripted_llm_copies_the_best_sentence_with_its_marker() -> None:
    llm = ScriptedLLM(p_yes=0.3)
    prompt = ("Passages:\n[1] The reactor produces forty megawatts. It is in Vellmar.\n\n"
              "[2] The reactor was commissioned by engineer Ilsa Brandt in 1998.\n\n"
              "Question: Who commissioned the reactor? Format: short phrase.")
    usage: dict[str, int] = {}
    reply = "".join(llm.stream_chat([{"role": "user", "content": prompt}], 64, 0.0, usage))
    assert reply == "The reactor was commissioned by engineer Ilsa Brandt in 1998 [2]."
    assert usage["completion_tokens"] > 0
    nothing = prompt.replace("Who commissioned the reactor?", "Why do quinces ripen late?")
    assert "".join(llm.stream_chat([{"role": "user", "content": nothing}], 64, 0.0)) == "I don't know."
    assert llm.yes_probability([]) == 0.3
    llm.p_yes = None
    assert llm.yes_probability([]) is None
    rewrite = ("Conversation:\nUser: What is the Quintor bridge?\nAssistant: A bridge [1].\n\n"
               "Last question: When was it built?\nRewritten question:")
    assert llm.rewrite(rewrite) == "When was it built (What is the Quintor bridge)?"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_rag_serve_answers_with_citations_without_a_model(tmp_path) -> None:
    port = _free_port()
    offline = {"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "GRADIO_ANALYTICS_ENABLED", "TIKTOKEN_CACHE_DIR"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_") and k not in offline}  # `rag` sets them
    env.update(RAG_LLM__BACKEND="scripted", RAG_EMBED__BACKEND="hash", RAG_STORE__PERSIST_DIR=str(tmp_path / "store"),
               RAG_SERVER__PORT=str(port), RAG_SERVER__SHUTDOWN_GRACE="1",
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p))
    log = tmp_path / "stderr.txt"  # a file, not a pipe: -X importtime writes more than a pipe holds
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "rag.cli", "serve"], cwd=tmp_path,
                                env=env, stdout=subprocess.DEVNULL, stderr=err)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # seeds the empty store first (hash embeddings: a second or two)
            if proc.poll() is not None:
                pytest.fail(f"rag serve exited {proc.returncode}: {log.read_text()[-3000:]}")
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("rag serve did not start")
        health = httpx.get(base + "/health").json()
        assert health["status"] == "ok" and health["model"] == "scripted" and health["chunks"] > 0
        assert httpx.get(base + "/", timeout=30).status_code == 200  # the chat page is served too
        # a method an API path does not take is 405, though the chat page is mounted at "/"
        trace = httpx.request("TRACE", base + "/v1/answer", timeout=10)
        assert trace.status_code == 405 and trace.headers["allow"] == "POST", trace.text
        r = httpx.post(base + "/v1/answer", json={"question": "Who welcomed Putin at the airport?"}, timeout=60)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["answerable"] and "Javad Owji [1]" in body["answer"], body
        cite = body["citations"][0]
        assert cite["marker"] == 1 and cite["doc_id"].startswith("putin-tehran-visit")
        assert "Javad Owji" in cite["quote"] and load_file(SEED_DOC).text[cite["start"]:cite["end"]] == cite["quote"]
        refused = httpx.post(base + "/v1/answer", json={"question": "What is the capital of Peru?"}, timeout=60)
        assert refused.status_code == 200 and not refused.json()["answerable"]
    finally:
        stop_process(proc)
    err = log.read_text()
    assert proc.returncode == -signal.SIGTERM, err[-3000:]  # stopped by the signal it got, as uvicorn is
    imported = {line.split("|")[-1].strip() for line in err.splitlines() if line.startswith("import time:")}
    assert not imported & {"torch", "sentence_transformers", "llama_cpp"}, "no model library is loaded"
