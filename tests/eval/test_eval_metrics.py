from __future__ import annotations

import json

import pytest

from rag.eval.compare import compare
from rag.eval.gold import GoldItem, load_gold
from rag.eval.metrics import (
    cited_sentence_share,
    contains_answer,
    exact_match,
    f1,
    normalize_answer,
    overlaps,
    percentile,
    retrieval_metrics,
)
from rag.eval.runner import SystemAnswer, score_row, summarize
from tests.conftest import SEEDS


def test_squad_normalisation() -> None:
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert normalize_answer("Levi’s Stadium — “Santa Clara”") == "levis stadium santa clara"
    assert normalize_answer("Five times [1].") == "five times"


def test_exact_match_and_f1_take_the_best_gold_answer() -> None:
    golds = ["Denver Broncos", "the Broncos"]
    assert exact_match("Broncos", golds) == 1.0
    assert exact_match("The Denver Broncos won", golds) == 0.0
    assert f1("Denver Broncos won", golds) == pytest.approx(0.8)
    assert f1("Carolina Panthers", golds) == 0.0


def test_empty_answer_scores_zero() -> None:
    assert exact_match("", ["x"]) == 0.0 and f1("", ["x"]) == 0.0 and contains_answer("", ["x"]) == 0.0
    assert f1("anything", []) == 0.0


def test_contains_needs_whole_words() -> None:
    assert contains_answer("Putin landed at Mehrabad airport [1].", ["Mehrabad"]) == 1.0
    assert contains_answer("It cost 1,200 dollars", ["200"]) == 0.0


def test_overlap_and_retrieval_metrics() -> None:
    ev = "Putin's plane landed at Mehrabad airport. He was welcomed by Javad Owji."
    chunks = ["Something else entirely about gas.", "Intro text. Putin's plane landed at Mehrabad airport. More."]
    assert overlaps(chunks[1], ev) and not overlaps(chunks[0], ev)
    r = retrieval_metrics(chunks, ev, (1, 3))
    assert r["hit@1"] == 0.0 and r["hit@3"] == 1.0 and r["rr"] == 0.5
    assert r["recall@3"] == 0.5  # one of the evidence's two sentences was retrieved


def test_cited_sentence_share_and_percentile() -> None:
    assert cited_sentence_share("One fact [1]. Another fact. A third [2].") == pytest.approx(2 / 3)
    assert percentile([1, 2, 3, 4, 100], 0.5) == 3 and percentile([], 0.9) == 0.0


def _answer(text: str, answerable: bool = True, quote: str = "", retrieved: str = "") -> SystemAnswer:
    cites = [{"marker": 1, "quote": quote}] if quote else []
    return SystemAnswer(answer=text, answerable=answerable, citations=cites,
                        retrieved=[{"text": retrieved, "source": "seeds/doc.txt", "score": 0.5}],
                        timings={"total_ms": 10.0}, usage={"prompt_tokens": 5, "completion_tokens": 2})


def test_rows_and_summary_cover_refusals_and_citations() -> None:
    ev = "The ferry carries 340 passengers."
    q1 = GoldItem(id="a", question="How many?", answers=["340"], evidence=ev, doc="doc.txt")
    q2 = GoldItem(id="b", question="Weather?", unanswerable=True)
    q3 = GoldItem(id="c", question="Built where?", answers=["Croatia"], evidence="It was built in Croatia.")
    rows = [score_row(q1, _answer("340 passengers [1].", quote=ev, retrieved=ev)),
            score_row(q2, _answer("The documents don't contain it.", answerable=False)),
            score_row(q3, _answer("The documents don't contain it.", answerable=False))]
    s = summarize(rows, 1.0)
    assert s["refusal_recall"] == 1.0 and s["false_refusal_rate"] == 0.5
    assert s["citation_precision"] == 1.0 and s["citation_recall"] == 1.0
    assert s["contains"] == 0.5 and s["f1"] == pytest.approx((2 / 3 + 0.0) / 2, abs=1e-3)
    assert rows[0]["scores"]["hit@1"] == 1.0 and rows[0]["scores"]["doc_hit@5"] == 1.0


def test_load_gold_limits_and_samples_deterministically(tmp_path) -> None:
    items = load_gold(SEEDS / "gold.jsonl")
    assert len(items) >= 30 and sum(i.unanswerable for i in items) >= 5
    assert [i.id for i in load_gold(SEEDS / "gold.jsonl", sample=5, seed=1)] == \
        [i.id for i in load_gold(SEEDS / "gold.jsonl", sample=5, seed=1)]
    assert len(load_gold(SEEDS / "gold.jsonl", limit=3)) == 3
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "no id"}) + "\n")
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        load_gold(bad)


def test_seed_gold_evidence_is_verbatim_in_the_document() -> None:
    for item in load_gold(SEEDS / "gold.jsonl"):
        if not item.unanswerable:
            assert item.evidence in (SEEDS / item.doc).read_text(encoding="utf-8"), item.id
            assert any(a.lower() in item.evidence.lower() for a in item.answers) or item.id == "seed-07"


def test_compare_flags_drops_beyond_the_threshold() -> None:
    old = {"f1": 0.80, "false_refusal_rate": 0.05, "total_ms_p50": 5000.0}
    lines, bad = compare(old, {"f1": 0.79, "false_refusal_rate": 0.05, "total_ms_p50": 9000.0}, 0.02)
    assert bad == [] and any(line.startswith("f1") for line in lines)
    _, bad = compare(old, {"f1": 0.70, "false_refusal_rate": 0.20, "total_ms_p50": 1.0}, 0.02)
    assert bad == ["f1", "false_refusal_rate"]


def test_the_regression_gate_includes_grounded() -> None:
    """A drop in the share of supported answer sentences fails the gate like a drop in F1."""
    old = {"f1": 0.80, "grounded": 0.95}
    lines, bad = compare(old, {"f1": 0.80, "grounded": 0.90}, 0.02)
    assert bad == ["grounded"] and any(line.startswith("grounded") and "REGRESSION" in line for line in lines)
    assert compare(old, {"f1": 0.80, "grounded": 0.94}, 0.02)[1] == []
