"""Builds the parts from settings, once, lazily: front ends ask for what they need and nothing more.

Each part imports its module when it is first asked for, so a command pays only for what it uses: a no-op
`rag sync` opens the store and never imports torch, llama.cpp or llama-index."""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rag.settings import Settings

if TYPE_CHECKING:
    from rag.chain import AnswerChain
    from rag.ingest.pipeline import Ingestor, IngestReport
    from rag.keyword_index import KeywordIndex
    from rag.models.embedder import Embedder
    from rag.models.llm import LLM
    from rag.prompting import Prompts
    from rag.retrieve import Retriever
    from rag.store import ChunkStore


class Components:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stopping = threading.Event()  # set when the server shuts down: long work ends at a safe point

    @cached_property
    def store(self) -> ChunkStore:
        from rag.store import ChunkStore

        return ChunkStore(self.settings)

    @cached_property
    def embedder(self) -> Embedder:
        from rag.models.embedder import build_embedder

        return build_embedder(self.settings)

    @cached_property
    def llm(self) -> LLM:
        from rag.models.llm import build_llm

        return build_llm(self.settings)

    @cached_property
    def prompts(self) -> Prompts:
        from rag.prompting import Prompts

        return Prompts.load(self.settings.prompts_dir)

    @cached_property
    def keyword_index(self) -> KeywordIndex:
        from rag.keyword_index import KeywordIndex

        return KeywordIndex(self.store, self.settings.persist_dir / "bm25" / self.settings.collection,
                            merge_min=self.settings.bm25_merge_min, merge_ratio=self.settings.bm25_merge_ratio)

    @cached_property
    def retriever(self) -> Retriever:
        from rag.retrieve import build_retriever

        return build_retriever(self.settings.retrieval_mode, self.store, self.embedder, self.keyword_index,
                               self.settings.rerank)

    @cached_property
    def ingestor(self) -> Ingestor:
        from rag.ingest.pipeline import Ingestor

        return Ingestor(self.settings, self.store, self.embedder, self.keyword_index, stop=self.stopping)

    @cached_property
    def chain(self) -> AnswerChain:
        from rag.chain import AnswerChain
        from rag.context import embedding_scorer

        scorer = embedding_scorer(self.embedder.embed_query, self.embedder.embed_documents)
        coverage = self.keyword_index.coverage if self.settings.min_coverage > 0 else None
        return AnswerChain(self.settings, self.retriever, self.llm, self.prompts, scorer, coverage)

    def with_settings(self, **update: object) -> Components:
        """The same store, models and prompts with other retrieval or answering settings (eval modes)."""
        other = Components(self.settings.model_copy(update=update))
        for name in ("store", "embedder", "llm", "prompts", "keyword_index"):
            other.__dict__[name] = getattr(self, name)
        return other

    def seed_if_empty(self) -> IngestReport | None:
        """First run: an empty store gets the seed documents; so does one whose seeding was cut off (a seed's
        record still "writing"): unchanged seeds are skipped by hash, the cut-off one is finished."""
        seeds = self.settings.seeds_dir
        if not seeds.is_dir():
            return None
        root = seeds.resolve()
        cut_off = any(r.get("state") != "complete" and r.get("path") and Path(str(r["path"])).is_relative_to(root)
                      for r in self.store.doc_records().values())
        if self.store.count() == 0 or cut_off:
            return self.ingestor.ingest_paths([seeds])
        return None

    def unfinished_documents(self) -> list[str]:
        """Sources whose ingest was cut off (killed, or stopped with the server) and not yet redone."""
        return sorted(str(r.get("source") or d) for d, r in self.store.doc_records().items()
                      if r.get("state") != "complete")
