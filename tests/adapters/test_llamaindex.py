"""rag.adapters.llamaindex: our retriever and answer chain inside llama-index's own classes, over a real Chroma store
embedded with the packaged MiniLM (the LLM is a scripted double here; tests/e2e runs the real one)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from llama_index.core.base.response.schema import AsyncStreamingResponse, Response, StreamingResponse
from llama_index.core.evaluation import RetrieverEvaluator
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.retrievers import QueryFusionRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.vector_stores.types import FilterOperator, MetadataFilter, MetadataFilters

from rag.adapters import llamaindex as li
from rag.answer.chain import AnswerChain, QuestionError
from rag.components import Components
from rag.config import Settings
from rag.ingest.loaders import load_file
from rag.retrieval.retrievers import Filters
from rag.text.tokens import count_tokens
from tests.answer.test_chain import ScriptedLLM
from tests.conftest import ROOT, SEED_DOC

GAS = "Which gas fields does the Gazprom agreement cover?"
GAS_REPLY = "The agreement covers the Kish and North Pars gas fields [1]."
UNSUPPORTED = "The population of Iran is about 80 million people."
ORCHARD = "Orchard notes. The quince harvest starts in October and ends before the first frost.\n"


@pytest.fixture(scope="module")
def comps(tmp_path_factory) -> Components:
    """A real store in a temporary folder: the seed article and a note, embedded with MiniLM."""
    docs = tmp_path_factory.mktemp("docs")
    (docs / SEED_DOC.name).write_text(SEED_DOC.read_text())
    (docs / "orchard.md").write_text(ORCHARD * 3)
    c = Components(
        Settings(
            _env_file=None, store={"persist_dir": tmp_path_factory.mktemp("li") / "store", "collection": "llamaidx"}
        )
    )
    assert len(c.ingestor.ingest_paths([docs]).documents) == 2
    return c


def doc_text(comps, doc_id: str) -> str:
    return load_file(comps.store.doc_records()[doc_id].path).text


def assert_exact(comps, node) -> None:
    n = node.node
    assert doc_text(comps, n.metadata["doc_id"])[n.start_char_idx:n.end_char_idx] == n.text


def engine(comps, *replies: str, **kw) -> li.RagQueryEngine:
    chain = AnswerChain(comps.settings, comps.retriever, ScriptedLLM(*replies, p_yes=0.9), comps.prompts)
    return li.RagQueryEngine(chain, li.retriever(comps), **kw)


def test_importing_rag_does_not_import_llama_index() -> None:
    code = ("import sys, rag, rag.components, rag.answer.chain, rag.retrieval.retrievers, rag.cli, rag.types; "
            "assert not [m for m in sys.modules if m.startswith('llama_index')]")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_nodes_are_our_chunks_with_exact_offsets_and_metadata(comps) -> None:
    nodes = li.retriever(comps).retrieve(GAS)
    ours = comps.retriever.retrieve(GAS, comps.settings.retrieval.top_k)
    assert [n.node.node_id for n in nodes] == [p.chunk.id for p in ours]
    assert [n.score for n in nodes] == [p.score for p in ours]
    assert "North Pars" in nodes[0].node.text
    for n, p in zip(nodes, ours, strict=True):
        assert_exact(comps, n)
        assert (n.node.start_char_idx, n.node.end_char_idx) == (p.chunk.start, p.chunk.end)
        assert n.node.metadata == {"doc_id": p.chunk.doc_id, "source": p.chunk.source, "title": p.chunk.title,
                                   "page": None, "dense_score": p.dense_score, "bm25_score": p.bm25_score}
        assert n.node.ref_doc_id == p.chunk.doc_id
    assert len(li.retriever(comps, top_k=5).retrieve(GAS)) == 5
    # what a llama-index synthesiser shows the model: the title and source, not ids and scores
    shown = nodes[0].node.get_content(metadata_mode="llm")
    assert "title: Putin Meets Khamenei" in shown and "dense_score" not in shown and "doc_id" not in shown


def test_filters_ours_and_llama_index_metadata_filters(comps) -> None:
    orchard = next(s for s in (r.source for r in comps.store.doc_records().values()) if s.endswith(".md"))
    for filters in (Filters(sources=[orchard]),
                    MetadataFilters(filters=[MetadataFilter(key="source", value=orchard)]),
                    MetadataFilters(filters=[MetadataFilter(key="source", value=[orchard],
                                                            operator=FilterOperator.IN)])):
        nodes = li.retriever(comps, filters=filters).retrieve("harvest and gas fields")
        assert nodes and {n.node.metadata["source"] for n in nodes} == {orchard}
    with pytest.raises(ValueError, match="doc_id or source"):
        li.retriever(comps, filters=MetadataFilters(filters=[MetadataFilter(key="page", value=1)]))


def test_drops_into_llama_index_retriever_query_engine(comps) -> None:
    r = li.retriever(comps)
    qe = RetrieverQueryEngine.from_args(r, llm=MockLLM())  # MockLLM answers with the prompt it was given
    resp = qe.query(GAS)
    assert [n.node.node_id for n in resp.source_nodes] == [n.node.node_id for n in r.retrieve(GAS)]
    assert "North Pars" in str(resp) and resp.source_nodes[0].node.text in str(resp)
    for n in resp.source_nodes:
        assert_exact(comps, n)


def test_drops_into_query_fusion_retriever_async(comps) -> None:
    """llama-index fuses our dense and BM25 retrievers (its async path calls our `_aretrieve`)."""
    dense = li.RagRetriever(comps.with_settings({"retrieval.mode": "dense", "retrieval.rerank": False}), top_k=4)
    bm25 = li.RagRetriever(comps.with_settings({"retrieval.mode": "bm25", "retrieval.rerank": False}), top_k=4)
    fusion = QueryFusionRetriever([dense, bm25], llm=MockLLM(), mode="reciprocal_rerank", similarity_top_k=3,
                                  num_queries=1, use_async=True)
    nodes = fusion.retrieve("What is Shana?")
    assert len(nodes) == 3 and "Shana" in nodes[0].node.text
    # both lists ranked that chunk first, and llama-index fused the two (its RRF, k = 60): one chunk, one node
    assert nodes[0].score == pytest.approx(2 / 60) and len({n.node.node_id for n in nodes}) == 3
    for n in nodes:
        assert_exact(comps, n)
    assert [n.node.node_id for n in asyncio.run(dense.aretrieve(GAS))] == [n.node.node_id for n in
                                                                           dense.retrieve(GAS)]


def test_llama_index_retriever_evaluator(comps) -> None:
    r = li.retriever(comps)
    [gas] = [c.id for c in comps.store.get_chunks(r.retrieve(GAS)[0].node.metadata["doc_id"])
             if "Kish and North Pars" in c.text][:1]
    evaluator = RetrieverEvaluator.from_metric_names(["hit_rate", "mrr"], retriever=r)
    result = evaluator.evaluate(query=GAS, expected_ids=[gas])
    assert result.metric_vals_dict == {"hit_rate": 1.0, "mrr": 1.0}


def test_query_engine_response_carries_the_cited_answer(comps) -> None:
    resp = engine(comps, GAS_REPLY).query(GAS)
    assert isinstance(resp, Response)
    assert resp.response == resp.metadata["answer"] and "North Pars" in resp.response and "[1]" in resp.response
    meta = resp.metadata
    assert meta["answerable"] and meta["refusal_reason"] is None and meta["grounded"] == 1.0
    assert meta["shape"] and meta["short_answer"] and meta["timings"]["total_ms"] > 0
    assert [c["marker"] for c in meta["citations"]] == [1] and meta["rag_answer"].answer == resp.response
    [node] = resp.source_nodes
    n = node.node
    assert_exact(comps, node)
    quote = doc_text(comps, n.metadata["doc_id"])[n.metadata["quote_start"]:n.metadata["quote_end"]]
    assert quote == n.metadata["quote"] == meta["citations"][0]["quote"] and "North Pars" in quote
    assert n.start_char_idx <= n.metadata["quote_start"] < n.metadata["quote_end"] <= n.end_char_idx
    assert n.metadata["marker"] == 1 and node.score == meta["citations"][0]["score"]
    assert "quote" not in n.get_content(metadata_mode="llm")


def test_query_engine_refusal(comps) -> None:
    resp = engine(comps, UNSUPPORTED).query("What is the population of Iran?")
    assert not resp.metadata["answerable"] and resp.metadata["refusal_reason"] == "unsupported"
    assert "don't contain" in resp.response and resp.source_nodes == []
    assert resp.metadata["rejected"].startswith("The population of Iran")


def test_streaming_verified_only_ever_streams_the_final_answer(comps) -> None:
    for reply, question in ((GAS_REPLY, GAS), (UNSUPPORTED, "What is the population of Iran?")):
        resp = engine(comps, reply, streaming=True).query(question)
        assert isinstance(resp, StreamingResponse) and resp.metadata is None  # filled in when the stream ends
        pieces = list(resp.response_gen)
        assert "".join(pieces) == resp.metadata["answer"] == resp.get_response().response == str(resp)
        assert len(resp.source_nodes) == len(resp.metadata["citations"])


def test_streaming_live_streams_deltas_and_says_when_the_reply_was_replaced(comps) -> None:
    resp = engine(comps, GAS_REPLY, streaming=True, stream_mode="live").query(GAS)
    pieces = list(resp.response_gen)
    assert len(pieces) > 1 and "".join(pieces) == resp.metadata["answer"] == str(resp)
    assert resp.source_nodes and resp.source_nodes[0].node.metadata["marker"] == 1

    resp = engine(comps, UNSUPPORTED, streaming=True, stream_mode="live").query("What is the population of Iran?")
    streamed = "".join(resp.response_gen)
    refusal = resp.metadata["answer"]
    assert streamed.startswith("The population of Iran") and streamed.endswith("\n\n" + refusal)
    assert resp.metadata["refusal_reason"] == "unsupported"
    assert str(resp) == resp.get_response().response == refusal, "the final text is the answer, not the stream"


def test_async_query_and_async_streaming(comps) -> None:
    resp = asyncio.run(engine(comps, GAS_REPLY).aquery(GAS))
    assert isinstance(resp, Response) and "North Pars" in resp.response and resp.source_nodes

    async def stream() -> tuple[list[str], Response]:
        r = await engine(comps, GAS_REPLY, streaming=True).aquery(GAS)
        assert isinstance(r, AsyncStreamingResponse)
        return [p async for p in r.async_response_gen()], await r.get_response()

    pieces, final = asyncio.run(stream())
    assert "".join(pieces) == final.response == final.metadata["answer"] and final.source_nodes


def test_streaming_checks_the_question_before_returning(comps) -> None:
    with pytest.raises(QuestionError, match="empty"):
        engine(comps, streaming=True).query("   ")


def test_query_engine_from_components_uses_the_collection(comps) -> None:
    qe = li.query_engine(comps, top_k=2)
    assert qe.chain is comps.chain and qe.top_k == 2
    assert [n.node.node_id for n in qe.retrieve(QueryBundle(GAS))] == [
        n.node.node_id for n in li.retriever(comps, top_k=2).retrieve(GAS)]
    assert li.llm(comps).metadata.context_window == comps.settings.llm.n_ctx


def test_rerank_and_context_assembly_as_node_postprocessors(comps) -> None:
    """Our second stage over llama-index's first: the same chunks as our reranked retriever; then our context
    assembly inside llama-index's RetrieverQueryEngine, its passages still at exact offsets."""
    first = li.RagRetriever(comps.with_settings({"retrieval.rerank": False}), top_k=20)
    rerank = li.SentenceRerank(top_n=comps.settings.retrieval.top_k)
    reranked = rerank.postprocess_nodes(first.retrieve(GAS), query_str=GAS)
    ours = li.retriever(comps).retrieve(GAS)
    assert [(n.node.node_id, n.score) for n in reranked] == [(n.node.node_id, n.score) for n in ours]

    assembly = li.context_assembly(comps)
    qe = RetrieverQueryEngine.from_args(first, llm=MockLLM(), node_postprocessors=[li.SentenceRerank(), assembly])
    resp = qe.query(GAS)
    read = comps.chain.context_budget()
    assert resp.source_nodes and sum(count_tokens(n.node.text) for n in resp.source_nodes) <= read
    assert "North Pars" in resp.source_nodes[0].node.text and resp.source_nodes[0].node.text in str(resp)
    for n in resp.source_nodes:
        assert_exact(comps, n)
        assert n.node.node_id.endswith(f":{n.node.start_char_idx}-{n.node.end_char_idx}")
    # a node of someone else's, without offsets, passes through unmerged
    foreign = NodeWithScore(node=TextNode(text="Shana is the news agency of Iran's oil ministry."), score=1.0)
    [out] = li.ContextAssembly().postprocess_nodes([foreign], query_str="What is Shana?")
    assert out.node.text == foreign.node.text


def test_a_llama_index_program_is_kept_offline_by_importing_the_adapters() -> None:
    """The README's llama-index example never runs the `rag` command: importing rag.adapters.llamaindex must point
    tiktoken at the file llama-index-core ships, or the first chunking tries to download it."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("TIKTOKEN_CACHE_DIR", "HF_HUB_OFFLINE")}
    code = ("import os, rag.adapters.llamaindex, tiktoken; tiktoken.get_encoding('cl100k_base'); "
            "print(os.environ['TIKTOKEN_CACHE_DIR']); print(os.environ['HF_HUB_OFFLINE'])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    cache, offline = out.stdout.split()
    assert cache.endswith("tiktoken_cache") and os.path.isdir(cache) and offline == "1"
