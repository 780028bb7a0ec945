"""Builds the parts from settings, once, lazily: front ends ask for what they need and nothing more."""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path

from rag.chain import AnswerChain
from rag.context import embedding_scorer
from rag.ingest.pipeline import Ingestor, IngestReport
from rag.keyword_index import KeywordIndex
from rag.models.embedder import Embedder, build_embedder
from rag.models.llm import LLM, build_llm
from rag.prompting import Prompts
from rag.retrieve import Retriever, build_retriever
from rag.settings import Settings
from rag.store import ChunkStore


class Components:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stopping = threading.Event()  # set when the server shuts down: long work ends at a safe point

    @cached_property
    def store(self) -> ChunkStore:
        return ChunkStore(self.settings)

    @cached_property
    def embedder(self) -> Embedder:
        return build_embedder(self.settings)

    @cached_property
    def llm(self) -> LLM:
        return build_llm(self.settings)

    @cached_property
    def prompts(self) -> Prompts:
        return Prompts.load(self.settings.prompts_dir)

    @cached_property
    def keyword_index(self) -> KeywordIndex:
        return KeywordIndex(self.store, self.settings.persist_dir / "bm25" / self.settings.collection)

    @cached_property
    def retriever(self) -> Retriever:
        return build_retriever(self.settings.retrieval_mode, self.store, self.embedder, self.keyword_index,
                               self.settings.rerank)

    @cached_property
    def ingestor(self) -> Ingestor:
        return Ingestor(self.settings, self.store, self.embedder, self.keyword_index, stop=self.stopping)

    @cached_property
    def chain(self) -> AnswerChain:
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
