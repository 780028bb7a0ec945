"""Runs a gold set through the answer chain (or the llama-index baseline) and scores every row."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.components import Components
from rag.eval import metrics as m
from rag.eval.gold import GoldItem
from rag.types import Passage

KS = (1, 3, 5, 10)


@dataclass
class SystemAnswer:
    """What any answering system gives back, for scoring."""

    answer: str
    answerable: bool
    retrieved: list[dict[str, Any]]  # text, source, score (in rank order)
    citations: list[dict[str, Any]]
    timings: dict[str, float]
    usage: dict[str, int]
    query: str = ""
    generated: bool = True  # False: retrieval only, so answers, citations and refusals are not scored
    grounded: float | None = None
    shape: str | None = None  # the shape the system gave the answer
    short_answer: str | None = None  # the verdict or option alone, for yes/no and choice answers
    context: list[str] | None = None  # the passages the model read
    check: float | None = None
    verify: float | None = None
    refusal_reason: str | None = None
    rejected: str | None = None
    missing_terms: list[str] | None = None
    verdict: str | None = None
    escalated: bool = False
    sentences: list[dict[str, Any]] | None = None  # the answer's sentences: text, support, supported, citations
    cites: bool = True  # False: the system neither cites nor checks its answer (a baseline): no citation scores


def ours(comps: Components, top_k_eval: int = max(KS), generate: bool = True) -> Callable[[GoldItem], SystemAnswer]:
    def run(item: GoldItem) -> SystemAnswer:
        if not generate:
            t0 = time.perf_counter()
            ranked = comps.retriever.retrieve(item.question, top_k_eval)
            ms = round((time.perf_counter() - t0) * 1000, 1)
            return SystemAnswer(answer="", answerable=False, retrieved=[passage_row(p) for p in ranked], citations=[],
                                timings={"retrieve_ms": ms, "total_ms": ms}, usage={}, query=item.question,
                                generated=False)
        a = comps.chain.answer(item.question)
        # A deeper list than the chain's own top_k, for recall@k curves; the answer used the chain's top_k.
        ranked = comps.retriever.retrieve(a.query or item.question, top_k_eval)
        return SystemAnswer(
            answer=a.answer, answerable=a.answerable,
            retrieved=[passage_row(p) for p in ranked],
            citations=[c.model_dump() for c in a.citations], timings=a.timings.model_dump(),
            usage=a.usage.model_dump(exclude={"total_tokens"}),  # results files have no total
            query=a.query, grounded=a.grounded, shape=a.shape, short_answer=a.short_answer,
            context=[p.chunk.text for p in a.context], check=a.check, verify=a.verify, refusal_reason=a.refusal_reason,
            rejected=a.rejected, missing_terms=a.missing_terms, verdict=a.verdict,
            escalated=a.escalated,
            sentences=[x.model_dump() for x in a.sentences])

    return run


def passage_row(p: Passage) -> dict[str, Any]:
    return {"text": p.chunk.text, "source": p.chunk.source, "doc_id": p.chunk.doc_id, "start": p.chunk.start,
            "end": p.chunk.end, "score": p.score, "dense_score": p.dense_score, "bm25_score": p.bm25_score}


def score_row(item: GoldItem, got: SystemAnswer) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": item.id, "question": item.question, "gold_answers": item.answers, "doc": item.doc,
        "unanswerable": item.unanswerable, "answer": got.answer, "answerable": got.answerable,
        "citations": got.citations, "retrieved": [r | {"hit": bool(item.target_evidence) and m.overlaps(
            r["text"], item.target_evidence)} for r in got.retrieved],
        "timings": got.timings, "usage": got.usage, "query": got.query, "grounded": got.grounded,
        "shape": item.shape or got.shape or "factoid", "answer_shape": got.shape,
        "short_answer": got.short_answer,
        "check": got.check, "verify": got.verify, "refusal_reason": got.refusal_reason, "rejected": got.rejected,
        "missing_terms": got.missing_terms, "verdict": got.verdict, "escalated": got.escalated,
        # what a threshold or a sentence cap can be replayed on without running the model again
        "context": got.context, "sentences": got.sentences,
        "split": item.split, "confirmed": item.confirmed,
    }
    scores: dict[str, float] = {}
    if not got.generated:
        if not item.unanswerable and item.target_evidence:
            scores |= m.retrieval_metrics([r["text"] for r in got.retrieved], item.target_evidence, KS)
        if not item.unanswerable and item.doc:
            scores["doc_hit@5"] = float(any(Path(r["source"]).name == item.doc for r in got.retrieved[:5]))
        row["scores"] = scores
        return row
    scores["refused"] = float(not got.answerable)
    if got.grounded is not None:
        scores["grounded"] = got.grounded
    if not item.unanswerable:
        # a verdict with its facts ("No, X was born in 1867 [1]") is scored on the verdict, as HotpotQA scores
        # "yes"/"no"; the facts are scored as citations
        scored = got.short_answer if got.shape in ("yesno", "comparison") and got.short_answer else got.answer
        if item.shape == "yesno" and m.is_polar(item.answers):  # the corpora's convention: the verdict given
            scored = m.polarity(got.answer)
        scores |= {"em": m.exact_match(scored, item.answers), "f1": m.f1(scored, item.answers),
                   "contains": m.contains_answer(got.answer, item.answers)}
        if got.context is not None and item.needed_facts:
            scores["context_recall"] = m.context_recall(got.context, item.needed_facts)
        if not got.answerable:  # a refusal scores nothing, whatever words it shares with the answer
            scores |= {"em": 0.0, "f1": 0.0, "contains": 0.0}
        if item.target_evidence:
            scores |= m.retrieval_metrics([r["text"] for r in got.retrieved], item.target_evidence, KS)
        if item.doc:
            scores["doc_hit@5"] = float(any(Path(r["source"]).name == item.doc for r in got.retrieved[:5]))
        if got.answerable and item.target_evidence and got.cites:
            good = [m.overlaps(c["quote"], item.target_evidence) for c in got.citations]
            scores["citations"] = float(len(good))
            scores["citations_on_evidence"] = float(sum(good))
            scores["cites_evidence"] = float(any(good))
            scores["cited_sentence_share"] = m.cited_sentence_share(got.answer)
    row["scores"] = scores
    row["passed"] = passed(row)
    return row


PASS_F1 = 0.5  # a confirmed answer that shares half its words with the gold one still counts as given


def passed(row: dict[str, Any]) -> bool:
    """Whether a generated answer is right by its gold item: an unanswerable item refused; any other answered,
    holding a gold answer or with an F1 of at least PASS_F1 against one."""
    if row["unanswerable"]:
        return not row["answerable"]
    s = row["scores"]
    return bool(row["answerable"]) and (s.get("contains", 0.0) >= 1.0 or s.get("f1", 0.0) >= PASS_F1)


def _mean(rows: list[dict], key: str) -> float | None:
    vals = [r["scores"][key] for r in rows if key in r["scores"]]
    return round(statistics.fmean(vals), 4) if vals else None


def by_shape(rows: list[dict]) -> dict[str, dict[str, Any]]:
    """F1, refusals, context recall and latency per question shape (the gold set's, else the system's)."""
    out: dict[str, dict[str, Any]] = {}
    for shape in sorted({r.get("shape") or "factoid" for r in rows}):
        part = [r for r in rows if (r.get("shape") or "factoid") == shape]
        ans = [r for r in part if not r["unanswerable"]]
        una = [r for r in part if r["unanswerable"]]
        total = [float(r["timings"].get("total_ms") or 0.0) for r in part if "total_ms" in r["timings"]]
        first = [float(r["timings"]["first_token_ms"]) for r in part if r["timings"].get("first_token_ms")]
        out[shape] = {"questions": len(part), "answerable": len(ans), "unanswerable": len(una),
                      "f1": _mean(ans, "f1"), "em": _mean(ans, "em"), "false_refusal_rate": _mean(ans, "refused"),
                      "refusal_recall": _mean(una, "refused"), "context_recall": _mean(ans, "context_recall"),
                      "total_ms_p50": round(m.percentile(total, 0.5), 1) if total else None,
                      "first_token_ms_p50": round(m.percentile(first, 0.5), 1) if first else None}
    return out


def summarize(rows: list[dict], wall_s: float) -> dict[str, Any]:
    ans = [r for r in rows if not r["unanswerable"]]
    una = [r for r in rows if r["unanswerable"]]
    answered = [r for r in ans if r["answerable"]]
    summary: dict[str, Any] = {"questions": len(rows), "answerable_questions": len(ans),
                               "unanswerable_questions": len(una), "wall_s": round(wall_s, 1)}
    for key in ("em", "f1", "contains", "rr", "doc_hit@5", *(f"{p}@{k}" for p in ("hit", "recall") for k in KS)):
        summary[key if key != "rr" else "mrr"] = _mean(ans, key)
    n_cites = sum(r["scores"].get("citations", 0) for r in answered)
    summary["citation_precision"] = (round(sum(r["scores"].get("citations_on_evidence", 0) for r in answered)
                                           / n_cites, 4) if n_cites else None)
    summary["citation_recall"] = _mean(answered, "cites_evidence")
    summary["cited_sentence_share"] = _mean(answered, "cited_sentence_share")
    summary["grounded"] = _mean(rows, "grounded")
    summary["context_recall"] = _mean(ans, "context_recall")
    summary["refusal_recall"] = _mean(una, "refused")
    summary["false_refusal_rate"] = _mean(ans, "refused")
    # a system that does not report a part gets None
    for part in ("retrieve_ms", "context_ms", "check_ms", "generate_ms", "total_ms", "first_token_ms"):
        vals = [float(r["timings"][part]) for r in rows if r["timings"].get(part) is not None]
        summary[f"{part}_p50"] = round(m.percentile(vals, 0.5), 1) if vals else None
        summary[f"{part}_p95"] = round(m.percentile(vals, 0.95), 1) if vals else None
    for part in ("prompt_tokens", "completion_tokens"):
        vals = [float(r["usage"][part] or 0) for r in rows if part in r["usage"]]
        summary[f"{part}_mean"] = round(statistics.fmean(vals), 1) if vals else None
    summary["by_shape"] = by_shape(rows)
    return summary


def run_eval(items: list[GoldItem], system: Callable[[GoldItem], SystemAnswer],
             progress: Callable[[int, dict], None] | None = None) -> dict[str, Any]:
    rows: list[dict] = []
    t0 = time.perf_counter()
    for i, item in enumerate(items, start=1):
        rows.append(score_row(item, system(item)))
        if progress:
            progress(i, summarize(rows, time.perf_counter() - t0))
    return {"summary": summarize(rows, time.perf_counter() - t0), "rows": rows}

