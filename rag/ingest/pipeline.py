"""Load → chunk → embed → store, one document at a time, so one bad file never stops the rest."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rag.ingest.chunker import chunk_document
from rag.ingest.loaders import LoadError, iter_files, load_bytes, load_file
from rag.keyword_index import KeywordIndex
from rag.models.embedder import Embedder
from rag.schemas import Document
from rag.settings import Settings
from rag.store import ChunkStore

Progress = Callable[[int, int], None]  # (chunks done in this document, chunks in this document)


@dataclass
class DocResult:
    doc_id: str
    source: str
    title: str
    chunks: int
    embedded: int  # chunks that were new and had to be embedded
    removed: int  # stale chunks of an earlier version removed


@dataclass
class IngestReport:
    documents: list[DocResult] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    seconds: float = 0.0

    @property
    def chunks(self) -> int:
        return sum(d.chunks for d in self.documents)

    @property
    def embedded(self) -> int:
        return sum(d.embedded for d in self.documents)


class Ingestor:
    def __init__(self, settings: Settings, store: ChunkStore, embedder: Embedder,
                 keyword_index: KeywordIndex | None = None) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.keyword_index = keyword_index

    def _after_write(self) -> None:
        """Bring the BM25 index in step now, so the first question after an ingest does not pay for it."""
        if self.keyword_index is not None:
            self.keyword_index.sync()

    def ingest_document(self, doc: Document, progress: Progress | None = None) -> DocResult:
        result = self._ingest_one(doc, progress)
        self._after_write()
        return result

    def delete_document(self, doc_id: str) -> int:
        removed = self.store.delete_document(doc_id)
        if removed:
            self._after_write()
        return removed

    def _ingest_one(self, doc: Document, progress: Progress | None = None) -> DocResult:
        chunks = chunk_document(doc, self.settings.chunk_size, self.settings.chunk_overlap)
        doc_hash = hashlib.sha256(doc.text.encode()).hexdigest()
        existing = self.store.ids_for_document(doc.doc_id)
        todo = [c for c in chunks if c.id not in existing]
        vectors: list[list[float]] = []
        step = max(1, self.settings.embed_batch_size)
        for i in range(0, len(todo), step):
            vectors.extend(self.embedder.embed_documents([c.text for c in todo[i:i + step]]))
            if progress:
                progress(min(i + step, len(todo)), len(todo))
        removed = self.store.replace_document(todo, vectors, doc.doc_id, doc_hash, keep={c.id for c in chunks})
        return DocResult(doc.doc_id, doc.source, doc.title, len(chunks), len(todo), removed)

    def ingest_paths(self, paths: list[Path], on_file: Callable[[Path], Progress | None] | None = None,
                     ) -> IngestReport:
        report = IngestReport()
        t0 = time.perf_counter()
        max_bytes = int(self.settings.max_file_mb * 1e6)
        files = iter_files(paths)
        for path in files:
            if not path.exists():
                report.skipped.append((str(path), "no such file or folder"))
                continue
            try:
                doc = load_file(path, max_bytes=max_bytes)
                if not doc.text.strip():
                    raise LoadError(f"{path}: the file has no text")
                report.documents.append(self._ingest_one(doc, on_file(path) if on_file else None))
            except LoadError as exc:
                report.skipped.append((str(path), str(exc)))
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
        return self.ingest_document(self.load_upload(data, name))
