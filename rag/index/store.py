"""The Chroma collection of chunks: upsert, replace and delete by document, list documents, query."""

from __future__ import annotations

import os
import random
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.types import Chunk, DocRecord, DocState, Passage


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


def _check_writable(db: Path, timeout: float) -> None:
    """Fail fast and plainly on a locked or read-only store. Chroma's own SQLite connection would wait
    for a lock held by another process without end, and reports a read-only folder as a database error."""
    if not os.access(db.parent, os.W_OK) or (db.exists() and not os.access(db, os.W_OK)):
        raise StoreError(f"the store at {db.parent} is read-only; answering and ingesting need a writable "
                         "store folder")
    if not db.exists():
        return
    try:
        con = sqlite3.connect(str(db), timeout=timeout)
        try:
            con.execute("BEGIN IMMEDIATE")  # takes the write lock, as an ingest would
            con.rollback()
        finally:
            con.close()
    except sqlite3.OperationalError as exc:
        msg = str(exc)
        if "locked" in msg or "busy" in msg:
            raise StoreError(f"the store at {db.parent} is locked by another process (waited {timeout:g} s); "
                             "try again when it has finished") from exc
        if "readonly" in msg or "read-only" in msg:
            raise StoreError(f"the store at {db.parent} is read-only; answering and ingesting need a "
                             "writable store folder") from exc
        raise StoreError(f"cannot open the store at {db.parent}: {msg}") from exc


_LOCK_ID = "write-lock"
_local_locks: dict[str, threading.Lock] = {}
_local_locks_guard = threading.Lock()


def _gone(lock: dict) -> bool:
    """Whether a lock record's holder ran on this host and no longer runs (a record from another host, or one
    written before the holder's host and pid were recorded, waits for its expiry)."""
    if lock.get("host") != socket.gethostname() or not isinstance(lock.get("pid"), int):
        return False
    try:
        os.kill(lock["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def _local_lock(key: str) -> threading.Lock:
    """One lock per collection in this process, shared by every ChunkStore opened on it."""
    with _local_locks_guard:
        return _local_locks.setdefault(key, threading.Lock())


class ChunkStore:
    def __init__(self, settings: Settings) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        where = (
            f"the Chroma server at {settings.store.chroma_host}:{settings.store.chroma_port}"
            if settings.store.chroma_host
            else f"the Chroma store at {settings.store.persist_dir}"
        )
        try:
            if settings.store.chroma_host:  # many users, one store: `chroma run --path DIR --port P`
                self._client = chromadb.HttpClient(host=settings.store.chroma_host, port=settings.store.chroma_port,
                                                   ssl=settings.store.chroma_ssl, settings=chroma_settings)
            else:
                settings.store.persist_dir.mkdir(parents=True, exist_ok=True)
                _check_writable(settings.store.persist_dir / "chroma.sqlite3", settings.store.lock_timeout)
                self._client = chromadb.PersistentClient(path=str(settings.store.persist_dir), settings=chroma_settings)
            self._col = self._client.get_or_create_collection(
                settings.store.collection, metadata={"hnsw:space": "cosine"})
            # One record whose value changes on every write: other indexes (BM25) compare it to rebuild
            # when the chunks changed, whichever process or machine wrote them.
            self._meta = self._client.get_or_create_collection(f"{settings.store.collection}__meta")
        except StoreError:
            raise
        except Exception as exc:  # chromadb raises many types; the user needs the path and the cause
            hint = " (the store is read-only)" if "readonly" in str(exc) else ""
            raise StoreError(f"cannot open {where}{hint}: {exc}") from exc
        self.name = settings.store.collection
        self.upsert_batch = settings.store.upsert_batch
        self._lock_key = f"{where}/{self.name}"
        self._write_wait = settings.store.write_wait
        self._lock_ttl = settings.store.write_lock_ttl

    def count(self) -> int:
        return self._col.count()

    def collection_names(self) -> list[str]:
        """The chunk collections in this store (not the `__meta` side collections)."""
        names = [c if isinstance(c, str) else c.name for c in self._client.list_collections()]
        return sorted(n for n in names if not n.endswith("__meta"))

    def drop(self) -> None:
        """Delete this collection and its records; this object is unusable afterwards."""
        for name in (self.name, f"{self.name}__meta"):
            try:
                self._client.delete_collection(name)
            except Exception as exc:  # chromadb raises NotFoundError/ValueError by version; gone is fine
                if "not exist" not in str(exc).lower() and "not found" not in str(exc).lower():
                    raise

    def revision(self) -> str:
        got = self._meta.get(ids=["revision"], include=["documents"])
        return (got["documents"] or [""])[0] or ""

    def _bump(self) -> None:
        self._meta.upsert(ids=["revision"], documents=[uuid.uuid4().hex], embeddings=[[0.0]])

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """One writer per collection: a thread lock for this process, then a lock record in the meta
        collection for every process sharing the store or the Chroma server. Two concurrent uploads of one file
        used to interleave their reads of the stored ids, writes and deletes, leaving chunks of several
        versions under one record. Chroma has no compare-and-swap, but its `add` keeps the first of two
        records with one id: a writer adds a record naming itself, reads it back and holds the lock when it
        reads its own name. A record past its expiry (its holder was killed) is removed, only if it still
        names that holder (a conditional delete), and the lock is tried again. A record whose holder ran on this
        host and is gone (killed mid-write: `kill -9`, a crash) is abandoned at once, not after its expiry."""
        deadline = time.monotonic() + self._write_wait
        local = _local_lock(self._lock_key)
        if not local.acquire(timeout=self._write_wait):
            raise StoreError(f"collection {self.name!r}: another writer in this process held it for "
                             f"{self._write_wait:g} s; try again")
        try:
            owner = f"{os.getpid()}-{uuid.uuid4().hex}"
            while not self._try_lock(owner):
                if time.monotonic() > deadline:
                    raise StoreError(f"collection {self.name!r}: another process is writing to it "
                                     f"(waited {self._write_wait:g} s); try again")
                time.sleep(random.uniform(0.01, 0.05))
            try:
                yield
            finally:
                self._meta.delete(ids=[_LOCK_ID], where={"owner": owner})
        finally:
            local.release()

    def _try_lock(self, owner: str) -> bool:
        self._meta.add(ids=[_LOCK_ID], embeddings=[[0.0]],
                       metadatas=[{"kind": "lock", "owner": owner, "expires": time.time() + self._lock_ttl,
                                   "host": socket.gethostname(), "pid": os.getpid()}])
        got = self._meta.get(ids=[_LOCK_ID], include=["metadatas"])
        meta = (got["metadatas"] or [None])[0]
        if meta is None:  # released between our add and our read
            return False
        if meta.get("owner") == owner:
            return True
        if float(meta.get("expires", 0.0)) < time.time() or _gone(meta):  # abandoned by a killed process
            self._meta.delete(ids=[_LOCK_ID], where={"owner": str(meta.get("owner"))})
        return False

    # Document records live in the meta collection: what was ingested from where, with which content hash,
    # and whether its write finished. A document whose record still says "writing" was cut off mid-way.
    def doc_records(self) -> dict[str, DocRecord]:
        got = self._meta.get(where={"kind": "document"}, include=["metadatas"])
        return {str(m["doc_id"]): DocRecord.model_validate(m) for m in got["metadatas"] or []}

    def put_doc_record(self, record: DocRecord) -> None:
        self.put_doc_records([record])

    def put_doc_records(self, records: Sequence[DocRecord]) -> None:
        """Many documents' records in one write (a folder of notes is one write, not one per note)."""
        if records:
            self._meta.upsert(ids=[f"doc:{r.doc_id}" for r in records], embeddings=[[0.0]] * len(records),
                              metadatas=[{"kind": "document", **r.stored()} for r in records])

    def drop_doc_record(self, doc_id: str) -> None:
        self._meta.delete(ids=[f"doc:{doc_id}"])

    def iter_ids(self, batch: int = 20000) -> Iterator[str]:
        offset = 0
        while True:
            got = self._col.get(include=[], limit=batch, offset=offset)
            if not got["ids"]:
                return
            yield from got["ids"]
            offset += len(got["ids"])

    def iter_chunks(self, batch: int = 5000) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every (id, text, metadata), in pages so a large collection is never held twice."""
        offset = 0
        while True:
            got = self._col.get(include=["documents", "metadatas"], limit=batch, offset=offset)
            if not got["ids"]:
                return
            yield from zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            offset += len(got["ids"])

    def iter_chunks_by_ids(self, ids: Sequence[str], batch: int = 5000) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(id, text, metadata) of the given ids that exist."""
        for i in range(0, len(ids), batch):
            got = self._col.get(ids=list(ids[i:i + batch]), include=["documents", "metadatas"])
            yield from zip(got["ids"], got["documents"], got["metadatas"], strict=True)

    def get_by_ids(self, ids: Sequence[str], embeddings: bool = False) -> dict[str, tuple[Chunk, list[float] | None]]:
        if not ids:
            return {}
        include: list[Any] = ["documents", "metadatas"] + (["embeddings"] if embeddings else [])
        got = self._col.get(ids=list(dict.fromkeys(ids)), include=include)  # Chroma refuses repeated ids
        vecs = got.get("embeddings") if embeddings else None
        return {cid: (_chunk(cid, t, m), None if vecs is None else [float(x) for x in vecs[i]])
                for i, (cid, t, m) in enumerate(zip(got["ids"], got["documents"], got["metadatas"], strict=True))}

    def ids_for_document(self, doc_id: str) -> set[str]:
        return set(self._col.get(where={"doc_id": doc_id}, include=[])["ids"])

    def chunk_counts(self, expected: dict[str, int], small: int = 16, batch: int = 2000) -> dict[str, int]:
        """Chunks stored per document, for documents expected to hold `expected[doc_id]` chunks. One query
        per document costs about a millisecond (a second for 1,000 notes), so small documents are counted
        together from one metadata read; a large one alone, by its ids, which is cheaper than its metadata."""
        counts = dict.fromkeys(expected, 0)
        group: list[str] = []
        size = 0
        for doc_id, n in expected.items():
            if n >= small:
                counts[doc_id] = len(self.ids_for_document(doc_id))
                continue
            group.append(doc_id)
            size += n
            if size >= batch:
                self._count_into(counts, group)
                group, size = [], 0
        self._count_into(counts, group)
        return counts

    def _count_into(self, counts: dict[str, int], doc_ids: list[str]) -> None:
        if not doc_ids:
            return
        got = self._col.get(where={"doc_id": {"$in": doc_ids}}, include=["metadatas"])
        for meta in got["metadatas"] or []:
            counts[str(meta["doc_id"])] += 1

    def ids_by_document(self, doc_ids: Sequence[str], batch: int = 500) -> dict[str, set[str]]:
        """The stored chunk ids of many documents, read together."""
        out: dict[str, set[str]] = {d: set() for d in doc_ids}
        for i in range(0, len(doc_ids), batch):
            got = self._col.get(where={"doc_id": {"$in": list(doc_ids[i:i + batch])}}, include=["metadatas"])
            for cid, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
                out[str(meta["doc_id"])].add(cid)
        return out

    def write_chunks(self, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]],
                     doc_hashes: dict[str, str], stale: Sequence[str] = ()) -> None:
        """Upsert chunks of any number of documents, `upsert_batch` per write, then delete `stale` ids.
        The revision moves before and after: a crash in between still leaves a revision no index has seen."""
        now = time.time()
        batch = self.upsert_batch
        self._bump()
        for i in range(0, len(chunks), batch):
            part = chunks[i:i + batch]
            self._col.upsert(ids=[c.id for c in part], documents=[c.text for c in part],
                             embeddings=[list(e) for e in embeddings[i:i + batch]],
                             metadatas=[_meta(c, now, doc_hashes[c.doc_id]) for c in part])
        for i in range(0, len(stale), batch):
            self._col.delete(ids=sorted(stale[i:i + batch]))
        self._bump()

    def replace_document(self, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]],
                         doc_id: str, doc_hash: str, keep: set[str]) -> int:
        """Upsert the new chunks, then remove the document's chunks that are not in `keep`."""
        stale = sorted(self.ids_for_document(doc_id) - keep - {c.id for c in chunks})
        self.write_chunks(chunks, embeddings, {doc_id: doc_hash}, stale)
        return len(stale)

    def delete_document(self, doc_id: str) -> int:
        return self.delete_documents([doc_id])[doc_id]

    def delete_documents(self, doc_ids: Sequence[str]) -> dict[str, int]:
        """Every chunk and the record of each document; chunks removed per document."""
        ids = self.ids_by_document(doc_ids)
        gone = sorted(set().union(*ids.values())) if ids else []
        if gone:
            self._bump()
            for i in range(0, len(gone), self.upsert_batch):
                self._col.delete(ids=gone[i:i + self.upsert_batch])
            self._bump()
        if doc_ids:
            self._meta.delete(ids=[f"doc:{d}" for d in doc_ids])
        return {d: len(v) for d, v in ids.items()}

    def list_documents(self) -> list[dict[str, Any]]:
        """One row per document: id, source, title, chunks, ingested_at, `pages` (0 without pages) and `state`
        ("complete", or "writing": its write was cut off or is under way). A document whose record says
        "writing" and has no chunk yet (an upload killed before its chunks) is listed too, with 0 chunks."""
        got = self._col.get(include=["metadatas"])
        records = self.doc_records()
        docs: dict[str, dict[str, Any]] = {}
        for meta in got["metadatas"] or []:
            doc_id = str(meta["doc_id"])
            d = docs.setdefault(doc_id, {"doc_id": meta["doc_id"], "source": meta["source"],
                                         "title": meta["title"], "chunks": 0,
                                         "ingested_at": meta.get("ingested_at", 0.0), "pages": 0})
            d["chunks"] += 1
            d["pages"] = max(d["pages"], int(meta.get("page", -1)))
        for doc_id, rec in records.items():
            if doc_id not in docs and not rec.complete:
                docs[doc_id] = {"doc_id": doc_id, "source": rec.source, "title": rec.title, "chunks": 0,
                                "ingested_at": rec.ingested_at, "pages": 0}
        for doc_id, d in docs.items():
            rec = records.get(doc_id)
            d["pages"] = (rec.pages if rec else None) or d["pages"]
            d["state"] = str(rec.state) if rec else str(DocState.complete)  # stores older than records
        return sorted(docs.values(), key=lambda d: d["source"])

    def doc_record(self, doc_id: str) -> DocRecord | None:
        """One document's record (None when there is none), without reading every document's."""
        got = self._meta.get(ids=[f"doc:{doc_id}"], include=["metadatas"])
        meta = (got["metadatas"] or [None])[0]
        return DocRecord.model_validate(meta) if meta else None

    def get_chunks(self, doc_id: str, lo: int | None = None, hi: int | None = None) -> list[Chunk]:
        """A document's chunks in order; with `lo` and `hi`, only those that overlap [lo, hi) (a citation's
        window in a long PDF reads a few chunks, not thousands)."""
        where: dict[str, Any] = {"doc_id": doc_id}
        if lo is not None and hi is not None:
            where = {"$and": [where, {"end": {"$gt": lo}}, {"start": {"$lt": hi}}]}
        got = self._col.get(where=where, include=["documents", "metadatas"])
        chunks = [_chunk(i, t, m) for i, t, m in zip(got["ids"], got["documents"], got["metadatas"],
                                                      strict=True)]
        return sorted(chunks, key=lambda c: c.start)

    def has_chunk_from(self, doc_id: str, offset: int) -> bool:
        """Whether the document has a chunk starting at or after `offset` (it goes on past a window)."""
        got = self._col.get(where={"$and": [{"doc_id": doc_id}, {"start": {"$gte": offset}}]}, limit=1, include=[])
        return bool(got["ids"])

    def query(self, embedding: Sequence[float], k: int, where: dict[str, Any] | None = None) -> list[Passage]:
        if self.count() == 0:
            return []
        res = self._col.query(query_embeddings=[list(embedding)], n_results=k, where=where,
                              include=["documents", "metadatas", "distances"])
        return [Passage(chunk=_chunk(i, t, m), score=round(1.0 - float(d), 4))
                for i, t, m, d in zip(res["ids"][0], res["documents"][0], res["metadatas"][0],
                                      res["distances"][0], strict=True)]
