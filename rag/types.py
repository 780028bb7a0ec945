"""Data shared by every front end: the CLI, the UI, the API and the evaluation."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    computed_field,
    field_serializer,
)


class Document(BaseModel):
    """A loaded, normalised document. `pages` holds (page_number, start, end) spans for PDFs, slides and
    sheets; `warnings` tell the user what could not be read as it is (a PDF page without a text layer)."""

    doc_id: str
    source: str
    title: str
    text: str
    pages: list[tuple[int, int, int]] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class Chunk(BaseModel):
    """A slice of a document: `document.text[start:end] == text`, always."""

    id: str
    doc_id: str
    source: str
    title: str
    page: int | None = None
    start: int
    end: int
    text: str


class Passage(BaseModel):
    """A retrieved chunk and its relevance to the query (higher is closer).

    `score` is what the ranking used: cosine similarity (dense), BM25 (bm25) or reciprocal-rank fusion
    (hybrid). The per-retriever scores are kept beside it, as evidence for the refusal decision.
    """

    chunk: Chunk
    score: float
    dense_score: float | None = None
    bm25_score: float | None = None


# ---- the answer: one contract. `Answer.model_dump()` is the HTTP API's object (`/v1/answer`); `public()` is the
# `rag ask --json` object, also what a saved conversation keeps. Internal-only fields are excluded where they are
# declared, and the passages serialise as the views below, so that each field of the JSON is declared once.


class Citation(BaseModel):
    """A cited quote. `passage` and `passage_start` (for the chat page's source view) never leave the process."""

    marker: int = Field(description="The [n] in the answer's text.")
    doc_id: str
    title: str
    source: str
    page: int | None
    start: int = Field(description="Offset of the quote in the document's normalised text.")
    end: int
    quote: str
    score: float
    passage: str = Field("", exclude=True, description="The whole retrieved chunk the quote lies in.")
    passage_start: int = Field(0, exclude=True)


class AnswerSentence(BaseModel):
    """One sentence of an answer and how well its cited passages support it."""

    text: str
    citations: list[int] = Field(default_factory=list)
    support: float = Field(description="Share of the sentence's content words found in its cited passages "
                           "(read together with the question for terse answers).")
    supported: bool


def _not_required(schema: dict[str, Any], name: str) -> None:
    """Let a JSON schema's field be left out (`Answer` leaves out an unset first_token_ms)."""
    if name in schema.get("required", []):
        schema["required"].remove(name)


class Timings(BaseModel):
    """Where a request's time went. `queue_ms` is the time it waited for the in-process model's single
    worker (busy with other requests' checks and answers); `check_ms` and `generate_ms` exclude it."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True,
                              json_schema_extra=lambda s: _not_required(s, "first_token_ms"))

    retrieve_ms: float = 0.0
    context_ms: float = Field(0.0, description="Choosing which sentences of the retrieved chunks the model reads.")
    check_ms: float = 0.0
    verify_ms: float = Field(0.0, description="The check after the answer (the model reads the answer and says "
                             "whether the passages state it).")
    queue_ms: float = Field(0.0, description="Time waiting for the model's single worker (other requests).")
    generate_ms: float = 0.0
    total_ms: float = 0.0
    first_token_ms: float | None = Field(None, description="Only when text was streamed.")


class Usage(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class RetrievedChunk(BaseModel):
    """A retrieved chunk as the API shows it."""

    chunk_id: str
    doc_id: str
    title: str
    source: str
    page: int | None
    start: int
    end: int
    text: str
    score: float = Field(description="What the ranking used: cosine, BM25 or reciprocal-rank fusion.")

    @classmethod
    def of(cls, p: Passage) -> RetrievedChunk:
        c = p.chunk
        return cls(chunk_id=c.id, doc_id=c.doc_id, title=c.title, source=c.source, page=c.page, start=c.start,
                   end=c.end, text=c.text, score=p.score)


class ContextPassage(BaseModel):
    """A passage the model read, as the API shows it."""

    doc_id: str
    source: str
    start: int
    end: int
    text: str

    @classmethod
    def of(cls, p: Passage) -> ContextPassage:
        return cls(doc_id=p.chunk.doc_id, source=p.chunk.source, start=p.chunk.start, end=p.chunk.end,
                   text=p.chunk.text)


# the answer's passages, serialised as the API's views of them (a serialiser on the list: on the item, pydantic
# 2.14 fails to build the two)
Retrieved = Annotated[list[Passage], PlainSerializer(lambda ps: [RetrievedChunk.of(p) for p in ps],
                                                     return_type=list[RetrievedChunk])]
Read = Annotated[list[Passage], PlainSerializer(lambda ps: [ContextPassage.of(p) for p in ps],
                                                return_type=list[ContextPassage])]

def new_answer_id() -> str:
    """16 hex characters: unique enough for one instance's answers, short enough to type."""
    return uuid.uuid4().hex[:16]


API_ONLY = {"retrieved", "context", "usage", "rejected", "warnings"}  # left out of `rag ask --json`


class Answer(BaseModel):
    """The verified answer, as the chain makes it; the fields in the order the JSON gives them."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)  # every field is always sent

    id: str = Field(default_factory=new_answer_id, description="The answer's id: its audit record "
                    "(`rag audit show ID`) and where its feedback goes (`POST /v1/answers/{id}/feedback`).")
    question: str
    answer: str = Field(description="The answer with its [n] markers, or the refusal.")
    answerable: bool
    citations: list[Citation] = Field(default_factory=list)
    model: str
    timings: Timings = Field(default_factory=Timings)
    query: str = Field("", description="The standalone query used for retrieval (rewritten follow-ups).")
    shape: str = Field("factoid", description="factoid, yesno, comparison, list, why or multipart: decides "
                       "the answer's form.")
    short_answer: str = Field("", description="The verdict or phrase alone (\"yes\", \"Tesla\"), without the "
                              "facts that support it; empty for a refusal.")
    check: float | None = Field(None, description="The model's probability that the passages state the answer, "
                                "asked before it answers; None when not asked.")
    verify: float | None = Field(None, description="The model's probability that the passages state this answer "
                                 "to the question, asked after it answers; None when not asked.")
    refusal_reason: str | None = Field(None, description="Why the question was refused: weak_retrieval, "
                                       "check, missing_terms, model, unsupported, unstated_terms or verify; "
                                       "null when answered.")
    escalated: bool = Field(False, description="The answer was written a second time, from the first retrieved "
                            "passages whole and a plain prompt, because the first was about to be refused "
                            "(answer.escalate_on).")
    verdict: str | None = Field(None, description="For a yes/no question, what decided the verdict: the "
                                "passage text (\"first / second\", \"1882 before 1881\") or \"model\".")
    missing_terms: list[str] = Field(default_factory=list, description="Names and numbers of the question "
                                     "that no retrieved passage mentions (refused as unstated_terms: that the "
                                     "cited passages never state).")
    grounded: float | None = Field(None, description="Share of the answer's sentences that their cited "
                                   "passages support; None for a refusal.")
    sentences: list[AnswerSentence] = Field(default_factory=list)
    retrieved: Retrieved = Field(default_factory=list)
    context: Read = Field(default_factory=list, description="The passages the model read.")
    usage: Usage = Field(default_factory=Usage)
    rejected: str | None = Field(None, description="The model's reply that a check after it rejected "
                                 "(unsupported, unstated_terms, verify), kept for inspection; never shown as "
                                 "the answer.")

    # no return annotation: the JSON schema then stays Timings' own
    @field_serializer("timings", mode="wrap")
    def _timings(self, timings: Timings, handler: SerializerFunctionWrapHandler):
        """The time to the first token only when text was streamed (a chat completion's timings keep it)."""
        out = handler(timings)
        if not timings.first_token_ms:
            out.pop("first_token_ms", None)
        return out

    def public(self) -> dict[str, Any]:
        """The `rag ask --json` object: the API's without the passages, token usage and a rejected reply."""
        return self.model_dump(exclude=API_ONLY)


# The answer chain's events (`AnswerChain.stream`), in this order: one or more `Sources` (a later one replaces
# an earlier one), then the `Delta`s of the answer's text, at most one `Replace`, and one `Final`, always last.
# The text a client holds (deltas appended, a Replace taking the place of everything before it) equals the
# final answer's text.


class Sources(BaseModel):
    """Stream event: what retrieval found and the passages the model will read, sent as soon as retrieval and
    context assembly end, before the check and generation. A second retrieval hop that changes the passages
    sends a new `Sources`, which replaces this one. `context` is empty when retrieval was too weak to answer."""

    query: str = Field(description="The standalone query used for retrieval.")
    shape: str
    retrieved: list[Passage]
    context: list[Passage]

    def api(self) -> dict:
        """The HTTP API's `sources` event: the query, and the passages as in the final answer object."""
        return {"query": self.query, "shape": self.shape,
                "retrieved": [RetrievedChunk.of(p).model_dump() for p in self.retrieved],
                "context": [ContextPassage.of(p).model_dump() for p in self.context]}


class Delta(BaseModel):
    """Stream event: more of the answer's text (append it)."""

    text: str


class Replace(BaseModel):
    """Stream event: the text streamed so far is replaced by `text` (a reply the checks rejected: the refusal).
    Why, and the rejected reply, are in the `Final` answer (`refusal_reason`, `rejected`)."""

    text: str


class Final(BaseModel):
    """Stream event, always the last: the verified answer. A refusal is a final answer with `answerable`
    false and its `refusal_reason`."""

    answer: Answer
    warnings: list[str] = Field(default_factory=list, description="What went wrong around the answer without "
                                "costing it (its turn could not be saved).")


Event = Sources | Delta | Replace | Final


def final_answer(events: Iterable[Event]) -> Answer:
    """The answer a stream of events ends with (`Final`), the stream consumed: for a front end that does not
    render the text as it is written."""
    answer = None
    for event in events:
        if isinstance(event, Final):
            answer = event.answer
    if answer is None:
        raise RuntimeError("the answer chain ended without an answer")
    return answer


def word_pieces(text: str, size: int = 24) -> Iterator[str]:
    """A finished, verified answer in word-aligned pieces (each word with the white space after it), so a
    streaming client still renders it progressively; joined, they are `text` exactly."""
    piece = ""
    for m in re.finditer(r"\S+\s*|\s+", text):
        piece += m.group(0)
        if len(piece) >= size:
            yield piece
            piece = ""
    if piece:
        yield piece


class DocState(StrEnum):
    """How far a document's last write got. The values are what the store holds, so old stores stay readable."""

    writing = "writing"  # records say so before any chunk is written: a kill leaves this, and sync redoes it
    complete = "complete"  # every chunk written and stale ones removed


class DocRecord(BaseModel):
    """What the store keeps about one ingested document beside its chunks: where it came from, which bytes and
    recipe made its chunks, and whether their write finished. Fields a record written by an older version
    lacks take their defaults; keys this model does not know are ignored, so such stores still open."""

    doc_id: str
    source: str = ""
    title: str = ""
    path: str = ""  # the file it was read from (folder ingest and sync); empty for an upload
    file: str = ""  # the kept copy of an upload, under the persist folder
    file_hash: str = ""
    recipe: str = ""  # chunk size, overlap and embedder: a change re-ingests an unchanged file
    n_chunks: int = 0
    pages: int | None = None  # None: written without a page count (count the chunks' pages instead)
    ingested_at: float = 0.0
    state: DocState = DocState.writing  # a record that does not say "complete" was cut off

    @property
    def complete(self) -> bool:
        return self.state is DocState.complete

    def stored(self) -> dict[str, str | int | float]:
        """The record as the store keeps it: flat scalars (Chroma metadata holds no None), the state as its
        plain value."""
        return self.model_dump(mode="json", exclude_none=True)


class Caller(BaseModel):
    """Who asks: a user of the instance, or, in single-user mode (no accounts, at most `RAG_SERVER__API_TOKEN`),
    the one user, whose id is None. Services take it to decide what the caller may read and to record who
    asked; the front ends make it from a login, an API key or the token."""

    model_config = ConfigDict(frozen=True)

    id: str | None = None
    name: str = "admin"
    role: str = "admin"  # admin or member

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


SINGLE_USER = Caller()
