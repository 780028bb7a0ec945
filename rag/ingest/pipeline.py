"""Load → chunk → embed → store. Files are loaded one at a time, so one bad file never stops the rest, and
written in groups of about `upsert_batch` chunks: one embedding pass, one Chroma write and one records write
per group, and one BM25 update per ingest or sync. For a folder of notes, per-file round trips, not
embedding, were most of the time."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rag.backends.embedder import Embedder
from rag.config import Settings
from rag.index.keyword import KeywordIndex
from rag.index.store import ChunkStore
from rag.ingest.chunker import chunk_document
from rag.ingest.limits import check_file_size, max_file_bytes
from rag.ingest.loaders import LoadError, display_source, iter_files, load_bytes, make_doc_id, read_file
from rag.logs import log_ingest
from rag.types import Chunk, DocRecord, DocState, Document

Progress = Callable[[int, int], None]  # (chunks embedded so far, chunks queued so far) in this ingest
OnFile = Callable[[Path], None]  # a changed file is about to be ingested


class IngestInterrupted(Exception):
    """The process is stopping: the documents being written were left at a batch boundary, their records still
    "writing", so the next ingest of them (or `rag sync`) finishes them."""


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
class _File:
    """A file found by a scan: where it is, its bytes' hash, and the document id it gets."""

    path: Path
    resolved: Path
    file_hash: str
    doc_id: str


@dataclass
class _Pending:
    """A loaded and chunked document waiting for its group to be written."""

    doc: Document
    chunks: list[Chunk]
    record: DocRecord
    kept_tmp: str = ""  # an upload's bytes under a name of its own, moved to `record.file` with the write


@dataclass
class IngestReport:
    documents: list[DocResult] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    deleted: list[str] = field(default_factory=list)  # sources removed because their file is gone
    seconds: float = 0.0
    written: bool = False  # the store changed (the BM25 index then needs bringing in step)

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

    def _check_stop(self, group: list[_Pending]) -> None:
        if self.stop.is_set():
            names = ", ".join(p.doc.source for p in group)
            raise IngestInterrupted(f"{names}: not ingested, the server is stopping; add it again to finish it")

    def _after_write(self) -> None:
        """Bring the BM25 index in step now, so the first question after an ingest does not pay for it."""
        if self.keyword_index is not None:
            self.keyword_index.sync()

    def ingest_document(self, doc: Document, progress: Progress | None = None, data: bytes | None = None,
                        ) -> DocResult:
        return self.ingest_documents([doc], progress, None if data is None else [data])[0]

    def ingest_documents(self, docs: list[Document], progress: Progress | None = None,
                         data: list[bytes] | None = None) -> list[DocResult]:
        """Loaded documents (uploads) in one group: one embedding pass, one write, one BM25 update. `data`,
        the uploads' bytes, is kept under the persist folder: the viewer renders PDF pages from it and
        re-ingest reads it again."""
        t0, counter, results, group = time.perf_counter(), _Counter(progress), [], []
        kept = [self._keep(doc, data[i]) for i, doc in enumerate(docs)] if data is not None else []
        if kept:  # recorded before chunking: a kill from here on leaves a record the next sync finishes
            self.store.put_doc_records([DocRecord(doc_id=d.doc_id, source=d.source, title=d.title, file=tmp,
                                                  recipe=self._recipe(), ingested_at=time.time())
                                        for d, (_, tmp) in zip(docs, kept, strict=True)])
        for i, doc in enumerate(docs):
            if any(p.doc.doc_id == doc.doc_id for p in group):  # the same name twice: the later one wins
                results += self._write_group(group, counter)
                group = []
            target, tmp = kept[i] if kept else ("", "")
            group.append(self._prepare(doc, kept=target, kept_tmp=tmp))
        results += self._write_group(group, counter)
        self._after_write()
        log_ingest(IngestReport(results, seconds=time.perf_counter() - t0, written=True), self.settings, "upload",
                   [d.source for d in docs])
        return results

    def _recipe(self) -> str:
        """What the chunks depend on besides the file: a change re-ingests even an unchanged file."""
        s = self.settings
        embedder = getattr(self.embedder, 'name', type(self.embedder).__name__)
        return f"{s.ingest.chunk_size}/{s.ingest.chunk_overlap}/{embedder}"

    def delete_document(self, doc_id: str) -> int:
        """Every chunk (Chroma, then BM25), the record and a kept upload."""
        with self.store.write_lock():
            rec = self.store.doc_record(doc_id)
            kept = rec.file if rec else ""
            removed = self.store.delete_document(doc_id)
            if kept:
                Path(kept).unlink(missing_ok=True)
        if removed:
            self._after_write()
        return removed

    def uploads_dir(self) -> Path:
        return self.settings.store.persist_dir / "files" / self.settings.store.collection

    def _keep(self, doc: Document, data: bytes) -> tuple[str, str]:
        """(where the upload is kept, a temporary file of its own holding its bytes). The temporary name is
        unique, so concurrent uploads of one name never write one file; it is moved into place under the
        collection's write lock, with the chunks it made."""
        folder = self.uploads_dir()
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{doc.doc_id}{Path(doc.source).suffix.lower()}"
        tmp = folder / f".{target.name}.{uuid.uuid4().hex}.tmp"
        tmp.write_bytes(data)
        return str(target), str(tmp)

    def reingest(self, doc_id: str) -> DocResult:
        """Read a document's file again (its folder path, or the kept upload) and replace its chunks."""
        rec = self.store.doc_record(doc_id)
        if not rec:
            raise LoadError(f"no document with id {doc_id!r}")
        kept, path = rec.file, rec.path
        if kept and Path(kept).is_file():
            data = Path(kept).read_bytes()
            name = rec.source.removeprefix("upload:")
            doc = self.load_upload(data, name)
            return self.ingest_document(doc, data=data)
        if path and Path(path).is_file():
            report = self.ingest_paths([Path(path)], force=True)
            if report.skipped:
                raise LoadError(report.skipped[0][1])
            return report.documents[0]
        raise LoadError(f"{rec.source or doc_id}: its file is no longer available; upload it again")

    def _prepare(self, doc: Document, file_hash: str = "", path: str = "", kept: str = "", kept_tmp: str = "",
                 ) -> _Pending:
        chunks = chunk_document(doc, self.settings.ingest.chunk_size, self.settings.ingest.chunk_overlap)
        record = DocRecord(doc_id=doc.doc_id, source=doc.source, title=doc.title, path=path, file_hash=file_hash,
                           recipe=self._recipe(), n_chunks=len(chunks), ingested_at=time.time(),
                           pages=len(doc.pages), file=kept)
        return _Pending(doc, chunks, record, kept_tmp)

    def _write_group(self, group: list[_Pending], counter: _Counter) -> list[DocResult]:
        """Store a group of documents. Every record says "writing" before any chunk is written and
        "complete" only after all the group's chunks are stored and stale ones removed, so a kill in
        between leaves records the next sync sees and redoes. Embedding runs outside the collection's write
        lock; the ids stored are read again under it, so a writer of the same document that finished
        meanwhile (another thread, or another server sharing the Chroma server) is replaced whole, never
        interleaved with."""
        if not group:
            return []
        self._check_stop(group)
        self.store.put_doc_records([p.record.model_copy(update={"state": DocState.writing, "file": p.kept_tmp})
                                    if p.kept_tmp else p.record.model_copy(update={"state": DocState.writing})
                                    for p in group])
        existing = self.store.ids_by_document([p.doc.doc_id for p in group])
        todo = [c for p in group for c in p.chunks if c.id not in existing[p.doc.doc_id]]
        counter.queued += len(todo)
        vectors = self._embed([c.text for c in todo], counter, group)
        self._check_stop(group)  # between batches: the store is never cut off in the middle of a write
        with self.store.write_lock():
            existing = self.store.ids_by_document([p.doc.doc_id for p in group])
            embedded = {c.id for c in todo}
            more = [c for p in group for c in p.chunks if c.id not in existing[p.doc.doc_id] and c.id not in embedded]
            if more:  # removed by a writer that finished while these were embedded: rare, and small
                counter.queued += len(more)
                todo += more
                vectors += self._embed([c.text for c in more], counter, group)
            stale = {p.doc.doc_id: existing[p.doc.doc_id] - {c.id for c in p.chunks} for p in group}
            self.store.write_chunks(todo, vectors, {p.doc.doc_id: hashlib.sha256(p.doc.text.encode()).hexdigest()
                                                    for p in group}, sorted(set().union(*stale.values())))
            for p in group:  # the kept file is the version the chunks are from
                if p.kept_tmp:
                    Path(p.kept_tmp).replace(p.record.file)
            self.store.put_doc_records([p.record.model_copy(update={"state": DocState.complete}) for p in group])
        new = {p.doc.doc_id: 0 for p in group}
        for c in todo:
            new[c.doc_id] += 1
        return [DocResult(p.doc.doc_id, p.doc.source, p.doc.title, len(p.chunks), new[p.doc.doc_id],
                          len(stale[p.doc.doc_id]), warnings=list(p.doc.warnings)) for p in group]

    def _embed(self, texts: list[str], counter: _Counter, group: list[_Pending]) -> list[list[float]]:
        """In slices of one embedding batch taken from the texts sorted by length, so each pads little, progress
        moves, and a stopping server is heard within one batch: a slice of 256 float32 chunks took longer on
        2 cores than the shutdown grace, so a stop asked for mid-slice ended the upload with a 500."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        step = self.settings.embed.batch_size  # at least 1 (the setting's bound)
        for i in range(0, len(order), step):
            self._check_stop(group)
            part = order[i:i + step]
            for j, vec in zip(part, self.embedder.embed_documents([texts[j] for j in part]), strict=True):
                vectors[j] = vec
            counter.advance(len(part))
        return vectors

    def ingest_paths(self, paths: list[Path], on_file: OnFile | None = None,
                     progress: Progress | None = None, force: bool = False) -> IngestReport:
        """`force` reads and replaces even files whose bytes are unchanged (re-ingest)."""
        t0 = time.perf_counter()
        report = IngestReport()
        files, _ = self._scan(iter_files(paths), report)
        self._ingest(files, self.store.doc_records(), report, on_file, progress, force)
        if report.written:  # an unchanged folder leaves the BM25 index unread
            self._after_write()
        report.seconds = time.perf_counter() - t0
        return log_ingest(report, self.settings, "ingest", paths)

    def _scan(self, paths: list[Path], report: IngestReport) -> tuple[list[_File], set[str]]:
        """Hash every readable file, resolving each path once (a no-op sync of 1,000 notes is mostly this);
        the others go to `report.skipped`. Also returns the resolved path of every file that exists,
        readable or not: a sync must not take an unreadable file for a deleted one."""
        max_bytes = max_file_bytes(self.settings.ingest)
        out: list[_File] = []
        present: set[str] = set()
        for path in paths:
            if not path.exists():
                report.skipped.append((str(path), "no such file or folder"))
                continue
            resolved = path.resolve()
            present.add(str(resolved))
            try:
                data = read_file(path, max_bytes)
            except LoadError as exc:
                report.skipped.append((str(path), str(exc)))
                continue
            out.append(_File(path, resolved, hashlib.sha256(data).hexdigest(),
                             make_doc_id(path.name, str(resolved))))
        return out, present

    def _ingest(self, files: list[_File], records: dict[str, DocRecord], report: IngestReport,
                on_file: OnFile | None, progress: Progress | None, force: bool = False) -> None:
        # files whose bytes and recipe match a finished record: are all their chunks still there?
        candidates = {f.doc_id: rec.n_chunks for f in files
                      if not force and (rec := records.get(f.doc_id)) and self._finished(rec, f.file_hash)}
        stored = candidates if not candidates or self._nothing_missing(records) else self.store.chunk_counts(candidates)
        counter = _Counter(progress)
        group: list[_Pending] = []
        for f in files:
            if f.doc_id in candidates and stored.get(f.doc_id) == candidates[f.doc_id]:
                report.documents.append(DocResult(f.doc_id, display_source(f.path, f.resolved),
                                                  records[f.doc_id].title or f.path.stem,
                                                  candidates[f.doc_id], 0, 0, unchanged=True))
                continue
            try:
                data = read_file(f.path, max_file_bytes(self.settings.ingest))
                doc = load_bytes(data, f.path.name, source=display_source(f.path, f.resolved),
                                 source_key=str(f.resolved), limits=self.settings.ingest)
                if not doc.text.strip():
                    raise LoadError(f"{f.path}: the file has no text")
            except LoadError as exc:
                report.skipped.append((str(f.path), str(exc)))
                continue
            if on_file:
                on_file(f.path)
            if doc.doc_id in {p.doc.doc_id for p in group}:  # the same file named twice: first, then second
                report.documents += self._write_group(group, counter)
                group = []
            group.append(self._prepare(doc, hashlib.sha256(data).hexdigest(), str(f.resolved)))
            report.written = True
            if sum(len(p.chunks) for p in group) >= self.settings.store.upsert_batch:
                report.documents += self._write_group(group, counter)
                group = []
        report.documents += self._write_group(group, counter)

    def _nothing_missing(self, records: dict[str, DocRecord]) -> bool:
        """One count instead of reading every document's chunks: every write records its document, so a
        collection holding exactly the chunks its finished records name, with no record left "writing",
        is missing none."""
        if not all(r.complete for r in records.values()):
            return False
        return self.store.count() == sum(r.n_chunks for r in records.values())

    def _finished(self, record: DocRecord, file_hash: str) -> bool:
        """Same bytes, same chunking and embedder, and its write finished (its chunks are counted apart)."""
        return record.complete and record.file_hash == file_hash and record.recipe == self._recipe()

    def sync(self, folder: Path, on_file: OnFile | None = None, progress: Progress | None = None) -> IngestReport:
        """Make the collection match a folder: new and changed files in, deleted files out, unchanged ones
        skipped by content hash. Safe to re-run after a crash: it redoes whatever was left half-written.
        The BM25 index is brought in step once, at the end."""
        t0 = time.perf_counter()
        root = Path(folder).resolve()
        if not root.is_dir():
            raise LoadError(f"{folder}: not a folder")
        report = IngestReport()
        files, present = self._scan(iter_files([root]), report)
        records = self.store.doc_records()
        self._ingest(files, records, report, on_file, progress)
        self._finish_cut_off_uploads(records, report)
        gone = {doc_id: rec for doc_id, rec in records.items()
                if rec.path and Path(rec.path).is_relative_to(root) and rec.path not in present}
        if gone:
            with self.store.write_lock():
                self.store.delete_documents(list(gone))
            report.deleted = [rec.source or rec.path for rec in gone.values()]
            report.written = True
        if report.written:
            self._after_write()
        report.seconds = time.perf_counter() - t0
        return log_ingest(report, self.settings, "sync", [folder])

    def _finish_cut_off_uploads(self, records: dict[str, DocRecord], report: IngestReport) -> None:
        """Uploads whose write was cut off (a record still "writing") are finished from the bytes the record
        names (the kept file, or the upload's own temporary copy); one whose bytes are gone is reported."""
        for rec in records.values():
            if rec.complete or rec.path or not rec.source.startswith("upload:"):
                continue
            source = Path(rec.file) if rec.file else None
            if source is None or not source.is_file():
                report.skipped.append((rec.source, f"{rec.source}: cut off while it was being written, and its "
                                                   "file is gone: upload it again"))
                continue
            try:
                data = source.read_bytes()
                result = self.ingest_document(self.load_upload(data, rec.source.removeprefix("upload:")), data=data)
            except LoadError as exc:
                report.skipped.append((rec.source, str(exc)))
                continue
            if source.name.endswith(".tmp"):  # its bytes are now kept under the document's own name
                source.unlink(missing_ok=True)
            report.documents.append(result)
            report.written = True

    def load_upload(self, data: bytes, name: str) -> Document:
        """An uploaded file: its identity is its name, so uploading it again replaces the old version."""
        safe_name = Path(name).name  # never trust a client's path
        check_file_size(safe_name, len(data), max_file_bytes(self.settings.ingest))
        doc = load_bytes(data, safe_name, source=f"upload:{safe_name}", source_key=f"upload:{safe_name}",
                         limits=self.settings.ingest)
        if not doc.text.strip():
            raise LoadError(f"{safe_name}: the file has no text")
        return doc

    def ingest_upload(self, data: bytes, name: str) -> DocResult:
        return self.ingest_document(self.load_upload(data, name), data=data)


class _Counter:
    """Chunks embedded against chunks queued, across the groups of one ingest, for a progress bar."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.done = 0
        self.queued = 0

    def advance(self, n: int) -> None:
        self.done += n
        if self.progress:
            self.progress(self.done, self.queued)
