"""The composition root: parts passed to `Components` are used as they are, by every collection."""

from __future__ import annotations

import os
import re
from pathlib import Path

from rag.components import Components, offline_environment
from rag.config import overridden
from tests.conftest import ROOT, HashEmbedder


class NamedLLM:
    name = "given"
    loaded = True


def test_parts_given_to_the_constructor_are_used_and_never_built(settings) -> None:
    embedder, llm = HashEmbedder(), NamedLLM()
    comps = Components(settings, embedder=embedder, llm=llm)
    assert comps.embedder is embedder and comps.llm is llm
    other = comps.collection("other", create=True)  # another collection shares the root's models
    assert other.embedder is embedder and other.llm is llm
    assert other.store is not comps.store
    mode = comps.with_settings({"retrieval.mode": "bm25"})  # another mode shares the store and the models
    assert mode.llm is llm and mode.store is comps.store and mode.keyword_index is comps.keyword_index
    assert mode.retriever is not comps.retriever


def test_a_given_retriever_is_the_one_the_chain_asks(settings) -> None:
    class Nothing:
        def retrieve(self, query, top_k, filters=None):
            return []

    retriever = Nothing()
    comps = Components(overridden(settings, {"answer.check": False}), embedder=HashEmbedder(),
                       llm=NamedLLM(), retriever=retriever)
    assert comps.retriever is retriever
    answer = comps.chain.answer("Who welcomed Putin at the airport?")
    assert not answer.answerable  # nothing retrieved: refused before the model is asked


def test_the_offline_environment_is_set_in_one_place(monkeypatch) -> None:
    """One function sets what the libraries read (the entry points call it); no other module writes it."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "GRADIO_ANALYTICS_ENABLED", "TIKTOKEN_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "true")
    offline_environment()
    assert os.environ["HF_HUB_OFFLINE"] == os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    cl100k = "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"  # tiktoken's cache name for cl100k_base (sha1 of its URL)
    assert (Path(os.environ["TIKTOKEN_CACHE_DIR"]) / cl100k).is_file()
    assert os.environ["TOKENIZERS_PARALLELISM"] == "true", "a value already set wins"
    writes = re.compile(r"os\.environ\s*(\[[^\]]*\]\s*=|\.setdefault|\.update)|os\.putenv")
    setters = sorted(str(p.relative_to(ROOT)) for p in [*(ROOT / "rag").rglob("*.py"), ROOT / "app.py"]
                     if writes.search(p.read_text(encoding="utf-8")))
    assert setters == ["rag/components.py"]


def test_each_part_is_built_with_its_own_section_of_the_settings(settings) -> None:
    """The composition root hands the retrieval section to the first stage and the rerank, the answer section
    to the chain's steps: a value set in the settings is the value the part uses."""
    from rag.retrieval.rerank import SentenceReranker
    from rag.retrieval.retrievers import HybridRetriever

    tuned = overridden(settings, {"retrieval.depth": 7, "retrieval.rrf_k": 9, "retrieval.rerank_weights.rank": 0.1,
                                  "answer.support_min": 0.9})
    comps = Components(tuned, embedder=HashEmbedder(), llm=NamedLLM())
    rerank = comps.retriever
    assert isinstance(rerank, SentenceReranker) and rerank.depth == 7 and rerank.weights.rank == 0.1
    assert isinstance(rerank.inner, HybridRetriever) and (rerank.inner.depth, rerank.inner.rrf_k) == (7, 9)
    assert comps.chain.settings.answer.support_min == 0.9
    plain = comps.with_settings({"retrieval.rerank": False, "retrieval.mode": "bm25"}).retriever
    assert not isinstance(plain, SentenceReranker | HybridRetriever)
