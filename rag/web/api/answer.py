"""POST /v1/answer: an `Answer` as it serialises (`AnswerResponse`), through `services.asking`; SSE when streaming."""

from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from rag.backends.llm import LLMError
from rag.components import Components
from rag.services import asking
from rag.state.conversations import ConversationNotFound
from rag.types import Delta, Final, Replace, Sources, final_answer
from rag.web.api.errors import ApiError
from rag.web.api.models import AnswerRequest, AnswerResponse, answer_stream_schema, errors


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def router(comps: Components) -> APIRouter:
    api = APIRouter(tags=["answer"])

    @api.post("/v1/answer", summary="Answer a question with verified citations", response_model=AnswerResponse,
              responses={200: {"description": "The answer; with `\"stream\": true`, Server-Sent Events.",
                               "content": {"text/event-stream": {"schema": answer_stream_schema()}}},
                         **errors(400, 404, 422, 503, _404="unknown collection or conversation")})
    def answer(req: AnswerRequest):
        history = [m.model_dump() for m in req.history if m.role != "system"]
        try:  # the question is checked here too (400), before a stream starts; the rest runs as events are read
            events = asking.ask(comps, req.question, collection=req.collection, conversation=req.conversation,
                                history=history, top_k=req.top_k, filters=req.filters)
        except ConversationNotFound as exc:
            raise ApiError(404, f"no conversation with id {req.conversation!r}", "conversation_not_found") from exc
        if not req.stream:
            return final_answer(events).model_dump()

        def sent() -> Iterator[str]:
            # The passages as soon as retrieval ends; text deltas as the model writes; `replace` when the checks
            # reject what was streamed (the client drops its text and shows this instead); the citations and
            # the rest of the object once, at the end.
            try:
                for event in events:
                    match event:
                        case Sources():
                            yield sse("sources", event.api())
                        case Delta(text=text):
                            yield sse("delta", {"text": text})
                        case Replace(text=text):
                            yield sse("replace", {"text": text})
                        case Final(answer=final):
                            yield sse("answer", final.model_dump())
            except LLMError as exc:
                yield sse("error", {"error": {"message": str(exc), "type": "server_error",
                                              "code": "llm_unavailable"}})

        return StreamingResponse(sent(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return api
