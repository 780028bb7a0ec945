"""rag.adapters.llamaindex's query engine with the real default models on the seed document."""

from __future__ import annotations

from rag.adapters import llamaindex as li
from rag.ingest.loaders import load_file
from tests.conftest import SEED_DOC

SOURCE_TEXT = load_file(SEED_DOC).text


def test_query_engine_answers_the_seed_question_with_cited_nodes(comps) -> None:
    resp = li.query_engine(comps).query("Which gas fields does the Gazprom agreement cover?")
    meta = resp.metadata
    assert meta["answerable"], resp.response
    assert "North Pars" in resp.response and "[1]" in resp.response and meta["model"].startswith("qwen2.5")
    assert resp.source_nodes and len(resp.source_nodes) == len(meta["citations"])
    for node in resp.source_nodes:
        n = node.node
        assert SOURCE_TEXT[n.start_char_idx:n.end_char_idx] == n.text
        assert SOURCE_TEXT[n.metadata["quote_start"]:n.metadata["quote_end"]] == n.metadata["quote"]
        assert f"[{n.metadata['marker']}]" in resp.response and n.metadata["source"].endswith(SEED_DOC.name)
    assert any("North Pars" in node.node.metadata["quote"] for node in resp.source_nodes)

    streamed = li.query_engine(comps, streaming=True).query("Which gas fields does the Gazprom agreement cover?")
    assert "".join(streamed.response_gen) == streamed.metadata["answer"] == str(streamed)
    assert "North Pars" in str(streamed) and streamed.source_nodes
