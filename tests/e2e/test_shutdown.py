"""`rag serve` stops on SIGTERM (what systemd and container runtimes send) within 5 s while a chat page is
open, a question waits on the LLM and an upload is being embedded; the upload it cut off is left repairable.

A real `rag serve` child on a free loopback port with the real MiniLM embedder and embedded Chroma store;
the LLM is the OpenAI-compatible backend pointed at a loopback socket that accepts and never answers, so a
question hangs in the model call the way a long generation does, and no model has to be loaded."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from rag.components import Components
from rag.config import Settings
from rag.ingest.chunker import chunk_document
from rag.ingest.loaders import load_bytes
from tests.conftest import ROOT, SEED_DOC
from tests.e2e.conftest import free_port, wait_http

pytestmark = pytest.mark.e2e

STOP_WITHIN_S = 5.0


def _big_upload() -> bytes:
    """Some 90 copies of the seed article: embedding it takes several seconds (bfloat16 too), so SIGTERM lands
    mid-way."""
    text = SEED_DOC.read_text(encoding="utf-8")
    return "\n\n".join(f"Copy {i}.\n\n" + text.replace("Putin", f"Putin-{i}") for i in range(90)).encode()


def test_sigterm_stops_serve_within_5_s_with_a_page_open_and_leaves_the_upload_repairable(tmp_path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "anzali.txt").write_text("The port of Anzali lies on the Caspian Sea. It handles grain from Russia.\n")
    silent_llm = socket.socket()  # accepts connections (the kernel's backlog) and never answers
    silent_llm.bind(("127.0.0.1", 0))
    silent_llm.listen(16)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(
        RAG_STORE__PERSIST_DIR=str(tmp_path / "store"),
        RAG_STORE__COLLECTION="stop",
        RAG_STORE__SEEDS_DIR=str(seeds),
        RAG_LLM__BACKEND="openai",
        RAG_LLM__OPENAI_API_KEY="unused",
        RAG_LLM__OPENAI_TIMEOUT="600",
        RAG_LLM__OPENAI_BASE_URL=f"http://127.0.0.1:{silent_llm.getsockname()[1]}/v1",
        RAG_EMBED__BATCH_SIZE="8",
        RAG_RETRIEVAL__MIN_COVERAGE="0",
        HF_HUB_OFFLINE="1",
    )
    server = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port)], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    results: dict[str, object] = {}
    try:
        wait_http(base + "/health", "rag serve", tries=900)
        page = httpx.Client(base_url=base, timeout=None)
        assert page.get("/").status_code == 200, "the chat page"
        alive = threading.Event()

        def heartbeat() -> None:  # what an open chat page holds: Gradio's session heartbeat stream
            try:
                with page.stream("GET", "/gradio_api/heartbeat/e2e-open-page") as resp:
                    for chunk in resp.iter_text():
                        if "ALIVE" in chunk:
                            alive.set()
            except httpx.HTTPError as exc:
                results["heartbeat"] = exc
            else:
                results["heartbeat"] = "closed"

        def ask() -> None:  # a question waiting on the model
            try:
                with httpx.stream("POST", base + "/v1/answer", timeout=None,
                                  json={"question": "Which sea does Anzali lie on?", "stream": True}) as resp:
                    resp.read()
                    results["ask"] = resp.status_code
            except httpx.HTTPError as exc:
                results["ask"] = exc

        def upload() -> None:
            try:
                resp = httpx.post(base + "/v1/documents", timeout=None,
                                  files=[("files", ("big.txt", _big_upload(), "text/plain"))])
                results["upload"] = (resp.status_code, resp.json())
            except httpx.HTTPError as exc:
                results["upload"] = exc

        threads = [threading.Thread(target=f, daemon=True) for f in (heartbeat, ask, upload)]
        for t in threads:
            t.start()
        assert alive.wait(30), "the heartbeat stream did not open"
        time.sleep(3)  # the question reaches the silent model; the upload is being embedded
        assert server.poll() is None
        assert "ask" not in results and "upload" not in results, f"both must still be running: {results}"
        t0 = time.perf_counter()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        finally:
            took = time.perf_counter() - t0
        print(f"SIGTERM to exit: {took:.2f} s")
        assert took < STOP_WITHIN_S, f"rag serve took {took:.1f} s to stop after SIGTERM"
        assert server.returncode in (0, -signal.SIGTERM), server.stdout.read() if server.stdout else ""
        for t in threads:
            t.join(5)
        assert results.get("heartbeat") == "closed", results
        status, body = results["upload"]  # type: ignore[misc]
        assert status == 503 and "server is stopping" in body["error"]["message"], results["upload"]
    finally:
        if server.poll() is None:
            server.kill()
        silent_llm.close()

    settings = Settings(_env_file=None, store={"persist_dir": tmp_path / "store", "collection": "stop"})
    comps = Components(settings)
    records = comps.store.doc_records()
    states = {r.source: r.state for r in records.values()}
    assert states.pop("upload:big.txt") == "writing" and set(states.values()) == {"complete"}, records
    assert comps.unfinished_documents() == ["upload:big.txt"]
    doc = load_bytes(_big_upload(), "big.txt", source="upload:big.txt", source_key="upload:big.txt")
    assert comps.store.ids_for_document(doc.doc_id) == set(), "nothing half-written"
    comps.ingestor.ingest_upload(_big_upload(), "big.txt")  # the repair: add it again
    expected = {c.id for c in chunk_document(doc, settings.ingest.chunk_size, settings.ingest.chunk_overlap)}
    assert comps.store.ids_for_document(doc.doc_id) == expected
    assert comps.unfinished_documents() == []
