"""The real Chroma store (embedded, in a temporary folder) with a fast stand-in embedder."""

from __future__ import annotations

from rag.index.store import ChunkStore
from rag.ingest.pipeline import Ingestor
from rag.retrieval.retrievers import DenseRetriever, Filters
from tests.conftest import SEED_DOC


def make(settings, embedder):
    store = ChunkStore(settings)
    return store, Ingestor(settings, store, embedder)


def test_ingest_is_idempotent_and_skips_unreadable_files(settings, hash_embedder, tmp_path) -> None:
    store, ing = make(settings, hash_embedder)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01\x02binary")
    report = ing.ingest_paths([SEED_DOC, bad, tmp_path / "missing.md"])
    assert len(report.documents) == 1 and report.chunks == store.count() > 3
    assert {name for name, _ in report.skipped} == {str(bad), str(tmp_path / "missing.md")}
    assert "binary" in dict(report.skipped)[str(bad)]
    calls = hash_embedder.calls
    again = ing.ingest_paths([SEED_DOC])
    assert store.count() == report.chunks, "re-ingesting never duplicates"
    assert again.embedded == 0 and hash_embedder.calls == calls, "unchanged chunks are not re-embedded"


def test_changed_file_replaces_its_old_chunks(settings, hash_embedder, tmp_path) -> None:
    store, ing = make(settings, hash_embedder)
    f = tmp_path / "notes.md"
    f.write_text("# Notes\n\nThe first version talks about apples. " * 30)
    ing.ingest_paths([f])
    f.write_text("# Notes\n\nThe second version talks about pears. " * 10)
    res = ing.ingest_paths([f]).documents[0]
    chunks = store.get_chunks(res.doc_id)
    assert len(chunks) == res.chunks == store.count()
    assert all("pears" in c.text and "apples" not in c.text for c in chunks)


def test_list_delete_and_filtered_retrieval(settings, hash_embedder, tmp_path) -> None:
    store, ing = make(settings, hash_embedder)
    other = tmp_path / "other.txt"
    other.write_text("Gardening notes. Tomatoes need sun and water every day.")
    ing.ingest_paths([SEED_DOC, other])
    docs = {d["source"].split("/")[-1]: d for d in store.list_documents()}
    assert set(docs) == {SEED_DOC.name, "other.txt"}
    assert docs["other.txt"]["chunks"] == 1
    retriever = DenseRetriever(store, hash_embedder)
    only = retriever.retrieve("tomatoes sun water", 5, Filters(doc_ids=[docs["other.txt"]["doc_id"]]))
    assert [p.chunk.doc_id for p in only] == [docs["other.txt"]["doc_id"]]
    top = retriever.retrieve("Which gas fields does the Gazprom agreement cover?", 3)
    assert any("North Pars" in p.chunk.text for p in top)
    for p in top:
        assert SEED_DOC.read_text()[p.chunk.start:p.chunk.end] == p.chunk.text
    assert store.delete_document(docs["other.txt"]["doc_id"]) == 1
    assert {d["source"].split("/")[-1] for d in store.list_documents()} == {SEED_DOC.name}


def test_upload_uses_the_file_name_only(settings, hash_embedder) -> None:
    store, ing = make(settings, hash_embedder)
    res = ing.ingest_upload(b"Secret plans for the Caspian ports.", "../../etc/evil.txt")
    assert res.source == "upload:evil.txt"
    again = ing.ingest_upload(b"Secret plans for the Caspian ports.", "evil.txt")
    assert again.doc_id == res.doc_id and store.count() == 1


def test_store_persists_across_clients(settings, hash_embedder) -> None:
    store, ing = make(settings, hash_embedder)
    n = ing.ingest_paths([SEED_DOC]).chunks
    del store, ing
    assert ChunkStore(settings).count() == n
