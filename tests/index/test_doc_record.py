"""The typed document record reads and writes the store's records as they always were: a store written before
`DocRecord` existed opens, unchanged files in it are still skipped, and a record written now holds the same
keys and values an older version wrote."""

from __future__ import annotations

from rag.index.store import ChunkStore
from rag.ingest.pipeline import Ingestor
from rag.types import DocRecord, DocState
from tests.conftest import SEED_DOC

# A record as the pipeline wrote it before the model, key for key (the store adds "kind" and "doc_id").
OLD = {"kind": "document", "doc_id": "d-1", "source": "notes/d.md", "title": "D", "path": "/x/notes/d.md",
       "file_hash": "abc", "recipe": "192/32/hash", "n_chunks": 4, "ingested_at": 1700000000.5, "pages": 0,
       "file": "", "state": "complete"}


def test_an_old_record_reads_and_writes_back_the_same(settings) -> None:
    store = ChunkStore(settings)
    store._meta.upsert(ids=["doc:d-1"], embeddings=[[0.0]], metadatas=[OLD])
    rec = store.doc_record("d-1")
    assert rec == DocRecord(doc_id="d-1", source="notes/d.md", title="D", path="/x/notes/d.md", file_hash="abc",
                            recipe="192/32/hash", n_chunks=4, ingested_at=1700000000.5, pages=0,
                            state=DocState.complete)
    assert rec.complete and rec.state == "complete"
    store.put_doc_record(rec)
    assert store._meta.get(ids=["doc:d-1"], include=["metadatas"])["metadatas"][0] == OLD


def test_a_sparse_record_takes_defaults(settings) -> None:
    """Records written without a page count or a state (older versions, hand-made stores) still open: the
    page count is unknown rather than 0, and a record that never said "complete" is not."""
    store = ChunkStore(settings)
    store._meta.upsert(ids=["doc:s"], embeddings=[[0.0]], metadatas=[{"kind": "document", "doc_id": "s",
                                                                      "source": "s.txt", "retired": 1}])
    rec = store.doc_records()["s"]
    assert rec.pages is None and rec.state == DocState.writing and not rec.complete and rec.n_chunks == 0
    assert store.doc_record("missing") is None


def test_a_store_written_with_old_records_skips_unchanged_files(settings, hash_embedder) -> None:
    store = ChunkStore(settings)
    ing = Ingestor(settings, store, hash_embedder)
    first = ing.ingest_paths([SEED_DOC]).documents[0]
    rec = store.doc_record(first.doc_id)
    assert rec is not None
    # write it back as plain metadata, as the code before the model did
    store._meta.upsert(ids=[f"doc:{rec.doc_id}"], embeddings=[[0.0]],
                       metadatas=[{"kind": "document", **rec.model_dump(mode="json")}])
    again = ing.ingest_paths([SEED_DOC]).documents[0]
    assert again.unchanged and again.chunks == first.chunks
