"""OpenAI-compatible Chat Completions over the collection, and GET /v1/models.

The assistant content is the answer with its markers; citations travel in an extra top-level
`citations` field (the `openai` client exposes it via `model_extra`), on the last chunk when streaming.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from rag.backends.llm import LLMError
from rag.components import Components
from rag.services import access, asking
from rag.types import word_pieces
from rag.web.api.auth import CallerDep
from rag.web.api.errors import ApiError, error_body
from rag.web.api.models import ChatRequest, ModelList, RagChatCompletion, chat_stream_schema, errors
from rag.web.api.streaming import final_event

MODEL_PREFIX = "rag:"


def collection_of(model: str | None) -> str | None:
    """`rag:COLLECTION` picks a collection; any other model name answers from the default one."""
    if model and model.startswith(MODEL_PREFIX):
        return model[len(MODEL_PREFIX):]
    return None


def router(comps: Components) -> APIRouter:
    api = APIRouter(tags=["openai"])

    def model_name() -> str:
        return comps.llm.name

    @api.get("/v1/models", summary="The model answering, and one `rag:COLLECTION` per collection",
             response_model=ModelList, responses=errors(503))
    def models(caller: CallerDep) -> dict:
        ids = [model_name(), *(f"{MODEL_PREFIX}{n}" for n in access.visible_collections(comps, caller))]
        return {"object": "list", "data": [{"id": i, "object": "model", "created": 0, "owned_by": "rag-chat"}
                                           for i in ids]}

    @api.post("/v1/chat/completions", summary="OpenAI Chat Completions, answered from the collection",
              response_model=RagChatCompletion, response_model_exclude_unset=True,
              responses={200: {"description": "A chat completion; with `\"stream\": true`, Server-Sent Events "
                               "of chat completion chunks.",
                               "content": {"text/event-stream": {"schema": chat_stream_schema()}}},
                         **errors(400, 404, 413, 422, 429, 503, _400="malformed JSON; the last user or assistant "
                                  "message is not the user's; an empty or too long question; an invalid collection "
                                  "name",
                                  _404="unknown collection (model `rag:NAME`)")})
    async def chat(req: ChatRequest, request: Request, caller: CallerDep):
        turns = [(m.role, m.text()) for m in req.messages if m.role in ("user", "assistant")]
        if not turns or turns[-1][0] != "user":
            raise ApiError(400, "the last message must come from the user", "invalid_messages")
        history = [{"role": r, "content": c} for r, c in turns[:-1]]
        # the question is checked here (400), before a stream starts
        events = await run_in_threadpool(lambda: asking.ask(
            comps, turns[-1][1], collection=collection_of(req.model), history=history, top_k=req.top_k,
            max_tokens=req.max_completion_tokens or req.max_tokens, temperature=req.temperature,
            caller=caller))
        cid, created, name = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), model_name()
        extra = lambda a: {"answer_id": a.id, "citations": [c.model_dump() for c in a.citations],  # noqa: E731
                           "answerable": a.answerable, "query": a.query, "shape": a.shape,
                           "timings": a.timings.model_dump()}
        if not req.stream:
            done = await final_event(events, request)
            if done is None:  # the client left: nobody reads this
                return Response(status_code=499)
            final = done.answer
            return {"id": cid, "object": "chat.completion", "created": created, "model": name,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": final.answer},
                                 "finish_reason": "stop"}],
                    "usage": final.usage.model_dump()} | extra(final)

        def chunk(delta: dict, finish: str | None = None, **more) -> str:
            body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": name,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]} | more
            return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

        async def sent() -> AsyncIterator[str]:
            # OpenAI clients cannot take text back, so the answer's text is held until it is verified (the
            # chain may replace a rejected reply with the refusal) and then sent: the concatenated deltas are
            # always the final message.
            yield chunk({"role": "assistant", "content": ""})
            try:
                done = await final_event(events, request)  # the model stops when the client leaves
                if done is None:
                    return
                final = done.answer
                for piece in word_pieces(final.answer):
                    yield chunk({"content": piece})
                yield chunk({}, "stop", **extra(final))
            except LLMError as exc:
                yield f"data: {json.dumps(error_body(str(exc), 'llm_unavailable', 'server_error'))}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(sent(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    return api


