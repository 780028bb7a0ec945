"""Retrieval: the query is embedded and matched against the Chroma collection (dense).

Kept behind `Retriever` so BM25 and hybrid fusion can slot in beside it.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel

from rag.models.embedder import Embedder
from rag.schemas import Passage
from rag.store import ChunkStore


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
        return self.store.query(self.embedder.embed_query(query), top_k, filters.where() if filters else None)
