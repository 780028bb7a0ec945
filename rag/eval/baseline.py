"""The plain llama-index pipeline, with the same embedder and LLM, for a side-by-side report.

`VectorStoreIndex.from_documents(...).as_query_engine()` with llama-index's defaults (its splitter,
top-k, prompts and compact/refine synthesis); only the models are ours, so the comparison isolates
what this project adds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rag.citations import is_refusal
from rag.components import Components
from rag.eval.gold import GoldItem
from rag.eval.runner import SystemAnswer
from rag.llamaindex import ProjectLLM


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
