"""llama-index at the edges: our retriever and answer chain behind llama-index's own interfaces.

- `RagRetriever` is a llama-index `BaseRetriever` over our retrieval (dense, BM25 or hybrid, reranked, with
  filters). Its nodes are `TextNode`s whose `id_` is our chunk id and whose `start_char_idx`/`end_char_idx`
  are the chunk's exact offsets in its document's normalised text, so `RetrieverQueryEngine`,
  `QueryFusionRetriever`, `RetrieverEvaluator` or any llama-index pipeline can use it.
- `RagQueryEngine` is a llama-index query engine over our `AnswerChain`: `query()` returns a `Response`
  whose text is our cited answer (with its [n] markers), whose `source_nodes` are the cited passages and
  whose `metadata` is the answer's shape, short answer, refusal reason, citations, grounding and timings.
- `SentenceRerank` and `ContextAssembly` are our second-stage ranking and context assembly as llama-index node
  postprocessors; `ProjectLLM` is our LLM as a llama-index LLM.
- `retriever(components)`, `query_engine(components)`, `context_assembly(components)` and `llm(components)`
  build them from `Components`.

Only this module imports llama-index (and importing `rag` does not import this module), so the rest of the
project pays nothing for it.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Literal

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import AsyncStreamingResponse, Response, StreamingResponse
from llama_index.core.callbacks import CallbackManager
from llama_index.core.llms import CompletionResponse, CompletionResponseGen, CustomLLM, LLMMetadata
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.prompts.mixin import PromptMixinType
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import FilterCondition, FilterOperator, MetadataFilters
from pydantic import Field, PrivateAttr

from rag.components import offline_environment
from rag.config import AnswerSettings, ContextWeights, RerankWeights, RetrievalSettings
from rag.types import Answer, Citation, Delta, Event, Final, Passage, Replace, Sources, final_answer, word_pieces

if TYPE_CHECKING:
    from rag.answer.chain import AnswerChain
    from rag.backends.llm import LLM, Message
    from rag.components import Components
    from rag.retrieval.retrievers import Filters, Retriever

# A llama-index program that embeds `rag` enters here, not through the `rag` command: keep the libraries
# offline for it too (tiktoken reads its cache folder at the first chunking, not at import).
offline_environment()

StreamMode = Literal["verified", "live"]
# metadata a node carries for people and programs, but that is no text to embed or to show a model
_NOT_FOR_MODELS = ("doc_id", "dense_score", "bm25_score", "marker", "quote", "quote_start", "quote_end")


class ChunkNode(TextNode):
    """A `TextNode` whose `hash` names the chunk (its text and document) and not the scores a query gave it:
    llama-index's fusion and deduplication key on `hash`, so one chunk found by two retrievers (a dense one,
    with a dense score, and a BM25 one) is one node to them, as it is to us. Stored, it is a plain TextNode."""

    @property
    def hash(self) -> str:
        identity = [self.text] + [f"{k}: {self.metadata.get(k)}" for k in ("doc_id", "source", "title", "page")]
        return hashlib.sha256("\n".join(identity).encode("utf-8", "surrogatepass")).hexdigest()


def passage_node(p: Passage, score: float | None = None, **extra: Any) -> NodeWithScore:
    """A retrieved passage as a llama-index node: our chunk id, the chunk's exact document offsets
    (`document.text[start_char_idx:end_char_idx] == node.text`) and the document's metadata."""
    c = p.chunk
    meta: dict[str, Any] = {"doc_id": c.doc_id, "source": c.source, "title": c.title, "page": c.page,
                            "dense_score": p.dense_score, "bm25_score": p.bm25_score, **extra}
    hidden = [k for k in meta if k in _NOT_FOR_MODELS or meta[k] is None]
    node = ChunkNode(id_=c.id, text=c.text, start_char_idx=c.start, end_char_idx=c.end, metadata=meta,
                    excluded_embed_metadata_keys=hidden, excluded_llm_metadata_keys=hidden,
                    relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=c.doc_id)})
    return NodeWithScore(node=node, score=p.score if score is None else score)


def filters_from(value: Filters | MetadataFilters | None) -> Filters | None:
    """Our filters, or llama-index `MetadataFilters` on `doc_id`/`source` (== or in, combined with AND)."""
    from rag.retrieval.retrievers import Filters

    if value is None or isinstance(value, Filters):
        return value
    if value.condition not in (None, FilterCondition.AND):
        raise ValueError("only AND-combined metadata filters are supported")
    found: dict[str, list[str]] = {}
    for f in value.filters:
        key, op = getattr(f, "key", None), getattr(f, "operator", FilterOperator.EQ)
        if key not in ("doc_id", "source") or key in found or op not in (FilterOperator.EQ, FilterOperator.IN):
            raise ValueError(f"unsupported filter {f!r}: filter on doc_id or source, once each, with == or in")
        found[key] = [str(v) for v in f.value] if isinstance(f.value, list) else [str(f.value)]
    return Filters(doc_ids=found.get("doc_id"), sources=found.get("source"))


class RagRetriever(BaseRetriever):
    """Our retrieval as a llama-index retriever.

    `source` is a `Components` (its retriever, and its `top_k` setting unless `top_k` is given) or any of our
    `Retriever`s (`rag.retrieval.retrievers`). Each node's score is the retriever's ranking score (the rerank score by
    default); its metadata holds `doc_id`, `source`, `title`, `page`, `dense_score` and `bm25_score`.
    """

    def __init__(self, source: Components | Retriever, top_k: int | None = None,
                 filters: Filters | MetadataFilters | None = None,
                 callback_manager: CallbackManager | None = None) -> None:
        if hasattr(source, "retriever") and hasattr(source, "settings"):  # Components
            self._inner: Retriever = source.retriever
            default_k = source.settings.retrieval.top_k
        else:
            self._inner = source  # type: ignore[assignment]
            default_k = RetrievalSettings().top_k
        self.top_k = top_k or default_k
        self.filters = filters_from(filters)
        super().__init__(callback_manager=callback_manager)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [passage_node(p) for p in self._inner.retrieve(query_bundle.query_str, self.top_k, self.filters)]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)


# Our second stage and context assembly as node postprocessors


def node_passage(n: NodeWithScore) -> Passage:
    """A node back as our passage. Our nodes round-trip exactly; another node needs exact
    `start_char_idx`/`end_char_idx` to be merged with its neighbours (without them it stands alone)."""
    from rag.types import Chunk

    node, meta = n.node, n.node.metadata
    text = node.get_content()
    exact = node.start_char_idx is not None and node.end_char_idx is not None
    start = node.start_char_idx if exact else 0
    doc_id = str(meta.get("doc_id") or node.ref_doc_id or node.node_id) if exact else node.node_id
    page = meta.get("page")
    chunk = Chunk(id=node.node_id, doc_id=doc_id, source=str(meta.get("source") or meta.get("file_path") or ""),
                  title=str(meta.get("title") or meta.get("file_name") or ""),
                  page=page if isinstance(page, int) else None, start=start, end=start + len(text), text=text)
    return Passage(chunk=chunk, score=n.score or 0.0, dense_score=meta.get("dense_score"),
                   bm25_score=meta.get("bm25_score"))


class _Listed:
    """A `Retriever` that returns the given passages: our reranker over nodes someone else retrieved."""

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages

    def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]:
        return self.passages[:top_k]


def _query_of(query_bundle: QueryBundle | None) -> str:
    if query_bundle is None:
        raise ValueError("this postprocessor needs the query")
    return query_bundle.query_str


class SentenceRerank(BaseNodePostprocessor):
    """Our second stage (`rag.retrieval.rerank.SentenceReranker`) over any first stage's nodes, in their order: each is
    scored by its best-matching sentence, its rank and its dense score (`weights`), and the best `top_n` are
    kept."""

    top_n: int = RetrievalSettings.model_fields["top_k"].default  # the chain's own retrieval.top_k
    weights: RerankWeights = Field(default_factory=RerankWeights)

    @classmethod
    def class_name(cls) -> str:
        return "RagSentenceRerank"

    def _postprocess_nodes(self, nodes: list[NodeWithScore],
                           query_bundle: QueryBundle | None = None) -> list[NodeWithScore]:
        from rag.retrieval.rerank import SentenceReranker

        by_id = {n.node.node_id: n.node for n in nodes}
        passages = [node_passage(n) for n in nodes]
        rerank = SentenceReranker(_Listed(passages), RetrievalSettings(rerank_weights=self.weights),
                                  depth=len(passages))
        kept = rerank.retrieve(_query_of(query_bundle), self.top_n)
        return [NodeWithScore(node=by_id[p.chunk.id], score=p.score) for p in kept]


class ContextAssembly(BaseNodePostprocessor):
    """Our context assembly (`rag.answer.context.assemble`): overlapping nodes of a document merged, their sentences
    scored against the query (`weights`), the best kept within `budget_tokens`; each resulting node is a passage
    with exact document offsets (its id is `chunk id:start-end`), the most relevant first."""

    budget_tokens: int = AnswerSettings.model_fields["context_tokens"].default
    scorer: Any = None  # (query, sentences) -> similarities, e.g. rag.answer.context.embedding_scorer; lexical without
    weights: ContextWeights = Field(default_factory=ContextWeights)

    @classmethod
    def class_name(cls) -> str:
        return "RagContextAssembly"

    def _postprocess_nodes(self, nodes: list[NodeWithScore],
                           query_bundle: QueryBundle | None = None) -> list[NodeWithScore]:
        from rag.answer.context import assemble

        passages = assemble([node_passage(n) for n in nodes], _query_of(query_bundle), self.budget_tokens,
                            self.scorer, self.weights)
        return [passage_node(p) for p in passages]


# The answer


def cited_nodes(answer: Answer) -> list[NodeWithScore]:
    """One node per citation: the passage the model read (exact document offsets), with the citation's marker
    and its quote's offsets in the metadata (`quote_start`/`quote_end`, document offsets too)."""
    out = []
    for c in answer.citations:
        read = answer.context[c.marker - 1] if 0 < c.marker <= len(answer.context) else None
        if read is None or read.chunk.doc_id != c.doc_id or read.chunk.start != c.passage_start:
            read = _passage_of(c)
        out.append(passage_node(read, score=c.score, marker=c.marker, quote=c.quote, quote_start=c.start,
                                quote_end=c.end))
    return out


def _passage_of(c: Citation) -> Passage:
    from rag.types import Chunk

    text, start = (c.passage, c.passage_start) if c.passage else (c.quote, c.start)
    chunk = Chunk(id=f"{c.doc_id}:{start}-{start + len(text)}", doc_id=c.doc_id, source=c.source, title=c.title,
                  page=c.page, start=start, end=start + len(text), text=text)
    return Passage(chunk=chunk, score=c.score)


def answer_metadata(answer: Answer) -> dict[str, Any]:
    """The `rag ask --json` object (answer, answerable, shape, short_answer, refusal_reason, citations, grounded,
    sentences, check, timings, ...), plus token usage, a rejected reply, and the `Answer` itself."""
    return answer.model_dump(exclude={"retrieved", "context"}) | {"rag_answer": answer}


def to_response(answer: Answer) -> Response:
    return Response(response=answer.answer, source_nodes=cited_nodes(answer), metadata=answer_metadata(answer))


def _started(events: Iterator[Event]) -> Iterator[Event]:
    """`events`, run up to the first one after the sources: the question's checks, retrieval, the answer check
    and the first words, so that their errors raise in `query()`, not in the response's generator."""
    for event in events:
        if not isinstance(event, Sources):
            return itertools.chain([event], events)
    return iter(())




def _settle(resp: StreamingResponse | AsyncStreamingResponse) -> None:
    """Once the stream has ended, the response's text is the final answer (see `RagQueryEngine`, live mode)."""
    if resp.metadata and "answer" in resp.metadata:
        resp.response_txt = resp.metadata["answer"]


class RagStreamingResponse(StreamingResponse):
    """A `StreamingResponse` whose `source_nodes` and `metadata` are filled in when its generator ends, and
    whose `str()`/`get_response()` are then the final answer."""

    def __str__(self) -> str:
        super().__str__()
        _settle(self)
        return self.response_txt or "None"

    def get_response(self) -> Response:
        super().get_response()
        _settle(self)
        return Response(self.response_txt, self.source_nodes, self.metadata)

    def print_response_stream(self) -> None:
        super().print_response_stream()
        _settle(self)


class RagAsyncStreamingResponse(AsyncStreamingResponse):
    """The async counterpart of `RagStreamingResponse` (what `aquery` returns when streaming)."""

    async def _async_str(self) -> str:
        await super()._async_str()
        _settle(self)
        return self.response_txt or "None"

    async def get_response(self) -> Response:
        await super().get_response()
        _settle(self)
        return Response(self.response_txt, self.source_nodes, self.metadata)


_END = object()


class RagQueryEngine(BaseQueryEngine):
    """Our answer chain as a llama-index query engine.

    `query(q)` returns a `Response`: `response` is the cited answer ("... [1]."), or the refusal; `source_nodes`
    one node per citation (the passage the model read, with exact document offsets; the citation's `marker`,
    `quote`, `quote_start` and `quote_end` in its metadata); `metadata` the answer's `answerable`, `shape`,
    `short_answer`, `refusal_reason`, `citations`, `grounded`, `sentences`, `check`, `timings` and `usage`
    (see `answer_metadata`). `aquery` runs the same chain on a worker thread.

    With `streaming=True`, `query()` returns once retrieval, the check and the first words are done, and gives
    a `StreamingResponse`; its `source_nodes` and `metadata` are filled in when its generator ends. Our chain
    checks a reply after it is written, and may then replace it with the refusal. So:
    - `stream_mode="verified"` (default): the generator yields the verified answer, in word-aligned pieces,
      once it is decided. The pieces joined are always the final answer; the first piece waits for the whole
      reply (as the project's OpenAI-compatible route does).
    - `stream_mode="live"`: the generator yields the deltas as the model writes them. If the checks then
      reject the reply, the stream goes on with a blank line and the refusal, `metadata["refusal_reason"]`
      says why ("unsupported", "unstated_terms", "verify") and `metadata["rejected"]` holds the rejected
      reply; `str(response)` and `get_response()` give the final answer (the refusal) alone, not what was
      streamed.
    """

    def __init__(self, chain: AnswerChain, retriever: BaseRetriever | None = None, *, streaming: bool = False,
                 stream_mode: StreamMode = "verified", top_k: int | None = None, filters: Filters | None = None,
                 history: list[Message] | None = None, callback_manager: CallbackManager | None = None) -> None:
        if stream_mode not in ("verified", "live"):
            raise ValueError(f"stream_mode must be 'verified' or 'live', not {stream_mode!r}")
        self.chain = chain
        self._retriever = retriever
        self.streaming = streaming
        self.stream_mode = stream_mode
        self.top_k = top_k
        self.filters = filters_from(filters)
        self.history = history
        super().__init__(callback_manager=callback_manager)

    def _get_prompt_modules(self) -> PromptMixinType:
        return {}

    def retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        """The first-stage passages for a query (what the chain retrieves before assembling its context)."""
        if self._retriever is None:
            raise NotImplementedError("this engine was built without a retriever")
        return self._retriever.retrieve(query_bundle)

    def _events(self, query_bundle: QueryBundle) -> Iterator[Event]:
        return self.chain.stream(query_bundle.query_str, self.history, self.top_k, self.filters)

    def _text(self, events: Iterator[Event],
              resp: StreamingResponse | AsyncStreamingResponse) -> Iterator[str]:
        def fill(answer: Answer) -> None:
            resp.source_nodes = cited_nodes(answer)
            resp.metadata = answer_metadata(answer)

        if self.stream_mode == "verified":
            answer = final_answer(events)
            fill(answer)
            yield from word_pieces(answer.answer)
            return
        streamed = False
        for event in events:
            match event:
                case Final(answer=answer):
                    fill(answer)
                case Delta(text=text) | Replace(text=text) if text:
                    yield ("\n\n" if streamed and isinstance(event, Replace) else "") + text
                    streamed = True

    def _query(self, query_bundle: QueryBundle) -> Response | StreamingResponse:
        events = self._events(query_bundle)
        if not self.streaming:
            return to_response(final_answer(events))
        started = _started(events)
        resp = RagStreamingResponse(response_gen=iter(()))
        resp.response_gen = self._text(started, resp)
        return resp

    async def _aquery(self, query_bundle: QueryBundle) -> Response | AsyncStreamingResponse:
        events = self._events(query_bundle)
        if not self.streaming:
            return to_response(await asyncio.to_thread(final_answer, events))
        started = await asyncio.to_thread(_started, events)
        resp = RagAsyncStreamingResponse(response_gen=_no_text())
        text = self._text(started, resp)

        async def pieces() -> AsyncIterator[str]:
            while (piece := await asyncio.to_thread(next, text, _END)) is not _END:
                yield piece  # type: ignore[misc]

        resp.response_gen = pieces()
        return resp


async def _no_text() -> AsyncIterator[str]:
    return
    yield


class ProjectLLM(CustomLLM):
    """Our LLM back end (llama.cpp in-process or an OpenAI-compatible server) as a llama-index LLM, for
    llama-index's own synthesisers (`RetrieverQueryEngine.from_args(retriever, llm=...)`)."""

    context_window: int = 4096
    num_output: int = 256
    model_name: str = "project-llm"
    _llm: Any = PrivateAttr()

    def __init__(self, llm: LLM, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._llm = llm

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(context_window=self.context_window, num_output=self.num_output,
                           model_name=self.model_name)

    def _deltas(self, prompt: str) -> Iterator[str]:
        return self._llm.stream_chat([{"role": "user", "content": prompt}], self.num_output, 0.0)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text="".join(self._deltas(prompt)))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        text = ""
        for delta in self._deltas(prompt):
            text += delta
            yield CompletionResponse(text=text, delta=delta)


# Built from Components


def retriever(components: Components, top_k: int | None = None,
              filters: Filters | MetadataFilters | None = None) -> RagRetriever:
    """The collection's retriever (its retrieval mode and rerank settings) as a llama-index retriever."""
    return RagRetriever(components, top_k, filters)


def query_engine(components: Components, streaming: bool = False, stream_mode: StreamMode = "verified",
                 top_k: int | None = None, filters: Filters | MetadataFilters | None = None) -> RagQueryEngine:
    """The collection's answer chain as a llama-index query engine (see `RagQueryEngine`)."""
    return RagQueryEngine(components.chain, RagRetriever(components, top_k, filters), streaming=streaming,
                          stream_mode=stream_mode, top_k=top_k, filters=filters)


def context_assembly(components: Components) -> ContextAssembly:
    """The collection's context assembly (its token budget, weights and sentence scorer) as a node
    postprocessor."""
    from rag.answer.context import embedding_scorer

    e = components.embedder
    return ContextAssembly(budget_tokens=components.settings.answer.context_tokens,
                           scorer=embedding_scorer(e.embed_query, e.embed_documents),
                           weights=components.settings.retrieval.context_weights)


def llm(components: Components) -> ProjectLLM:
    """The collection's LLM as a llama-index LLM."""
    return ProjectLLM(components.llm, context_window=components.settings.llm.n_ctx,
                      num_output=components.settings.llm.max_tokens, model_name=components.llm.name)
