"""Every error leaves as JSON in OpenAI's shape, `{"error": {"message", "type", "code"}}`, with a 4xx
for the caller's mistakes; the server keeps serving."""

from __future__ import annotations

import sqlite3

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from rag.answer.chain import QuestionError
from rag.backends.llm import LLMError
from rag.components import CollectionError
from rag.index.documents import DocumentNotFound
from rag.index.store import StoreError
from rag.ingest.limits import OverLimit
from rag.ingest.loaders import LoadError
from rag.logs import log_refused
from rag.services.asking import ContextTooLong
from rag.state.errors import StateError


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def error_body(message: str, code: str, kind: str = "invalid_request_error") -> dict:
    return {"error": {"message": message, "type": kind, "code": code}}


def _json(status: int, message: str, code: str, kind: str = "invalid_request_error",
          headers: dict[str, str] | None = None) -> JSONResponse:
    log_refused(code, message)  # a warning for a refused or unreadable file; other errors are not logged
    return JSONResponse(error_body(message, code, kind), status_code=status, headers=headers)


class BodyTooLarge(StarletteHTTPException):
    """A body over its limit, noticed while it streamed. An HTTPException so that FastAPI's body parsing lets it
    through as it is (it turns other errors into a 400)."""

    def __init__(self, limit: str) -> None:
        super().__init__(413, f"the request body is over the {limit}")
        self.limit = limit


def json_error(status: int, message: str, code: str, kind: str = "invalid_request_error",
               headers: dict[str, str] | None = None) -> JSONResponse:
    """An error response in the API's shape, for middleware that answers before the app does."""
    return _json(status, message, code, kind, headers)


class MethodNotAllowed:
    """405, with `Allow`, for a method that a route's path exists for but does not take (TRACE on /v1/answer).
    FastAPI does this itself, but not when another app is mounted at "/": the mount matches every path, so
    the chat page answered 404. The routes are asked as the router asks them (`matches`), also routers that
    FastAPI keeps included rather than flattened."""

    METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = [r for r in routes if not isinstance(r, Mount)]

    def _match(self, scope: Scope, method: str) -> Match:
        probe = dict(scope, method=method)
        best = Match.NONE
        for route in self.routes:
            match, _ = route.matches(probe)
            if match is Match.FULL:
                return match
            if match is Match.PARTIAL:
                best = match
        return best

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._match(scope, scope["method"]) is Match.PARTIAL:
            allowed = ", ".join(m for m in self.METHODS if self._match(scope, m) is Match.FULL)
            if allowed:
                response = _json(405, f"{scope['method']} is not allowed here; allowed: {allowed}",
                                 "method_not_allowed", headers={"Allow": allowed})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _chroma_errors() -> tuple[type[Exception], ...]:
    try:
        from chromadb.errors import ChromaError
    except ImportError:  # a store without chromadb
        return ()
    return (ChromaError,)


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

    @app.exception_handler(ContextTooLong)
    async def context_too_long(_: Request, exc: ContextTooLong) -> JSONResponse:
        return _json(400, str(exc), "context_too_long")

    @app.exception_handler(QuestionError)
    async def question_error(_: Request, exc: QuestionError) -> JSONResponse:
        return _json(400, str(exc), "invalid_question")

    @app.exception_handler(LoadError)
    async def load_error(_: Request, exc: LoadError) -> JSONResponse:
        if isinstance(exc, OverLimit):  # an ingest limit (re-ingest): 413 or 422, the message names it
            return _json(exc.status, str(exc), exc.code)
        return _json(415 if "unsupported file type" in str(exc) else 400, str(exc), "unreadable_file")

    @app.exception_handler(LLMError)
    async def llm_error(_: Request, exc: LLMError) -> JSONResponse:
        return _json(503, str(exc), "llm_unavailable", "server_error")

    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError) -> JSONResponse:
        return _json(503, str(exc), "store_unavailable", "server_error")

    @app.exception_handler(BodyTooLarge)
    async def body_too_large(_: Request, exc: BodyTooLarge) -> JSONResponse:
        return _json(413, str(exc.detail), "body_too_large")

    storage = (sqlite3.Error, StateError, OSError, *_chroma_errors())

    # What no handler above took, answered by the server-error middleware while no response has started (an
    # OSError after that is a client gone, not a store): storage that failed under the request (a full disk, an
    # unwritable or locked file, a Chroma write refused) is a JSON 503 that says so, anything else a JSON 500.
    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, storage):
            return _json(503, f"storage failed: {exc}", "storage_unavailable", "server_error")
        return _json(500, "internal error", "internal_error", "server_error")

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
        return _json(exc.status_code, str(exc.detail), "http_error", headers=exc.headers)
