"""POST /v1/answers/{id}/feedback: a thumbs up or down on an answer, with an optional comment and the correct
answer; stored with the answer's record (question, answer, citations, model, settings digest)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from rag.components import Components
from rag.services import feedback
from rag.state.answers import AnswerNotFound
from rag.types import Caller
from rag.web.api.auth import current_caller
from rag.web.api.errors import ApiError
from rag.web.api.models import errors


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Literal["up", "down"]
    comment: str = Field("", max_length=2000)
    correction: str = Field("", max_length=2000, description="The correct answer, when the user knows it: "
                            "`rag feedback export` makes it a gold item.")


class FeedbackResponse(BaseModel):
    """The feedback as stored, with the answer it is about."""

    id: str
    answer_id: str
    rating: Literal["up", "down"]
    comment: str
    correction: str
    created: float
    question: str
    answer: str
    citations: list[dict[str, Any]]
    model: str
    settings_digest: str


def router(comps: Components) -> APIRouter:
    api = APIRouter(tags=["feedback"])

    @api.post("/v1/answers/{answer_id}/feedback", summary="Thumbs up or down on an answer, with an optional "
              "comment and correction", response_model=FeedbackResponse,
              responses=errors(404, 422, 503, _404="no answer with this id (or not the caller's)"))
    async def give(answer_id: str, req: FeedbackRequest, caller: Annotated[Caller, Depends(current_caller)]) -> dict:
        try:
            return await run_in_threadpool(feedback.give, comps, answer_id, caller, req.rating, req.comment,
                                           req.correction)
        except AnswerNotFound as exc:
            raise ApiError(404, f"no answer with id {answer_id!r}", "answer_not_found") from exc

    return api
