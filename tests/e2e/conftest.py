from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn

from rag.components import Components
from rag.config import Settings
from tests.conftest import SEEDS


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def e2e_settings(tmp_path_factory) -> Settings:
    """The real defaults (MiniLM + Qwen2.5-Coder-1.5B via llama.cpp), on a temporary store."""
    return Settings(
        _env_file=None, store={"persist_dir": tmp_path_factory.mktemp("e2e") / "store", "collection": "e2e"}
    )


@pytest.fixture(scope="session")
def comps(e2e_settings) -> Components:
    c = Components(e2e_settings)
    report = c.ingestor.ingest_paths([SEEDS])
    assert report.documents and not report.skipped
    return c


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, what: str, tries: int = 300) -> None:
    """Poll until the URL answers 200 (a server started as a child process), or fail the test."""
    import httpx

    for _ in range(tries):
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{what} did not start")


def serve(app) -> tuple[str, uvicorn.Server, threading.Thread]:
    """Run an ASGI app with uvicorn on a free loopback port, in a thread; return its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(300):
        if server.started:
            break
        time.sleep(0.1)
    assert server.started
    return f"http://127.0.0.1:{port}", server, thread
