"""Request bodies of the HTTP API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.retrieve import Filters


class HistoryMessage(BaseModel):
    role: Literal["user", "assistant", "system"]
    content: str = Field(max_length=100_000)


class AnswerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(max_length=100_000)
    history: list[HistoryMessage] = Field(default_factory=list, max_length=200)
    top_k: int | None = Field(None, ge=1, le=50)
    filters: Filters | None = None
    stream: bool = False
    collection: str | None = Field(None, max_length=200, description="The collection to answer from; "
                                   "default: RAG_COLLECTION.")
    conversation: str | None = Field(None, max_length=64, description="A saved conversation (POST "
                                     "/v1/conversations): its turns are the history and this turn is added.")


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1, le=4096)
    max_completion_tokens: int | None = Field(None, ge=1, le=4096)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_k: int | None = Field(None, ge=1, le=50)
