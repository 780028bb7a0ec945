"""Documents: list, upload (ingested at once), delete (every chunk, from every index)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, UploadFile

from rag.api.errors import ApiError
from rag.components import Components
from rag.ingest.loaders import SUPPORTED_SUFFIXES, LoadError
from rag.ingest.pipeline import IngestInterrupted


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def router(comps: Components) -> APIRouter:
    api = APIRouter(tags=["documents"])

    @api.get("/v1/documents", summary="Documents in the collection")
    def list_documents() -> dict:
        docs = comps.store.list_documents()
        return {"object": "list", "data": [
            {"id": d["doc_id"], "source": d["source"], "title": d["title"], "chunks": d["chunks"],
             "ingested_at": _iso(float(d["ingested_at"]))} for d in docs]}

    @api.post("/v1/documents", status_code=201, summary="Upload and ingest one or more files",
              responses={400: {"description": "unreadable file"}, 413: {"description": "file too large"},
                         415: {"description": "unsupported file type"},
                         503: {"description": "the server is stopping"}})
    def upload(files: Annotated[list[UploadFile], File(description="one or more files")]) -> dict:
        limit = int(comps.settings.max_file_mb * 1e6)
        loaded = []
        # Check every file before storing any, so a bad file in a batch leaves the collection as it was.
        for f in files:
            name = Path(f.filename or "upload").name  # never trust a client's path
            if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
                raise ApiError(415, f"{name}: unsupported file type; supported: "
                               f"{', '.join(sorted(SUPPORTED_SUFFIXES))}", "unsupported_file_type")
            data = f.file.read(limit + 1)
            if len(data) > limit:
                raise ApiError(413, f"{name}: larger than the {comps.settings.max_file_mb:g} MB limit",
                               "file_too_large")
            try:
                doc = comps.ingestor.load_upload(data, name)
            except LoadError as exc:
                raise ApiError(400, str(exc), "unreadable_file") from exc
            loaded.append(doc)
        try:
            results = comps.ingestor.ingest_documents(loaded)  # one group: one embedding pass, one write
        except IngestInterrupted as exc:
            raise ApiError(503, str(exc), "shutting_down") from exc
        return {"object": "list", "data": [
            {"id": r.doc_id, "source": r.source, "title": r.title, "chunks": r.chunks, "embedded": r.embedded,
             "warnings": r.warnings} for r in results]}

    @api.delete("/v1/documents/{doc_id}", summary="Remove a document and all its chunks",
                responses={404: {"description": "unknown document id"}})
    def delete(doc_id: str) -> dict:
        removed = comps.ingestor.delete_document(doc_id)
        if not removed:
            raise ApiError(404, f"no document with id {doc_id!r}", "document_not_found")
        return {"id": doc_id, "deleted": True, "chunks_removed": removed}

    return api
