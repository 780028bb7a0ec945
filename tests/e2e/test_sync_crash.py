"""Crash safety: `rag sync` killed (SIGKILL) in the middle of ingestion, then run again, leaves the store
exactly as if it had never been interrupted: every chunk once, nothing half-present, nothing re-embedded
on the run after. Real CLI processes, the real MiniLM embedder and the real embedded Chroma store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rag.config import Settings
from rag.index.store import ChunkStore
from rag.ingest.chunker import chunk_document
from rag.ingest.loaders import load_file
from tests.conftest import ROOT, SEED_DOC


def _env(store: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    # small writes so that a kill lands between two writes of one document
    env.update(RAG_STORE__PERSIST_DIR=str(store), RAG_STORE__COLLECTION="crash", RAG_STORE__UPSERT_BATCH="3",
               RAG_EMBED__BATCH_SIZE="4", HF_HUB_OFFLINE="1")
    return env


def _sync(folder: Path, store: Path) -> subprocess.CompletedProcess:
    rag = str(Path(sys.executable).parent / "rag")
    return subprocess.run([rag, "sync", str(folder)], capture_output=True, text=True, env=_env(store),
                          cwd=ROOT, timeout=900)


def test_kill_mid_ingest_then_sync_repairs(tmp_path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    text = SEED_DOC.read_text(encoding="utf-8")
    for i in range(8):  # eight distinct documents of the seed's size
        (folder / f"part-{i:02d}.txt").write_text(f"Copy {i}.\n\n" + text.replace("Putin", f"Putin-{i}"))
    store_dir = tmp_path / "store"
    rag = str(Path(sys.executable).parent / "rag")
    child = subprocess.Popen([rag, "sync", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=_env(store_dir), cwd=ROOT)
    assert child.stderr is not None
    seen = []
    for line in child.stderr:  # wait until it is well inside the fourth document
        seen.append(line)
        if "ingesting part-03.txt" in line:
            time.sleep(0.5)
            child.send_signal(signal.SIGKILL)
            break
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, "".join(seen)

    settings = Settings(_env_file=None, store={"persist_dir": store_dir, "collection": "crash"})
    expected = {
        f.name: {c.id for c in chunk_document(load_file(f), settings.ingest.chunk_size, settings.ingest.chunk_overlap)}
        for f in sorted(folder.iterdir())
    }
    store = ChunkStore(settings)
    interrupted = store.count()
    assert interrupted < sum(map(len, expected.values())), "the kill came before the end"
    states = {r.source.split("/")[-1]: r.state for r in store.doc_records().values()}
    del store

    repair = _sync(folder, store_dir)
    assert repair.returncode == 0, repair.stderr
    store = ChunkStore(settings)
    records = store.doc_records()
    assert len(records) == 8 and all(r.complete for r in records.values())
    ids = list(store.iter_ids())
    assert len(ids) == len(set(ids)) == sum(map(len, expected.values())), "every chunk exactly once"
    assert set(ids) == set().union(*expected.values()), "no chunk of another version, none missing"
    del store
    again = _sync(folder, store_dir)
    assert again.returncode == 0 and "0 chunks embedded" in again.stderr and "8 unchanged" in again.stderr, (
        again.stderr, states)
