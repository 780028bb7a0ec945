"""The soak benchmark's machinery for a few seconds: a real `rag serve` child (real MiniLM, embedded Chroma, a
copy of the seeds) on loopback, askers on every answering route and writers uploading, re-uploading,
re-ingesting and deleting at once, then the checks on the stopped server's data folder. The LLM is the
benchmark's extractive stand-in behind the OpenAI-compatible backend, so no model is loaded and the answers
cite real passages. Not timed; it fails when any request fails, any response is 5xx, the store, BM25 and
records disagree, or a citation points at a document that was not there."""

from __future__ import annotations

import pytest

from benchmarks.soak import ANSWER_ROUTES, HOSTILE_ROUTES, parse_args, soak
from tests.conftest import SEEDS

pytestmark = pytest.mark.e2e


def test_soak_machinery_against_a_real_server(tmp_path) -> None:
    args = parse_args(["--fake-llm", "--duration", "8", "--askers", "4", "--writers", "2", "--write-pause", "0.2",
                       "--hostile", "1", "--docs", str(SEEDS), "--drain", "120"])
    result, table, passed = soak(args, tmp_path / "data")
    assert passed, table
    routes = {r["route"]: r for r in result["routes"]}
    assert set(ANSWER_ROUTES) <= set(routes), table
    assert routes["POST /v1/documents (new)"]["count"] >= 2
    assert set(HOSTILE_ROUTES) <= set(routes), table  # each got its 4xx (an error otherwise, and no PASS)
    assert all(routes[r]["errors"] == 0 for r in HOSTILE_ROUTES), table
    assert result["citations"]["citations"] > 0 and result["citations"]["to_writers_documents"] > 0, table
    assert result["consistency"]["ok"] and result["consistency"]["records"] >= 1
    assert "| POST /v1/answer |" in table and "verdict: PASS" in table
