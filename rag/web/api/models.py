"""Request and response bodies of the HTTP API: what the OpenAPI schema declares, and what the routes return."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from openai.types import Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from rag.retrieval.retrievers import Filters
from rag.services.asking import INVISIBLE_RANGES
from rag.types import Answer, Citation, ContextPassage, RetrievedChunk, Sources, Timings

# ---- requests


def _number(value: Any) -> Any:
    """A number as JSON Schema has it: not from a string or a boolean (pydantic's lax mode would take "3"),
    while 3.0 is the integer 3 (its strict mode would refuse it)."""
    if isinstance(value, str | bool):
        raise ValueError("must be a number")
    return value


# the bounds before the validator: after it, pydantic writes them into the JSON schema as "ge"/"le"
TopK = Annotated[int, Field(ge=1, le=50), BeforeValidator(_number)]
Tokens = Annotated[int, Field(ge=1, le=4096), BeforeValidator(_number)]
Temperature = Annotated[float, Field(ge=0.0, le=2.0), BeforeValidator(_number)]


class HistoryMessage(BaseModel):
    role: Literal["user", "assistant", "system"]
    content: str = Field(max_length=100_000)


# What the server checks itself, answering 400 (not pydantic's 422), declared in the schema: a question that is
# not blank (its maxLength, RAG_ANSWER__MAX_QUESTION_CHARS, is set by rag.web.api.openapi), and a collection name.
# "not blank": a character that is not white space as Python's str.split() sees it, spelled out because regex
# engines disagree on what \s is (ECMA's has U+FEFF and lacks U+001C-U+001F and U+0085); nor one of only
# invisible characters (zero-width, bidi controls: rag.services.asking.INVISIBLE_RANGES, those in the BMP)
NOT_BLANK = ("[^\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
             + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in INVISIBLE_RANGES if b <= 0xFFFF) + "]")
QUESTION_SCHEMA = {"minLength": 1, "pattern": NOT_BLANK}
COLLECTION_PATTERN = r"^(?!.*(?:__|\.\.))[A-Za-z0-9][A-Za-z0-9._-]{1,62}[A-Za-z0-9]$"
COLLECTION_SCHEMA = {"pattern": COLLECTION_PATTERN}


class AnswerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(max_length=100_000, json_schema_extra=QUESTION_SCHEMA,
                          description="Not blank; at most RAG_ANSWER__MAX_QUESTION_CHARS characters (400 otherwise).")
    history: list[HistoryMessage] = Field(default_factory=list, max_length=200)
    top_k: TopK | None = None
    filters: Filters | None = None
    stream: StrictBool = Field(False, description="Server-Sent Events: sources, deltas, a replace, the answer.")
    collection: str | None = Field(None, max_length=200, json_schema_extra=COLLECTION_SCHEMA,
                                   description="The collection to answer from; default: RAG_STORE__COLLECTION.")
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
    stream: StrictBool = False
    max_tokens: Tokens | None = None
    max_completion_tokens: Tokens | None = None
    temperature: Temperature | None = None
    top_k: TopK | None = None


# ---- errors


class ErrorDetail(BaseModel):
    message: str
    type: str = Field(description="invalid_request_error (the caller's mistake) or server_error")
    code: str


class ErrorResponse(BaseModel):
    """Every error, in OpenAI's shape."""

    error: ErrorDetail


_ERRORS = {
    400: "invalid request: malformed JSON, an empty or too long question, an invalid collection name",
    401: "missing or wrong bearer key: RAG_SERVER__API_TOKEN, or a user's API key once users exist",
    403: "a collection the caller may read but not change (only its owner or an admin may)",
    404: "unknown collection (or one the caller may not read)",
    409: "conflict",
    413: "a body over its limit (RAG_SERVER__MAX_JSON_KB, RAG_SERVER__MAX_UPLOAD_MB), a file over "
         "RAG_INGEST__MAX_FILE_MB, or too many files",
    415: "unsupported file type",
    422: "a body or parameter of the wrong shape",
    429: "too many answers waiting or from this client (Retry-After says when to try again)",
    503: "the store or the LLM is unreachable",
}


def errors(*statuses: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status it can answer with, as an `ErrorResponse`. A description can be
    given as `_404="unknown document"`."""
    return {s: {"model": ErrorResponse, "description": described.get(f"_{s}", _ERRORS[s])} for s in statuses}


def links(path: str, methods: list[str], param: str, value: str) -> dict[str, Any]:
    """OpenAPI links from a response to the operations on `path` that take one of its values (`value`, a
    runtime expression such as "$response.body#/id") as path parameter `param`: what a client, or schemathesis'
    stateful phase, calls next."""
    ref = path.replace("~", "~0").replace("/", "~1")
    return {"links": {f"{m}{path}": {"operationRef": f"#/paths/{ref}/{m}", "parameters": {param: value}}
                      for m in methods}}


# ---- /v1/answer


class AnswerResponse(Answer):
    """The body of POST /v1/answer, and of the stream's last event (`answer`): an `Answer` as it serialises (the
    `rag ask --json` object plus the retrieved chunks, the passages read, token usage and a rejected reply). Only
    the passages are retyped, as the views they serialise to, so that a body reads back."""

    retrieved: list[RetrievedChunk]
    context: list[ContextPassage]
    warnings: list[str] = Field(default_factory=list, description="What went wrong around the answer without "
                                "costing it: the turn could not be saved in its conversation (a full disk).")


class SourcesEvent(Sources):
    """`event: sources` of the /v1/answer stream (`Sources.api()`), sent once retrieval and context assembly
    end, before any text; a later one (a second retrieval hop changed the passages) replaces it. `context` is
    empty when retrieval was too weak to answer."""

    retrieved: list[RetrievedChunk]
    context: list[ContextPassage]


class TextEvent(BaseModel):
    """`event: delta` (append `text`) and `event: replace` (drop what was streamed, show `text`)."""

    text: str


def answer_stream_schema() -> dict[str, Any]:
    """The /v1/answer event stream, one event at a time (`data` is JSON)."""
    kinds = [(["sources"], "SourcesEvent"), (["delta", "replace"], "TextEvent"), (["answer"], "AnswerResponse"),
             (["error"], "ErrorResponse")]
    return {"type": "object", "required": ["event", "data"], "properties": {
        "event": {"type": "string", "enum": [e for names, _ in kinds for e in names]},
        "data": {"type": "string", "contentMediaType": "application/json"}},
        "oneOf": [{"properties": {"event": {"enum": names}, "data": {
            "contentSchema": {"$ref": f"#/components/schemas/{model}"}}}} for names, model in kinds],
        "description": "sources (SourcesEvent) first, then delta (TextEvent) as the answer is written, at most "
                       "one replace (TextEvent), and one answer (AnswerResponse) last; error (ErrorResponse) if "
                       "the LLM fails mid-stream."}


# ---- OpenAI-compatible routes


class RagChatCompletion(ChatCompletion):
    """OpenAI's `ChatCompletion`, plus the answer's citations and checks as top-level fields (the `openai`
    client exposes them in `model_extra`)."""

    answer_id: str = Field(description="The answer's id: POST /v1/answers/{answer_id}/feedback rates it.")
    citations: list[Citation] = Field(description="The answer's citations (the [n] markers in its text).")
    answerable: bool
    query: str
    shape: str
    timings: Timings


class RagChatCompletionChunk(ChatCompletionChunk):
    """OpenAI's `ChatCompletionChunk`; the last one (finish_reason "stop") also carries the answer's
    citations and checks."""

    answer_id: str | None = None
    citations: list[Citation] | None = None
    answerable: bool | None = None
    query: str | None = None
    shape: str | None = None
    timings: Timings | None = None


def chat_stream_schema() -> dict[str, Any]:
    """The /v1/chat/completions event stream: unnamed events whose `data` is a chunk, then `[DONE]`."""
    return {"type": "object", "required": ["data"], "properties": {"data": {"type": "string", "anyOf": [
        {"contentMediaType": "application/json",
         "contentSchema": {"$ref": "#/components/schemas/RagChatCompletionChunk"}},
        {"contentMediaType": "application/json", "contentSchema": {"$ref": "#/components/schemas/ErrorResponse"}},
        {"const": "[DONE]"}]}},
        "description": "`data: {chunk}` events, the text in `choices[0].delta.content`; the last chunk has "
                       "finish_reason stop and the citations; `data: {error}` if the LLM fails mid-stream; "
                       "then `data: [DONE]`."}


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[Model]


# ---- documents, collections, conversations


class DocumentInfo(BaseModel):
    id: str
    source: str
    file_name: str
    title: str
    pages: int
    chunks: int
    ingested_at: str = Field(description="ISO 8601, UTC.")
    state: Literal["complete", "writing"] = Field(
        "complete", description="\"writing\": its last write was cut off (or is under way); re-ingest, or the "
        "next `rag sync`, finishes it.")


class DocumentList(BaseModel):
    object: Literal["list"]
    data: list[DocumentInfo]


class Ingested(BaseModel):
    id: str
    source: str
    title: str
    chunks: int
    embedded: int = Field(description="Chunks embedded now (unchanged ones are reused).")
    warnings: list[str]


class IngestedList(BaseModel):
    object: Literal["list"]
    data: list[Ingested]


class Reingested(Ingested):
    removed: int = Field(description="Stale chunks removed.")


class DocumentDeleted(BaseModel):
    id: str
    deleted: bool
    chunks_removed: int


class TextWindowOut(BaseModel):
    doc_id: str
    title: str
    file_name: str
    start: int = Field(description="Offset of `text` in the document.")
    end: int
    span_start: int
    span_end: int
    page: int | None
    pages: int
    text: str


class CollectionInfo(BaseModel):
    name: str
    default: bool
    chunks: int
    documents: int


class CollectionList(BaseModel):
    object: Literal["list"]
    data: list[CollectionInfo]


class CollectionDeleted(BaseModel):
    name: str
    deleted: bool


class ConversationInfo(BaseModel):
    id: str
    title: str
    collection: str
    created: float
    updated: float
    messages: int


class ConversationList(BaseModel):
    object: Literal["list"]
    data: list[ConversationInfo]


class ConversationMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: str
    answer: dict[str, Any] | None = Field(None, description="An assistant turn's answer object, as "
                                          "`rag ask --json` (citations included).")


class Conversation(BaseModel):
    id: str
    title: str
    collection: str
    created: float
    updated: float
    messages: list[ConversationMessage]


class ConversationDeleted(BaseModel):
    id: str
    deleted: bool


class Health(BaseModel):
    status: Literal["ok", "warming", "degraded"] = Field(description="warming: the models are being loaded and "
                                                          "the shared prompt evaluated (questions wait for it)")
    store: bool
    chunks: int | None
    collection: str
    model: str
    model_loaded: bool
    warm: bool = Field(description="The warm-up (models loaded, shared prompt prefix evaluated) has finished")
