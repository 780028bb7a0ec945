"""Retrieval: dense (the query's embedding against Chroma), BM25 (keywords), or both fused by reciprocal
rank fusion. Dense finds paraphrases; BM25 finds rare names and numbers ("What is Shana?") that a small
embedder blurs. The mode is a setting; each sits behind `Retriever`."""

from __future__ import annotations

import math
from typing import Any, Protocol

from pydantic import BaseModel

from rag.backends.embedder import Embedder
from rag.config import RetrievalSettings
from rag.index.keyword import KeywordIndex
from rag.index.store import ChunkStore
from rag.types import Passage


class Filters(BaseModel):
    doc_ids: list[str] | None = None
    sources: list[str] | None = None

    def where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.doc_ids:
            clauses.append({"doc_id": {"$in": self.doc_ids}})
        if self.sources:
            clauses.append({"source": {"$in": self.sources}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class Retriever(Protocol):
    def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]: ...


class DenseRetriever:
    def __init__(self, store: ChunkStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]:
        hits = self.store.query(self.embedder.embed_query(query), top_k, filters.where() if filters else None)
        return [p.model_copy(update={"dense_score": p.score}) for p in hits]


class Bm25Retriever:
    def __init__(self, store: ChunkStore, index: KeywordIndex) -> None:
        self.store = store
        self.index = index

    def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]:
        f = filters or Filters()
        hits = self.index.search(query, top_k, f.doc_ids, f.sources)
        chunks = self.store.get_by_ids([h.chunk_id for h in hits])
        return [Passage(chunk=chunks[h.chunk_id][0], score=round(h.score, 4), bm25_score=round(h.score, 4))
                for h in hits if h.chunk_id in chunks]


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


class HybridRetriever:
    """Both lists, `settings.depth` deep, fused by reciprocal rank (`settings.rrf_k`); every fused passage gets
    both scores."""

    def __init__(self, store: ChunkStore, embedder: Embedder, index: KeywordIndex,
                 settings: RetrievalSettings | None = None) -> None:
        settings = settings or RetrievalSettings()
        self.store = store
        self.embedder = embedder
        self.index = index
        self.depth = settings.depth
        self.rrf_k = settings.rrf_k

    def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]:
        f = filters or Filters()
        depth = max(self.depth, top_k)
        qvec = self.embedder.embed_query(query)
        dense = self.store.query(qvec, depth, f.where())
        keyword = self.index.search(query, depth, f.doc_ids, f.sources)
        fused: dict[str, float] = {}
        for rank, p in enumerate(dense, start=1):
            fused[p.chunk.id] = fused.get(p.chunk.id, 0.0) + 1.0 / (self.rrf_k + rank)
        for rank, h in enumerate(keyword, start=1):
            fused[h.chunk_id] = fused.get(h.chunk_id, 0.0) + 1.0 / (self.rrf_k + rank)
        top = sorted(fused, key=lambda cid: -fused[cid])[:top_k]
        by_dense = {p.chunk.id: p for p in dense}
        by_bm25 = {h.chunk_id: h.score for h in keyword}
        missing = [cid for cid in top if cid not in by_dense]  # keyword-only hits: score them densely too
        extra = self.store.get_by_ids(missing, embeddings=True)
        out = []
        for cid in top:
            if cid in by_dense:
                chunk, dscore = by_dense[cid].chunk, by_dense[cid].score
            elif cid in extra:
                chunk, vec = extra[cid]
                dscore = round(cosine(qvec, vec), 4) if vec else None
            else:
                continue  # deleted between the two lookups
            bscore = by_bm25.get(cid)
            out.append(Passage(chunk=chunk, score=round(fused[cid], 5), dense_score=dscore,
                               bm25_score=None if bscore is None else round(bscore, 4)))
        return out

