"""Builds the parts from settings, once, lazily: front ends ask for what they need and nothing more."""

from __future__ import annotations

from functools import cached_property

from rag.chain import AnswerChain
from rag.ingest.pipeline import Ingestor, IngestReport
from rag.models.embedder import Embedder, build_embedder
from rag.models.llm import LLM, build_llm
from rag.prompting import Prompts
from rag.retrieve import DenseRetriever, Retriever
from rag.settings import Settings
from rag.store import ChunkStore


class Components:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

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
    def retriever(self) -> Retriever:
        return DenseRetriever(self.store, self.embedder)

    @cached_property
    def ingestor(self) -> Ingestor:
        return Ingestor(self.settings, self.store, self.embedder)

    @cached_property
    def chain(self) -> AnswerChain:
        return AnswerChain(self.settings, self.retriever, self.llm, self.prompts)

    def seed_if_empty(self) -> IngestReport | None:
        """First run: an empty store gets the seed documents."""
        if self.store.count() == 0 and self.settings.seeds_dir.is_dir():
            return self.ingestor.ingest_paths([self.settings.seeds_dir])
        return None
