"""POST /v1/answer: an `Answer` as it serialises (`AnswerResponse`), through `services.asking`; SSE when streaming."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from rag.backends.llm import LLMError
from rag.components import Components
from rag.services import asking
from rag.state.errors import ConversationNotFound
from rag.types import Caller, Delta, Final, Replace, Sources
from rag.web.api.auth import current_caller
from rag.web.api.errors import ApiError
from rag.web.api.models import AnswerRequest, AnswerResponse, answer_stream_schema, errors
from rag.web.api.streaming import events_while_connected, final_event


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def answer_body(final: Final) -> dict:
    """The answer object, with `warnings` (a turn that could not be saved)."""
    return final.answer.model_dump() | {"warnings": final.warnings}


def router(comps: Components) -> APIRouter:
    api = APIRouter(tags=["answer"])

    @api.post("/v1/answer", summary="Answer a question with verified citations", response_model=AnswerResponse,
              responses={200: {"description": "The answer; with `\"stream\": true`, Server-Sent Events.",
                               "content": {"text/event-stream": {"schema": answer_stream_schema()}}},
                         **errors(400, 404, 413, 422, 429, 503, _404="unknown collection or conversation")})
    async def answer(req: AnswerRequest, request: Request, caller: Annotated[Caller, Depends(current_caller)]):
        history = [m.model_dump() for m in req.history if m.role != "system"]
        try:  # the question is checked here too (400), before a stream starts; the rest runs as events are read
            events = await run_in_threadpool(lambda: asking.ask(
                comps, req.question, collection=req.collection, conversation=req.conversation, history=history,
                top_k=req.top_k, filters=req.filters, caller=caller))
        except ConversationNotFound as exc:
            raise ApiError(404, f"no conversation with id {req.conversation!r}", "conversation_not_found") from exc
        if not req.stream:
            final = await final_event(events, request)
            if final is None:  # the client left: nobody reads this
                return Response(status_code=499)
            return answer_body(final)

        async def sent() -> AsyncIterator[str]:
            # The passages as soon as retrieval ends; text deltas as the model writes; `replace` when the checks
            # reject what was streamed (the client drops its text and shows this instead); the citations and
            # the rest of the object once, at the end.
            try:
                async for event in events_while_connected(events, request):
                    match event:
                        case Sources():
                            yield sse("sources", event.api())
                        case Delta(text=text):
                            yield sse("delta", {"text": text})
                        case Replace(text=text):
                            yield sse("replace", {"text": text})
                        case Final():
                            yield sse("answer", answer_body(event))
            except LLMError as exc:
                yield sse("error", {"error": {"message": str(exc), "type": "server_error",
                                              "code": "llm_unavailable"}})

        return StreamingResponse(sent(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return api
