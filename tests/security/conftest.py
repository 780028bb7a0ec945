"""Shared by the tests of issue #32's HTTP side: components on a real store with fast stand-in models, and an
ASGI caller that shows what the app read of a request body and when (TestClient reads a body whole first)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from rag.backends.fakes import ScriptedLLM
from rag.components import Components
from rag.config import Settings
from tests.conftest import SEED_DOC, HashEmbedder

TOKEN = "s3cret-token"
QUESTION = "Who welcomed Putin at the airport?"


def make_comps(tmp_path: Path, model: Any = None, seed: bool = True, **sections: dict) -> Components:
    store = {"persist_dir": tmp_path / "store", "collection": "main", "seeds_dir": tmp_path / "none"}
    settings = Settings(_env_file=None, **({"store": store} | sections))
    comps = Components(settings, embedder=HashEmbedder(), llm=model or ScriptedLLM())
    if seed:
        comps.ingestor.ingest_paths([SEED_DOC])
    return comps


@pytest.fixture
def comps(tmp_path) -> Components:
    return make_comps(tmp_path)


class GatedLLM(ScriptedLLM):
    """The scripted model, held before it writes until `gate` is set: a model busy with someone else's answer."""

    def __init__(self) -> None:
        super().__init__(p_yes=None)
        self.gate = threading.Event()
        self.started = threading.Semaphore(0)

    def stream_chat(self, messages, max_tokens, temperature, usage=None) -> Iterator[str]:
        self.started.release()
        if not self.gate.wait(30):
            raise RuntimeError("gate never opened")
        yield from super().stream_chat(messages, max_tokens, temperature, usage)


class SlowLLM(ScriptedLLM):
    """Writes `n` pieces slowly and records how many it wrote and whether its stream was closed (a dropped
    client's generation must end: llama.cpp's stream cancels in its `finally`)."""

    def __init__(self, n: int = 100, delay: float = 0.02) -> None:
        super().__init__(p_yes=None)
        self.n, self.delay, self.written, self.closed = n, delay, 0, False
        self.writing = threading.Event()

    def stream_chat(self, messages, max_tokens, temperature, usage=None) -> Iterator[str]:
        try:
            for _ in range(self.n):
                time.sleep(self.delay)
                self.written += 1
                self.writing.set()
                yield "Javad "
        finally:
            self.closed = True


class RecordingLLM(ScriptedLLM):
    """The scripted model, every prompt it was given kept."""

    def __init__(self) -> None:
        super().__init__(p_yes=None)
        self.prompts: list[list[dict]] = []

    def stream_chat(self, messages, max_tokens, temperature, usage=None) -> Iterator[str]:
        self.prompts.append(messages)
        yield from super().stream_chat(messages, max_tokens, temperature, usage)

    def yes_probability(self, messages):
        self.prompts.append(messages)
        return None


@dataclass
class Reply:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks_read: int = 0  # body chunks the app asked for

    def json(self) -> Any:
        return json.loads(self.body)


def call(app: Any, method: str, path: str, headers: dict[str, str] | None = None,
         chunks: Iterable[bytes] = (), client: str = "127.0.0.1", server: tuple[str, int] = ("127.0.0.1", 7860),
         disconnect_on: threading.Event | None = None) -> Reply:
    """One request straight through ASGI, its body given chunk by chunk as the app asks for it; with
    `disconnect_on`, the client leaves once that is set and a first chunk of the response came (later sends
    fail, as uvicorn's do)."""
    reply, body = Reply(), list(chunks) or [b""]

    async def run() -> None:
        first_chunk = anyio.Event()
        hs = {"host": f"{server[0]}:{server[1]}"} | {k.lower(): v for k, v in (headers or {}).items()}
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(k.encode(), v.encode()) for k, v in hs.items()], "client": (client, 50000),
                 "server": server, "state": {}}

        async def receive() -> dict:
            if reply.chunks_read < len(body):
                reply.chunks_read += 1
                return {"type": "http.request", "body": body[reply.chunks_read - 1],
                        "more_body": reply.chunks_read < len(body)}
            if disconnect_on is not None:
                await first_chunk.wait()
                await anyio.to_thread.run_sync(disconnect_on.wait, abandon_on_cancel=True)
            else:
                await anyio.sleep_forever()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                reply.status = message["status"]
                reply.headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                if disconnect_on is not None and disconnect_on.is_set() and first_chunk.is_set():
                    raise OSError("the client is gone")
                reply.body += message.get("body", b"")
                if message.get("body"):
                    first_chunk.set()

        with anyio.fail_after(60):
            try:
                await app(scope, receive, send)
            except OSError:  # a send after the client left: uvicorn drops the connection
                if disconnect_on is None:
                    raise

    anyio.run(run)
    return reply


def json_chunks(payload: Any, size: int = 64 * 1024) -> list[bytes]:
    data = json.dumps(payload).encode()
    return [data[i:i + size] for i in range(0, len(data), size)]


def login(client: Any, password: str = TOKEN) -> Any:
    return client.post("/login", data={"username": "user", "password": password})


__all__ = ["QUESTION", "SEED_DOC", "TOKEN", "GatedLLM", "RecordingLLM", "Reply", "SlowLLM", "call", "json_chunks",
           "login", "make_comps"]
