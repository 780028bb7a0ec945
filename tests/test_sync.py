"""`Ingestor.sync`: the collection follows a folder; unchanged files cost nothing; half-written ones are redone."""

from __future__ import annotations

from rag.ingest.chunker import chunk_document
from rag.ingest.loaders import load_file
from rag.ingest.pipeline import Ingestor
from rag.keyword_index import KeywordIndex
from rag.store import ChunkStore
from tests.conftest import SEED_DOC


def make(settings, embedder):
    store = ChunkStore(settings)
    return store, Ingestor(settings, store, embedder, KeywordIndex(store, settings.persist_dir / "bm25"))


def expected_ids(folder, settings) -> set[str]:
    return {c.id for f in sorted(folder.iterdir()) for c in chunk_document(load_file(f), settings.chunk_size,
                                                                           settings.chunk_overlap)}


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
    store.put_doc_record(doc_id, **{k: v for k, v in rec.items() if k not in ("kind", "doc_id", "state")},
                         state="writing")
    ids = sorted(store.ids_for_document(doc_id))
    store._col.delete(ids=ids[: len(ids) // 2])
    report = ing.sync(folder)
    assert report.unchanged == 0 and report.embedded == len(ids) // 2
    assert store.ids_for_document(doc_id) == set(ids) and store.doc_records()[doc_id]["state"] == "complete"


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

    from rag.models.embedder import build_embedder

    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(5):
        (folder / f"note-{i}.txt").write_text(f"Note {i}. Quinces ripen late in the autumn. " * 5)
    hash_embedder.name = build_embedder(settings).name  # the recipe the real command will compare with
    make(settings, hash_embedder)[1].sync(folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_PERSIST_DIR=str(settings.persist_dir), RAG_COLLECTION=settings.collection)
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "rag.cli", "sync", str(folder)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "5 unchanged" in " ".join(proc.stderr.split())
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert not imported & {"torch", "sentence_transformers", "transformers", "llama_cpp", "llama_index.core"}
