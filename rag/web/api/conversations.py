"""Saved conversations: create, list, get, rename, delete, and export as Markdown with the citations as
footnotes. `/v1/answer` with a `conversation` id answers with its history and adds the turn to it."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from rag.components import Components
from rag.services import conversations
from rag.state.conversations import Conversations
from rag.state.errors import ConversationNotFound
from rag.web.api.auth import CallerDep
from rag.web.api.errors import ApiError
from rag.web.api.models import COLLECTION_SCHEMA, Conversation, ConversationDeleted, ConversationList, errors, links


class NewConversation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field("", max_length=200)
    collection: str | None = Field(None, max_length=200, json_schema_extra=COLLECTION_SCHEMA)


class Rename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)


def _missing(cid: str) -> ApiError:
    return ApiError(404, f"no conversation with id {cid!r}", "conversation_not_found")


def router(comps: Components) -> APIRouter:
    api = APIRouter(tags=["conversations"])


    def store() -> Conversations:
        """Opened on first use, not when the app is built: a read-only store still answers questions."""
        return comps.conversations

    @api.get("/v1/conversations", summary="Saved conversations, the most recent first",
             response_model=ConversationList, responses=errors(503))
    def list_conversations(caller: CallerDep) -> dict:
        return {"object": "list", "data": store().list(owner=caller.id)}

    @api.post("/v1/conversations", status_code=201, summary="Start an empty conversation in a collection",
              response_model=Conversation,
              responses={201: links("/v1/conversations/{cid}", ["get", "patch", "delete"], "cid", "$response.body#/id")
                         | {"description": "The new conversation"}, **errors(400, 404, 422, 503)})
    def create(req: NewConversation, caller: CallerDep) -> dict:
        return store().get(conversations.start(comps, req.collection, req.title, caller), owner=caller.id)

    @api.get("/v1/conversations/{cid}", summary="A conversation with its messages and their citations",
             response_model=Conversation, responses=errors(404, 503, _404="unknown conversation"))
    def get(cid: str, caller: CallerDep) -> dict:
        try:
            return store().get(cid, owner=caller.id)
        except ConversationNotFound as exc:
            raise _missing(cid) from exc

    @api.patch("/v1/conversations/{cid}", summary="Rename a conversation", response_model=Conversation,
               responses=errors(400, 404, 422, 503, _400="malformed JSON", _404="unknown conversation"))
    def rename(cid: str, req: Rename, caller: CallerDep) -> dict:
        try:
            store().rename(cid, req.title, owner=caller.id)
            return store().get(cid, owner=caller.id)
        except ConversationNotFound as exc:
            raise _missing(cid) from exc

    @api.delete("/v1/conversations/{cid}", summary="Delete a conversation", response_model=ConversationDeleted,
                responses=errors(404, 503, _404="unknown conversation"))
    def delete(cid: str, caller: CallerDep) -> dict:
        try:
            store().delete(cid, owner=caller.id)
        except ConversationNotFound as exc:
            raise _missing(cid) from exc
        return {"id": cid, "deleted": True}

    @api.get("/v1/conversations/{cid}/export", response_class=Response,  # not text/plain: errors are JSON
             summary="The conversation as Markdown, each citation a footnote (document, page, quote)",
             responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}}},
                        **errors(404, 503, _404="unknown conversation")})
    def export(cid: str, caller: CallerDep) -> PlainTextResponse:
        try:
            md = store().export_markdown(cid, owner=caller.id)
        except ConversationNotFound as exc:
            raise _missing(cid) from exc
        return PlainTextResponse(md, media_type="text/markdown; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="conversation-{cid}.md"'})

    return api
