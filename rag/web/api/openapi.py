"""The OpenAPI schema: FastAPI's, plus what it cannot see by itself (the events of the two streams, and the
question's length limit, a setting)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.routing import BaseRoute

from rag.config import Settings
from rag.web.api.models import RagChatCompletionChunk, SourcesEvent, TextEvent

_SCHEMA_ONLY = "/_schema-only/"


def _schema_only_routes() -> list[BaseRoute]:
    """Routes never served, whose response models put the stream events' schemas into the components, named
    together with every other model (the `openai` types have clashing names such as `Choice`)."""
    router = APIRouter()
    for model in (SourcesEvent, TextEvent, RagChatCompletionChunk):
        router.add_api_route(f"{_SCHEMA_ONLY}{model.__name__}", lambda: None, response_model=model)
    return router.routes


def install_openapi(app: FastAPI, settings: Settings) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, openapi_version=app.openapi_version,
                                 description=app.description, routes=[*app.routes, *_schema_only_routes()])
            schema["paths"] = {p: v for p, v in schema["paths"].items() if not p.startswith(_SCHEMA_ONLY)}
            # every 422 leaves as an `ErrorResponse` (rag.web.api.errors), also where FastAPI put its own body
            for item in schema["paths"].values():
                for op in item.values():
                    invalid = op.get("responses", {}).get("422", {})
                    if "HTTPValidationError" in str(invalid.get("content")):
                        invalid["content"] = {"application/json": {"schema": {
                            "$ref": "#/components/schemas/ErrorResponse"}}}
            for unused in ("HTTPValidationError", "ValidationError"):
                schema["components"]["schemas"].pop(unused, None)
            question = schema["components"]["schemas"]["AnswerRequest"]["properties"]["question"]
            question["maxLength"] = settings.answer.max_question_chars
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
