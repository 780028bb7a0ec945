"""The composition root: parts passed to `Components` are used as they are, by every collection."""

from __future__ import annotations

from rag.components import Components
from tests.conftest import HashEmbedder


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
    mode = comps.with_settings(retrieval_mode="bm25")  # another mode shares the store and the models
    assert mode.llm is llm and mode.store is comps.store and mode.keyword_index is comps.keyword_index
    assert mode.retriever is not comps.retriever


def test_a_given_retriever_is_the_one_the_chain_asks(settings) -> None:
    class Nothing:
        def retrieve(self, query, top_k, filters=None):
            return []

    retriever = Nothing()
    comps = Components(settings.model_copy(update={"answer_check": False}), embedder=HashEmbedder(),
                       llm=NamedLLM(), retriever=retriever)
    assert comps.retriever is retriever
    answer = comps.chain.answer("Who welcomed Putin at the airport?")
    assert not answer.answerable  # nothing retrieved: refused before the model is asked
