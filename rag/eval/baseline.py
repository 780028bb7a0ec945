"""llama-index baselines, with the same models, for a side-by-side report.

- `llamaindex_baseline` (`--baseline llamaindex`): the plain llama-index pipeline,
  `VectorStoreIndex.from_documents(...).as_query_engine()` with llama-index's defaults (its splitter, top-k,
  prompts and compact/refine synthesis); only the models are ours, so the comparison isolates what this
  project adds.
- `synthesiser_baseline` (`--baseline llamaindex-synth`): our retriever (`RagRetriever`, same mode, rerank and
  top_k as the chain) with llama-index's response synthesiser (compact mode, default prompts) and our LLM as
  a llama-index LLM; so, beside our chain, the report separates what retrieval adds (the same in both) from
  what the answer step adds (context assembly, the checks, citations).

Neither cites or checks its answer: their citation and grounding metrics are "—".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rag.adapters.llamaindex import ProjectLLM
from rag.answer.citations.stream import is_refusal
from rag.components import Components
from rag.eval.gold import GoldItem
from rag.eval.runner import KS, SystemAnswer, passage_row

if TYPE_CHECKING:
    from rag.backends.llm import LLM, Message


def llamaindex_baseline(comps: Components, docs: Path) -> Callable[[GoldItem], SystemAnswer]:
    from llama_index.core import SimpleDirectoryReader, VectorStoreIndex

    as_llama_index = getattr(comps.embedder, "llama_index_model", None)
    if as_llama_index is None:
        raise ValueError("the llama-index baseline needs the local embedder (RAG_EMBED__BACKEND=local)")
    model = as_llama_index()
    documents = SimpleDirectoryReader(input_dir=str(docs), required_exts=[".txt", ".md", ".html", ".pdf"],
                                      recursive=True).load_data()
    index = VectorStoreIndex.from_documents(documents, embed_model=model)
    engine = index.as_query_engine(llm=ProjectLLM(comps.llm, context_window=comps.settings.llm.n_ctx,
                                                  model_name=comps.llm.name))

    def run(item: GoldItem) -> SystemAnswer:
        t0 = time.perf_counter()
        resp = engine.query(item.question)
        total = (time.perf_counter() - t0) * 1000
        text = str(resp.response or "").strip()
        return SystemAnswer(
            answer=text, answerable=not is_refusal(text),
            retrieved=[{"text": n.node.get_content(), "source": str(n.node.metadata.get("file_path", "")),
                        "score": float(n.score or 0.0)} for n in resp.source_nodes],
            citations=[], timings={"total_ms": total}, usage={},  # its query engine does not split the two
            cites=False)

    return run


class _Counted:
    """An LLM that adds up the token usage of the calls made through it (the synthesiser's, per question)."""

    def __init__(self, llm: LLM) -> None:
        self.llm = llm
        self.name = llm.name
        self.usage: dict[str, int] = {}

    def stream_chat(self, messages: list[Message], max_tokens: int, temperature: float,
                    usage: dict[str, int] | None = None) -> Iterator[str]:
        got: dict[str, int] = {}
        yield from self.llm.stream_chat(messages, max_tokens, temperature, got)
        for key in ("prompt_tokens", "completion_tokens"):
            self.usage[key] = self.usage.get(key, 0) + int(got.get(key) or 0)


def synthesiser_baseline(comps: Components, top_k_eval: int = max(KS)) -> Callable[[GoldItem], SystemAnswer]:
    """llama-index's response synthesiser (compact mode, its default prompts, streamed) over our retriever,
    with our LLM: the chain's retrieval and another answer step. As for our chain, the scored retrieval is a
    deeper list (`top_k_eval`) of the same retriever; the synthesiser reads the first `retrieval.top_k`."""
    from llama_index.core import get_response_synthesizer
    from llama_index.core.response_synthesizers import ResponseMode

    from rag.adapters.llamaindex import RagRetriever

    counted = _Counted(comps.llm)
    llm = ProjectLLM(counted, context_window=comps.settings.llm.n_ctx,  # type: ignore[arg-type]
                     num_output=comps.settings.llm.max_tokens, model_name=comps.llm.name)
    retriever = RagRetriever(comps)
    synth = get_response_synthesizer(llm=llm, response_mode=ResponseMode.COMPACT, streaming=True)

    def run(item: GoldItem) -> SystemAnswer:
        counted.usage = {}
        t0 = time.perf_counter()
        nodes = retriever.retrieve(item.question)
        t1 = time.perf_counter()
        resp = synth.synthesize(item.question, nodes)
        text, first = "", None
        for delta in resp.response_gen:
            if first is None and delta:
                first = time.perf_counter()
            text += delta
        t2 = time.perf_counter()
        text = text.strip()
        ranked = comps.retriever.retrieve(item.question, top_k_eval)  # for recall@k, as for our chain
        ms = {"retrieve_ms": (t1 - t0) * 1000, "generate_ms": (t2 - t1) * 1000, "total_ms": (t2 - t0) * 1000,
              "first_token_ms": (first - t0) * 1000 if first is not None else None}
        return SystemAnswer(
            answer=text, answerable=not is_refusal(text), retrieved=[passage_row(p) for p in ranked],
            citations=[], timings={k: round(v, 1) for k, v in ms.items() if v is not None},
            usage=dict(counted.usage), query=item.question, context=[n.node.get_content() for n in nodes],
            cites=False)

    return run
