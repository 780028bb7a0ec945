"""Documents as both front ends handle them: upload, re-ingest, delete, list.

An upload is checked whole before anything is stored: the number of files, then each file's name, type, size
and contents. One refused file refuses the upload, and every refusal is reported (the API answers with the
first, the chat page shows a line per file); an accepted upload is ingested as one batch (one embedding pass,
one write, one BM25 update). So a bad file never leaves half an upload in the collection, whichever front end
it came through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from rag.components import Components
from rag.index.documents import DocumentNotFound
from rag.ingest.limits import OverLimit, check_file_size, max_file_bytes
from rag.ingest.loaders import SUPPORTED_SUFFIXES, LoadError
from rag.ingest.pipeline import DocResult, Progress
from rag.types import Document

MAX_FILES = 100  # files in one upload: bounds what one request holds in memory and how long its ingest runs


@dataclass(frozen=True)
class Upload:
    """A file a user sent: the name the client gave it and where its bytes are (an open file, or a path the
    front end saved it to). Only the name's last part is used: a client's folders are never trusted."""

    name: str
    content: BinaryIO | Path


@dataclass(frozen=True)
class Refusal:
    """Why one file (or, for `too_many_files`, the whole upload) was refused; `status` is the HTTP answer."""

    name: str
    message: str  # what the API answers; the loaders' messages start with the file's name
    status: int
    code: str


class UploadRefused(Exception):
    """Files of an upload were refused, so none of it was ingested. `files` holds every file's name and its
    refusal (None for a file that passed), in order; `whole` refuses the upload itself (too many files)."""

    def __init__(self, files: list[tuple[str, Refusal | None]], whole: Refusal | None = None) -> None:
        self.files, self.whole = files, whole
        super().__init__(self.refusals[0].message)

    @property
    def refusals(self) -> list[Refusal]:
        """Every refusal, first file first: the API answers with the first."""
        return [self.whole] if self.whole else [r for _, r in self.files if r]


@dataclass(frozen=True)
class Accepted:
    """A file that passed: its loaded document, and its bytes (kept for page images and re-ingest)."""

    doc: Document
    data: bytes


def safe_name(name: str) -> str:
    """The name's last part: a client's path ("../../etc/passwd") never reaches the server's folders."""
    return Path(name or "upload").name or "upload"


def _read(content: BinaryIO | Path, limit: int) -> bytes:
    """At most one byte past the limit: an oversized file is known as such without being held whole."""
    if isinstance(content, Path):
        with content.open("rb") as f:
            return f.read(limit + 1)
    return content.read(limit + 1)


def _check_file(parts: Components, upload: Upload) -> Accepted | Refusal:
    name = safe_name(upload.name)
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        return Refusal(name, f"{name}: unsupported file type; supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}",
                       415, "unsupported_file_type")
    limit = max_file_bytes(parts.settings.ingest)
    try:
        data = _read(upload.content, limit)
        check_file_size(name, len(data), limit)
        return Accepted(parts.ingestor.load_upload(data, name), data)
    except OverLimit as exc:  # the file's size, or another limit: 413 (422 for time), naming the setting
        return Refusal(name, str(exc), exc.status, exc.code)
    except LoadError as exc:
        return Refusal(name, str(exc), 400, "unreadable_file")
    except OSError as exc:  # the chat page's saved copy is gone or unreadable
        return Refusal(name, f"{name}: cannot read ({exc.strerror or exc})", 400, "unreadable_file")


def check_upload(parts: Components, uploads: Sequence[Upload]) -> list[Accepted]:
    """Every file loaded and ready to store, or `UploadRefused` with every refusal. Nothing is stored here."""
    names = [safe_name(u.name) for u in uploads]
    if len(uploads) > MAX_FILES:
        whole = Refusal("", f"{len(uploads)} files: one upload takes at most {MAX_FILES} files", 413,
                        "too_many_files")
        raise UploadRefused([(n, None) for n in names], whole)
    checked = [_check_file(parts, u) for u in uploads]
    if any(isinstance(c, Refusal) for c in checked):
        raise UploadRefused([(n, c if isinstance(c, Refusal) else None) for n, c in zip(names, checked, strict=True)])
    return [c for c in checked if isinstance(c, Accepted)]


def upload(parts: Components, uploads: Sequence[Upload], progress: Progress | None = None) -> list[DocResult]:
    """Check every file, then ingest them as one batch; a file uploaded again replaces its earlier version.
    Raises `UploadRefused` (nothing stored) or `IngestInterrupted` (the server is stopping)."""
    accepted = check_upload(parts, uploads)
    return parts.ingestor.ingest_documents([a.doc for a in accepted], progress, data=[a.data for a in accepted])


def reingest(parts: Components, doc_id: str) -> DocResult:
    """Read the document's file again and replace its chunks; `DocumentNotFound` for an unknown id, `LoadError`
    when its file is gone or unreadable."""
    if parts.store.doc_record(doc_id) is None:
        raise DocumentNotFound(doc_id)
    return parts.ingestor.reingest(doc_id)


def delete(parts: Components, doc_id: str) -> int:
    """Remove every chunk of the document, its record and kept upload; the chunks removed. `DocumentNotFound`
    when the collection holds none of it."""
    recorded = parts.store.doc_record(doc_id) is not None  # an upload cut off before its chunks: a record only
    removed = parts.ingestor.delete_document(doc_id)
    if not removed and not recorded:
        raise DocumentNotFound(doc_id)
    return removed


def list_documents(parts: Components) -> list[dict[str, Any]]:
    """One row per document (id, source, title, chunks, pages, ingested_at), by source."""
    return parts.store.list_documents()
