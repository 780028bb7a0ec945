"""BM25 beside the real Chroma store: kept in step on ingest, re-ingest and delete; persisted; fused."""

from __future__ import annotations

import json

from rag.components import build_retriever
from rag.config import RetrievalSettings
from rag.index.keyword import KeywordIndex
from rag.index.store import ChunkStore
from rag.ingest.pipeline import Ingestor
from rag.retrieval.rerank import SentenceReranker
from rag.retrieval.retrievers import Bm25Retriever, Filters, HybridRetriever
from tests.conftest import SEED_DOC


def make(settings, embedder):
    store = ChunkStore(settings)
    index = KeywordIndex(store, settings.store.persist_dir / "bm25" / settings.store.collection)
    return store, index, Ingestor(settings, store, embedder, index)


def test_index_follows_ingest_reingest_and_delete(settings, hash_embedder, tmp_path) -> None:
    store, index, ing = make(settings, hash_embedder)
    f = tmp_path / "fruit.md"
    f.write_text("Orchard notes. The quince harvest starts in October. " * 3)
    ing.ingest_paths([SEED_DOC, f])
    assert index.size == store.count()
    bm25 = Bm25Retriever(store, index)
    assert "quince" in bm25.retrieve("quince harvest", 1)[0].chunk.text
    f.write_text("Orchard notes. The medlar harvest starts in November. " * 3)  # changed file: old text gone
    ing.ingest_paths([f])
    assert index.size == store.count()
    assert not bm25.retrieve("quince", 3)
    assert "medlar" in bm25.retrieve("medlar", 1)[0].chunk.text
    doc_id = bm25.retrieve("medlar", 1)[0].chunk.doc_id
    assert ing.delete_document(doc_id) > 0
    assert not bm25.retrieve("medlar", 3) and index.size == store.count()


def test_index_is_persisted_and_rebuilt_when_the_store_moved_on(settings, hash_embedder) -> None:
    store, index, ing = make(settings, hash_embedder)
    ing.ingest_paths([SEED_DOC])
    folder = settings.store.persist_dir / "bm25" / settings.store.collection
    pointer = json.loads((folder / "current.json").read_text())
    assert pointer["revision"] == store.revision() and (folder / pointer["main"]).is_dir()
    # a new process loads the saved index instead of rebuilding it
    fresh = KeywordIndex(ChunkStore(settings), folder)
    assert fresh.sync() is False and fresh.size == store.count()
    # another writer changed the store behind this index's back (or a crash came between the two):
    # the revision differs, so the next search catches up with the store
    other = ChunkStore(settings)
    other.delete_document(store.get_chunks(Bm25Retriever(store, fresh).retrieve("Gazprom", 1)[0].chunk.doc_id)
                          [0].doc_id)
    assert fresh.search("Gazprom", 3) == [] and fresh.size == 0


def test_hybrid_finds_rare_names_and_keeps_both_scores(settings, hash_embedder, tmp_path) -> None:
    store, index, ing = make(settings, hash_embedder)
    other = tmp_path / "other.txt"
    other.write_text("Gardening notes. Tomatoes need sun and water every day.")
    ing.ingest_paths([SEED_DOC, other])
    hybrid = HybridRetriever(store, hash_embedder, index)
    top = hybrid.retrieve("What is Shana?", 3)
    assert "Shana" in top[0].chunk.text
    assert all(p.dense_score is not None for p in top) and top[0].bm25_score and top[0].bm25_score > 0
    assert [p.score for p in top] == sorted((p.score for p in top), reverse=True)
    only = hybrid.retrieve("tomatoes", 5, Filters(sources=[str(other)]))
    assert {p.chunk.source for p in only} == {str(other)}


def test_build_retriever_modes_and_rerank(settings, hash_embedder) -> None:
    store, index, ing = make(settings, hash_embedder)
    ing.ingest_paths([SEED_DOC])
    for mode in ("dense", "bm25", "hybrid"):
        r = build_retriever(RetrievalSettings(mode=mode), store, hash_embedder, index)
        assert isinstance(r, SentenceReranker)
        top = r.retrieve("Which gas fields does the Gazprom agreement cover?", 2)
        assert len(top) == 2 and "North Pars" in top[0].chunk.text, mode
    try:
        build_retriever(RetrievalSettings().model_copy(update={"mode": "fuzzy"}), store, hash_embedder, index)
    except ValueError as exc:
        assert "dense, bm25 or hybrid" in str(exc)
    else:
        raise AssertionError("an unknown mode must be refused")


def test_coverage_weighs_terms_the_passages_never_mention(settings, hash_embedder) -> None:
    store, index, ing = make(settings, hash_embedder)
    ing.ingest_paths([SEED_DOC])
    text = [c.text for c in store.get_chunks(store.list_documents()[0]["doc_id"])]
    assert index.coverage("Which gas fields does the Gazprom agreement cover?", text) > 0.6
    assert index.coverage("In which hotel did the delegation sleep?", text) < 0.5
