"""The Chroma collection of chunks: upsert, replace and delete by document, list documents, query."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rag.schemas import Chunk, Passage
from rag.settings import Settings


class StoreError(RuntimeError):
    pass


def _meta(chunk: Chunk, ingested_at: float, doc_hash: str) -> dict[str, Any]:
    # Chroma metadata cannot hold None: page -1 means "no page".
    return {"doc_id": chunk.doc_id, "source": chunk.source, "title": chunk.title,
            "page": -1 if chunk.page is None else chunk.page, "start": chunk.start, "end": chunk.end,
            "ingested_at": ingested_at, "doc_hash": doc_hash}


def _chunk(cid: str, text: str, meta: dict[str, Any]) -> Chunk:
    page = int(meta.get("page", -1))
    return Chunk(id=cid, doc_id=str(meta["doc_id"]), source=str(meta["source"]), title=str(meta["title"]),
                 page=None if page < 0 else page, start=int(meta["start"]), end=int(meta["end"]), text=text)


class ChunkStore:
    def __init__(self, settings: Settings) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            settings.persist_dir.mkdir(parents=True, exist_ok=True)
            self._client = chromadb.PersistentClient(path=str(settings.persist_dir), settings=chroma_settings)
            self._col = self._client.get_or_create_collection(
                settings.collection, metadata={"hnsw:space": "cosine"})
        except Exception as exc:  # chromadb raises many types; the user needs the path and the cause
            raise StoreError(f"cannot open the Chroma store at {settings.persist_dir}: {exc}") from exc
        self.name = settings.collection

    def count(self) -> int:
        return self._col.count()

    def ids_for_document(self, doc_id: str) -> set[str]:
        return set(self._col.get(where={"doc_id": doc_id}, include=[])["ids"])

    def replace_document(self, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]],
                         doc_id: str, doc_hash: str, keep: set[str]) -> int:
        """Upsert the new chunks, then remove the document's chunks that are not in `keep`."""
        now = time.time()
        batch = 1000
        for i in range(0, len(chunks), batch):
            part = chunks[i:i + batch]
            self._col.upsert(ids=[c.id for c in part], documents=[c.text for c in part],
                             embeddings=[list(e) for e in embeddings[i:i + batch]],
                             metadatas=[_meta(c, now, doc_hash) for c in part])
        stale = self.ids_for_document(doc_id) - keep - {c.id for c in chunks}
        if stale:
            self._col.delete(ids=sorted(stale))
        return len(stale)

    def delete_document(self, doc_id: str) -> int:
        ids = self.ids_for_document(doc_id)
        if ids:
            self._col.delete(ids=sorted(ids))
        return len(ids)

    def list_documents(self) -> list[dict[str, Any]]:
        got = self._col.get(include=["metadatas"])
        docs: dict[str, dict[str, Any]] = {}
        for meta in got["metadatas"] or []:
            d = docs.setdefault(str(meta["doc_id"]), {"doc_id": meta["doc_id"], "source": meta["source"],
                                                      "title": meta["title"], "chunks": 0,
                                                      "ingested_at": meta.get("ingested_at", 0.0)})
            d["chunks"] += 1
        return sorted(docs.values(), key=lambda d: d["source"])

    def get_chunks(self, doc_id: str) -> list[Chunk]:
        got = self._col.get(where={"doc_id": doc_id}, include=["documents", "metadatas"])
        chunks = [_chunk(i, t, m) for i, t, m in zip(got["ids"], got["documents"], got["metadatas"],
                                                      strict=True)]
        return sorted(chunks, key=lambda c: c.start)

    def query(self, embedding: Sequence[float], k: int, where: dict[str, Any] | None = None) -> list[Passage]:
        if self.count() == 0:
            return []
        res = self._col.query(query_embeddings=[list(embedding)], n_results=k, where=where,
                              include=["documents", "metadatas", "distances"])
        return [Passage(chunk=_chunk(i, t, m), score=round(1.0 - float(d), 4))
                for i, t, m, d in zip(res["ids"][0], res["documents"][0], res["metadatas"][0],
                                      res["distances"][0], strict=True)]
