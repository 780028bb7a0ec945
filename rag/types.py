"""Data shared by every front end: the CLI, the UI, the API and the evaluation."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from enum import StrEnum

from pydantic import BaseModel, Field


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


class PublicCitation(BaseModel):
    """A citation as the API and `rag ask --json` give it."""

    marker: int = Field(description="The [n] in the answer's text.")
    doc_id: str
    title: str
    source: str
    page: int | None
    start: int = Field(description="Offset of the quote in the document's normalised text.")
    end: int
    quote: str
    score: float


class Citation(PublicCitation):
    passage: str = Field("", description="The whole retrieved chunk the quote lies in.")
    passage_start: int = 0


class AnswerSentence(BaseModel):
    """One sentence of an answer and how well its cited passages support it."""

    text: str
    citations: list[int] = Field(default_factory=list)
    support: float = Field(description="Share of the sentence's content words found in its cited passages "
                           "(read together with the question for terse answers).")
    supported: bool




class Timings(BaseModel):
    """Where a request's time went. `queue_ms` is the time it waited for the in-process model's single
    worker (busy with other requests' checks and answers); `check_ms` and `generate_ms` exclude it."""

    retrieve_ms: float = 0.0
    context_ms: float = 0.0  # choosing the passages' sentences (embedding them): between retrieval and the check
    check_ms: float = 0.0
    verify_ms: float = 0.0
    queue_ms: float = 0.0
    generate_ms: float = 0.0
    total_ms: float = 0.0
    first_token_ms: float | None = None


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Answer(BaseModel):
    question: str
    answer: str
    answerable: bool
    citations: list[Citation] = Field(default_factory=list)
    model: str
    timings: Timings = Field(default_factory=Timings)
    query: str = Field("", description="The standalone query used for retrieval (rewritten follow-ups).")
    retrieved: list[Passage] = Field(default_factory=list)
    context: list[Passage] = Field(default_factory=list, description="The passages the model read.")
    sentences: list[AnswerSentence] = Field(default_factory=list)
    grounded: float | None = Field(None, description="Share of the answer's sentences that their cited "
                                   "passages support; None for a refusal.")
    usage: Usage = Field(default_factory=Usage)
    shape: str = Field("factoid", description="factoid, yesno, comparison, list, why or multipart: decides "
                       "the answer's form.")
    short_answer: str = Field("", description="The verdict or phrase alone (\"yes\", \"Tesla\"), without the "
                              "facts that support it; empty for a refusal.")
    check: float | None = Field(None, description="The model's probability that the passages state the answer, "
                                "asked before it answers; None when not asked.")
    verify: float | None = Field(None, description="The model's probability that the passages state this answer "
                                 "to the question, asked after it answers; None when not asked.")
    refusal_reason: str | None = Field(None, description="Why the question was refused: weak_retrieval, "
                                       "check, missing_terms, model, unsupported, unstated_terms or verify.")
    missing_terms: list[str] = Field(default_factory=list, description="Names and numbers of the question "
                                     "that no retrieved passage mentions (refused as unstated_terms: that the "
                                     "cited passages never state).")
    rejected: str | None = Field(None, description="The model's reply that a check after it rejected "
                                 "(unsupported, unstated_terms, verify), kept for inspection; never shown as "
                                 "the answer.")
    verdict: str | None = Field(None, description="For a yes/no question, what decided the verdict: the "
                                "passage text (\"first / second\", \"1882 before 1881\") or \"model\".")

    def public(self) -> dict:
        """The `rag ask --json` object."""
        return {
            "question": self.question,
            "answer": self.answer,
            "answerable": self.answerable,
            "citations": [c.model_dump(exclude={"passage", "passage_start"}) for c in self.citations],
            "model": self.model,
            "timings": self.timings.model_dump(exclude={"first_token_ms"})
            | ({"first_token_ms": self.timings.first_token_ms} if self.timings.first_token_ms else {}),
            "query": self.query,
            "shape": self.shape,
            "short_answer": self.short_answer,
            "check": self.check,
            "verify": self.verify,
            "refusal_reason": self.refusal_reason,
            "verdict": self.verdict,
            "missing_terms": self.missing_terms,
            "grounded": self.grounded,
            "sentences": [x.model_dump() for x in self.sentences],
        }

    def api(self) -> dict:
        """The HTTP API's object: `rag ask --json` plus every retrieved chunk and token usage."""
        return self.public() | {
            "retrieved": [retrieved_view(p) for p in self.retrieved],
            "context": [context_view(p) for p in self.context],
            "usage": self.usage.model_dump() | {"total_tokens": self.usage.total_tokens},
            "rejected": self.rejected,
        }


def retrieved_view(p: Passage) -> dict:
    """A retrieved chunk as the HTTP API shows it."""
    return {"chunk_id": p.chunk.id, "doc_id": p.chunk.doc_id, "title": p.chunk.title, "source": p.chunk.source,
            "page": p.chunk.page, "start": p.chunk.start, "end": p.chunk.end, "text": p.chunk.text,
            "score": p.score}


def context_view(p: Passage) -> dict:
    """A passage the model read, as the HTTP API shows it."""
    return {"doc_id": p.chunk.doc_id, "source": p.chunk.source, "start": p.chunk.start, "end": p.chunk.end,
            "text": p.chunk.text}


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
        return {"query": self.query, "shape": self.shape, "retrieved": [retrieved_view(p) for p in self.retrieved],
                "context": [context_view(p) for p in self.context]}


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
