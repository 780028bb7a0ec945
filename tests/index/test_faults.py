"""Bad input and bad surroundings get a clear error, and nothing stored is lost (real Chroma store)."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import ValidationError

from rag.config import Settings, overridden
from rag.index.store import ChunkStore, StoreError
from rag.ingest.chunker import chunk_spans
from rag.ingest.loaders import LoadError, decode_bytes
from rag.ingest.pipeline import Ingestor
from rag.text.normalize import normalize_text
from rag.text.tokens import count_tokens
from tests.conftest import SEED_DOC


def test_bad_files_are_skipped_by_name_and_the_rest_goes_in(settings, hash_embedder, tmp_path) -> None:
    store = ChunkStore(settings)
    ing = Ingestor(settings, store, hash_embedder)
    ing.ingest_paths([SEED_DOC])
    before = store.count()
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_text("   \n\n\t\n")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (folder / "truncated.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog")
    with (folder / "huge.txt").open("wb") as f:  # 60 MB of real text, over the 50 MB limit
        line = b"The quick brown fox jumps over the lazy dog. " * 20 + b"\n"
        for _ in range(60_000_000 // len(line) + 1):
            f.write(line)
    (folder / "utf16.txt").write_text("Die Straße nach Täbris ist lang.", encoding="utf-16")
    (folder / "latin1.txt").write_bytes("Le café de Téhéran est fermé le dimanche, dit-on.".encode("latin-1"))
    report = ing.ingest_paths([folder])
    reasons = {name.split("/")[-1]: why for name, why in report.skipped}
    assert set(reasons) == {"empty.txt", "blank.md", "binary.txt", "truncated.pdf", "huge.txt"}
    assert "no text" in reasons["empty.txt"] and "no text" in reasons["blank.md"]
    assert "binary" in reasons["binary.txt"]
    assert "50 MB limit" in reasons["huge.txt"]
    assert "truncated.pdf" in reasons["truncated.pdf"]
    texts = {d.source.split("/")[-1]: store.get_chunks(d.doc_id)[0].text for d in report.documents}
    assert texts == {"utf16.txt": "Die Straße nach Täbris ist lang.",
                     "latin1.txt": "Le café de Téhéran est fermé le dimanche, dit-on."}
    assert store.count() == before + 2, "the seed document is untouched"


def test_a_bad_byte_order_mark_is_a_clear_error() -> None:
    with pytest.raises(LoadError, match="UTF-16"):
        decode_bytes(b"\xff\xfe\x00\xd8", "odd.txt")  # a lone surrogate


def test_a_locked_store_is_a_clear_error_not_a_hang(settings, hash_embedder) -> None:
    store = ChunkStore(settings)
    Ingestor(settings, store, hash_embedder).ingest_paths([SEED_DOC])
    count = store.count()
    con = sqlite3.connect(str(settings.store.persist_dir / "chroma.sqlite3"))
    con.execute("BEGIN EXCLUSIVE")  # another process in the middle of a write
    try:
        with pytest.raises(StoreError, match="locked by another process"):
            ChunkStore(overridden(settings, {"store.lock_timeout": 0.5}))
    finally:
        con.rollback()
        con.close()
    assert ChunkStore(settings).count() == count


def test_a_bad_collection_name_is_a_settings_error(tmp_path) -> None:
    with pytest.raises(ValidationError, match="collection"):
        Settings(_env_file=None, store={"persist_dir": tmp_path, "collection": "x/../y"})


# Chunker invariants on arbitrary text: offsets exact, every word covered, the token limit held.
_text = st.lists(st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=80),
    st.sampled_from(["Dr. Smith arrived.", "U.S. troops", "\n\n", "  ", "…", "x" * 300, "Ünïcödé. ", "1. 2. 3."]),
), min_size=0, max_size=30).map("".join)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=_text, size=st.integers(8, 96), overlap=st.integers(0, 24))
def test_chunker_invariants(raw: str, size: int, overlap: int) -> None:
    text = normalize_text(raw)
    spans = chunk_spans(text, size, min(overlap, size - 1))
    covered = [False] * len(text)
    for s, e in spans:
        assert 0 <= s < e <= len(text)
        assert text[s:e] == text[s:e].strip(), "chunks start and end on text, not white space"
        assert count_tokens(text[s:e]) <= size
        for i in range(s, e):
            covered[i] = True
    assert all(covered[i] for i, ch in enumerate(text) if not ch.isspace()), "every character is in a chunk"
    assert [s for s, _ in spans] == sorted(s for s, _ in spans)


def test_a_write_lock_left_by_a_killed_process_on_this_host_is_taken_at_once(settings) -> None:
    import socket
    import subprocess
    import sys
    import time

    from rag.index.store import _LOCK_ID

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store = ChunkStore(settings)
    store._meta.add(ids=[_LOCK_ID], embeddings=[[0.0]], metadatas=[{
        "kind": "lock", "owner": f"{dead.pid}-x", "expires": time.time() + 3600, "host": socket.gethostname(),
        "pid": dead.pid}])
    t0 = time.monotonic()
    with store.write_lock():
        pass
    assert time.monotonic() - t0 < 5  # not the hour the record claims, nor write_wait
