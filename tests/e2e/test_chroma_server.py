"""Chroma server mode: a real `chroma run` on loopback; ingest, ask and delete through it, from two clients."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.components import Components
from rag.config import Settings
from rag.index.store import ChunkStore, StoreError
from tests.conftest import SEED_DOC, SEEDS
from tests.e2e.conftest import free_port, wait_http


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    assert chroma, "the chroma CLI comes with the chromadb package"
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen([chroma, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", "chroma run")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _settings(port: int, local: Path, collection: str = "served") -> Settings:
    return Settings(
        _env_file=None,
        store={"chroma_host": "127.0.0.1", "chroma_port": port, "persist_dir": local, "collection": collection},
    )


def test_ingest_ask_delete_through_a_chroma_server(chroma_server, comps, tmp_path) -> None:
    # two "users" on different machines: separate local folders, one server
    # reuse the session's loaded models
    a = Components(_settings(chroma_server, tmp_path / "a"), embedder=comps.embedder, llm=comps.llm)
    b = Components(_settings(chroma_server, tmp_path / "b"), embedder=comps.embedder, llm=comps.llm)
    report = a.ingestor.ingest_paths([SEEDS])
    assert report.chunks > 3 and a.store.count() == report.chunks
    assert not (tmp_path / "a" / "chroma.sqlite3").exists(), "nothing stored locally but the BM25 cache"
    assert b.store.count() == report.chunks, "the other client sees the same collection"
    ans = b.chain.answer("Which gas fields does the Gazprom agreement cover?")
    assert ans.answerable and "North Pars" in ans.answer, ans.answer
    doc_id = ans.citations[0].doc_id
    assert b.ingestor.delete_document(doc_id) == report.chunks
    assert a.store.count() == 0
    # a's BM25 index follows the server's revision, though b made the change
    assert a.keyword_index.search("Gazprom", 3) == []
    gone = a.chain.answer("Which gas fields does the Gazprom agreement cover?")
    assert not gone.answerable


def test_sync_against_the_server(chroma_server, comps, tmp_path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(SEED_DOC, folder / SEED_DOC.name)
    c = Components(_settings(chroma_server, tmp_path / "local", collection="synced"), embedder=comps.embedder)
    first = c.ingestor.sync(folder)
    assert first.embedded == c.store.count() > 0
    assert c.ingestor.sync(folder).unchanged == 1
    (folder / SEED_DOC.name).unlink()
    assert len(c.ingestor.sync(folder).deleted) == 1 and c.store.count() == 0


def test_unreachable_server_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(StoreError, match=r"Chroma server at 127\.0\.0\.1:\d+"):
        ChunkStore(_settings(free_port(), tmp_path))
