"""The plain llama-index pipeline, with the same embedder and LLM, for a side-by-side report.

`VectorStoreIndex.from_documents(...).as_query_engine()` with llama-index's defaults (its splitter,
top-k, prompts and compact/refine synthesis); only the models are ours, so the comparison isolates
what this project adds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from llama_index.core.llms import (
    CompletionResponse,
    CompletionResponseGen,
    CustomLLM,
    LLMMetadata,
)
from llama_index.core.llms.callbacks import llm_completion_callback
from pydantic import PrivateAttr

from rag.citations import is_refusal
from rag.components import Components
from rag.eval.gold import GoldItem
from rag.eval.runner import SystemAnswer


class ProjectLLM(CustomLLM):
    """Adapts this project's LLM back end to llama-index's LLM interface."""

    context_window: int = 4096
    num_output: int = 256
    model_name: str = "project-llm"
    _llm: Any = PrivateAttr()

    def __init__(self, llm: Any, **kwargs: Any) -> None:
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


def llamaindex_baseline(comps: Components, docs: Path) -> Callable[[GoldItem], SystemAnswer]:
    from llama_index.core import SimpleDirectoryReader, VectorStoreIndex

    as_llama_index = getattr(comps.embedder, "llama_index_model", None)
    if as_llama_index is None:
        raise ValueError("the llama-index baseline needs the local embedder (RAG_EMBED_BACKEND=local)")
    model = as_llama_index()
    documents = SimpleDirectoryReader(input_dir=str(docs), required_exts=[".txt", ".md", ".html", ".pdf"],
                                      recursive=True).load_data()
    index = VectorStoreIndex.from_documents(documents, embed_model=model)
    engine = index.as_query_engine(llm=ProjectLLM(comps.llm, context_window=comps.settings.n_ctx,
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
            citations=[], timings={"total_ms": total}, usage={})  # its query engine does not split the two

    return run
