"""Issue #32, item 2: concurrent uploads of one file name, through two `rag serve` processes that share one
Chroma server, leave one consistent version: every chunk of the document from the same upload, its record's
chunk count equal to its chunks, and every citation's quote the document's text at its offsets."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from rag.config import Settings
from rag.index.store import ChunkStore
from rag.ingest.loaders import load_bytes
from tests.conftest import ROOT, stop_process
from tests.e2e.conftest import free_port, wait_http

ROUNDS = 2
VERSIONS = 8


def version_text(v: int) -> bytes:
    """Version v of same.txt: a different number of paragraphs, each sentence naming its version."""
    paragraphs = [" ".join(f"Version {v} says the harbour of Quellmar{p} shipped {v * 100 + s} crates of "
                           f"tin in week {s}." for s in range(12)) for p in range(4 + 3 * v)]
    return "\n\n".join(paragraphs).encode()


def _start(cmd: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen:
    with log.open("w") as err:
        return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)


def test_two_servers_one_chroma_concurrent_uploads_of_one_name(tmp_path) -> None:
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    assert chroma, "the chroma CLI comes with the chromadb package"
    chroma_port = free_port()
    procs = [_start([chroma, "run", "--path", str(tmp_path / "chroma"), "--host", "127.0.0.1", "--port",
                     str(chroma_port)], dict(os.environ), tmp_path / "chroma.log", tmp_path)]
    bases = []
    try:
        wait_http(f"http://127.0.0.1:{chroma_port}/api/v2/heartbeat", "chroma run")
        clean = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
        for i in range(2):
            port = free_port()
            env = dict(clean, RAG_LLM__BACKEND="scripted", RAG_EMBED__BACKEND="hash",
                       RAG_STORE__CHROMA_HOST="127.0.0.1", RAG_STORE__CHROMA_PORT=str(chroma_port),
                       RAG_STORE__PERSIST_DIR=str(tmp_path / f"local{i}"), RAG_STORE__COLLECTION="shared",
                       RAG_STORE__SEEDS_DIR=str(tmp_path / "no-seeds"), RAG_SERVER__PORT=str(port),
                       RAG_SERVER__SHUTDOWN_GRACE="1",
                       PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), clean.get("PYTHONPATH")) if p))
            procs.append(_start([sys.executable, "-m", "rag.cli", "serve"], env, tmp_path / f"serve{i}.log", tmp_path))
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            wait_http(base + "/health", "rag serve")

        def upload(v: int) -> httpx.Response:
            return httpx.post(bases[v % 2] + "/v1/documents", files={"files": ("same.txt", version_text(v))},
                              timeout=120)

        settings = Settings(_env_file=None, store={"chroma_host": "127.0.0.1", "chroma_port": chroma_port,
                                                   "persist_dir": tmp_path / "reader", "collection": "shared"})
        store = ChunkStore(settings)
        for _ in range(ROUNDS):
            with ThreadPoolExecutor(VERSIONS) as pool:
                answers = list(pool.map(upload, range(VERSIONS)))
            assert all(r.status_code == 201 for r in answers), [r.text for r in answers]
            listed = httpx.get(bases[0] + "/v1/documents", timeout=30).json()["data"]
            assert len(listed) == 1, listed
            doc_id = listed[0]["id"]
            chunks = store.get_chunks(doc_id)
            versions = {int(m) for c in chunks for m in re.findall(r"Version (\d+) says", c.text)}
            assert len(versions) == 1, f"chunks from versions {sorted(versions)} under one document"
            (v,) = versions
            record = store.doc_record(doc_id)
            assert record is not None and record.complete and record.n_chunks == len(chunks)
            assert Path(record.file).read_bytes() == version_text(v), "the kept file is the version stored"
            text = load_bytes(version_text(v), "same.txt", source="upload:same.txt").text
            assert all(text[c.start:c.end] == c.text for c in chunks)
            assert listed[0]["chunks"] == len(chunks)
            for base in bases:  # each server answers from the one version, quotes at their offsets
                r = httpx.post(base + "/v1/answer", json={"question": "How many crates did Quellmar2 ship in "
                                                                      "week 5?"}, timeout=60)
                assert r.status_code == 200, r.text
                window = {}
                for cite in r.json()["citations"]:
                    assert text[cite["start"]:cite["end"]] == cite["quote"], cite
                    window = httpx.get(f"{base}/v1/documents/{cite['doc_id']}/text",
                                       params={"start": cite["start"], "end": cite["end"]}, timeout=30).json()
                assert not window or cite["quote"] in str(window)
            time.sleep(0.1)
    finally:
        for proc in reversed(procs):
            stop_process(proc)
