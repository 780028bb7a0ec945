"""Soak: a real `rag serve` on loopback under questions and document churn at once, then the checks.

    python -m benchmarks.soak [--duration 300] [--askers 16] [--writers 4] [--hostile 2] [--docs PATH ...]
    python -m benchmarks.soak --levels 1,2,4,8 --duration 60   # latency per number of concurrent users
    python -m benchmarks.soak --fake-llm --duration 20         # the machinery in seconds, without the model

Starts `rag serve` as a child process on 127.0.0.1 (a free port) over a temporary store that it seeds
with a copy of the documents (default: seeds/ and the first squad-dev-13 articles), waits until it is
ready (store seeded, model loaded), then for `--duration` seconds:
- `--askers` clients ask questions through every answering route (`/v1/answer` plain and streamed,
  `/v1/chat/completions` plain and streamed), about the seeded documents and about the writers' ones;
- `--writers` clients upload, re-upload (changed content), re-ingest, list and delete documents of their
  own through the documents API, and check after each step that the API lists what they wrote;
- `--hostile` clients send what a careless or hostile client sends: an upload over the request's byte limit
  (headers and its first 64 KB, then they wait: the server must answer 413 before reading the rest), a file
  that is not what its name says (random bytes as `.docx`: 400/413/415/422), and malformed JSON (400/422).
  Each must get its 4xx, fast, and the others must not notice.

Every response is recorded (route, status, latency; the answer's citations and timings). Then the clients
stop (requests in flight are finished), the server is sent SIGTERM, and the data folder is opened in this
process to check:
- no response of 500 or more, no failed request, no stream that ended in an error event;
- the Chroma store, the saved BM25 index and the document records agree chunk id for chunk id, with no
  lost chunk and no duplicate, and each document holds exactly the chunks of its last version;
- every citation points at a document that existed while the question was answered: a version of it that
  was live at some moment between the request's start and end holds the quote at the cited offsets.

Prints a table (p50, p95, count, errors per route; the answers' retrieve, check, queue and generate times)
and writes benchmarks/results/soak-<date>.json and .md; exits 1 when any check fails.

`--levels 1,2,4,8` instead runs, one level after the other on one server, N users asking questions through
`/v1/answer` for `--duration` seconds each (no writers) and reports p50/p95 of the total latency per level.
`--fake-llm` answers with an extractive stand-in on a loopback port (the OpenAI-compatible backend) instead
of the model: the same server, writers and checks, in seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import SQUAD_DOCS, p50_p95, table, write
from rag.config import PROJECT_ROOT

HOST = "127.0.0.1"  # every request of this benchmark goes to loopback
COLLECTION = "soak"
ANSWER_ROUTES = ["POST /v1/answer", "POST /v1/answer (stream)", "POST /v1/chat/completions",
                 "POST /v1/chat/completions (stream)"]
TIMING_PARTS = ["retrieve_ms", "check_ms", "queue_ms", "generate_ms", "total_ms"]
INF = float("inf")


# ---------------------------------------------------------------------------------------------------------
# What the clients record


@dataclass
class Call:
    """One request: which route, its status (None: no response), when it started and ended (perf_counter
    seconds), and for a question the answer's citations and timings."""

    route: str
    start: float
    end: float = 0.0
    status: int | None = None
    error: str | None = None
    answerable: bool | None = None
    citations: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ms(self) -> float:
        return (self.end - self.start) * 1000


@dataclass
class DocEvent:
    """A writer's upload or delete of one document. `ok` False: the outcome is unknown (an error), so the
    checks treat the version as possibly live and the delete as possibly not done."""

    name: str
    doc_id: str
    kind: str  # "upload" or "delete"
    start: float
    end: float
    ok: bool
    text: str = ""  # the version's normalised text (uploads)
    chunk_ids: frozenset[str] = frozenset()  # the chunk ids this version is stored as


@dataclass
class Log:
    calls: list[Call] = field(default_factory=list)
    events: list[DocEvent] = field(default_factory=list)
    live_problems: list[str] = field(default_factory=list)  # what the writers saw through the API mid-run


# ---------------------------------------------------------------------------------------------------------
# The documents and the questions


@dataclass
class Corpus:
    base_files: list[Path]  # seeded before the server starts; never changed by the writers
    writer_paragraphs: list[list[str]]  # per writer, the paragraphs its documents are cut from
    questions: list[str]  # about the base documents
    writer_questions: list[str]  # about the writers' documents (their citations point at churning documents)


def _paragraphs(text: str, min_words: int = 25) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if len(p.split()) > min_words]


def _gold(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def build_corpus(docs: list[Path] | None, squad: Path, base_articles: int, writers: int,
                 writer_paragraphs: int = 10) -> Corpus:
    """The base documents and questions about them; per writer, the first `writer_paragraphs` paragraphs of
    an article not among them, and the questions whose evidence is one of those paragraphs."""
    from rag.ingest.loaders import SUPPORTED_SUFFIXES, iter_files

    articles = sorted(squad.glob("*.txt")) if squad.is_dir() else []
    if docs:
        base = [p for p in iter_files(docs) if p.suffix.lower() in SUPPORTED_SUFFIXES]
    else:
        base = [p for p in sorted((PROJECT_ROOT / "seeds").iterdir()) if p.suffix.lower() in SUPPORTED_SUFFIXES]
        base += articles[:base_articles]
    if not base:
        raise SystemExit("no documents to seed the server with")
    names = {p.name for p in base}
    spare = [a for a in articles if a.name not in names] or base  # the writers' material
    writer_articles = [spare[w % len(spare)] for w in range(writers)]
    paragraphs = [_paragraphs(a.read_text(encoding="utf-8", errors="replace"))[:writer_paragraphs]
                  for a in writer_articles]
    gold = [g for g in _gold(PROJECT_ROOT / "seeds" / "gold.jsonl") + _gold(squad.parent / "gold.jsonl")
            if not g.get("unanswerable")]
    questions = [g["question"] for g in gold if g.get("doc") in names]
    held = {" ".join(p.split()) for ps in paragraphs for p in ps}
    writer_questions = [g["question"] for g in gold if " ".join(str(g.get("evidence", "")).split()) in held]
    if not questions:  # documents of the user's own: ask about their titles
        questions = [f"What does the document say about {p.stem.replace('_', ' ')}?" for p in base]
    return Corpus(base, paragraphs, questions, writer_questions or questions)


def upload_id(name: str) -> str:
    from rag.ingest.loaders import make_doc_id

    return make_doc_id(name, f"upload:{name}")


def upload_doc(name: str, data: bytes):
    """The document an upload of `data` named `name` becomes on the server (same loader and doc id)."""
    from rag.ingest.loaders import load_bytes

    return load_bytes(data, name, source=f"upload:{name}", source_key=f"upload:{name}")


def chunk_ids(doc, settings) -> frozenset[str]:
    from rag.ingest.chunker import chunk_document

    return frozenset(c.id for c in chunk_document(doc, settings.ingest.chunk_size, settings.ingest.chunk_overlap))


# ---------------------------------------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(data: Path, seeds: Path, port: int, env_extra: dict[str, str] | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        RAG_STORE__PERSIST_DIR=str(data / "store"),
        RAG_STORE__COLLECTION=COLLECTION,
        RAG_STORE__SEEDS_DIR=str(seeds),
        RAG_SERVER__HOST=HOST,
        RAG_SERVER__PORT=str(port),
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        NO_PROXY=f"{HOST},localhost",
        no_proxy=f"{HOST},localhost",
    )
    # every client of this benchmark comes from 127.0.0.1: the per-client rate limit would throttle the load it
    # is here to measure, and the queue must hold every asker. The request byte cap is small, so the hostile
    # clients' oversized uploads cost little to send.
    env.update(RAG_SERVER__RATE_PER_MINUTE="0", RAG_SERVER__MAX_WAITING="256", RAG_SERVER__MAX_UPLOAD_MB="4")
    env.pop("RAG_SERVER__API_TOKEN", None)
    env.pop("RAG_STORE__CHROMA_HOST", None)  # the checks open the embedded store in the data folder
    env.update(env_extra or {})
    log = (data / "server.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--host", HOST, "--port", str(port)],
                            env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)


def log_tail(data: Path, lines: int = 30) -> str:
    try:
        return "\n".join((data / "server.log").read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_ready(base: str, proc: subprocess.Popen, data: Path, timeout: float = 900.0) -> float:
    """Seconds until /health says the store is up and the model loaded."""
    t0 = time.perf_counter()
    with httpx.Client(trust_env=False, timeout=5) as client:
        while time.perf_counter() - t0 < timeout:
            if proc.poll() is not None:
                raise SystemExit(f"rag serve exited ({proc.returncode}) before it was ready:\n{log_tail(data)}")
            with contextlib.suppress(httpx.HTTPError):
                r = client.get(base + "/health")
                if r.status_code == 200 and r.json().get("model_loaded"):
                    return time.perf_counter() - t0
            time.sleep(0.5)
    raise SystemExit(f"rag serve was not ready after {timeout:.0f} s:\n{log_tail(data)}")


def stop_server(proc: subprocess.Popen, within: float = 30.0) -> float:
    """SIGTERM, as systemd would; seconds until it exited (killed after `within`)."""
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(within)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return time.perf_counter() - t0


class FakeLLM:
    """An OpenAI-compatible stand-in on loopback for `--fake-llm`: the check answers "yes"; an answer is the
    first sentence of passage [1] with its marker. One request at a time, as one model slot would."""

    def __init__(self, delay_s: float = 0.05) -> None:
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                with lock:
                    time.sleep(delay_s)
                reply = "yes" if (body.get("max_tokens") or 99) <= 2 else FakeLLM.reply(body.get("messages", []))
                out = json.dumps({"id": "fake", "object": "chat.completion", "created": 0, "model": "fake",
                                  "choices": [{"index": 0, "finish_reason": "stop",
                                               "message": {"role": "assistant", "content": reply}}],
                                  "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}})
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out.encode())))
                self.end_headers()
                self.wfile.write(out.encode())

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def reply(messages: list[dict]) -> str:
        user = messages[-1]["content"] if messages else ""
        m = re.search(r"\[1\] (.+?)(?:\n\n\[2\]|\n\nQuestion:|$)", user, re.S)
        if not m:
            return "I don't know."
        sentence = re.split(r"(?<=[.!?])\s", m.group(1).strip(), maxsplit=1)[0].rstrip(".!?")
        return f"{sentence} [1]."

    def env(self) -> dict[str, str]:
        return {"RAG_LLM__BACKEND": "openai", "RAG_LLM__OPENAI_BASE_URL": f"http://{HOST}:{self.port}/v1",
                "RAG_LLM__OPENAI_API_KEY": "unused", "RAG_LLM__MODEL": "fake", "RAG_LLM__OPENAI_STREAM": "false"}

    def close(self) -> None:
        self.server.shutdown()


# ---------------------------------------------------------------------------------------------------------
# The clients


def _sse(text: str) -> list[tuple[str, str]]:
    """(event, data) of each Server-Sent Event; an unnamed event is "message"."""
    out = []
    for block in text.replace("\r\n", "\n").strip().split("\n\n"):
        event, data = "message", []
        for line in block.splitlines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            out.append((event, "\n".join(data)))
    return out


def ask(client: httpx.Client, base: str, route: str, question: str) -> Call:
    """Ask through one of the answering routes and record the outcome."""
    call = Call(route, time.perf_counter())
    stream = route.endswith("(stream)")
    try:
        if route.startswith("POST /v1/answer"):
            r = client.post(base + "/v1/answer", json={"question": question, "stream": stream})
        else:
            r = client.post(base + "/v1/chat/completions", json={
                "model": "rag", "stream": stream, "messages": [{"role": "user", "content": question}]})
        call.end, call.status = time.perf_counter(), r.status_code
        if r.status_code != 200:
            call.error = f"{r.status_code}: {r.text[:200]}"
            return call
        final = _final_answer(route, r.text) if stream else r.json()
        if "error" in final:
            call.error = f"stream error: {json.dumps(final['error'])[:200]}"
            return call
        call.answerable = bool(final.get("answerable"))
        call.citations = [{k: c.get(k) for k in ("doc_id", "start", "end", "quote")}
                          for c in final.get("citations") or []]
        call.timings = {k: float(v) for k, v in (final.get("timings") or {}).items() if v is not None}
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        call.end = call.end or time.perf_counter()
        call.error = f"{type(exc).__name__}: {exc}"[:300]
    return call


def _final_answer(route: str, body: str) -> dict:
    """The whole answer object of a streamed reply, checking what the client was shown on the way."""
    events = _sse(body)
    if route.startswith("POST /v1/answer"):
        text, final = "", None
        for event, data in events:
            obj = json.loads(data)
            if event == "delta":
                text += obj["text"]
            elif event == "replace":
                text = obj["text"]
            elif event == "answer":
                final = obj
            elif event == "error":
                return obj
        if final is None:
            raise ValueError("the stream ended without an answer event")
        if text != final["answer"]:
            raise ValueError("the streamed text differs from the final answer")
        return final
    if not events or events[-1][1] != "[DONE]":
        raise ValueError("the stream did not end with [DONE]")
    content, last = "", {}
    for _, data in events[:-1]:
        obj = json.loads(data)
        if "error" in obj:
            return obj
        content += obj["choices"][0]["delta"].get("content") or ""
        last = obj
    if "citations" not in last:
        raise ValueError("the last chunk carries no citations")
    return last


def asker(i: int, base: str, pools: list[list[str]], stop: threading.Event, log: Log, routes: list[str],
          seed: int) -> None:
    """Asker `i`: one route (the i-th, cycling), questions from a pool picked at random, until `stop`."""
    rng = random.Random(seed * 1000 + i)
    route = routes[i % len(routes)]
    with httpx.Client(trust_env=False, timeout=httpx.Timeout(1800, connect=10)) as client:
        while not stop.is_set():
            log.calls.append(ask(client, base, route, rng.choice(rng.choice(pools))))


HOSTILE_ROUTES = ["POST /v1/documents (oversized)", "POST /v1/documents (malformed file)",
                  "POST /v1/answer (malformed JSON)"]
OVERSIZED_BYTES = 8 * 1024 * 1024  # twice the soak server's RAG_SERVER__MAX_UPLOAD_MB


def _oversized(base: str) -> int | None:
    """An upload declaring more bytes than the server takes: headers and the first 64 KB, then wait for the
    answer. The status line the server sends before the rest arrives, or None when it sends none."""
    host, port = base.removeprefix("http://").split(":")
    boundary = "soakboundary"
    head = (f"POST /v1/documents HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: multipart/form-data; "
            f"boundary={boundary}\r\nContent-Length: {OVERSIZED_BYTES}\r\nConnection: close\r\n\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.txt\"\r\n"
            "Content-Type: text/plain\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head + b"x" * 65536)
        reply = sock.recv(4096)
    line = reply.split(b"\r\n", 1)[0].decode("latin-1")
    match = re.match(r"HTTP/1\.[01] (\d{3})", line)
    return int(match.group(1)) if match else None


def hostile(i: int, base: str, stop: threading.Event, log: Log, seed: int) -> None:
    """Hostile client `i`: oversized uploads, files that are not what they claim, malformed JSON, in turn,
    until `stop`. A call is an error unless it gets the 4xx it deserves."""
    rng = random.Random(seed * 7919 + i)
    expected = {HOSTILE_ROUTES[0]: {413}, HOSTILE_ROUTES[1]: {400, 413, 415, 422}, HOSTILE_ROUTES[2]: {400, 422}}
    with httpx.Client(trust_env=False, timeout=httpx.Timeout(60, connect=10)) as client:
        n = 0
        while not stop.is_set():
            route = HOSTILE_ROUTES[n % len(HOSTILE_ROUTES)]
            n += 1
            call = Call(route, time.perf_counter())
            try:
                if route == HOSTILE_ROUTES[0]:
                    call.status = _oversized(base)
                elif route == HOSTILE_ROUTES[1]:
                    junk = rng.randbytes(4096)
                    call.status = client.post(base + "/v1/documents",
                                              files={"files": (f"hostile-{i}.docx", junk)}).status_code
                else:
                    call.status = client.post(base + "/v1/answer", content=b'{"question": "who', headers={
                        "content-type": "application/json"}).status_code
            except (httpx.HTTPError, OSError) as exc:
                call.error = f"{type(exc).__name__}: {exc}"[:300]
            call.end = time.perf_counter()
            if call.error is None and call.status not in expected[route]:
                call.error = f"expected {sorted(expected[route])}, got {call.status}"
            log.calls.append(call)
            stop.wait(rng.uniform(0.2, 1.0))


class Writer:
    """One writer client: its own documents (no other client touches them, so what the API lists for them
    is known exactly), each version a window of paragraphs that moves on every re-upload."""

    def __init__(self, w: int, base: str, paragraphs: list[str], log: Log, settings: Any, seed: int,
                 docs: int = 3, per_doc: int = 3, pause: float = 2.0) -> None:
        self.w, self.base, self.log, self.settings = w, base, log, settings
        self.paragraphs = paragraphs or ["This note has nothing to say and says it at some length, twice."] * 4
        self.rng = random.Random(seed * 1000 + 500 + w)
        self.names = [f"soak-w{w}-{k}.txt" for k in range(docs)]
        self.per_doc, self.pause = per_doc, pause
        self.version = dict.fromkeys(self.names, 0)
        self.live: dict[str, DocEvent | None] = dict.fromkeys(self.names)  # the last successful upload

    def text(self, name: str, version: int) -> str:
        k = self.names.index(name)
        n = len(self.paragraphs)
        start = (k * 7 + version) % max(1, n - self.per_doc + 1)
        body = "\n\n".join(self.paragraphs[start:start + self.per_doc])
        return f"Soak note {self.w}.{k}, version {version}\n\n{body}\n"

    def call(self, client: httpx.Client, route: str, method: str, url: str, **kw: Any) -> tuple[Call, Any]:
        call = Call(route, time.perf_counter())
        body = None
        try:
            r = client.request(method, self.base + url, **kw)
            call.end, call.status = time.perf_counter(), r.status_code
            body = r.json() if r.headers.get("content-type", "").startswith("application/json") else None
            if r.status_code >= 400:
                call.error = f"{r.status_code}: {r.text[:200]}"
        except (httpx.HTTPError, ValueError) as exc:
            call.end = call.end or time.perf_counter()
            call.error = f"{type(exc).__name__}: {exc}"[:300]
        self.log.calls.append(call)
        return call, body

    def upload(self, client: httpx.Client, name: str, changed: bool) -> None:
        self.version[name] += 1
        data = self.text(name, self.version[name]).encode()
        doc = upload_doc(name, data)
        ids = chunk_ids(doc, self.settings)
        route = "POST /v1/documents (changed)" if changed else "POST /v1/documents (new)"
        call, body = self.call(client, route, "POST", "/v1/documents", files={"files": (name, data, "text/plain")})
        ok = call.error is None
        if ok:
            got = (body or {}).get("data") or [{}]
            if got[0].get("id") != doc.doc_id or got[0].get("chunks") != len(ids):
                self.log.live_problems.append(f"{name}: upload answered {got[0]}, expected id {doc.doc_id} with "
                                              f"{len(ids)} chunks")
        event = DocEvent(name, doc.doc_id, "upload", call.start, call.end, ok, doc.text, ids)
        self.log.events.append(event)
        if ok:
            self.live[name] = event

    def delete(self, client: httpx.Client, name: str) -> None:
        doc_id = upload_id(name)
        call, body = self.call(client, "DELETE /v1/documents/{id}", "DELETE", f"/v1/documents/{doc_id}")
        ok = call.error is None
        self.log.events.append(DocEvent(name, doc_id, "delete", call.start, call.end, ok))
        if ok:
            expected = len(self.live[name].chunk_ids) if self.live[name] else None
            if expected is not None and (body or {}).get("chunks_removed") != expected:
                self.log.live_problems.append(f"{name}: delete removed {(body or {}).get('chunks_removed')} chunks, "
                                              f"expected {expected}")
            self.live[name] = None

    def reingest(self, client: httpx.Client, name: str) -> None:
        event = self.live[name]
        call, body = self.call(client, "POST /v1/documents/{id}/reingest", "POST",
                               f"/v1/documents/{event.doc_id}/reingest")
        if call.error is None and ((body or {}).get("chunks") != len(event.chunk_ids) or (body or {}).get("embedded")):
            self.log.live_problems.append(f"{name}: re-ingest of an unchanged file answered {body}")

    def list_and_check(self, client: httpx.Client) -> None:
        call, body = self.call(client, "GET /v1/documents", "GET", "/v1/documents")
        if call.error is not None:
            return
        listed = {d["id"]: d for d in (body or {}).get("data", [])}
        for name, event in self.live.items():
            doc_id = upload_id(name)
            if event is None and doc_id in listed:
                self.log.live_problems.append(f"{name}: deleted, yet listed with {listed[doc_id]['chunks']} chunks")
            elif event is not None and listed.get(doc_id, {}).get("chunks") != len(event.chunk_ids):
                self.log.live_problems.append(f"{name}: listed as {listed.get(doc_id)}, expected "
                                              f"{len(event.chunk_ids)} chunks")

    def run(self, stop: threading.Event) -> None:
        with httpx.Client(trust_env=False, timeout=httpx.Timeout(1800, connect=10)) as client:
            while not stop.is_set():
                name = self.rng.choice(self.names)
                r = self.rng.random()
                if self.live[name] is None:
                    self.upload(client, name, changed=False)
                elif r < 0.45:
                    self.upload(client, name, changed=True)
                elif r < 0.75:
                    self.delete(client, name)
                elif r < 0.85:
                    self.reingest(client, name)
                else:
                    self.list_and_check(client)
                stop.wait(self.rng.uniform(0, 2 * self.pause))


# ---------------------------------------------------------------------------------------------------------
# The checks


def live_versions(events: list[DocEvent]) -> dict[str, list[tuple[float, float, DocEvent]]]:
    """Per document id, each uploaded version with the interval it may have been live in: from the start of
    its upload to the end of the first later upload or delete that succeeded (one writer per document, so
    its events are in order). An upload that failed may still have been stored: it counts as live too."""
    by_doc: dict[str, list[DocEvent]] = defaultdict(list)
    for e in sorted(events, key=lambda e: e.start):
        by_doc[e.doc_id].append(e)
    out: dict[str, list[tuple[float, float, DocEvent]]] = {}
    for doc_id, evs in by_doc.items():
        spans = []
        for i, e in enumerate(evs):
            if e.kind != "upload":
                continue
            until = next((later.end for later in evs[i + 1:] if later.ok), INF)
            spans.append((e.start, until, e))
        out[doc_id] = spans
    return out


def check_citations(calls: list[Call], events: list[DocEvent], base_texts: dict[str, str]) -> dict[str, Any]:
    """Every citation's document existed during its request: a base document (never changed), or a version
    of a writer's document live at some moment of the request whose text holds the quote at the offsets."""
    versions = live_versions(events)
    problems: list[str] = []
    checked = answers = churning = 0
    for call in calls:
        if call.error is not None or call.route not in ANSWER_ROUTES or not call.citations:
            continue
        answers += 1
        for c in call.citations:
            checked += 1
            doc_id, quote, start, end = c["doc_id"], c["quote"] or "", c["start"], c["end"]
            if doc_id in base_texts:
                if base_texts[doc_id][start:end] != quote:
                    problems.append(f"{call.route}: {doc_id}[{start}:{end}] does not hold the quote {quote[:60]!r}")
                continue
            churning += 1
            spans = versions.get(doc_id)
            if not spans:
                problems.append(f"{call.route}: cites {doc_id}, a document no one uploaded")
                continue
            during = [e for s, u, e in spans if s <= call.end and u >= call.start]
            if not during:
                problems.append(f"{call.route}: cites {doc_id}, which did not exist during the request "
                                f"({call.start:.2f}-{call.end:.2f} s)")
            elif not any(e.text[start:end] == quote for e in during):
                problems.append(f"{call.route}: cites {doc_id}[{start}:{end}] {quote[:60]!r}, which no version "
                                "live during the request holds there")
    return {"ok": not problems, "answers_with_citations": answers, "citations": checked,
            "to_writers_documents": churning, "problems": problems}


def expected_chunks(events: list[DocEvent], base_ids: dict[str, frozenset[str]]) -> tuple[dict[str, frozenset[str]],
                                                                                          set[str]]:
    """The chunk ids each document should hold at the end, and the documents whose last outcome is unknown
    (a failed request): those are checked against their records only."""
    expected = dict(base_ids)
    unknown: set[str] = set()
    last: dict[str, DocEvent] = {}
    for e in sorted(events, key=lambda e: e.start):
        last[e.doc_id] = e
    for doc_id, e in last.items():
        if not e.ok:
            unknown.add(doc_id)
        elif e.kind == "upload":
            expected[doc_id] = e.chunk_ids
    return expected, unknown


def check_store(persist_dir: Path, collection: str, expected: dict[str, frozenset[str]] | None = None,
                unknown: set[str] = frozenset()) -> dict[str, Any]:
    """The Chroma store, the saved BM25 index and the document records agree, by chunk id: each record's
    chunk count is the number of chunks its document holds, every chunk has a record, the BM25 index was
    saved at the store's revision and holds exactly the store's chunk ids (each once, under the same
    document), no document holds two chunks for one span; and, given `expected`, each document holds
    exactly the chunk ids of its last version (no lost chunk, no stale one). Open it while no server runs."""
    from rag.config import Settings
    from rag.index.keyword import KeywordIndex
    from rag.index.store import ChunkStore

    settings = Settings(store={"persist_dir": persist_dir, "collection": collection})
    store = ChunkStore(settings)
    problems: list[str] = []
    rows = list(store.iter_chunks())
    ids = [cid for cid, _, _ in rows]
    by_doc: dict[str, set[str]] = defaultdict(set)
    doc_of: dict[str, str] = {}
    spans: dict[tuple[str, int, int], str] = {}
    for cid, _, meta in rows:
        d = str(meta["doc_id"])
        by_doc[d].add(cid)
        doc_of[cid] = d
        span = (d, int(meta["start"]), int(meta["end"]))
        if span in spans:
            problems.append(f"{d}: chunks {spans[span]} and {cid} both cover {span[1]}-{span[2]}")
        spans[span] = cid
    if len(ids) != len(set(ids)) or store.count() != len(set(ids)):
        problems.append(f"store: {len(ids)} chunks read, {len(set(ids))} distinct ids, count() {store.count()}")

    records = store.doc_records()
    for d, rec in sorted(records.items()):
        have = len(by_doc.get(d, ()))
        if not rec.complete:
            problems.append(f"{d}: record left {rec.state.value!r}")
        if rec.n_chunks != have:
            problems.append(f"{d}: record says {rec.n_chunks} chunks, the store holds {have}")
    for d in sorted(set(by_doc) - set(records)):
        problems.append(f"{d}: {len(by_doc[d])} chunks without a record")

    index = KeywordIndex(store, persist_dir / "bm25" / collection)
    snap = index._load()  # what the server saved, not brought in step here
    bm25_ids: list[str] = []
    if snap is None:
        problems.append("bm25: no saved index")
    else:
        if snap.revision != store.revision():
            problems.append(f"bm25: saved at revision {snap.revision}, the store is at {store.revision()}")
        live_main = [(cid, m) for cid, m, dead in zip(snap.main.ids, snap.main.meta, snap.dead, strict=True)
                     if not dead]
        entries = live_main + list(zip(snap.delta.ids, snap.delta.meta, strict=True))
        bm25_ids = [cid for cid, _ in entries]
        if len(bm25_ids) != len(set(bm25_ids)):
            problems.append(f"bm25: {len(bm25_ids) - len(set(bm25_ids))} chunk ids held twice")
        lost, extra = set(ids) - set(bm25_ids), set(bm25_ids) - set(ids)
        if lost:
            problems.append(f"bm25: {len(lost)} stored chunks missing, e.g. {sorted(lost)[:3]}")
        if extra:
            problems.append(f"bm25: {len(extra)} chunks the store does not hold, e.g. {sorted(extra)[:3]}")
        wrong = [cid for cid, m in entries if cid in doc_of and m[0] != doc_of[cid]]
        if wrong:
            problems.append(f"bm25: {len(wrong)} chunks under another document than in the store")

    if expected is not None:
        for d in sorted(set(expected) | set(by_doc) | set(records)):
            if d in unknown:
                continue
            want, have = expected.get(d, frozenset()), by_doc.get(d, set())
            if want - have:
                problems.append(f"{d}: {len(want - have)} of its {len(want)} chunks lost")
            if have - want:
                problems.append(f"{d}: {len(have - want)} chunks that its last version does not have")
            if not want and d in records:
                problems.append(f"{d}: deleted, yet its record remains")
    return {"ok": not problems, "chunks": len(ids), "documents": len(by_doc), "records": len(records),
            "bm25_chunks": len(bm25_ids), "problems": problems}


# ---------------------------------------------------------------------------------------------------------
# Running it


def route_rows(calls: list[Call]) -> list[dict[str, Any]]:
    rows = []
    for route in sorted({c.route for c in calls}, key=lambda r: (r not in ANSWER_ROUTES, r)):
        mine = [c for c in calls if c.route == route]
        ok = [c.ms for c in mine if c.error is None]
        rows.append({"route": route, "count": len(mine), "errors": sum(c.error is not None for c in mine),
                     **p50_p95(ok)})
    return rows


def timing_rows(calls: list[Call]) -> dict[str, dict[str, float]]:
    """p50/p95 of each part of the answers' `timings`: retrieve and total over every answer, check, queue and
    generate over those that had that step (a question refused on retrieval never reaches the model)."""
    answers = [c for c in calls if c.route in ANSWER_ROUTES and c.error is None and c.timings]
    out = {}
    for part in TIMING_PARTS:
        values = [c.timings.get(part, 0.0) for c in answers]
        if part not in ("retrieve_ms", "total_ms"):
            values = [v for v in values if v > 0]
        out[part] = p50_p95(values) | {"n": len(values)}
    return out


def seed_folder(corpus: Corpus, folder: Path) -> dict[str, Path]:
    """A copy of the base documents; returns doc id -> the copy (ids follow the copy's resolved path)."""
    from rag.ingest.loaders import make_doc_id

    folder.mkdir(parents=True)
    out = {}
    for p in corpus.base_files:
        target = folder / p.name
        shutil.copyfile(p, target)
        out[make_doc_id(target.name, str(target.resolve()))] = target
    return out


def base_documents(copies: dict[str, Path], settings: Any) -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    from rag.ingest.loaders import display_source, load_bytes, read_file

    texts, ids = {}, {}
    for doc_id, p in copies.items():
        doc = load_bytes(read_file(p), p.name, source=display_source(p, p.resolve()), source_key=str(p.resolve()))
        texts[doc_id], ids[doc_id] = doc.text, chunk_ids(doc, settings)
    return texts, ids


def soak(args: argparse.Namespace, data: Path) -> tuple[dict[str, Any], str, bool]:
    from rag.config import Settings

    settings = Settings(store={"persist_dir": data / "store", "collection": COLLECTION})
    corpus = build_corpus(args.docs, args.squad, args.base_articles, max(1, args.writers))
    copies = seed_folder(corpus, data / "docs")
    base_texts, base_ids = base_documents(copies, settings)
    fake = FakeLLM() if args.fake_llm else None
    port = args.port or free_port()
    base = f"http://{HOST}:{port}"
    proc = start_server(data, data / "docs", port, fake.env() if fake else None)
    log = Log()
    try:
        ready_s = wait_ready(base, proc, data)
        print(f"rag serve ready on {base} in {ready_s:.1f} s ({len(copies)} documents seeded); "
              f"{args.askers} askers, {args.writers} writers and {args.hostile} hostile clients for "
              f"{args.duration:g} s", flush=True)
        stop = threading.Event()
        pools = [corpus.questions, corpus.writer_questions] if args.writers else [corpus.questions]
        threads = [threading.Thread(target=asker, args=(i, base, pools, stop, log, ANSWER_ROUTES, args.seed),
                                    daemon=True) for i in range(args.askers)]
        writers = [Writer(w, base, corpus.writer_paragraphs[w], log, settings, args.seed, pause=args.write_pause)
                   for w in range(args.writers)]
        threads += [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in writers]
        threads += [threading.Thread(target=hostile, args=(h, base, stop, log, args.seed), daemon=True)
                    for h in range(args.hostile)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        stop.wait(args.duration)
        stop.set()
        drain_until = time.perf_counter() + args.drain
        for t in threads:
            t.join(max(0.0, drain_until - time.perf_counter()))
        hung = sum(t.is_alive() for t in threads)
        wall_s = time.perf_counter() - t0
    finally:
        stop_s = stop_server(proc)
        if fake:
            fake.close()
    calls = list(log.calls)
    expected, unknown = expected_chunks(log.events, base_ids)
    store = check_store(data / "store", COLLECTION, expected, unknown)
    citations = check_citations(calls, log.events, base_texts)
    server_errors = sum(c.status is not None and c.status >= 500 for c in calls)
    failed = sum(c.error is not None for c in calls)
    checks = {
        "no_5xx": server_errors == 0,
        "no_failed_requests": failed == 0 and hung == 0,
        "consistent": store["ok"],
        "api_listing": not log.live_problems,
        "citations": citations["ok"],
    }
    routes = route_rows(calls)
    timings = timing_rows(calls)
    answers = [c for c in calls if c.route in ANSWER_ROUTES and c.error is None]
    md = [f"Soak: {args.askers} askers, {args.writers} writers, {args.hostile} hostile clients, {args.duration:g} s "
          f"({wall_s:.0f} s with the requests in flight finished); model: "
          f"{'fake (extractive stand-in)' if fake else 'the configured one'}.", "",
          table(["route", "count", "errors", "p50 ms", "p95 ms"],
                [[r["route"], r["count"], r["errors"], f"{r['p50_ms']:.0f}", f"{r['p95_ms']:.0f}"] for r in routes]),
          "", f"Answers' timings ({len(answers)} answers; `queue` is the wait for the model's single worker):", "",
          table(["part", "answers", "p50 ms", "p95 ms"],
                [[p.removesuffix("_ms"), v["n"], f"{v['p50_ms']:.0f}", f"{v['p95_ms']:.0f}"]
                 for p, v in timings.items()]),
          "",
          f"- responses >= 500: {server_errors}",
          f"- failed requests (any error, incl. transport and stream errors): {failed}"
          + (f"; {hung} clients still waiting after the drain" if hung else ""),
          f"- answerable: {sum(bool(c.answerable) for c in answers)} of {len(answers)}; "
          f"writer operations: {len(log.events)} uploads and deletes",
          f"- consistency (store, BM25, records, by chunk id): {'ok' if store['ok'] else 'FAILED'} — "
          f"{store['chunks']} chunks in {store['documents']} documents, {store['records']} records, "
          f"{store['bm25_chunks']} in BM25",
          f"- what the API listed mid-run: {'ok' if not log.live_problems else 'FAILED'}",
          f"- citations: {'ok' if citations['ok'] else 'FAILED'} — {citations['citations']} citations in "
          f"{citations['answers_with_citations']} answers ({citations['to_writers_documents']} to the writers' "
          "changing documents), each to a document live during its request",
          f"- server stopped {stop_s:.1f} s after SIGTERM",
          "- verdict: " + ("PASS" if all(checks.values()) else
                           "FAIL: " + ", ".join(k for k, v in checks.items() if not v))]
    problems = store["problems"] + log.live_problems + citations["problems"]
    problems += [f"{c.route}: {c.error}" for c in calls if c.error is not None]
    if problems:
        md += ["", "Problems (first 20):", *[f"- {p}" for p in problems[:20]]]
    result = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                         if k != "docs"} | {"docs": [str(p) for p in corpus.base_files]},
              "ready_s": round(ready_s, 1), "wall_s": round(wall_s, 1), "stop_s": round(stop_s, 1),
              "routes": routes, "timings": timings, "server_errors": server_errors, "failed": failed, "hung": hung,
              "consistency": store, "citations": citations, "api_listing_problems": log.live_problems,
              "checks": checks, "passed": all(checks.values()),
              "errors": [{"route": c.route, "status": c.status, "error": c.error} for c in calls if c.error]}
    if problems and not all(checks.values()):
        print(f"server log (last lines):\n{log_tail(data)}")
    return result, "\n".join(md), all(checks.values())


def levels(args: argparse.Namespace, data: Path) -> tuple[dict[str, Any], str, bool]:
    """N concurrent users asking through /v1/answer, for each N in turn, on one server."""
    corpus = build_corpus(args.docs, args.squad, args.base_articles, 1)
    seed_folder(corpus, data / "docs")
    fake = FakeLLM() if args.fake_llm else None
    port = args.port or free_port()
    base = f"http://{HOST}:{port}"
    proc = start_server(data, data / "docs", port, fake.env() if fake else None)
    rows, all_calls = [], []
    try:
        ready_s = wait_ready(base, proc, data)
        print(f"rag serve ready on {base} in {ready_s:.1f} s", flush=True)
        for n in args.levels:
            log, stop = Log(), threading.Event()
            threads = [threading.Thread(target=asker, args=(i, base, [corpus.questions], stop, log, ["POST /v1/answer"],
                                                            args.seed + n), daemon=True) for i in range(n)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            stop.wait(args.duration)
            stop.set()
            for t in threads:
                t.join(args.drain)
            wall = time.perf_counter() - t0
            ok = [c for c in log.calls if c.error is None]
            timings = timing_rows(log.calls)
            rows.append({"users": n, "answers": len(ok), "errors": len(log.calls) - len(ok),
                         "wall_s": round(wall, 1), "per_min": round(len(ok) / wall * 60, 1),
                         **p50_p95([c.ms for c in ok]), "timings": timings})
            all_calls += log.calls
            print(f"{n} users: {len(ok)} answers, p50 {rows[-1]['p50_ms'] / 1000:.1f} s, "
                  f"p95 {rows[-1]['p95_ms'] / 1000:.1f} s", flush=True)
    finally:
        stop_s = stop_server(proc)
        if fake:
            fake.close()
    server_errors = sum(c.status is not None and c.status >= 500 for c in all_calls)
    md = [f"Concurrent users asking through POST /v1/answer, {args.duration:g} s per level (requests in flight "
          f"then finished); model: {'fake' if fake else 'the configured one'}.", "",
          table(["users", "answers", "answers/min", "p50 s", "p95 s", "queue p50 s", "retrieve p50 ms",
                 "check p50 ms", "generate p50 ms", "errors"],
                [[r["users"], r["answers"], r["per_min"], f"{r['p50_ms'] / 1000:.1f}", f"{r['p95_ms'] / 1000:.1f}",
                  f"{r['timings']['queue_ms']['p50_ms'] / 1000:.1f}", f"{r['timings']['retrieve_ms']['p50_ms']:.0f}",
                  f"{r['timings']['check_ms']['p50_ms']:.0f}", f"{r['timings']['generate_ms']['p50_ms']:.0f}",
                  r["errors"]] for r in rows]),
          "", f"- responses >= 500: {server_errors}; server stopped {stop_s:.1f} s after SIGTERM"]
    passed = server_errors == 0 and all(r["errors"] == 0 for r in rows)
    return ({"config": {"levels": args.levels, "duration": args.duration, "fake_llm": args.fake_llm},
             "ready_s": round(ready_s, 1), "levels": rows, "server_errors": server_errors, "passed": passed},
            "\n".join(md), passed)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=300.0, help="seconds of load (per level with --levels)")
    ap.add_argument("--askers", type=int, default=16)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--hostile", type=int, default=2, help="clients sending oversized and malformed requests")
    ap.add_argument("--docs", type=Path, nargs="*", help="files or folders to seed the server with "
                    "(default: seeds/ and the first --base-articles squad-dev-13 articles)")
    ap.add_argument("--squad", type=Path, default=SQUAD_DOCS, help="squad-dev-13 docs folder (questions, "
                    "and the writers' material)")
    ap.add_argument("--base-articles", type=int, default=4)
    ap.add_argument("--write-pause", type=float, default=2.0, help="mean seconds a writer waits between steps")
    ap.add_argument("--drain", type=float, default=600.0, help="seconds to let requests in flight finish")
    ap.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=None,
                    help="e.g. 1,2,4,8: latency per number of concurrent users instead of the soak")
    ap.add_argument("--fake-llm", action="store_true", help="an extractive stand-in instead of the model")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--keep", type=Path, default=None, help="keep the data folder here (must not exist)")
    ap.add_argument("--name", default=None, help="result file name (default: soak-<date> or soak-levels-<date>)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    run = levels if args.levels else soak
    name = args.name or f"soak{'-levels' if args.levels else ''}-{date.today().isoformat()}"
    with tempfile.TemporaryDirectory(prefix="rag-soak-") as tmp:
        data = Path(tmp)
        if args.keep:
            args.keep.mkdir(parents=True)
            data = args.keep
        load_before = os.getloadavg()  # before our server starts: what else keeps the machine busy
        result, md, passed = run(args, data)
    # the machine may be shared: say how busy it was (1-minute load average; at the end it includes this run)
    result["load_average"] = {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)}
    md += (f"\n\nLoad average (1 min) before the run {load_before[0]:.2f}, at its end {os.getloadavg()[0]:.2f} "
           f"on {os.cpu_count()} cores.")
    write(name, result, md)
    print(f"results: benchmarks/results/{name}.json")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
