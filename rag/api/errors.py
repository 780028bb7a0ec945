"""Every error leaves as JSON in OpenAI's shape, `{"error": {"message", "type", "code"}}`, with a 4xx
for the caller's mistakes; the server keeps serving."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.chain import QuestionError
from rag.components import CollectionError
from rag.documents import DocumentNotFound
from rag.ingest.loaders import LoadError
from rag.logs import log_refused
from rag.models.llm import LLMError
from rag.store import StoreError


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def error_body(message: str, code: str, kind: str = "invalid_request_error") -> dict:
    return {"error": {"message": message, "type": kind, "code": code}}


def _json(status: int, message: str, code: str, kind: str = "invalid_request_error") -> JSONResponse:
    log_refused(code, message)  # a warning for a refused or unreadable file; other errors are not logged
    return JSONResponse(error_body(message, code, kind), status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _json(exc.status, exc.message, exc.code)

    @app.exception_handler(CollectionError)
    async def collection_error(_: Request, exc: CollectionError) -> JSONResponse:
        return _json(exc.status, str(exc), exc.code)

    @app.exception_handler(DocumentNotFound)
    async def document_not_found(_: Request, exc: DocumentNotFound) -> JSONResponse:
        return _json(404, f"no document with id {str(exc)!r}", "document_not_found")

    @app.exception_handler(QuestionError)
    async def question_error(_: Request, exc: QuestionError) -> JSONResponse:
        return _json(400, str(exc), "invalid_question")

    @app.exception_handler(LoadError)
    async def load_error(_: Request, exc: LoadError) -> JSONResponse:
        return _json(415 if "unsupported file type" in str(exc) else 400, str(exc), "unreadable_file")

    @app.exception_handler(LLMError)
    async def llm_error(_: Request, exc: LLMError) -> JSONResponse:
        return _json(503, str(exc), "llm_unavailable", "server_error")

    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError) -> JSONResponse:
        return _json(503, str(exc), "store_unavailable", "server_error")

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _json(400, "the request body is not valid JSON", "invalid_json")
        parts = []
        for e in errors:
            where = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
            parts.append(f"{where or 'body'}: {e.get('msg', 'invalid')}")
        return _json(422, "; ".join(parts), "invalid_request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _json(exc.status_code, str(exc.detail), "http_error")
