"""`Ingestor.sync`: the collection follows a folder; unchanged files cost nothing; half-written ones are redone."""

from __future__ import annotations

import pytest

from rag.config import overridden
from rag.index.keyword import KeywordIndex
from rag.index.store import ChunkStore
from rag.ingest.chunker import chunk_document
from rag.ingest.loaders import load_file
from rag.ingest.pipeline import Ingestor
from rag.types import DocState
from tests.conftest import SEED_DOC


def make(settings, embedder):
    store = ChunkStore(settings)
    return store, Ingestor(settings, store, embedder, KeywordIndex(store, settings.store.persist_dir / "bm25"))


def expected_ids(folder, settings) -> set[str]:
    return {c.id for f in sorted(folder.iterdir()) for c in chunk_document(load_file(f), settings.ingest.chunk_size,
                                                                           settings.ingest.chunk_overlap)}


def test_sync_adds_changes_deletes_and_skips_unchanged(settings, hash_embedder, tmp_path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nApples grow in orchards. " * 40)
    (folder / "b.txt").write_text("Bees make honey in hives. " * 40)
    store, ing = make(settings, hash_embedder)
    first = ing.sync(folder)
    assert len(first.documents) == 2 and first.unchanged == 0 and first.embedded == store.count() > 2
    calls = hash_embedder.calls
    again = ing.sync(folder)
    assert again.unchanged == 2 and again.embedded == 0 and hash_embedder.calls == calls
    (folder / "a.md").write_text("# A\n\nPears grow in orchards. " * 30)  # changed
    (folder / "b.txt").unlink()  # deleted
    (folder / "c.txt").write_text("Cherries ripen in June. " * 10)  # new
    third = ing.sync(folder)
    assert third.deleted == [str(tmp_path / "docs" / "b.txt")] or third.deleted[0].endswith("b.txt")
    assert third.unchanged == 0 and len(third.documents) == 2
    assert set(store.iter_ids()) == expected_ids(folder, settings)
    assert not any("Apples" in t or "Bees" in t for _, t, _ in store.iter_chunks())


def synced_seed(settings, embedder, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / SEED_DOC.name).write_bytes(SEED_DOC.read_bytes())
    store, ing = make(settings, embedder)
    ing.sync(folder)
    [doc_id] = store.doc_records()
    return folder, store, ing, doc_id


def test_a_half_written_document_is_redone(settings, hash_embedder, tmp_path) -> None:
    folder, store, ing, doc_id = synced_seed(settings, hash_embedder, tmp_path)
    # what a kill mid-write leaves: a record still "writing" and only part of the chunks
    rec = store.doc_records()[doc_id]
    store.put_doc_record(rec.model_copy(update={"state": DocState.writing}))
    ids = sorted(store.ids_for_document(doc_id))
    store._col.delete(ids=ids[: len(ids) // 2])
    report = ing.sync(folder)
    assert report.unchanged == 0 and report.embedded == len(ids) // 2
    assert store.ids_for_document(doc_id) == set(ids) and store.doc_records()[doc_id].state == DocState.complete


def test_chunks_missing_behind_a_complete_record_are_restored(settings, hash_embedder, tmp_path) -> None:
    folder, store, ing, doc_id = synced_seed(settings, hash_embedder, tmp_path)
    ids = sorted(store.ids_for_document(doc_id))
    store._col.delete(ids=ids[:1])
    assert ing.sync(folder).embedded == 1 and store.ids_for_document(doc_id) == set(ids)


def test_a_noop_sync_process_loads_no_model(settings, hash_embedder, tmp_path) -> None:
    """A `rag sync` of an unchanged folder compares hashes with the records and stops: it must not import
    torch or sentence-transformers (seconds of start-up) nor load the embedder."""
    import os
    import subprocess
    import sys

    from rag.backends.embedder import build_embedder

    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(5):
        (folder / f"note-{i}.txt").write_text(f"Note {i}. Quinces ripen late in the autumn. " * 5)
    hash_embedder.name = build_embedder(settings).name  # the recipe the real command will compare with
    make(settings, hash_embedder)[1].sync(folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_STORE__PERSIST_DIR=str(settings.store.persist_dir), RAG_STORE__COLLECTION=settings.store.collection)
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "rag.cli", "sync", str(folder)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "5 unchanged" in " ".join(proc.stderr.split())
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert not imported & {"torch", "sentence_transformers", "transformers", "llama_cpp", "llama_index.core"}


class CountingIndex(KeywordIndex):
    """Counts how often the ingestor brings the BM25 index in step."""

    syncs = 0

    def sync(self) -> bool:
        self.syncs += 1
        return super().sync()


def notes(folder, n: int, word: str = "quince") -> None:
    folder.mkdir(exist_ok=True)
    for i in range(n):
        (folder / f"note-{i:03d}.txt").write_text(f"Note {i} says the {word} number {i} ripens late.")


def test_many_small_files_are_written_in_groups_with_one_index_update(settings, hash_embedder, tmp_path) -> None:
    folder = tmp_path / "notes"
    notes(folder, 30)
    store = ChunkStore(settings)
    index = CountingIndex(store, settings.store.persist_dir / "bm25")
    ing = Ingestor(overridden(settings, {"store.upsert_batch": 12}), store, hash_embedder, index)
    calls: list[int] = []
    embed = hash_embedder.embed_documents
    hash_embedder.embed_documents = lambda texts: calls.append(len(texts)) or embed(texts)
    seen: list[tuple[int, int]] = []
    report = ing.sync(folder, progress=lambda done, queued: seen.append((done, queued)))
    assert len(report.documents) == 30 and store.count() == 30 and index.size == 30
    assert calls == [12, 12, 6], "one embedding call per group of upsert_batch chunks, not one per file"
    assert index.syncs == 1, "one BM25 update per sync"
    assert seen[-1] == (30, 30) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert all(r.state == DocState.complete for r in store.doc_records().values())
    assert ing.sync(folder).unchanged == 30 and index.syncs == 1, "an unchanged folder leaves the index alone"
    (folder / "note-000.txt").unlink()
    (folder / "note-001.txt").write_text("Note 1 now speaks of medlars.")
    again = ing.sync(folder)
    assert again.deleted and again.embedded == 1 and index.syncs == 2 and store.count() == 29
    assert [h.chunk_id for h in index.search("medlars", 3)] == list(store.ids_for_document(
        next(d.doc_id for d in again.documents if not d.unchanged)))


def test_a_group_cut_off_mid_write_is_redone(settings, hash_embedder, tmp_path) -> None:
    """A crash inside a group (here: an exception after the chunks are stored, before the records say
    "complete") leaves every document of the group "writing"; the next sync finishes them, embedding
    nothing that was already stored."""
    folder = tmp_path / "notes"
    notes(folder, 6)
    store, ing = make(settings, hash_embedder)
    write = store.write_chunks

    class Killed(Exception):
        pass

    def write_then_die(*args, **kwargs):
        write(*args, **kwargs)
        raise Killed

    store.write_chunks = write_then_die
    with pytest.raises(Killed):
        ing.sync(folder)
    assert {r.state for r in store.doc_records().values()} == {DocState.writing} and store.count() == 6
    del store.write_chunks
    calls = hash_embedder.calls
    report = ing.sync(folder)
    assert report.unchanged == 0 and report.embedded == 0 and hash_embedder.calls == calls
    assert {r.state for r in store.doc_records().values()} == {DocState.complete}
    assert set(store.iter_ids()) == expected_ids(folder, settings)


def test_the_same_file_twice_and_two_uploads_of_one_name(settings, hash_embedder, tmp_path) -> None:
    from rag.types import Document

    store, ing = make(settings, hash_embedder)
    f = tmp_path / "a.txt"
    f.write_text("Apples grow in orchards.")
    assert len(ing.ingest_paths([f, f]).documents) == 2 and store.count() == 1
    first = ing.load_upload(b"Pears grow on trees.", "b.txt")
    second = ing.load_upload(b"Plums grow on trees.", "b.txt")
    assert isinstance(first, Document) and first.doc_id == second.doc_id
    ing.ingest_documents([first, second])
    assert [c.text for c in store.get_chunks(first.doc_id)] == ["Plums grow on trees."]
