"""Load → chunk → embed → store, one document at a time, so one bad file never stops the rest."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rag.ingest.chunker import chunk_document
from rag.ingest.loaders import LoadError, display_source, iter_files, load_bytes, make_doc_id, read_file
from rag.keyword_index import KeywordIndex
from rag.models.embedder import Embedder
from rag.schemas import Document
from rag.settings import Settings
from rag.store import ChunkStore

Progress = Callable[[int, int], None]  # (chunks done in this document, chunks in this document)


class IngestInterrupted(Exception):
    """The process is stopping: the document being written was left at a batch boundary, its record still
    "writing", so the next ingest of it (or `rag sync`) finishes it."""


@dataclass
class DocResult:
    doc_id: str
    source: str
    title: str
    chunks: int
    embedded: int  # chunks that were new and had to be embedded
    removed: int  # stale chunks of an earlier version removed
    unchanged: bool = False  # same content hash as last time: nothing was read into the store
    warnings: list[str] = field(default_factory=list)  # the loader's: pages without text, OCR used


@dataclass
class IngestReport:
    documents: list[DocResult] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    deleted: list[str] = field(default_factory=list)  # sources removed because their file is gone
    seconds: float = 0.0

    @property
    def unchanged(self) -> int:
        return sum(d.unchanged for d in self.documents)

    @property
    def chunks(self) -> int:
        return sum(d.chunks for d in self.documents)

    @property
    def embedded(self) -> int:
        return sum(d.embedded for d in self.documents)


class Ingestor:
    def __init__(self, settings: Settings, store: ChunkStore, embedder: Embedder,
                 keyword_index: KeywordIndex | None = None, stop: threading.Event | None = None) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.keyword_index = keyword_index
        self.stop = stop or threading.Event()  # set by a server that is shutting down

    def _check_stop(self, doc: Document) -> None:
        if self.stop.is_set():
            raise IngestInterrupted(f"{doc.source}: not ingested, the server is stopping; add it again to "
                                    "finish it")

    def _after_write(self) -> None:
        """Bring the BM25 index in step now, so the first question after an ingest does not pay for it."""
        if self.keyword_index is not None:
            self.keyword_index.sync()

    def ingest_document(self, doc: Document, progress: Progress | None = None, data: bytes | None = None,
                        ) -> DocResult:
        """`data`, an upload's bytes, is kept under the persist folder: the viewer renders its PDF pages
        from it and re-ingest reads it again."""
        kept = self._keep(doc, data) if data is not None else ""
        result = self._ingest_one(doc, progress, path="", kept=kept)
        self._after_write()
        return result

    def uploads_dir(self) -> Path:
        return self.settings.persist_dir / "files" / self.settings.collection

    def _keep(self, doc: Document, data: bytes) -> str:
        folder = self.uploads_dir()
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{doc.doc_id}{Path(doc.source).suffix.lower()}"
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
        return str(target)

    def reingest(self, doc_id: str) -> DocResult:
        """Read a document's file again (its folder path, or the kept upload) and replace its chunks."""
        rec = self.store.doc_records().get(doc_id)
        if rec is None:
            raise LoadError(f"no document with id {doc_id!r}")
        kept, path = str(rec.get("file") or ""), str(rec.get("path") or "")
        if kept and Path(kept).is_file():
            data = Path(kept).read_bytes()
            name = str(rec.get("source", "")).removeprefix("upload:")
            doc = self.load_upload(data, name)
            return self.ingest_document(doc, data=data)
        if path and Path(path).is_file():
            report = self.ingest_paths([Path(path)], force=True)
            if report.skipped:
                raise LoadError(report.skipped[0][1])
            return report.documents[0]
        raise LoadError(f"{rec.get('source', doc_id)}: its file is no longer available; upload it again")

    def _recipe(self) -> str:
        """What the chunks depend on besides the file: a change re-ingests even an unchanged file."""
        s = self.settings
        return f"{s.chunk_size}/{s.chunk_overlap}/{getattr(self.embedder, 'name', type(self.embedder).__name__)}"

    def _ingest_one(self, doc: Document, progress: Progress | None = None, file_hash: str = "",
                    path: str = "", kept: str = "") -> DocResult:
        self._check_stop(doc)
        chunks = chunk_document(doc, self.settings.chunk_size, self.settings.chunk_overlap)
        doc_hash = hashlib.sha256(doc.text.encode()).hexdigest()
        # "writing" first, "complete" last: a kill in between leaves a record the next sync redoes
        record = {"source": doc.source, "title": doc.title, "path": path, "file_hash": file_hash,
                  "recipe": self._recipe(), "n_chunks": len(chunks), "ingested_at": time.time(),
                  "pages": len(doc.pages), "file": kept}
        self.store.put_doc_record(doc.doc_id, state="writing", **record)
        existing = self.store.ids_for_document(doc.doc_id)
        todo = [c for c in chunks if c.id not in existing]
        vectors: list[list[float]] = []
        step = max(1, self.settings.embed_batch_size)
        for i in range(0, len(todo), step):
            self._check_stop(doc)  # between batches: the store is never cut off in the middle of a write
            vectors.extend(self.embedder.embed_documents([c.text for c in todo[i:i + step]]))
            if progress:
                progress(min(i + step, len(todo)), len(todo))
        self._check_stop(doc)
        removed = self.store.replace_document(todo, vectors, doc.doc_id, doc_hash, keep={c.id for c in chunks})
        self.store.put_doc_record(doc.doc_id, state="complete", **record)
        return DocResult(doc.doc_id, doc.source, doc.title, len(chunks), len(todo), removed,
                         warnings=list(doc.warnings))

    def ingest_paths(self, paths: list[Path], on_file: Callable[[Path], Progress | None] | None = None,
                     force: bool = False) -> IngestReport:
        report = IngestReport()
        t0 = time.perf_counter()
        max_bytes = int(self.settings.max_file_mb * 1e6)
        files = iter_files(paths)
        records = self.store.doc_records()
        for path in files:
            if not path.exists():
                report.skipped.append((str(path), "no such file or folder"))
                continue
            try:
                data = read_file(path, max_bytes)
                file_hash = hashlib.sha256(data).hexdigest()
                resolved = str(path.resolve())
                doc_id = make_doc_id(path.name, resolved)
                if not force and self._unchanged(records.get(doc_id), file_hash, doc_id):
                    report.documents.append(DocResult(doc_id, display_source(path), records[doc_id].get(
                        "title", path.stem), int(records[doc_id]["n_chunks"]), 0, 0, unchanged=True))
                    continue
                doc = load_bytes(data, path.name, source=display_source(path), source_key=resolved)
                if not doc.text.strip():
                    raise LoadError(f"{path}: the file has no text")
                report.documents.append(self._ingest_one(doc, on_file(path) if on_file else None,
                                                         file_hash=file_hash, path=resolved))
            except LoadError as exc:
                report.skipped.append((str(path), str(exc)))
        self._after_write()
        report.seconds = time.perf_counter() - t0
        return report

    def _unchanged(self, record: dict | None, file_hash: str, doc_id: str) -> bool:
        """Same bytes, same chunking and embedder, its write finished, and all its chunks still there."""
        return (record is not None and record.get("state") == "complete" and record.get("file_hash") == file_hash
                and record.get("recipe") == self._recipe()
                and len(self.store.ids_for_document(doc_id)) == int(record.get("n_chunks", -1)))

    def sync(self, folder: Path, on_file: Callable[[Path], Progress | None] | None = None) -> IngestReport:
        """Make the collection match a folder: new and changed files in, deleted files out, unchanged ones
        skipped by content hash. Safe to re-run after a crash: it redoes whatever was left half-written."""
        t0 = time.perf_counter()
        root = Path(folder).resolve()
        if not root.is_dir():
            raise LoadError(f"{folder}: not a folder")
        files = iter_files([root])
        report = self.ingest_paths(files, on_file)
        present = {str(f.resolve()) for f in files}
        for doc_id, rec in self.store.doc_records().items():
            path = str(rec.get("path") or "")
            if path and Path(path).is_relative_to(root) and path not in present:
                self.store.delete_document(doc_id)
                report.deleted.append(str(rec.get("source") or path))
        if report.deleted:
            self._after_write()
        report.seconds = time.perf_counter() - t0
        return report

    def load_upload(self, data: bytes, name: str) -> Document:
        """An uploaded file: its identity is its name, so uploading it again replaces the old version."""
        safe_name = Path(name).name  # never trust a client's path
        max_bytes = int(self.settings.max_file_mb * 1e6)
        if len(data) > max_bytes:
            raise LoadError(f"{safe_name}: {len(data) / 1e6:.1f} MB is over the "
                            f"{self.settings.max_file_mb:.0f} MB limit")
        doc = load_bytes(data, safe_name, source=f"upload:{safe_name}", source_key=f"upload:{safe_name}")
        if not doc.text.strip():
            raise LoadError(f"{safe_name}: the file has no text")
        return doc

    def ingest_upload(self, data: bytes, name: str) -> DocResult:
        return self.ingest_document(self.load_upload(data, name), data=data)

    def delete_document(self, doc_id: str) -> int:
        """Every chunk (Chroma, then BM25), the record and a kept upload."""
        kept = str(self.store.doc_records().get(doc_id, {}).get("file") or "")
        removed = self.store.delete_document(doc_id)
        if removed:
            self._after_write()
        if kept:
            Path(kept).unlink(missing_ok=True)
        return removed
