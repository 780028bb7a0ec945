"""Documents: list, upload (every file checked, then one batch ingested), re-ingest, delete (every chunk, from
every index), and what a citation opens: the text around a span and a PDF page as an image. `?collection=`
picks the collection. What uploads, re-ingests and deletes is `rag.services.documents`, shared with the UI."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import Response

from rag.components import Components
from rag.index.documents import document_file, file_name, text_window
from rag.ingest.pages import render_pdf_page
from rag.ingest.pipeline import IngestInterrupted
from rag.services import access, documents
from rag.services.documents import Upload, UploadRefused
from rag.web.api.auth import CallerDep
from rag.web.api.errors import ApiError
from rag.web.api.models import (
    COLLECTION_SCHEMA,
    DocumentDeleted,
    DocumentList,
    IngestedList,
    Reingested,
    TextWindowOut,
    errors,
)

CollectionParam = Annotated[str | None, Query(max_length=200, json_schema_extra=COLLECTION_SCHEMA,
                                              description="default: RAG_STORE__COLLECTION")]
# every route here: an invalid collection name (400), an unknown collection (404), a parameter of the wrong shape
# (422), the store unreachable (503)
_COMMON = (400, 404, 422, 503)
_WRITE = (*_COMMON, 403)  # a collection the caller may read but not change (account mode)
MAX_OFFSET = 2**31 - 1  # past any document's text; the store's integers end at 2**63 (a 500 there before)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def router(comps: Components) -> APIRouter:
    api = APIRouter(tags=["documents"])

    @api.get("/v1/documents", summary="Documents in the collection", response_model=DocumentList,
             responses=errors(*_COMMON))
    def list_documents(caller: CallerDep, collection: CollectionParam = None) -> dict:
        docs = documents.list_documents(access.require_collection(comps, caller, collection))
        return {"object": "list", "data": [
            {"id": d["doc_id"], "source": d["source"], "file_name": file_name(d["source"]), "title": d["title"],
             "pages": d["pages"], "chunks": d["chunks"], "ingested_at": _iso(float(d["ingested_at"])),
             "state": d["state"]}
            for d in docs]}

    @api.post("/v1/documents", status_code=201, summary="Upload and ingest one or more files",
              response_model=IngestedList,
              responses=errors(*_WRITE, 413, 415, _400="unreadable file, invalid collection name",
                               _413="a file over RAG_INGEST__MAX_FILE_MB or another ingest limit (named in the "
                                    "message), or more files than one upload takes",
                               _503="the server is stopping, or the store is unreachable"))
    def upload(files: Annotated[list[UploadFile], File(min_length=1, description="one or more files")],
               caller: CallerDep, collection: CollectionParam = None) -> dict:
        most = comps.settings.server.max_upload_files
        if len(files) > most:  # before any file is read (the whole request is capped by the guard)
            raise ApiError(413, f"{len(files)} files: one upload takes at most {most} files "
                           "(RAG_SERVER__MAX_UPLOAD_FILES)", "too_many_files")
        parts = access.require_owner(comps, caller, collection)
        try:
            results = documents.upload(parts, [Upload(f.filename or "", f.file) for f in files])
        except UploadRefused as exc:  # nothing was stored; the first refused file answers for the upload
            first = exc.refusals[0]
            raise ApiError(first.status, first.message, first.code) from exc
        except IngestInterrupted as exc:
            raise ApiError(503, str(exc), "shutting_down") from exc
        return {"object": "list", "data": [
            {"id": r.doc_id, "source": r.source, "title": r.title, "chunks": r.chunks, "embedded": r.embedded,
             "warnings": r.warnings} for r in results]}

    @api.post("/v1/documents/{doc_id}/reingest", summary="Read the document's file again and replace its chunks",
              response_model=Reingested,
              responses=errors(*_WRITE, _400="the file is gone or unreadable, or an invalid collection name",
                               _404="unknown document or collection",
                               _503="the server is stopping, or the store is unreachable"))
    def reingest(doc_id: str, caller: CallerDep, collection: CollectionParam = None) -> dict:
        parts = access.require_owner(comps, caller, collection)
        try:
            r = documents.reingest(parts, doc_id)  # an unknown id: DocumentNotFound, 404
        except IngestInterrupted as exc:
            raise ApiError(503, str(exc), "shutting_down") from exc
        return {"id": r.doc_id, "source": r.source, "title": r.title, "chunks": r.chunks, "embedded": r.embedded,
                "removed": r.removed, "warnings": r.warnings}

    @api.delete("/v1/documents/{doc_id}", summary="Remove a document and all its chunks",
                response_model=DocumentDeleted, responses=errors(*_WRITE, _404="unknown document or collection"))
    def delete(doc_id: str, caller: CallerDep, collection: CollectionParam = None) -> dict:
        removed = documents.delete(access.require_owner(comps, caller, collection), doc_id)  # DocumentNotFound: 404
        return {"id": doc_id, "deleted": True, "chunks_removed": removed}

    @api.get("/v1/documents/{doc_id}/text", summary="The document's text around a span (a citation's quote)",
             response_model=TextWindowOut, responses=errors(*_COMMON, _404="unknown document or collection"))
    def text(doc_id: str, start: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
             end: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
             margin: Annotated[int, Query(ge=0, le=20000)] = 1200, collection: CollectionParam = None,
             *, caller: CallerDep) -> dict:
        parts = access.require_collection(comps, caller, collection)
        window = text_window(parts.store, doc_id, start, max(start, end), margin)
        return window.dict()

    @api.get("/v1/documents/{doc_id}/pages/{page}.png", summary="A page of a PDF document, rendered",
             response_class=Response,
             responses={200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}},
                        **errors(*_COMMON, _404="unknown document, page or collection, or no PDF")})
    def page_image(doc_id: str, page: int, width: Annotated[int, Query(ge=100, le=2000)] = 900,
                   collection: CollectionParam = None, *, caller: CallerDep) -> Response:
        parts = access.require_collection(comps, caller, collection)
        path = document_file(parts.store, doc_id)
        if path is None or path.suffix.lower() != ".pdf":
            raise ApiError(404, f"document {doc_id!r} has no PDF file on this server", "page_not_found")
        try:
            png = render_pdf_page(path, page, width, parts.settings.ingest.max_page_pixels)
        except IndexError as exc:
            raise ApiError(404, f"document {doc_id!r} has no page {page}", "page_not_found") from exc
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    return api
